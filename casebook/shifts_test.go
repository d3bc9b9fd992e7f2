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

func putShifts(shifts ...*yizhanv1.DutyShift) *peerv1.CaseCommand {
	return &peerv1.CaseCommand{Op: &peerv1.CaseCommand_PutShifts{PutShifts: &peerv1.PutShifts{Shifts: shifts}}}
}

// A village's night shift: published, taken over, logged, handed over;
// the next one nobody takes over is flagged empty by the sweep at the
// time in the log, and the flag travels up; only those on a shift on duty
// write its log.
func TestShiftsTheLogAndTheirFlags(t *testing.T) {
	reg := newRegistry(t)
	v, tw := newOffice(t, village, reg), newOffice(t, township, reg)
	night := time.Date(2026, 3, 2, 18, 0, 0, 0, t0.Location())
	shift := func(start time.Time) *yizhanv1.DutyShift {
		return &yizhanv1.DutyShift{Id: duty.ShiftID(village, start), OfficeCode: village, Start: timestamppb.New(start),
			End: timestamppb.New(start.Add(14 * time.Hour)), Leader: "leader", Officers: []string{"duty"},
			State: yizhanv1.ShiftState_SHIFT_STATE_PLANNED, Version: 1}
	}
	first, second := shift(night), shift(night.Add(24*time.Hour))
	v.now = night.Add(-2 * time.Hour)
	if res := v.putCmd(putShifts(first, second)); res.Err != nil {
		t.Fatal(res.Err)
	}
	if res := v.putCmd(putShifts(first)); res.Err == nil {
		t.Error("a shift was published twice")
	}
	// Too early to take over; then taken over by someone on it.
	taken := gproto.CloneOf(first)
	taken.Version, taken.State, taken.TakenOverBy = 2, yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY, "duty"
	if res := v.putCmd(putShifts(taken)); res.Err == nil {
		t.Error("a shift was taken over two hours early")
	}
	v.now = night.Add(-10 * time.Minute)
	stranger := gproto.CloneOf(taken)
	stranger.TakenOverBy = "someone"
	if res := v.putCmd(putShifts(stranger)); res.Err == nil {
		t.Error("a shift was taken over by someone not on it")
	}
	if res := v.putCmd(putShifts(taken)); res.Err != nil {
		t.Fatal(res.Err)
	}
	entry := func(writer string) *peerv1.CaseCommand {
		return &peerv1.CaseCommand{Op: &peerv1.CaseCommand_PutLogEntry{PutLogEntry: &peerv1.PutLogEntry{Entry: &yizhanv1.DutyLogEntry{
			Id: duty.LogEntryID(village, v.now, "AAAAA"+writer[:1]), OfficeCode: village, ShiftId: first.GetId(), Kind: yizhanv1.LogKind_LOG_KIND_CALL,
			At: timestamppb.New(v.now), Caller: "镇政府办", Matter: "明早八点开防汛会", Writer: writer}}}}
	}
	if res := v.putCmd(entry("duty")); res.Err != nil {
		t.Fatal(res.Err)
	}
	if res := v.putCmd(entry("xstranger")); res.Err == nil {
		t.Error("someone not on the shift wrote its log")
	}
	if es, _ := v.book.LogEntries(first.GetId(), ""); len(es) != 1 {
		t.Errorf("the shift's log holds %d entries, want 1", len(es))
	}
	handed := gproto.CloneOf(taken)
	handed.Version, handed.State, handed.HandedOverBy, handed.OpenMatters = 3, yizhanv1.ShiftState_SHIFT_STATE_HANDED_OVER, "duty", "防汛会通知已转告村主任"
	v.now = night.Add(14 * time.Hour)
	if res := v.putCmd(putShifts(handed)); res.Err != nil {
		t.Fatal(res.Err)
	}
	// The second shift: nobody comes.
	if due, _ := v.book.ShiftsDue(night.Add(24*time.Hour+10*time.Minute), 10); len(due) != 0 {
		t.Errorf("a shift is due a flag before its grace: %v", due)
	}
	v.now = night.Add(24*time.Hour + 20*time.Minute)
	due, _ := v.book.ShiftsDue(v.now, 10)
	if len(due) != 1 || due[0].GetId() != second.GetId() {
		t.Fatalf("shifts due a flag: %v", due)
	}
	flagged, ok := duty.Flagged(due[0], v.now)
	if !ok {
		t.Fatal("no flag due")
	}
	if res := v.putCmd(putShifts(flagged)); res.Err != nil {
		t.Fatal(res.Err)
	}
	if due, _ := v.book.ShiftsDue(v.now.Add(48*time.Hour), 10); len(due) != 0 {
		t.Errorf("still due: %v", due)
	}
	if cur, ok := v.book.CurrentShift(village, v.now); !ok || cur.GetId() != second.GetId() || !cur.GetFlaggedEmpty() {
		t.Errorf("the shift on now: %v", cur)
	}

	deliver(t, v, tw)
	got, err := tw.book.Shifts(ShiftQuery{Office: village, Flagged: true})
	if err != nil || len(got) != 1 || got[0].GetId() != second.GetId() {
		t.Errorf("the township's flagged shifts of the village: %v, %v", got, err)
	}
	all, _ := tw.book.Shifts(ShiftQuery{Office: township})
	if len(all) != 2 || all[0].GetState() != yizhanv1.ShiftState_SHIFT_STATE_HANDED_OVER || all[0].GetOpenMatters() == "" {
		t.Errorf("the township's copy: %v", all)
	}
	v.check()
	tw.check()
	checkNamesDamage(t, v.book, v.reg, pShiftByOffice, pLogByShift, pLogByDay)
}
