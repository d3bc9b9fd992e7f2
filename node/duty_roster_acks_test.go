package node_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// signedFirst is a first report written and signed at 东村, its id.
func signedFirst(t *testing.T, vd, ld yizhanv1.DutyServiceClient, officer, leader *client) string {
	t.Helper()
	w, err := vd.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: firstReport(time.Now().Add(-20 * time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ld.SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: w.GetReport().GetId()}); err != nil {
		t.Fatal(err)
	}
	return w.GetReport().GetId()
}

// While a shift is on at the county, only its duty staff acknowledge
// (签收) a report from below and ask for follow-ups: a county duty
// officer not on it is refused (PermissionDenied, as for writing a
// report), and the officer on it acknowledges.
func TestAnOfficerOffTheShiftDoesNotAcknowledge(t *testing.T) {
	f := dutyFed(t, nil)
	addDutyStaff(t, f,
		&yizhanv1.StaffMember{Username: "county-leader", Name: "陈带班", OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_LEADER}},
		&yizhanv1.StaffMember{Username: "county-duty2", Name: "陈当班", OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_OFFICER}})
	village, countyNode := f.nodes["dongcun-1"], f.nodes["county-1"]
	cleader := dial(t, countyNode).login("county-leader", password)
	onShift := dial(t, countyNode).login("county-duty2", password)
	offShift := dial(t, countyNode).login("county-duty", password)
	ro := func(c *client) yizhanv1.DutyRosterServiceClient { return yizhanv1.NewDutyRosterServiceClient(c.conn) }
	start := time.Now().Truncate(time.Minute).Add(-5 * time.Minute)
	pub, err := ro(cleader).PublishShifts(cleader.ctx(), &yizhanv1.PublishShiftsRequest{Shifts: []*yizhanv1.DutyShift{
		{Start: timestamppb.New(start), End: timestamppb.New(start.Add(12 * time.Hour)), Leader: "county-leader", Officers: []string{"county-duty2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ro(onShift).TakeOverShift(onShift.ctx(), &yizhanv1.TakeOverShiftRequest{Id: pub.GetShifts()[0].GetId()}); err != nil {
		t.Fatal(err)
	}

	officer := dial(t, village).login("dc-duty", password)
	vleader := dial(t, village).login("dc-leader", password)
	id := signedFirst(t, yizhanv1.NewDutyServiceClient(officer.conn), yizhanv1.NewDutyServiceClient(vleader.conn), officer, vleader)
	waitFor(t, "the report at the county", func() bool { _, ok := countyNode.Office().Cases().Report(id); return ok }, 20*time.Second)
	ack := &yizhanv1.AcknowledgeReportRequest{Id: id, Request: "每小时续报", FollowUpMinutes: 60}
	if _, err := yizhanv1.NewDutyServiceClient(offShift.conn).AcknowledgeReport(offShift.ctx(), ack); status.Code(err) != codes.PermissionDenied {
		t.Errorf("county-duty, not on the county's shift on duty (county-duty2 is), acknowledged a village's urgent report: %v, want PermissionDenied", err)
	}
	if h, _ := countyNode.Office().Cases().Report(id); len(h.GetAcks()) != 0 {
		t.Errorf("the refused acknowledgement is kept: %v", h.GetAcks())
	}
	answer, err := yizhanv1.NewDutyServiceClient(onShift.conn).AcknowledgeReport(onShift.ctx(), ack)
	if err != nil {
		t.Fatalf("the officer on the shift acknowledges: %v", err)
	}
	if answer.GetNextFollowUpDue() == nil {
		t.Errorf("the acknowledgement's answer says no follow-up is due; it asked for one every 60 minutes")
	}
	h, _ := countyNode.Office().Cases().Report(id)
	if len(h.GetAcks()) != 1 || h.GetAcks()[0].GetBy() != "county-duty2" || h.GetNextFollowUpDue() == nil {
		t.Errorf("acknowledged by %v, next follow-up due %v; want county-duty2's, with a follow-up due", h.GetAcks(), h.GetNextFollowUpDue())
	}
}
