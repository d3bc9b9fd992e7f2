package casework

// What a clerk or supervisor expects of the clocks at their edges: a late
// case stays late, a due date is a whole day.

import (
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/registry"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A case already past its promised due time, then suspended for a special
// procedure on a non-working day (a Saturday), stays overdue: a pause
// never catches a late case up, and Clocks and OverdueFrom (the queue's
// rank) agree.
//
// Tobacco licence (promised 10 working days) accepted Friday 2025-03-07:
// promised due the end of Friday 2025-03-21. Red on Saturday 03-22.
// Suspended for 现场勘查 (not counted, 5-day limit) Saturday 03-22 10:00.
func TestALateCaseSuspendedOnTheWeekendStaysLate(t *testing.T) {
	reg := newReg(t)
	yc := reg.item(tobacco)
	accepted := cst(2025, 3, 7, 10)
	suspended := cst(2025, 3, 22, 10) // Saturday, the day after the due date

	// Before the suspension: overdue (the sweep cards it red then).
	before := clockLog(yc, accepted.Add(-time.Hour), evt(tAccepted, accepted))
	cb, _ := Fold(before)
	if d := Clocks(cb, before, reg, cst(2025, 3, 22, 9)); !d.GetOverdue() {
		t.Fatalf("setup: not overdue on Saturday 09:00 before the suspension: due %v", d.GetPromisedDue().AsTime().In(registry.CST))
	}

	// Still suspended on Monday 10:00.
	open := clockLog(yc, accepted.Add(-time.Hour), evt(tAccepted, accepted), ev{typ: tSuspended, at: suspended, sp: "现场勘查"})
	co, _ := Fold(open)
	mon := cst(2025, 3, 24, 10)
	d := Clocks(co, open, reg, mon)
	if !d.GetOverdue() {
		t.Errorf("late case suspended on Saturday: overdue=false on Monday 10:00 (promised due now %s, paused %d); it was overdue before the pause",
			d.GetPromisedDue().AsTime().In(registry.CST).Format(time.DateTime), d.GetPausedDays())
	}
	// OverdueFrom (what the queue ranks by) disagrees with Clocks.
	from, _ := OverdueFrom(co, open, reg, suspended)
	if mon.After(from) != d.GetOverdue() {
		t.Errorf("OverdueFrom says overdue from %s, Clocks on Monday says overdue=%v",
			from.In(registry.CST).Format(time.DateTime), d.GetOverdue())
	}

	// Resumed Monday 10:00, decided Monday 11:00: decided late (the red
	// card the sweep issued on Saturday stands; the counters take Clocks
	// at the decision).
	done := clockLog(yc, accepted.Add(-time.Hour), evt(tAccepted, accepted),
		ev{typ: tSuspended, at: suspended, sp: "现场勘查"}, evt(tResumed, mon), evt(tDecided, cst(2025, 3, 24, 11)))
	cd, _ := Fold(done)
	if d := Clocks(cd, done, reg, cst(2025, 3, 24, 11)); !d.GetOverdue() {
		t.Errorf("decided on Monday after being late since Saturday: overdue=false (promised due %s, days left %d)",
			d.GetPromisedDue().AsTime().In(registry.CST).Format(time.DateTime), d.GetPromisedDaysLeft())
	}
}

// Every due time of the system is the end of a day in CST (the case page
// shows only the date): so is the correction notice's wait. A notice sent
// at 10:00 has not lapsed at 15:00 on the date the page shows as its
// deadline.
func TestCorrectionDueIsTheEndOfADay(t *testing.T) {
	notice := cst(2025, 3, 3, 10)
	c := &yizhanv1.Case{State: yizhanv1.CaseState_CASE_STATE_CORRECTION_REQUESTED, CorrectionNoticeAt: ts(notice)}
	due := CorrectionDue(c, nil, &yizhanv1.CasePolicy{})
	at := due.In(registry.CST)
	if at.Hour() != 23 || at.Minute() != 59 {
		t.Errorf("correction due %s: not the end of a day (the page says 补正期限 %s; at %s the same page says 补正期限已过)",
			at.Format(time.DateTime), at.Format(time.DateOnly), at.Add(5*time.Hour).Format(time.DateTime))
	}
}

// An extension (§42) granted after the promised limit was already broken
// does not turn a late case back into an on-time one (the red card was
// issued when the limit passed; the decision counts as late). Accepted
// 2025-03-03, promised due 2025-03-17; extended by 10 days on 2025-03-19.
func TestAnExtensionAfterTheDueDateLeavesTheCaseLate(t *testing.T) {
	reg := newReg(t)
	yc := reg.item(tobacco)
	events := clockLog(yc, t0, evt(tAccepted, cst(2025, 3, 3, 10)),
		ev{typ: tExtended, at: cst(2025, 3, 19, 10), days: 10}, evt(tDecided, cst(2025, 3, 25, 10)))
	c, _ := Fold(events)
	d := Clocks(c, events, reg, cst(2025, 3, 25, 10))
	if !d.GetOverdue() {
		t.Errorf("extended on 03-19, two days after the promised due 03-17, decided 03-25: overdue=false (promised due now %s)",
			d.GetPromisedDue().AsTime().In(registry.CST).Format(time.DateOnly))
	}
}
