package node_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// docs/DUTY.md: "Someone on the shift takes it over (接班) from 30
// minutes before its start until its end"; "Only those on the shift on
// duty write its log, and while a shift is on, only those on it write
// urgent reports". The night officer takes the night shift over a
// quarter of an hour early, and the day officer hands the day shift over
// to them (交班). From then until the night shift's start, the officer on
// duty writes the duty log and urgent reports (they were refused: the day
// shift, handed over, still "covered" the time, and nobody could write
// the log), the day officer no longer does, and the duty directory shows
// the night shift.
func TestAfterAnEarlyTakeOverTheOfficerOnDutyWrites(t *testing.T) {
	f := dutyFed(t, nil)
	if _, err := f.admin.reg.CreateStaff(f.admin.ctx(), &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "dc-night", Name: "黄夜班",
		OfficeCode: dongcun, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_OFFICER}}, Password: password}); err != nil {
		t.Fatal(err)
	}
	village := f.nodes["dongcun-1"]
	idx := f.nodes["county-1"].Registry().Index()
	waitFor(t, "the village has dc-night", func() bool { return village.Registry().Index() >= idx }, 20*time.Second)
	day := dial(t, village).login("dc-duty", password)
	night := dial(t, village).login("dc-night", password)
	leader := dial(t, village).login("dc-leader", password)
	ro := func(c *client) yizhanv1.DutyRosterServiceClient { return yizhanv1.NewDutyRosterServiceClient(c.conn) }

	change := time.Now().Truncate(time.Minute).Add(15 * time.Minute) // the day shift ends, the night shift starts, in 15 minutes
	pub, err := ro(leader).PublishShifts(leader.ctx(), &yizhanv1.PublishShiftsRequest{Shifts: []*yizhanv1.DutyShift{
		{Start: timestamppb.New(change.Add(-12 * time.Hour)), End: timestamppb.New(change), Leader: "dc-leader", Officers: []string{"dc-duty"}},
		{Start: timestamppb.New(change), End: timestamppb.New(change.Add(12 * time.Hour)), Leader: "dc-leader", Officers: []string{"dc-night"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	dayID, nightID := pub.GetShifts()[0].GetId(), pub.GetShifts()[1].GetId()
	if _, err := ro(day).TakeOverShift(day.ctx(), &yizhanv1.TakeOverShiftRequest{Id: dayID}); err != nil {
		t.Fatal(err)
	}
	if _, err := ro(night).TakeOverShift(night.ctx(), &yizhanv1.TakeOverShiftRequest{Id: nightID}); err != nil {
		t.Fatalf("the night shift taken over 15 minutes early: %v", err)
	}
	if _, err := ro(day).HandOverShift(day.ctx(), &yizhanv1.HandOverShiftRequest{Id: dayID, OpenMatters: "镇里通知明早开会"}); err != nil {
		t.Fatal(err)
	}
	call := &yizhanv1.WriteLogEntryRequest{Entry: &yizhanv1.DutyLogEntry{Kind: yizhanv1.LogKind_LOG_KIND_CALL, Caller: "镇政府办 李主任",
		Phone: "0771-6201001", Matter: "暴雨预警，请做好防范", Action: "已记录", Told: "村主任"}}
	entry, err := ro(night).WriteLogEntry(night.ctx(), call)
	if err != nil {
		t.Errorf("the officer on duty (the night shift taken over) may not write the duty log: %v", err)
	} else if entry.GetShiftId() != nightID {
		t.Errorf("the call was logged in shift %s, want the night shift %s", entry.GetShiftId(), nightID)
	}
	if _, err := ro(day).WriteLogEntry(day.ctx(), call); status.Code(err) != codes.PermissionDenied {
		t.Errorf("the day officer, who handed over, wrote the log: %v", err)
	}
	if _, err := yizhanv1.NewDutyServiceClient(night.conn).WriteReport(night.ctx(), &yizhanv1.WriteReportRequest{Report: firstReport(time.Now().Add(-5 * time.Minute))}); err != nil {
		t.Errorf("the officer on duty may not write an urgent report: %v", err)
	}
	od, err := ro(leader).GetOnDuty(leader.ctx(), &yizhanv1.GetOnDutyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range od.GetOffices() {
		if o.GetOfficeCode() == dongcun && o.GetShift().GetId() != nightID {
			t.Errorf("the duty directory shows shift %s at 东村, want the night shift on duty %s", o.GetShift().GetId(), nightID)
		}
	}
}
