package duty

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// Rosters and shifts. An office publishes its roster as shifts (值班表):
// each with its times, a leader on duty and duty officers of the office,
// and a duty phone. Someone on a shift takes it over (接班) from
// TakeOverEarly before its start; at its end (from HandOverEarly before
// it) they hand it over (交班) with the open matters for the next shift.
// A shift nobody took over within ShiftGrace of its start is flagged
// empty (空岗); one not handed over within ShiftGrace of its end, not
// handed over (未交接). The flags are set by the office leader's sweep
// and decided in the log at the command's time, like the cards. Each
// change is a new version of the shift, carried up the tree.

// ShiftGrace is how long after a shift's start (or end) it may go without
// being taken over (or handed over) before it is flagged.
const ShiftGrace = 15 * time.Minute

// TakeOverEarly is how long before its start a shift may be taken over.
const TakeOverEarly = 30 * time.Minute

// HandOverEarly is how long before its end a shift may be handed over
// (the next one may be taken over as early): before that, the post is
// kept (坚守岗位).
const HandOverEarly = TakeOverEarly

// MaxShift is the longest shift (a 24-hour shift and its handover).
const MaxShift = 26 * time.Hour

const (
	shiftPrefix = "BC-"
	logPrefix   = "RZ-"
)

// ShiftID is the id of office's shift starting at start.
func ShiftID(office string, start time.Time) string {
	return shiftPrefix + office + "-" + start.In(registry.CST).Format("200601021504")
}

// IsShiftID reports whether s names a shift.
func IsShiftID(s string) bool { return strings.HasPrefix(s, shiftPrefix) && strings.Count(s, "-") == 2 }

// LogEntryID is the id of a log entry written at office on the day of at.
func LogEntryID(office string, at time.Time, suffix string) string {
	return logPrefix + office + "-" + at.In(registry.CST).Format("20060102") + "-" + suffix
}

// OnShift reports whether username is on shift s (its leader or an
// officer).
func OnShift(s *yizhanv1.DutyShift, username string) bool {
	return username != "" && (s.GetLeader() == username || slices.Contains(s.GetOfficers(), username))
}

// Covers reports whether shift s is on at t: from its start to its end.
func Covers(s *yizhanv1.DutyShift, t time.Time) bool {
	return !t.Before(s.GetStart().AsTime()) && t.Before(s.GetEnd().AsTime())
}

// CheckShift checks a shift as it is published: its id from its office
// and start, times in order and at most MaxShift apart, a leader, at
// least one officer, nobody twice.
func CheckShift(s *yizhanv1.DutyShift, field string) error {
	bad := func(f, why, format string, args ...any) error {
		return &FieldError{Field: field + "." + f, Why: why, Msg: fmt.Sprintf(format, args...)}
	}
	if s.GetStart() == nil || s.GetEnd() == nil {
		return bad("start", registry.ReasonRequired, "a shift has a start and an end")
	}
	start, end := s.GetStart().AsTime(), s.GetEnd().AsTime()
	if !end.After(start) || end.Sub(start) > MaxShift {
		return bad("end", registry.ReasonOutOfRange, "after the start, at most %s later", MaxShift)
	}
	if s.GetLeader() == "" {
		return bad("leader", registry.ReasonRequired, "the leader on duty (带班领导)")
	}
	if len(s.GetOfficers()) == 0 {
		return bad("officers", registry.ReasonRequired, "one to ten duty officers (值班员)")
	}
	if n := len(s.GetOfficers()); n > 10 {
		return &FieldError{Field: field + ".officers", Why: registry.ReasonTooMany, Meta: reason.Meta{"max": "10", "got": reason.Itoa(n)},
			Msg: fmt.Sprintf("one to ten duty officers (值班员), got %d", n)}
	}
	seen := map[string]bool{s.GetLeader(): true}
	for i, o := range s.GetOfficers() {
		if seen[o] {
			return bad(fmt.Sprintf("officers[%d]", i), reason.Duplicate, "%s is on the shift already", o)
		}
		seen[o] = true
	}
	if err := checkString(field+".duty_phone", s.GetDutyPhone(), 32, false); err != nil {
		return err
	}
	return nil
}

// CheckNewShift checks a shift as staff publish it: CheckShift, and a
// duty phone that is a phone number (or none). The phone is checked here,
// not in CheckShift, which a book runs on every version of a shift it
// stores: a shift published before the phone was checked still changes
// hands and travels up.
func CheckNewShift(s *yizhanv1.DutyShift, field string) error {
	if err := CheckShift(s, field); err != nil {
		return err
	}
	return checkPhone(field+".duty_phone", s.GetDutyPhone(), registry.ValidPhone)
}

// ShiftChange says what a shift's next version is: the only changes a
// book accepts.
type ShiftChange int

const (
	ShiftPublished ShiftChange = iota + 1
	ShiftSwapped
	ShiftTakenOver
	ShiftHandedOver
	ShiftFlaggedEmpty
	ShiftFlaggedNotHandedOver
	// ShiftMattersHandedOn: a shift on duty, taken over before the shift
	// before it was handed over, records that shift and the open matters
	// it handed over (written with that handover).
	ShiftMattersHandedOn
)

