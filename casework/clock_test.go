package casework

import (
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/registry"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// ev is one event of a log made for a clock test.
type ev struct {
	typ  yizhanv1.EventType
	at   time.Time
	sp   string // suspended: the special procedure
	days int32  // extended
}

func evt(typ yizhanv1.EventType, at time.Time) ev { return ev{typ: typ, at: at} }

// clockLog makes the log of a case of item filed at the county: a FILED
// event at the first event's time, then evs. Hashes do not matter here.
func clockLog(item *yizhanv1.Item, filedAt time.Time, evs ...ev) []*yizhanv1.CaseEvent {
	log := []*yizhanv1.CaseEvent{{
		Seq: 1, Type: yizhanv1.EventType_EVENT_TYPE_FILED, At: ts(filedAt), OfficeCode: county,
		Filing: &yizhanv1.CaseFiling{
			Number: CaseNumber(county, filedAt, 1), ItemCode: item.GetCode(), ItemVersion: item.GetVersion(),
			CaseKind: item.GetCaseKind(), OriginOffice: county,
			StatutoryLimitDays: item.GetStatutoryLimitDays(), PromisedLimitDays: item.GetPromisedLimitDays(),
		},
	}}
	for i, e := range evs {
		log = append(log, &yizhanv1.CaseEvent{
			Seq: uint32(i + 2), Type: e.typ, At: ts(e.at), OfficeCode: county,
			SpecialProcedure: e.sp, ExtensionDays: e.days, Approved: true,
		})
	}
	return log
}

const (
	tAccepted  = yizhanv1.EventType_EVENT_TYPE_ACCEPTED
	tSuspended = yizhanv1.EventType_EVENT_TYPE_SUSPENDED
	tResumed   = yizhanv1.EventType_EVENT_TYPE_RESUMED
	tExtended  = yizhanv1.EventType_EVENT_TYPE_EXTENDED
	tDecided   = yizhanv1.EventType_EVENT_TYPE_DECIDED
	tWithdrawn = yizhanv1.EventType_EVENT_TYPE_WITHDRAWN
	tCorrect   = yizhanv1.EventType_EVENT_TYPE_CORRECTION_REQUESTED
	tResubmit  = yizhanv1.EventType_EVENT_TYPE_RESUBMITTED
	tForwarded = yizhanv1.EventType_EVENT_TYPE_FORWARDED
)

func TestClocks(t *testing.T) {
	reg := newReg(t)
	yc, jb := reg.item(tobacco), reg.item(immediate)
	sep26 := cst(2025, 9, 26, 10) // the Friday before National Day
	jan24 := cst(2025, 1, 24, 10) // the Friday before the Spring Festival
	mar3 := cst(2025, 3, 3, 10)   // an ordinary Monday
	tests := []struct {
		name                       string
		item                       *yizhanv1.Item
		events                     []ev
		now                        time.Time
		statutoryDue, promisedDue  string // YYYY-MM-DD, the due time being the end of that day
		statutoryLeft, promiseLeft int32
		paused, extension          int32
		running, overdue           bool
		overLimit                  bool // suspended past the procedure's own limit
	}{
		{
			// 09-28 (Sun) is worked, 10-01..08 are off, 10-11 (Sat) is worked.
			name: "national day: tobacco licence accepted 2025-09-26, 10 promised working days", item: yc,
			events: []ev{evt(tAccepted, sep26)}, now: cst(2025, 10, 9, 10),
			promisedDue: "2025-10-16", statutoryDue: "2025-10-30", promiseLeft: 6, statutoryLeft: 16, running: true,
		},
		{
			// 01-26 (Sun) is worked, 01-28..02-04 are off, 02-08 (Sat) is worked.
			name: "spring festival: accepted 2025-01-24", item: yc,
			events: []ev{evt(tAccepted, jan24)}, now: cst(2025, 1, 27, 10),
			promisedDue: "2025-02-13", statutoryDue: "2025-02-27", promiseLeft: 8, statutoryLeft: 18, running: true,
		},
		{
			name: "overdue: running the day after the promised due date", item: yc,
			events: []ev{evt(tAccepted, sep26)}, now: cst(2025, 10, 17, 10),
			promisedDue: "2025-10-16", statutoryDue: "2025-10-30", promiseLeft: -1, statutoryLeft: 9, running: true, overdue: true,
		},
		{
			name: "overdue over a weekend still counts a day", item: yc,
			events: []ev{evt(tAccepted, sep26)}, now: cst(2025, 10, 19, 10),
			promisedDue: "2025-10-16", statutoryDue: "2025-10-30", promiseLeft: -1, statutoryLeft: 9, running: true, overdue: true,
		},
		{
			name: "decided late: overdue, stopped, days counted to the decision", item: yc,
			events: []ev{evt(tAccepted, sep26), evt(tDecided, cst(2025, 10, 20, 16))}, now: cst(2025, 12, 1, 9),
			promisedDue: "2025-10-16", statutoryDue: "2025-10-30", promiseLeft: -2, statutoryLeft: 8, overdue: true,
		},
		{
			name: "decided on time", item: yc,
			events: []ev{evt(tAccepted, sep26), evt(tDecided, cst(2025, 10, 15, 16))}, now: cst(2025, 12, 1, 9),
			promisedDue: "2025-10-16", statutoryDue: "2025-10-30", promiseLeft: 1, statutoryLeft: 11,
		},
		{
			name: "decided on the due date itself is on time", item: yc,
			events: []ev{evt(tAccepted, sep26), evt(tDecided, cst(2025, 10, 16, 23))}, now: cst(2025, 12, 1, 9),
			promisedDue: "2025-10-16", statutoryDue: "2025-10-30", promiseLeft: 0, statutoryLeft: 10,
		},
		{
			name: "an inspection (not counted) pauses the clock", item: yc,
			events: []ev{evt(tAccepted, mar3), {typ: tSuspended, at: cst(2025, 3, 5, 10), sp: "现场勘查"}, evt(tResumed, cst(2025, 3, 10, 10))},
			now:    cst(2025, 3, 10, 11), paused: 3,
			promisedDue: "2025-03-20", statutoryDue: "2025-04-03", promiseLeft: 8, statutoryLeft: 18, running: true,
		},
		{
			name: "a hearing that counts inside the limit does not pause it", item: yc,
			events:      []ev{evt(tAccepted, mar3), {typ: tSuspended, at: cst(2025, 3, 5, 10), sp: "听证"}, evt(tResumed, cst(2025, 3, 10, 10))},
			now:         cst(2025, 3, 10, 11),
			promisedDue: "2025-03-17", statutoryDue: "2025-03-31", promiseLeft: 5, statutoryLeft: 15, running: true,
		},
		{
			name: "still suspended: paused until now, not running", item: yc,
			events: []ev{evt(tAccepted, mar3), {typ: tSuspended, at: cst(2025, 3, 5, 10), sp: "现场勘查"}},
			now:    cst(2025, 3, 7, 15), paused: 2,
			promisedDue: "2025-03-19", statutoryDue: "2025-04-02", promiseLeft: 8, statutoryLeft: 18,
		},
		{
			// 04-04 is Qingming.
			name: "extended by 5 working days", item: yc,
			events: []ev{evt(tAccepted, mar3), {typ: tExtended, at: cst(2025, 3, 14, 10), days: 5}},
			now:    cst(2025, 3, 21, 10), extension: 5,
			promisedDue: "2025-03-24", statutoryDue: "2025-04-08", promiseLeft: 1, statutoryLeft: 11, running: true,
		},
		{
			// The promise ran out on 03-17: extended on 03-20, the case
			// stays late on it; the statutory limit, not yet run out,
			// is extended.
			name: "extended after the promised due date: still late", item: yc,
			events: []ev{evt(tAccepted, mar3), {typ: tExtended, at: cst(2025, 3, 20, 10), days: 5}},
			now:    cst(2025, 3, 21, 10), extension: 5,
			promisedDue: "2025-03-17", statutoryDue: "2025-04-08", promiseLeft: -4, statutoryLeft: 11, running: true, overdue: true,
		},
		{
			// Due at the end of Friday 03-21, suspended for an inspection
			// on Saturday 03-22: the pause does not catch it up.
			name: "late, then suspended on the weekend: still late", item: yc,
			events: []ev{evt(tAccepted, cst(2025, 3, 7, 10)), {typ: tSuspended, at: cst(2025, 3, 22, 10), sp: "现场勘查"}},
			now:    cst(2025, 3, 24, 10), paused: 1,
			promisedDue: "2025-03-21", statutoryDue: "2025-04-08", promiseLeft: -1, statutoryLeft: 10, running: true, overdue: true,
		},
		{
			name: "corrections come before acceptance: the clock starts at acceptance", item: yc,
			events:      []ev{evt(tCorrect, mar3), evt(tResubmit, cst(2025, 3, 10, 9)), evt(tAccepted, cst(2025, 3, 10, 10))},
			now:         cst(2025, 3, 10, 11),
			promisedDue: "2025-03-24", statutoryDue: "2025-04-08", promiseLeft: 10, statutoryLeft: 20, running: true,
		},
		{
			name: "immediate item is due the day it is accepted", item: jb,
			events: []ev{evt(tAccepted, mar3)}, now: cst(2025, 3, 3, 11),
			promisedDue: "2025-03-03", statutoryDue: "2025-03-03", running: true,
		},
		{
			name: "immediate item not decided the next day is overdue", item: jb,
			events: []ev{evt(tAccepted, mar3)}, now: cst(2025, 3, 4, 9),
			promisedDue: "2025-03-03", statutoryDue: "2025-03-03", promiseLeft: -1, statutoryLeft: -1, running: true, overdue: true,
		},
		{
			// 3 March + 10 promised working days is 17 March; the hearing
			// counts inside the limit and its own limit is 10 days.
			// A hearing counts inside the limit: its clock runs.
			name: "a counted hearing open past the due date: overdue while suspended, and over its own limit", item: yc,
			events:      []ev{evt(tAccepted, mar3), {typ: tSuspended, at: cst(2025, 3, 5, 10), sp: "听证"}},
			now:         cst(2025, 3, 24, 10),
			promisedDue: "2025-03-17", statutoryDue: "2025-03-31", promiseLeft: -5, statutoryLeft: 5, running: true, overdue: true, overLimit: true,
		},
		{
			name: "an inspection paused four weeks pauses only its own 5 days", item: yc,
			events: []ev{evt(tAccepted, mar3), {typ: tSuspended, at: cst(2025, 3, 5, 10), sp: "现场勘查"}, evt(tResumed, cst(2025, 4, 2, 10))},
			now:    cst(2025, 4, 2, 11), paused: 5,
			promisedDue: "2025-03-24", statutoryDue: "2025-04-08", promiseLeft: -7, statutoryLeft: 3, running: true, overdue: true,
		},
		{
			// Past its own limit the pause no longer moves the due date:
			// the clock runs again.
			name: "an inspection still open past its 5 days: the pause stops growing", item: yc,
			events: []ev{evt(tAccepted, mar3), {typ: tSuspended, at: cst(2025, 3, 5, 10), sp: "现场勘查"}},
			now:    cst(2025, 3, 25, 10), paused: 5,
			promisedDue: "2025-03-24", statutoryDue: "2025-04-08", promiseLeft: -1, statutoryLeft: 9, running: true, overdue: true, overLimit: true,
		},
		{
			name: "withdrawn while suspended: the pause ends with the case", item: yc,
			events: []ev{evt(tAccepted, mar3), {typ: tSuspended, at: cst(2025, 3, 5, 10), sp: "现场勘查"}, evt(tWithdrawn, cst(2025, 3, 7, 10))},
			now:    cst(2025, 6, 1, 9), paused: 2,
			promisedDue: "2025-03-19", statutoryDue: "2025-04-02", promiseLeft: 8, statutoryLeft: 18,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events := clockLog(tt.item, tt.events[0].at.Add(-time.Hour), tt.events...)
			c, err := Fold(events)
			if err != nil {
				t.Fatal(err)
			}
			d := Clocks(c, events, reg, tt.now)
			day := func(ts interface{ AsTime() time.Time }) string {
				at := ts.AsTime().In(registry.CST)
				if at.Hour() != 23 || at.Minute() != 59 {
					t.Errorf("due %v is not the end of a day", at)
				}
				return at.Format(time.DateOnly)
			}
			if got := day(d.GetPromisedDue()); got != tt.promisedDue {
				t.Errorf("promised due %s, want %s", got, tt.promisedDue)
			}
			if got := day(d.GetStatutoryDue()); got != tt.statutoryDue {
				t.Errorf("statutory due %s, want %s", got, tt.statutoryDue)
			}
			if d.GetPromisedDaysLeft() != tt.promiseLeft || d.GetStatutoryDaysLeft() != tt.statutoryLeft {
				t.Errorf("days left: promised %d statutory %d, want %d %d", d.GetPromisedDaysLeft(), d.GetStatutoryDaysLeft(), tt.promiseLeft, tt.statutoryLeft)
			}
			if d.GetPausedDays() != tt.paused || d.GetExtensionDays() != tt.extension {
				t.Errorf("paused %d extension %d, want %d %d", d.GetPausedDays(), d.GetExtensionDays(), tt.paused, tt.extension)
			}
			if d.GetRunning() != tt.running || d.GetOverdue() != tt.overdue || d.GetSuspensionOverLimit() != tt.overLimit {
				t.Errorf("running %v overdue %v over its limit %v, want %v %v %v", d.GetRunning(), d.GetOverdue(), d.GetSuspensionOverLimit(), tt.running, tt.overdue, tt.overLimit)
			}
			var accepted time.Time
			for _, e := range tt.events {
				if e.typ == tAccepted {
					accepted = e.at
				}
			}
			if !d.GetAcceptedAt().AsTime().Equal(accepted) {
				t.Errorf("accepted_at %v, want %v", d.GetAcceptedAt().AsTime(), accepted)
			}
		})
	}
}

