package node_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// ARCHITECTURE: "invalid input gets InvalidArgument with field violations
// (HTTP 400 naming the field)". A shift id of 100,000 characters given to
// take over, hand over or swap a shift, or to read its log, is refused
// naming id (shift_id for the log), in a short message: it is not looked
// up, and the refusal does not repeat it.
func TestShiftIDsAreChecked(t *testing.T) {
	f := dutyFed(t, nil)
	officer := dial(t, f.nodes["dongcun-1"]).login("dc-duty", password)
	leader := dial(t, f.nodes["dongcun-1"]).login("dc-leader", password)
	ro := yizhanv1.NewDutyRosterServiceClient(officer.conn)
	lo := yizhanv1.NewDutyRosterServiceClient(leader.conn)
	long := "BC-" + strings.Repeat("9", 100_000)
	for name, call := range map[string]func() error{
		"take over": func() error {
			_, err := ro.TakeOverShift(officer.ctx(), &yizhanv1.TakeOverShiftRequest{Id: long})
			return err
		},
		"hand over": func() error {
			_, err := ro.HandOverShift(officer.ctx(), &yizhanv1.HandOverShiftRequest{Id: long, OpenMatters: "无"})
			return err
		},
		"swap": func() error {
			_, err := lo.SwapShift(leader.ctx(), &yizhanv1.SwapShiftRequest{Id: long, From: "dc-duty", To: "dc-leader", Reason: "家中有事"})
			return err
		},
	} {
		err := call()
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != "id" || len(status.Convert(err).Message()) > 300 {
			t.Errorf("%s shift %q…: %v naming %q (a message of %d bytes), want InvalidArgument naming id", name, long[:12], code, field, len(status.Convert(err).Message()))
		}
	}
	_, err := ro.ListLog(officer.ctx(), &yizhanv1.ListLogRequest{ShiftId: long})
	if code, field := fieldOf(err); code != codes.InvalidArgument || field != "shift_id" {
		t.Errorf("the log of shift %q…: %v, want InvalidArgument naming shift_id", long[:12], err)
	}
	// A swap's staff are usernames: one of 100,000 characters is not looked up either.
	_, err = lo.SwapShift(leader.ctx(), &yizhanv1.SwapShiftRequest{Id: "BC-450122101203-202612010800", From: "dc-duty", To: strings.Repeat("x", 100_000), Reason: "家中有事"})
	if code, field := fieldOf(err); code != codes.InvalidArgument || field != "to" || len(status.Convert(err).Message()) > 300 {
		t.Errorf("a swap to a username of 100,000 characters: %v naming %q", code, field)
	}
}
