package registry

// Working-day arithmetic at the edges: across the year boundary, the 2027
// Spring Festival and its swapped Sundays, a year without holiday data (2028
// with lunar-go v1.4.7), a leap day, instants given in UTC.

import (
	"testing"
	"time"
)

func cstAt(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, CST)
}

// Limits counted from the day after acceptance across 元旦 and 春节 2027
// end where the law's counting puts them, and WorkingDaysBetween counts
// them back.
func TestWorkingDaysAcrossNewYearAndSpringFestival2027(t *testing.T) {
	r := New(Options{})
	tests := []struct {
		name string
		from time.Time
		n    int
		want string
	}{
		// Dec 29, 30, 31 (3); Jan 1 元旦 off; Jan 4-8 (8), 11-15 (13), 18-22 (18), 25, 26 (20).
		{"accepted 2026-12-28, 20 days", cstAt(2026, 12, 28, 10, 0), 20, "2027-01-26"},
		{"accepted 2026-12-28, 10 days", cstAt(2026, 12, 28, 10, 0), 10, "2027-01-12"},
		// 20 + a 10-day extension: Jan 27-29 (23), Sun Jan 31 (24), Feb 1-4 (28), Sun Feb 14 (29), Feb 15 (30).
		{"accepted 2026-12-28, 20+10 days across the Spring Festival", cstAt(2026, 12, 28, 10, 0), 30, "2027-02-15"},
		// Jan 26-29 (4), Sun Jan 31 worked (5), Feb 1-4 (9), Feb 5-13 off, Sun Feb 14 worked (10).
		{"accepted 2027-01-25, 10 days: due on a worked Sunday", cstAt(2027, 1, 25, 10, 0), 10, "2027-02-14"},
		{"accepted 2027-01-25, 20 days", cstAt(2027, 1, 25, 10, 0), 20, "2027-02-26"},
		// Accepted on a holiday (初三, 2027-02-08): the first day is the next working day, Sun Feb 14.
		{"accepted on a holiday", cstAt(2027, 2, 8, 10, 0), 1, "2027-02-14"},
		// 07:30 Beijing on 2027-01-04 is 23:30 UTC on 2027-01-03 (a Sunday off).
		{"an instant in UTC the day before", time.Date(2027, 1, 3, 23, 30, 0, 0, time.UTC), 1, "2027-01-05"},
		// 2028: no holiday data, Monday to Friday; the leap day is a Tuesday.
		{"leap day 2028", cstAt(2028, 2, 28, 10, 0), 1, "2028-02-29"},
		{"across the leap day", cstAt(2028, 2, 25, 10, 0), 3, "2028-03-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.AddWorkingDays(tt.from, tt.n)
			if g := got.In(CST).Format(time.DateOnly); g != tt.want {
				t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", tt.from.In(CST).Format(time.DateTime), tt.n, g, tt.want)
			}
			if back := r.WorkingDaysBetween(tt.from, got); back != tt.n {
				t.Errorf("WorkingDaysBetween back = %d, want %d", back, tt.n)
			}
		})
	}
	// 2027-01-01 07:30 Beijing is 2026-12-31 23:30 UTC: 元旦, a holiday.
	if r.IsWorkingDay(time.Date(2026, 12, 31, 23, 30, 0, 0, time.UTC)) {
		t.Errorf("07:30 Beijing on 元旦 2027 taken for a working day (its UTC date is 2026-12-31)")
	}
}

// The 2027 holiday data lunar-go v1.4.7 yields, by the rules of the
// 2025 全国年节及纪念日放假办法 (no copy of the State Council's 2027 notice
// is in the module: the data alone).
func TestTheOfficial2027Calendar(t *testing.T) {
	r := New(Options{})
	off := []string{"2027-01-01", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11", "2027-02-12",
		"2027-04-05", "2027-05-03", "2027-05-04", "2027-05-05", "2027-06-09", "2027-09-15",
		"2027-10-01", "2027-10-04", "2027-10-05", "2027-10-06", "2027-10-07"}
	work := []string{"2027-01-31", "2027-02-14", "2027-05-08", "2027-09-26", "2027-10-09", "2027-01-04", "2027-02-15"}
	for _, d := range off {
		if r.IsWorkingDay(day(d)) {
			t.Errorf("%s is worked, want off", d)
		}
	}
	for _, d := range work {
		if !r.IsWorkingDay(day(d)) {
			t.Errorf("%s is off, want worked", d)
		}
	}
	if c := r.Calendar(2027); c.GetWorkingDays() != 248 || c.GetSource() != SourceOfficial {
		t.Errorf("2027: %d working days, source %s", c.GetWorkingDays(), c.GetSource())
	}
}
