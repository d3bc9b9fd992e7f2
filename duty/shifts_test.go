package duty

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

func TestShiftChanges(t *testing.T) {
	start := time.Date(2026, 12, 1, 18, 0, 0, 0, time.UTC)
	const office = "450122101203"
	s := &yizhanv1.DutyShift{Id: ShiftID(office, start), OfficeCode: office, Start: timestamppb.New(start), End: timestamppb.New(start.Add(14 * time.Hour)),
		Leader: "leader", Officers: []string{"duty"}, State: yizhanv1.ShiftState_SHIFT_STATE_PLANNED, Version: 1}
	if c, err := ChangeOf(s, nil, start.Add(-time.Hour)); err != nil || c != ShiftPublished {
		t.Fatalf("publish: %v %v", c, err)
	}
	next := func(mod func(*yizhanv1.DutyShift)) *yizhanv1.DutyShift {
		n := proto.CloneOf(s)
		n.Version++
		mod(n)
		return n
	}
	swap := next(func(n *yizhanv1.DutyShift) {
		n.Officers = []string{"other"}
		n.Swaps = []*yizhanv1.ShiftSwap{{From: "duty", To: "other", ApprovedBy: "leader"}}
	})
	if c, err := ChangeOf(swap, s, start.Add(-time.Hour)); err != nil || c != ShiftSwapped {
		t.Errorf("swap: %v %v", c, err)
	}
	sneaky := next(func(n *yizhanv1.DutyShift) {
		n.Officers = []string{"other"}
		n.Swaps = []*yizhanv1.ShiftSwap{{From: "duty", To: "other"}}
		n.End = timestamppb.New(start.Add(2 * time.Hour))
	})
	if _, err := ChangeOf(sneaky, s, start); err == nil {
		t.Error("a swap that also moved the end was taken")
	}
	take := next(func(n *yizhanv1.DutyShift) { n.State, n.TakenOverBy = yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY, "duty" })
	for at, ok := range map[time.Time]bool{start.Add(-time.Hour): false, start.Add(-20 * time.Minute): true, start.Add(13 * time.Hour): true, start.Add(15 * time.Hour): false} {
		if _, err := ChangeOf(take, s, at); (err == nil) != ok {
			t.Errorf("take over at %s: %v, want ok %v", at.Sub(start), err, ok)
		}
	}
	// The take-over signs for the shift before's open matters; matters
	// from no shift, or a take-over that changes anything else, are not.
	withMatters := next(func(n *yizhanv1.DutyShift) {
		n.State, n.TakenOverBy, n.TakenOverFrom, n.MattersTakenOver = yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY, "duty", "BC-prev", "防汛会"
	})
	if c, err := ChangeOf(withMatters, s, start); err != nil || c != ShiftTakenOver {
		t.Errorf("take over with the open matters: %v %v", c, err)
	}
	orphan := next(func(n *yizhanv1.DutyShift) {
		n.State, n.TakenOverBy, n.MattersTakenOver = yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY, "duty", "防汛会"
	})
	if _, err := ChangeOf(orphan, s, start); err == nil {
		t.Error("open matters taken over from no shift were taken")
	}
	if f, ok := Flagged(s, start.Add(10*time.Minute)); ok {
		t.Errorf("flagged within the grace: %v", f)
	}
	f, ok := Flagged(s, start.Add(20*time.Minute))
	if !ok || !f.GetFlaggedEmpty() {
		t.Fatalf("not flagged empty: %v", f)
	}
	if c, err := ChangeOf(f, s, start.Add(20*time.Minute)); err != nil || c != ShiftFlaggedEmpty {
		t.Errorf("flag: %v %v", c, err)
	}
	if _, err := ChangeOf(f, s, start.Add(5*time.Minute)); err == nil {
		t.Error("a flag before the grace was taken")
	}
	onDuty := proto.CloneOf(take)
	if !FlagDue(onDuty).Equal(start.Add(14*time.Hour + ShiftGrace)) {
		t.Errorf("an on-duty shift's flag is due at %v", FlagDue(onDuty))
	}
	if err := CheckShift(&yizhanv1.DutyShift{Start: s.Start, End: s.Start, Leader: "l", Officers: []string{"o"}}, "shifts[0]"); err == nil {
		t.Error("a shift ending at its start was taken")
	}
	if err := CheckShift(&yizhanv1.DutyShift{Start: s.Start, End: s.End, Leader: "l", Officers: []string{"l"}}, "shifts[0]"); err == nil {
		t.Error("the leader also an officer was taken")
	}
	// A duty phone is a phone number as a shift is published; a book
	// still takes the versions of one published before it was checked.
	room := &yizhanv1.DutyShift{Start: s.Start, End: s.End, Leader: "l", Officers: []string{"o"}, DutyPhone: "值班室"}
	if fe, ok := CheckNewShift(room, "shifts[0]").(*FieldError); !ok || fe.Field != "shifts[0].duty_phone" || fe.Why != reason.InvalidFormat {
		t.Errorf("a duty phone that is a room: %v", CheckNewShift(room, "shifts[0]"))
	}
	if err := CheckShift(room, "shift"); err != nil {
		t.Errorf("a book refuses a shift published before the phone was checked: %v", err)
	}
	room.DutyPhone = "0771-6201110"
	if err := CheckNewShift(room, "shifts[0]"); err != nil {
		t.Errorf("a landline: %v", err)
	}
}

