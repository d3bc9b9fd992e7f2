package registry

// The official calendar of the year this release runs in, day by day.

import (
	"testing"
	"time"
)

// The State Council's 2026 calendar (元旦 1-3 Jan, work Sun 4 Jan; 春节
// 15-23 Feb, work Sat 14 and Sat 28 Feb; 清明 4-6 Apr; 劳动节 1-5 May,
// work Sat 9 May; 端午 19-21 Jun; 中秋 25-27 Sep; 国庆 1-7 Oct, work Sun
// 20 Sep and Sat 10 Oct) as the official calendar gives it.
func TestTheOfficial2026Calendar(t *testing.T) {
	r := New(Options{})
	off := []string{"2026-01-01", "2026-01-02", "2026-02-16", "2026-02-17", "2026-02-18", "2026-02-19", "2026-02-20", "2026-02-23",
		"2026-04-06", "2026-05-01", "2026-05-04", "2026-05-05", "2026-06-19", "2026-09-25",
		"2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"}
	work := []string{"2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
		"2026-02-13", "2026-02-24", "2026-10-08", "2026-10-09"}
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
	// A 10-day promise accepted Friday 2026-09-25 (中秋, a holiday):
	// 9-28, 29, 30, 10-08, 09, 10 (Sat, worked), 12, 13, 14, 15.
	if got := r.AddWorkingDays(day("2026-09-25"), 10).Format(time.DateOnly); got != "2026-10-15" {
		t.Errorf("AddWorkingDays(2026-09-25, 10) = %s, want 2026-10-15", got)
	}
	// Civil dates in CST: 2026-02-13 17:00 UTC is 14 Feb 01:00 CST (a
	// worked Saturday), so one working day on is Tuesday 24 Feb.
	if got := r.AddWorkingDays(time.Date(2026, 2, 13, 17, 0, 0, 0, time.UTC), 1); got.Format(time.DateOnly) != "2026-02-24" ||
		got.In(CST).Hour() != 23 {
		t.Errorf("AddWorkingDays from 14 Feb CST = %v", got.In(CST))
	}
	if c := r.Calendar(2026); c.GetWorkingDays() != 248 || c.GetSource() != SourceOfficial {
		t.Errorf("2026: %d working days, source %s", c.GetWorkingDays(), c.GetSource())
	}
}
