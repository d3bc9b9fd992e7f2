package node_test

import (
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/duty"
)

// A follow-up (续报) is numbered when its leader signs it, in the order
// the matter's reports are signed and sent: two drafts signed in the
// other order than they were written reach the county as 续报1 then
// 续报2, and a draft left unsigned leaves no gap. A draft shows
// 续报（待签发） and carries no number.
func TestFollowUpNumbersFollowWhatWasSent(t *testing.T) {
	f := dutyFed(t, nil)
	village, countyNode := f.nodes["dongcun-1"], f.nodes["county-1"]
	officer := dial(t, village).login("dc-duty", password)
	leader := dial(t, village).login("dc-leader", password)
	vd, ld := yizhanv1.NewDutyServiceClient(officer.conn), yizhanv1.NewDutyServiceClient(leader.conn)
	first := signedFirst(t, vd, ld, officer, leader)
	draft := func(details string) string {
		t.Helper()
		r := firstReport(time.Now().Add(-20 * time.Minute))
		r.Kind, r.FirstId, r.Details = yizhanv1.ReportKind_REPORT_KIND_FOLLOW_UP, first, details
		w, err := vd.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: r})
		if err != nil {
			t.Fatal(err)
		}
		if n, name := w.GetReport().GetFollowUpNumber(), duty.KindName(w.GetReport()); n != 0 || name != "续报（待签发）" {
			t.Errorf("a follow-up drafted is numbered %d, shown as %s; want none, 续报（待签发）", n, name)
		}
		return w.GetReport().GetId()
	}
	a := draft("草稿甲：伤员已送医")
	never := draft("草稿丙：未签发")
	b := draft("草稿乙：道路已抢通")
	for _, id := range []string{b, a} {
		if _, err := ld.SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: id}); err != nil {
			t.Fatal(err)
		}
	}
	var held []*yizhanv1.HeldReport
	waitFor(t, "both follow-ups at the county", func() bool {
		held, _, _ = countyNode.Office().Cases().Reports(casebook.ReportQuery{FirstID: first})
		return len(held) == 3
	}, 20*time.Second)
	follow := held[1:]
	sort.Slice(follow, func(i, j int) bool {
		return follow[i].GetReport().GetSignedAt().AsTime().Before(follow[j].GetReport().GetSignedAt().AsTime())
	})
	var got []string
	for _, h := range follow {
		got = append(got, h.GetReport().GetId()+" "+duty.KindName(h.GetReport()))
	}
	if want := []string{b + " 续报1", a + " 续报2"}; !slices.Equal(got, want) {
		t.Errorf("the county holds the matter's follow-ups, in the order they were signed, as %v; want %v", got, want)
	}
	if h, _ := village.Office().Cases().Report(never); h.GetReport().GetFollowUpNumber() != 0 {
		t.Errorf("the draft never signed holds number %d, want none", h.GetReport().GetFollowUpNumber())
	}
}

// Follow-ups of one matter written and signed at the same moment each
// take a number of their own: 续报1 to 续报6, each once.
func TestConcurrentFollowUpsGetDistinctNumbers(t *testing.T) {
	f := dutyFed(t, nil)
	village := f.nodes["dongcun-1"]
	officer := dial(t, village).login("dc-duty", password)
	leader := dial(t, village).login("dc-leader", password)
	vd, ld := yizhanv1.NewDutyServiceClient(officer.conn), yizhanv1.NewDutyServiceClient(leader.conn)
	first := signedFirst(t, vd, ld, officer, leader)
	const n = 6
	nums := make([]uint32, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := firstReport(time.Now().Add(-20 * time.Minute))
			r.Kind, r.FirstId = yizhanv1.ReportKind_REPORT_KIND_FOLLOW_UP, first
			w, err := vd.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: r})
			if err != nil {
				t.Error(err)
				return
			}
			s, err := ld.SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: w.GetReport().GetId()})
			if err != nil {
				t.Error(err)
				return
			}
			nums[i] = s.GetReport().GetFollowUpNumber()
		})
	}
	wg.Wait()
	got := slices.Sorted(slices.Values(nums))
	if want := []uint32{1, 2, 3, 4, 5, 6}; !slices.Equal(got, want) {
		t.Errorf("%d follow-ups written and signed at once are numbered %v; want each of %v once", n, nums, want)
	}
	if next := village.Office().Cases().NextFollowUpNumber(first); next != n+1 {
		t.Errorf("the next follow-up would be 续报%d, want 续报%d", next, n+1)
	}
}