// ChangeOf checks next against held (nil: next is new) at time at, the
// command's time, and says which change it is. Everything a change does
// not touch stays as it was.
func ChangeOf(next, held *yizhanv1.DutyShift, at time.Time) (ShiftChange, error) {
	bad := func(format string, args ...any) (ShiftChange, error) {
		return 0, fmt.Errorf("shift %s: %s", next.GetId(), fmt.Sprintf(format, args...))
	}
	if next.GetId() != ShiftID(next.GetOfficeCode(), next.GetStart().AsTime()) {
		return bad("the id does not name its office and start")
	}
	if held == nil {
		if next.GetVersion() != 1 || next.GetState() != yizhanv1.ShiftState_SHIFT_STATE_PLANNED || next.GetTakenOverBy() != "" ||
			next.GetFlaggedEmpty() || next.GetFlaggedNotHandedOver() || len(next.GetSwaps()) > 0 {
			return bad("a shift is published planned, version 1")
		}
		if err := CheckShift(next, "shift"); err != nil {
			return bad("%v", err)
		}
		return ShiftPublished, nil
	}
	if next.GetVersion() != held.GetVersion()+1 {
		return bad("version %d does not follow %d", next.GetVersion(), held.GetVersion())
	}
	// What each change may touch; the rest must be as held.
	base := func(n *yizhanv1.DutyShift) *yizhanv1.DutyShift {
		c := proto.CloneOf(n)
		c.Version, c.Signature, c.SignerChain = 0, nil, nil
		return c
	}
	same := func(n *yizhanv1.DutyShift, clear func(*yizhanv1.DutyShift)) bool {
		a, b := base(n), base(held)
		clear(a)
		clear(b)
		return proto.Equal(a, b)
	}
	planned := held.GetState() == yizhanv1.ShiftState_SHIFT_STATE_PLANNED
	switch {
	case planned && next.GetState() == yizhanv1.ShiftState_SHIFT_STATE_PLANNED && len(next.GetSwaps()) == len(held.GetSwaps())+1:
		if !same(next, func(s *yizhanv1.DutyShift) {
			s.Leader, s.LeaderName, s.Officers, s.OfficerNames, s.Swaps = "", "", nil, nil, nil
		}) {
			return bad("a swap changes who is on it, nothing else")
		}
		if err := CheckShift(next, "shift"); err != nil {
			return bad("%v", err)
		}
		return ShiftSwapped, nil
	case planned && next.GetState() == yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY:
		if !same(next, func(s *yizhanv1.DutyShift) {
			s.State, s.TakenOverBy, s.TakenOverAt, s.TakenOverFrom, s.MattersTakenOver = 0, "", nil, "", ""
		}) {
			return bad("a take-over changes its state, who took it over and the open matters taken over, nothing else")
		}
		if next.GetMattersTakenOver() != "" && next.GetTakenOverFrom() == "" {
			return bad("open matters taken over name the shift they come from")
		}
		if !OnShift(held, next.GetTakenOverBy()) {
			return bad("%s is not on it", next.GetTakenOverBy())
		}
		if at.Before(held.GetStart().AsTime().Add(-TakeOverEarly)) || !at.Before(held.GetEnd().AsTime()) {
			return bad("it is taken over from %s before its start until its end", TakeOverEarly)
		}
		return ShiftTakenOver, nil
	case held.GetState() == yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY && next.GetState() == yizhanv1.ShiftState_SHIFT_STATE_HANDED_OVER:
		if !same(next, func(s *yizhanv1.DutyShift) { s.State, s.OpenMatters, s.HandedOverBy, s.HandedOverAt = 0, "", "", nil }) {
			return bad("a handover changes its state, its open matters and who handed it over, nothing else")
		}
		if !OnShift(held, next.GetHandedOverBy()) {
			return bad("%s is not on it", next.GetHandedOverBy())
		}
		if at.Before(held.GetEnd().AsTime().Add(-HandOverEarly)) {
			return bad("it is handed over from %s before its end", HandOverEarly)
		}
		return ShiftHandedOver, nil
	case held.GetState() == yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY && next.GetState() == yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY &&
		held.GetTakenOverFrom() == "" && next.GetTakenOverFrom() != "":
		if !same(next, func(s *yizhanv1.DutyShift) { s.TakenOverFrom, s.MattersTakenOver = "", "" }) {
			return bad("the open matters handed on change the shift they come from and the matters, nothing else")
		}
		if !IsShiftID(next.GetTakenOverFrom()) {
			return bad("open matters handed on name the shift they come from")
		}
		return ShiftMattersHandedOn, nil
	case planned && next.GetFlaggedEmpty() && !held.GetFlaggedEmpty():
		if !same(next, func(s *yizhanv1.DutyShift) { s.FlaggedEmpty = false }) || at.Before(held.GetStart().AsTime().Add(ShiftGrace)) {
			return bad("flagged empty only when not taken over %s after its start", ShiftGrace)
		}
		return ShiftFlaggedEmpty, nil
	case held.GetState() == yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY && next.GetFlaggedNotHandedOver() && !held.GetFlaggedNotHandedOver():
		if !same(next, func(s *yizhanv1.DutyShift) { s.FlaggedNotHandedOver = false }) || at.Before(held.GetEnd().AsTime().Add(ShiftGrace)) {
			return bad("flagged not handed over only when on duty %s after its end", ShiftGrace)
		}
		return ShiftFlaggedNotHandedOver, nil
	}
	return bad("no such change from %v", held.GetState())
}

