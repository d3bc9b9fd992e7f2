package node_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// DUTY.md: "A swap (调班, :swap) puts someone else on a planned shift,
// recorded with who approved it and why"; seed: 不许非值班人员顶班 (a
// stand-in is an exception to account for). A swap with no reason is
// refused, naming reason, and the shift keeps who was on it.
func TestASwapSaysWhy(t *testing.T) {
	f := dutyFed(t, nil)
	addDutyStaff(t, f, &yizhanv1.StaffMember{Username: "dc-duty2", Name: "黄替班", OfficeCode: dongcun, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_OFFICER}})
	village := f.nodes["dongcun-1"]
	leader := dial(t, village).login("dc-leader", password)
	ro := yizhanv1.NewDutyRosterServiceClient(leader.conn)
	start := time.Now().Truncate(time.Minute).Add(6 * time.Hour)
	pub, err := ro.PublishShifts(leader.ctx(), &yizhanv1.PublishShiftsRequest{Shifts: []*yizhanv1.DutyShift{
		{Start: timestamppb.New(start), End: timestamppb.New(start.Add(12 * time.Hour)), Leader: "dc-leader", Officers: []string{"dc-duty"}}}})
	if err != nil {
		t.Fatal(err)
	}
	id := pub.GetShifts()[0].GetId()
	for _, why := range []string{"", "  "} {
		sh, err := ro.SwapShift(leader.ctx(), &yizhanv1.SwapShiftRequest{Id: id, From: "dc-duty", To: "dc-duty2", Reason: why})
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != "reason" {
			t.Errorf("a swap with reason %q: kept (%v), %v; want InvalidArgument naming reason", why, sh.GetSwaps(), err)
		}
	}
	if sh, _ := village.Office().Cases().Shift(id); len(sh.GetSwaps()) != 0 || sh.GetOfficers()[0] != "dc-duty" {
		t.Errorf("the refused swaps changed the shift: officers %v, swaps %v", sh.GetOfficers(), sh.GetSwaps())
	}
	sh, err := ro.SwapShift(leader.ctx(), &yizhanv1.SwapShiftRequest{Id: id, From: "dc-duty", To: "dc-duty2", Reason: "家中有事"})
	if err != nil {
		t.Fatal(err)
	}
	if s := sh.GetSwaps(); len(s) != 1 || s[0].GetReason() != "家中有事" || s[0].GetApprovedBy() != "dc-leader" {
		t.Errorf("the swap records %v, want who approved it and why", s)
	}
}
