package casebook

import (
	"testing"
	"time"

	gproto "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/duty"
)

// A village's shift, set aside on its way up (the township refused it for
// an hour), changes: the new version is queued again, but the entry set
// aside stayed in the quarantine beside it (queueUp put an outbox entry
// without taking the quarantined one back, as casework's queue does for a
// case), and once the new version was delivered the alarm stayed for
// good. The new version takes the entry set aside back.
func TestARecordQueuedAgainTakesItsQuarantinedEntryBack(t *testing.T) {
	reg := newRegistry(t)
	v := newOffice(t, village, reg)
	night := time.Date(2026, 3, 2, 18, 0, 0, 0, t0.Location())
	shift := &yizhanv1.DutyShift{Id: duty.ShiftID(village, night), OfficeCode: village, Start: timestamppb.New(night),
		End: timestamppb.New(night.Add(14 * time.Hour)), Leader: "leader", Officers: []string{"duty"},
		State: yizhanv1.ShiftState_SHIFT_STATE_PLANNED, Version: 1}
	v.now = night.Add(-2 * time.Hour)
	if res := v.putCmd(putShifts(shift)); res.Err != nil {
		t.Fatal(res.Err)
	}
	out := v.book.Outbox()
	if len(out) != 1 || out[0].GetCaseNumber() != shift.GetId() {
		t.Fatalf("outbox %v", out)
	}
	// The mail sets it aside.
	if res := v.putCmd(&peerv1.CaseCommand{Op: &peerv1.CaseCommand_Quarantine{Quarantine: &peerv1.QuarantineOutbox{Entries: []*peerv1.QuarantinedEntry{
		{Entry: out[0], Reason: "refused for an hour", AtUnixNano: v.now.UnixNano()}}}}}); res.Err != nil {
		t.Fatal(res.Err)
	}
	if q := v.book.Quarantined(); len(q) != 1 {
		t.Fatalf("quarantined %v", q)
	}
	// The shift is taken over: version 2 is queued up.
	taken := gproto.CloneOf(shift)
	taken.Version, taken.State, taken.TakenOverBy = 2, yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY, "duty"
	v.now = night.Add(-10 * time.Minute)
	if res := v.putCmd(putShifts(taken)); res.Err != nil {
		t.Fatal(res.Err)
	}
	out = v.book.Outbox()
	if len(out) != 1 || out[0].GetUptoSeq() != 2 {
		t.Fatalf("outbox after the change %v", out)
	}
	// Delivered and receipted.
	if res := v.putCmd(&peerv1.CaseCommand{Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{Acks: out}}}); res.Err != nil {
		t.Fatal(res.Err)
	}
	if n := len(v.book.Outbox()); n != 0 {
		t.Fatalf("outbox after the receipt: %d entries", n)
	}
	if q := v.book.Quarantined(); len(q) != 0 || v.book.QuarantinedLen() != 0 {
		t.Errorf("the shift reached the township, but its old version is still set aside (alarm for ever): %v", q)
	}
}
