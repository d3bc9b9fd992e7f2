package casebook

import (
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// statOf is the book's counter of outcome in period, summed over its
// offices, items and departments.
func statOf(t *testing.T, b *Book, period, outcome string) uint64 {
	t.Helper()
	st, err := b.Stats(StatsQuery{Period: period, Outcome: outcome})
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, s := range st {
		if s.Outcome == outcome {
			n += s.Value
		}
	}
	return n
}

// A case decided at 23:5x on 2026-12-31 in Beijing (15:5x UTC) counts in
// December and 2026; one accepted then and decided at 00:0x on 1 January
// counts in January and is not decided on the day it was accepted.
func TestStatisticsPeriodsAtTheYearsEndInBeijing(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	o.now = time.Date(2026, 12, 31, 23, 40, 0, 0, registry.CST)
	a := o.file(service, 1, Request{})
	o.act(a, casework.ActionAccept, nil)
	b := o.file(service, 2, Request{})
	o.act(b, casework.ActionAccept, nil)
	o.act(a, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
	o.act(a, casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "符合条件"})
	if ev := o.book.Events(a); ev[len(ev)-1].GetAt().AsTime().In(registry.CST).Day() != 31 {
		t.Fatalf("setup: case a decided at %s", ev[len(ev)-1].GetAt().AsTime().In(registry.CST))
	}
	o.now = time.Date(2027, 1, 1, 0, 2, 0, 0, registry.CST)
	o.act(b, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
	o.act(b, casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "符合条件"})
	for _, tt := range []struct {
		period, outcome string
		want            uint64
	}{
		{"m202612", supervision.Decided, 1}, {"y2026", supervision.Decided, 1}, {"d20261231", supervision.Decided, 1},
		{"m202701", supervision.Decided, 1}, {"d20270101", supervision.Decided, 1},
		{"m202612", supervision.Accepted, 2},
		{"m202612", supervision.DecidedSameDay, 1}, {"m202701", supervision.DecidedSameDay, 0},
	} {
		if got := statOf(t, o.book, tt.period, tt.outcome); got != tt.want {
			t.Errorf("%s %s = %d, want %d", tt.period, tt.outcome, got, tt.want)
		}
	}
	days, err := o.book.Daily(DailyAll(), time.Date(2026, 12, 31, 0, 0, 0, 0, registry.CST), time.Date(2027, 1, 1, 0, 0, 0, 0, registry.CST))
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 1 || days[0].Accepted != 2 || days[0].SameDay != 1 {
		t.Errorf("the daily series of 2026-12-31 and 2027-01-01: %+v, want 31 December alone, its two acceptances and one decided on the day", days)
	}
}
