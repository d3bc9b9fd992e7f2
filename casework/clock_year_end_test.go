package casework

// The case clocks at the year's end and in Beijing time.

import (
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/registry"
)

func cstMin(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, registry.CST)
}

// A tobacco licence (statutory 20, promised 10 working days) accepted on
// Monday 2026-12-28: the promise ends 2027-01-12, the statutory limit
// 2027-01-26 (元旦 off), each at the end of the day in Beijing; a decision
// at 23:59 Beijing on the due day is in time, one a minute after midnight
// is late.
func TestClocksAcrossNewYear2027(t *testing.T) {
	reg := newReg(t)
	yc := reg.item(tobacco)
	accepted := cstMin(2026, 12, 28, 10, 0)
	log := clockLog(yc, accepted.Add(-time.Hour), evt(tAccepted, accepted))
	c, _ := Fold(log)
	d := Clocks(c, log, reg, accepted)
	if got := d.GetPromisedDue().AsTime().In(registry.CST).Format(time.DateTime); got != "2027-01-12 23:59:59" {
		t.Errorf("promised due %s, want 2027-01-12 23:59:59", got)
	}
	if got := d.GetStatutoryDue().AsTime().In(registry.CST).Format(time.DateOnly); got != "2027-01-26" {
		t.Errorf("statutory due %s, want 2027-01-26", got)
	}
	for _, tt := range []struct {
		at   time.Time
		late bool
	}{{cstMin(2027, 1, 12, 23, 59), false}, {cstMin(2027, 1, 13, 0, 1), true}} {
		done := clockLog(yc, accepted.Add(-time.Hour), evt(tAccepted, accepted), evt(tDecided, tt.at))
		cd, _ := Fold(done)
		if got := Clocks(cd, done, reg, tt.at).GetOverdue(); got != tt.late {
			t.Errorf("decided %s: overdue=%v, want %v", tt.at.Format(time.DateTime), got, tt.late)
		}
	}
	// Accepted 2027-01-25: the promise's tenth working day is the worked
	// Sunday 2027-02-14 after the Spring Festival.
	acc2 := cstMin(2027, 1, 25, 10, 0)
	log2 := clockLog(yc, acc2.Add(-time.Hour), evt(tAccepted, acc2))
	c2, _ := Fold(log2)
	if got := Clocks(c2, log2, reg, acc2).GetPromisedDue().AsTime().In(registry.CST).Format(time.DateOnly); got != "2027-02-14" {
		t.Errorf("promised due from 2027-01-25: %s, want 2027-02-14 (a worked Sunday)", got)
	}
}

// A case filed at 07:30 in Beijing (23:30 UTC the day before) is numbered
// by its Beijing day.
func TestAFilingAt0730BeijingIsNumberedByTheBeijingDay(t *testing.T) {
	at := time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC) // 2027-01-01 07:30 CST
	if got := CaseNumber(county, at, 1); got != county+"-20270101-0001" {
		t.Errorf("CaseNumber = %s, want the Beijing day 20270101", got)
	}
}