func TestMissingFollowUps(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	acks := []*yizhanv1.ReportAck{{At: timestamppb.New(t0), FollowUpMinutes: 120}, {At: timestamppb.New(t0), FollowUpMinutes: 0}}
	report := func(h float64, kind yizhanv1.ReportKind) *yizhanv1.UrgentReport {
		return &yizhanv1.UrgentReport{Kind: kind, State: yizhanv1.ReportState_REPORT_STATE_SIGNED,
			SignedAt: timestamppb.New(t0.Add(time.Duration(h * float64(time.Hour))))}
	}
	fu := yizhanv1.ReportKind_REPORT_KIND_FOLLOW_UP
	for _, tc := range []struct {
		name      string
		following []*yizhanv1.UrgentReport
		until     float64
		want      int
	}{
		{"on time every two hours", []*yizhanv1.UrgentReport{report(2, fu), report(4, fu)}, 5, 0},
		{"nothing for seven hours", nil, 7, 3},
		{"exactly at the due time", nil, 2, 0},
		{"a gap of five hours, then final", []*yizhanv1.UrgentReport{report(5, yizhanv1.ReportKind_REPORT_KIND_FINAL)}, 30, 2},
	} {
		if got := MissingFollowUps(acks, tc.following, t0.Add(time.Duration(tc.until*float64(time.Hour)))); got != tc.want {
			t.Errorf("%s: %d missing, want %d", tc.name, got, tc.want)
		}
	}
	if got := MissingFollowUps([]*yizhanv1.ReportAck{{At: timestamppb.New(t0)}}, nil, t0.Add(48*time.Hour)); got != 0 {
		t.Errorf("no interval asked: %d missing", got)
	}
}