func TestClocksBeforeAcceptance(t *testing.T) {
	reg := newReg(t)
	events := clockLog(reg.item(tobacco), t0, evt(tCorrect, t0.Add(time.Hour)))
	c, _ := Fold(events)
	d := Clocks(c, events, reg, t0.AddDate(0, 1, 0))
	if d.GetAcceptedAt() != nil || d.GetPromisedDue() != nil || d.GetStatutoryDue() != nil || d.GetRunning() || d.GetOverdue() {
		t.Errorf("a case not accepted has clocks: %v", d)
	}
	if d := Clocks(nil, nil, reg, t0); d == nil || d.GetRunning() {
		t.Errorf("Clocks of nothing = %v", d)
	}
}

func TestClocksBoundAbsurdLimits(t *testing.T) {
	reg := newReg(t)
	it := reg.item(tobacco)
	it.StatutoryLimitDays, it.PromisedLimitDays = 1<<30, 1<<30
	events := clockLog(it, t0, evt(tAccepted, t0), ev{typ: tExtended, at: t0, days: 1 << 30})
	c, _ := Fold(events)
	d := Clocks(c, events, reg, t0)
	if d.GetStatutoryDue().AsTime().Year() > 2045 {
		t.Errorf("due %v: the limit was not bounded", d.GetStatutoryDue().AsTime())
	}
}
