package node_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A shift swap's reason and an acknowledgement's request are checked
// (length, control characters) after strings.TrimSpace, and kept as
// checked: a vertical tab or a form feed (Unicode Cc: docs/LIMITS.md
// CONTROL_CHARACTER) at either end, or spaces padding the text past the
// 2,000-character limit, are not stored (they were kept as typed).
func TestDutyTextsAreKeptTrimmed(t *testing.T) {
	f := dutyFed(t, nil)
	if _, err := f.admin.reg.CreateStaff(f.admin.ctx(), &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "dc-duty2", Name: "黄替班",
		OfficeCode: dongcun, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_OFFICER}}, Password: password}); err != nil {
		t.Fatal(err)
	}
	village, countyNode := f.nodes["dongcun-1"], f.nodes["county-1"]
	idx := countyNode.Registry().Index()
	waitFor(t, "the village has dc-duty2", func() bool { return village.Registry().Index() >= idx }, 20*time.Second)
	leader := dial(t, village).login("dc-leader", password)
	officer := dial(t, village).login("dc-duty", password)
	ro := yizhanv1.NewDutyRosterServiceClient(leader.conn)

	// The swap's reason.
	start := time.Now().Truncate(time.Minute).Add(6 * time.Hour)
	pub, err := ro.PublishShifts(leader.ctx(), &yizhanv1.PublishShiftsRequest{Shifts: []*yizhanv1.DutyShift{{
		Start: timestamppb.New(start), End: timestamppb.New(start.Add(12 * time.Hour)), Leader: "dc-leader", Officers: []string{"dc-duty"}, DutyPhone: "0771-6201110"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := pub.GetShifts()[0].GetId()
	sw, err := ro.SwapShift(leader.ctx(), &yizhanv1.SwapShiftRequest{Id: id, From: "dc-duty", To: "dc-duty2", Reason: "\v家中有事\f"})
	if err != nil || sw.GetSwaps()[len(sw.GetSwaps())-1].GetReason() != "家中有事" {
		t.Errorf("a swap's reason between a vertical tab and a form feed: %v; kept %q", err, sw.GetSwaps())
	}

	// The acknowledgement's request, at the county.
	vduty := yizhanv1.NewDutyServiceClient(officer.conn)
	w, err := vduty.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: firstReport(time.Now().Add(-10 * time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	rid := w.GetReport().GetId()
	if _, err := yizhanv1.NewDutyServiceClient(leader.conn).SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: rid}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the report at the county", func() bool {
		h, ok := countyNode.Office().Cases().Report(rid)
		return ok && h.GetReport().GetSignature() != nil
	}, 20*time.Second)
	cduty := dial(t, countyNode).login("county-duty", password)
	ksv := yizhanv1.NewDutyServiceClient(cduty.conn)
	padded := strings.Repeat(" ", 5000) + "\f请续报人员伤亡情况\v" + strings.Repeat(" ", 5000)
	h, err := ksv.AcknowledgeReport(cduty.ctx(), &yizhanv1.AcknowledgeReportRequest{Id: rid, Request: padded})
	var kept string
	for _, a := range h.GetAcks() {
		if a.GetOfficeCode() == county {
			kept = a.GetRequest()
		}
	}
	if err != nil || kept != "请续报人员伤亡情况" {
		t.Errorf("an acknowledgement's request between 5,000 spaces, a form feed and a vertical tab each side: %v; kept %q (%d characters)", err, kept, len([]rune(kept)))
	}
}