// Offices further up acknowledge later, some asking for follow-ups more
// often (docs/DUTY.md: "from that acknowledgement until the final
// report, each interval that passes with no signed report of the matter
// is a missing follow-up"). The township asks at 10:00 for one every
// hour; the county at 13:30 for one every half hour. What was missed
// before the county asked stays missed; a later request for a longer
// interval changes nothing.
func TestMissingFollowUpsAsTheRequestsChange(t *testing.T) {
	ten := time.Date(2026, 6, 1, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	at := func(min int) *timestamppb.Timestamp {
		return timestamppb.New(ten.Add(time.Duration(min) * time.Minute))
	}
	township := &yizhanv1.ReportAck{OfficeCode: "450122101000", At: at(0), FollowUpMinutes: 60}
	county := &yizhanv1.ReportAck{OfficeCode: "450122000000", At: at(210), FollowUpMinutes: 30}
	lax := &yizhanv1.ReportAck{OfficeCode: "450122000000", At: at(90), FollowUpMinutes: 240}
	report := func(min int) *yizhanv1.UrgentReport {
		return &yizhanv1.UrgentReport{Kind: yizhanv1.ReportKind_REPORT_KIND_FOLLOW_UP, State: yizhanv1.ReportState_REPORT_STATE_SIGNED, SignedAt: at(min)}
	}
	for _, tc := range []struct {
		name      string
		acks      []*yizhanv1.ReportAck
		following []*yizhanv1.UrgentReport
		until     int // minutes after 10:00
		want      int
	}{
		{"the township alone, nothing till 14:00", []*yizhanv1.ReportAck{township}, nil, 240, 3},
		{"the county asks at 13:30: 11, 12 and 13 o'clock stay missed", []*yizhanv1.ReportAck{township, county}, nil, 240, 3},
		{"and nothing till 15:00: 14:00 and 14:30 missed too", []*yizhanv1.ReportAck{county, township}, nil, 300, 5},
		{"a report at 12:30, then the county at 13:30: 11:00, 12:00 and the 13:30 it was due", []*yizhanv1.ReportAck{township, county}, []*yizhanv1.UrgentReport{report(150)}, 240, 3},
		{"a report every half hour after the county asked", []*yizhanv1.ReportAck{township, county}, []*yizhanv1.UrgentReport{report(240), report(270)}, 290, 3},
		{"a longer interval asked later changes nothing", []*yizhanv1.ReportAck{township, lax}, nil, 240, 3},
		{"the county's request due at 13:30 was missed at it", []*yizhanv1.ReportAck{{At: at(0), FollowUpMinutes: 90}, county}, nil, 240, 2},
	} {
		if got := MissingFollowUps(tc.acks, tc.following, ten.Add(time.Duration(tc.until)*time.Minute)); got != tc.want {
			t.Errorf("%s: %d missing, want %d", tc.name, got, tc.want)
		}
	}
}

func TestLogEntryChecks(t *testing.T) {
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	good := &yizhanv1.DutyLogEntry{Kind: yizhanv1.LogKind_LOG_KIND_CALL, Caller: "镇政府办", Phone: "0771-6201001", Matter: "开会通知"}
	if err := CheckLogEntry(good, now); err != nil {
		t.Fatal(err)
	}
	for field, mod := range map[string]func(*yizhanv1.DutyLogEntry){
		"entry.kind":   func(e *yizhanv1.DutyLogEntry) { e.Kind = 0 },
		"entry.matter": func(e *yizhanv1.DutyLogEntry) { e.Matter = " " },
		"entry.caller": func(e *yizhanv1.DutyLogEntry) { e.Caller = "" },
		"entry.phone":  func(e *yizhanv1.DutyLogEntry) { e.Phone = string(make([]byte, 40)) },
		"entry.action": func(e *yizhanv1.DutyLogEntry) { e.Action = "已通知\x1b[2J" },
		"entry.unit":   func(e *yizhanv1.DutyLogEntry) { e.Unit = "镇\x00政府" },
	} {
		e := proto.CloneOf(good)
		mod(e)
		if fe, ok := CheckLogEntry(e, now).(*FieldError); !ok || fe.Field != field {
			t.Errorf("%s: %v", field, CheckLogEntry(e, now))
		}
	}
}

// The next follow-up is due an interval after the later of the request
// and the last report; none without an interval asked.
func TestNextFollowUp(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	acks := []*yizhanv1.ReportAck{{At: timestamppb.New(t0), FollowUpMinutes: 120}, {At: timestamppb.New(t0.Add(time.Hour)), FollowUpMinutes: 360}}
	if got := NextFollowUp(acks, t0.Add(-time.Hour)); !got.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("last reported before the request: due %v", got)
	}
	if got := NextFollowUp(acks, t0.Add(3*time.Hour)); !got.Equal(t0.Add(5 * time.Hour)) {
		t.Errorf("last reported after it: due %v", got)
	}
	if got := NextFollowUp([]*yizhanv1.ReportAck{{At: timestamppb.New(t0)}}, t0); !got.IsZero() {
		t.Errorf("no interval asked: due %v", got)
	}
}

// docs/DUTY.md: someone on the shift "takes it over (接班) ... from 30
// minutes before its start until its end; at its end they hand it over
// (交班)". A shift 08:00–20:00 taken over at 08:00 and handed over at
// 09:00 would leave the post empty for eleven hours, and no flag would
// say so (空岗 is raised on a shift nobody took over, 未交接 on one still
// on duty after its end): it is refused; from 19:30 it is taken.
func TestAShiftIsHandedOverOnlyNearItsEnd(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	start := time.Date(2026, 6, 1, 8, 0, 0, 0, cst)
	held := &yizhanv1.DutyShift{OfficeCode: "450122101203", Start: timestamppb.New(start), End: timestamppb.New(start.Add(12 * time.Hour)),
		Leader: "leader", Officers: []string{"duty"}, State: yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY, Version: 2,
		TakenOverBy: "duty", TakenOverAt: timestamppb.New(start)}
	held.Id = ShiftID(held.GetOfficeCode(), start)
	at := start.Add(time.Hour) // 09:00
	next := &yizhanv1.DutyShift{}
	*next = yizhanv1.DutyShift{Id: held.Id, OfficeCode: held.OfficeCode, Start: held.Start, End: held.End, Leader: held.Leader, Officers: held.Officers,
		TakenOverBy: held.TakenOverBy, TakenOverAt: held.TakenOverAt, Version: 3,
		State: yizhanv1.ShiftState_SHIFT_STATE_HANDED_OVER, HandedOverBy: "duty", HandedOverAt: timestamppb.New(at), OpenMatters: "无"}
	if ch, err := ChangeOf(next, held, at); err == nil {
		t.Errorf("a 08:00–20:00 shift handed over at 09:00 was accepted (%v): the post stands empty until 20:00 with no flag", ch)
	}
	for _, at := range []time.Time{start.Add(12*time.Hour - HandOverEarly), start.Add(12 * time.Hour), start.Add(13 * time.Hour)} {
		next.HandedOverAt = timestamppb.New(at)
		if ch, err := ChangeOf(next, held, at); err != nil || ch != ShiftHandedOver {
			t.Errorf("handed over at %s: %v, %v", at.Format("15:04"), ch, err)
		}
	}
}