// FlagDue is when shift s is next due for a flag (zero: never again).
func FlagDue(s *yizhanv1.DutyShift) time.Time {
	switch {
	case s.GetState() == yizhanv1.ShiftState_SHIFT_STATE_PLANNED && !s.GetFlaggedEmpty():
		return s.GetStart().AsTime().Add(ShiftGrace)
	case s.GetState() == yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY && !s.GetFlaggedNotHandedOver():
		return s.GetEnd().AsTime().Add(ShiftGrace)
	}
	return time.Time{}
}

// Flagged is shift s with the flag it is due at now, and whether it had
// one due.
func Flagged(s *yizhanv1.DutyShift, now time.Time) (*yizhanv1.DutyShift, bool) {
	due := FlagDue(s)
	if due.IsZero() || now.Before(due) {
		return nil, false
	}
	n := proto.CloneOf(s)
	n.Version++
	n.Signature, n.SignerChain = nil, nil
	if s.GetState() == yizhanv1.ShiftState_SHIFT_STATE_PLANNED {
		n.FlaggedEmpty = true
	} else {
		n.FlaggedNotHandedOver = true
	}
	return n, true
}

// ClockSkew is how far ahead of the node's clock a time typed by staff
// may be (the officer's watch, the browser's clock): a time in the log,
// or a report's event and the time it became known.
const ClockSkew = 5 * time.Minute

// CheckLogEntry checks what a duty officer writes in the log at now (the
// seed's 来电人身份、来电时间、联系电话): a call names who called and
// the number to call back, unless the caller's number was not shown
// (phone_withheld, 未显示号码); a notice names who sent it, the caller or
// their unit; the time a call or notice came (received_at) is not after
// now (ClockSkew allowed) nor more than MaxShift before it.
func CheckLogEntry(e *yizhanv1.DutyLogEntry, now time.Time) error {
	bad := func(field, why, format string, args ...any) error {
		return &FieldError{Field: "entry." + field, Why: why, Msg: fmt.Sprintf(format, args...)}
	}
	if err := checkChoice("entry.kind", e.GetKind(), "call, notice, instruction, document or other"); err != nil {
		return err
	}
	if strings.TrimSpace(e.GetMatter()) == "" {
		return bad("matter", registry.ReasonRequired, "is required")
	}
	for _, f := range []struct {
		name, v   string
		max       int
		multiline bool
	}{{"caller", e.GetCaller(), MaxTitle, false}, {"unit", e.GetUnit(), MaxTitle, false}, {"phone", e.GetPhone(), 32, false},
		{"matter", e.GetMatter(), MaxText, true}, {"action", e.GetAction(), MaxText, true}, {"told", e.GetTold(), MaxTitle, true}} {
		if err := checkString("entry."+f.name, f.v, f.max, f.multiline); err != nil {
			return err
		}
	}
	caller, unit, phone := strings.TrimSpace(e.GetCaller()), strings.TrimSpace(e.GetUnit()), strings.TrimSpace(e.GetPhone())
	switch e.GetKind() {
	case yizhanv1.LogKind_LOG_KIND_CALL:
		if caller == "" {
			return bad("caller", registry.ReasonRequired, "a call names who called")
		}
		if phone == "" && !e.GetPhoneWithheld() {
			return bad("phone", registry.ReasonRequired, "a call names the number to call back, or says it was not shown (phone_withheld)")
		}
	case yizhanv1.LogKind_LOG_KIND_NOTICE:
		if caller == "" && unit == "" {
			return bad("caller", registry.ReasonRequired, "a notice names who sent it: the caller or their unit")
		}
	}
	if phone != "" && e.GetPhoneWithheld() {
		return bad("phone_withheld", registry.ReasonOutOfRange, "a number written down was shown: leave phone empty, or phone_withheld unset")
	}
	if r := e.GetReceivedAt(); r != nil {
		if r.CheckValid() != nil {
			return &FieldError{Field: "entry.received_at", Why: reason.InvalidFormat, Meta: reason.Meta{"format": "TIMESTAMP"}, Msg: "is not a valid time"}
		}
		switch t := r.AsTime(); {
		case t.After(now.Add(ClockSkew)):
			return bad("received_at", registry.ReasonOutOfRange, "is in the future: a call or notice is logged once it came")
		case t.Before(now.Add(-MaxShift)):
			return bad("received_at", registry.ReasonOutOfRange, "is more than %s before it is logged: the log is written on the shift it came in", MaxShift)
		}
	}
	// The caller's number, when written down, is one to call back.
	return checkPhone("entry.phone", e.GetPhone(), registry.ValidContactPhone)
}
