package node_test

import (
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/registry"
)

// A citizen complains of a case the village proxy-filed and sent up: the
// follow-up (投诉差评回访, kept at the county) is the office complained of
// (supervision.JudgedOffice), whose figures take it from the county
// (答复及时率, follow_ups); the complaint itself (投诉) counts there too,
// not at the office that appended the event: the office's row reads 投诉 1
// beside its 1 follow-up (it read 投诉 0), as ratings do.
func TestAComplaintCountsWhereItsFollowUpGoes(t *testing.T) {
	f := newTunedCaseFed(t, 1, nil)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	c := fileTobacco(t, agent, "韦丽")
	n := c.GetNumber()
	countyBook := f.nodes["county-1"].Office().Cases()
	waitFor(t, "the county holds the case", func() bool { _, ok := countyBook.Case(n); return ok }, 20*time.Second)
	citizen := dial(t, f.nodes["dongcun-1"])
	if _, err := caseClient(t, citizen).Complain(citizen.ctx(), &yizhanv1.CaseActionRequest{Number: n, QueryCode: c.GetQueryCode(), Reason: "一直没有消息"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the follow-up at the county", func() bool {
		fus, err := countyBook.FollowUps(casebook.RecordQuery{})
		return err == nil && len(fus) == 1
	}, 20*time.Second)
	fus, _ := countyBook.FollowUps(casebook.RecordQuery{})
	day := time.Now().In(registry.CST).Format("2006-01-02")
	agent = dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	var st *yizhanv1.Statistics
	waitFor(t, "the village's figures", func() bool {
		var err error
		st, err = yizhanv1.NewSupervisionServiceClient(agent.conn).GetStatistics(agent.ctx(), &yizhanv1.GetStatisticsRequest{OfficeCode: fus[0].GetOfficeCode(), From: day, To: day})
		// The follow-up comes from the county's book, the complaint from the
		// office's own, once its event has reached it: both, in time.
		return err == nil && st.GetTotal().GetFollowUps() == 1 && st.GetTotal().GetComplaints() >= 1
	}, 20*time.Second)
	if st.GetTotal().GetComplaints() != st.GetTotal().GetFollowUps() {
		t.Errorf("office %s (the follow-up's): 投诉 %d, 投诉差评回访 %d: the complaint is counted at another office than its follow-up",
			fus[0].GetOfficeCode(), st.GetTotal().GetComplaints(), st.GetTotal().GetFollowUps())
	}
}
