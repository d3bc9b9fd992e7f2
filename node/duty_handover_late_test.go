package node_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Seed 第五篇: 交接班日志记录不详细，造成重要工作处置脱节. Both shifts may act in
// the half hour before the change: the night officer takes the night shift
// over first, and the day officer then hands the day shift over with its
// open matters. The night shift takes them on with that handover: its
// record names the day shift (taken_over_from) and the matters
// (matters_taken_over), at the village and at the county, as when the
// day shift hands over first.
func TestOpenMattersHandedOverAfterAnEarlyTakeOverAreTakenOn(t *testing.T) {
	f := dutyFed(t, nil)
	addDutyStaff(t, f, &yizhanv1.StaffMember{Username: "dc-night", Name: "黄夜班", OfficeCode: dongcun, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_OFFICER}})
	village, countyNode := f.nodes["dongcun-1"], f.nodes["county-1"]
	day := dial(t, village).login("dc-duty", password)
	night := dial(t, village).login("dc-night", password)
	leader := dial(t, village).login("dc-leader", password)
	ro := func(c *client) yizhanv1.DutyRosterServiceClient { return yizhanv1.NewDutyRosterServiceClient(c.conn) }

	change := time.Now().Truncate(time.Minute).Add(15 * time.Minute)
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
	taken, err := ro(night).TakeOverShift(night.ctx(), &yizhanv1.TakeOverShiftRequest{Id: nightID})
	if err != nil {
		t.Fatalf("the night shift taken over 15 minutes early: %v", err)
	}
	if taken.GetTakenOverFrom() != "" {
		t.Errorf("the night shift, taken over before the day shift handed over, signs for shift %q", taken.GetTakenOverFrom())
	}
	const matters = "镇里电话通知明早八点开防汛会，尚未通知村主任"
	handed, err := ro(day).HandOverShift(day.ctx(), &yizhanv1.HandOverShiftRequest{Id: dayID, OpenMatters: matters})
	if err != nil {
		t.Fatal(err)
	}
	if handed.GetId() != dayID || handed.GetState() != yizhanv1.ShiftState_SHIFT_STATE_HANDED_OVER {
		t.Errorf("the handover answers shift %s %v, want the day shift handed over", handed.GetId(), handed.GetState())
	}
	sh, _ := village.Office().Cases().Shift(nightID)
	if sh.GetMattersTakenOver() != matters || sh.GetTakenOverFrom() != dayID {
		t.Errorf("the night shift, on duty when the day shift handed over %q, records taken_over_from %q and matters_taken_over %q",
			matters, sh.GetTakenOverFrom(), sh.GetMattersTakenOver())
	}
	if sh.GetState() != yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY || sh.GetTakenOverBy() != "dc-night" || !sh.GetTakenOverAt().AsTime().Equal(taken.GetTakenOverAt().AsTime()) {
		t.Errorf("the night shift's take-over changed with the handover: %v by %s at %v", sh.GetState(), sh.GetTakenOverBy(), sh.GetTakenOverAt().AsTime())
	}
	waitFor(t, "the night shift's matters at the county", func() bool {
		c, ok := countyNode.Office().Cases().Shift(nightID)
		return ok && c.GetMattersTakenOver() == matters && c.GetTakenOverFrom() == dayID
	}, 20*time.Second)
}
