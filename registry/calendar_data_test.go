package registry

import (
	"testing"
	"time"
)

// A year the compiled holiday data does not cover (2028 with lunar-go
// v1.4.7: cases accepted from December 2027 have deadlines in it) was
// answered as the State Council's calendar (Source "official", which the
// admin page renders as 来源：国务院办公厅节假日安排) with no holiday at
// all: every weekday of the 2028 Spring Festival counts as a working day,
// deadlines come out early, and nothing told the county admin that the
// year needs a calendar (PutCalendar). It is SourceWeekdays now, which
// the page shows as a warning; a year with data stays official.
func TestAYearWithoutHolidayDataIsNotPassedOffAsOfficial(t *testing.T) {
	r := New(Options{})
	for _, year := range []int{2028, 2099} {
		if c := r.Calendar(year); c.GetSource() != SourceWeekdays || len(c.GetDays()) != 0 {
			t.Errorf("Calendar(%d) = source %q, %d exceptions: want %q, none", year, c.GetSource(), len(c.GetDays()), SourceWeekdays)
		}
	}
	if c := r.Calendar(2027); c.GetSource() != SourceOfficial || len(c.GetDays()) == 0 {
		t.Errorf("Calendar(2027) = source %q, %d exceptions: want the official holidays", c.GetSource(), len(c.GetDays()))
	}
	// What that does to a deadline: 2028-01-26 (Wed) is 春节; a
	// 5-working-day limit from Friday 2028-01-21 ends, by this calendar, on
	// Friday 2028-01-28, in the middle of the Spring Festival holiday.
	from := time.Date(2028, 1, 21, 10, 0, 0, 0, CST)
	t.Logf("AddWorkingDays(2028-01-21, 5) = %s (working days counted through the Spring Festival)", r.AddWorkingDays(from, 5).Format(time.DateOnly))
}
