package registry

import (
	"errors"
	"testing"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// day is midday of a CST date.
func day(s string) time.Time {
	d, err := time.ParseInLocation(time.DateOnly, s, CST)
	if err != nil {
		panic(err)
	}
	return d.Add(12 * time.Hour)
}

func TestOfficialCalendar2025(t *testing.T) {
	c := OfficialCalendar(2025)
	if c.GetYear() != 2025 || c.GetSource() != SourceOfficial {
		t.Errorf("calendar = year %d source %q", c.GetYear(), c.GetSource())
	}
	// 261 weekdays, 18 of them off, 5 weekend days worked.
	if c.GetWorkingDays() != 248 {
		t.Errorf("working days = %d, want 248", c.GetWorkingDays())
	}
	kinds := map[string]*yizhanv1.CalendarDay{}
	for i, d := range c.GetDays() {
		kinds[d.GetDate()] = d
		if i > 0 && c.GetDays()[i-1].GetDate() >= d.GetDate() {
			t.Errorf("days not sorted at %s", d.GetDate())
		}
	}
	tests := []struct {
		name string
		date string
		kind yizhanv1.DayKind // UNSPECIFIED: not listed
		what string
	}{
		{name: "new year", date: "2025-01-01", kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, what: "元旦节"},
		{name: "spring festival swapped sunday", date: "2025-01-26", kind: yizhanv1.DayKind_DAY_KIND_WORKDAY, what: "春节"},
		{name: "spring festival eve", date: "2025-01-28", kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, what: "春节"},
		{name: "spring festival weekend not listed", date: "2025-02-01", kind: yizhanv1.DayKind_DAY_KIND_UNSPECIFIED},
		{name: "spring festival last day", date: "2025-02-04", kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, what: "春节"},
		{name: "spring festival swapped saturday", date: "2025-02-08", kind: yizhanv1.DayKind_DAY_KIND_WORKDAY, what: "春节"},
		{name: "qingming", date: "2025-04-04", kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, what: "清明节"},
		{name: "labour day swapped sunday", date: "2025-04-27", kind: yizhanv1.DayKind_DAY_KIND_WORKDAY, what: "劳动节"},
		{name: "labour day", date: "2025-05-05", kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, what: "劳动节"},
		{name: "dragon boat", date: "2025-06-02", kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, what: "端午节"},
		{name: "national day swapped sunday", date: "2025-09-28", kind: yizhanv1.DayKind_DAY_KIND_WORKDAY, what: "国庆中秋"},
		{name: "national day", date: "2025-10-01", kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, what: "国庆中秋"},
		{name: "national day last", date: "2025-10-08", kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, what: "国庆中秋"},
		{name: "national day swapped saturday", date: "2025-10-11", kind: yizhanv1.DayKind_DAY_KIND_WORKDAY, what: "国庆中秋"},
		{name: "ordinary weekday", date: "2025-10-09", kind: yizhanv1.DayKind_DAY_KIND_UNSPECIFIED},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := kinds[tt.date]
			if d.GetKind() != tt.kind || d.GetName() != tt.what {
				t.Errorf("%s = %v %q, want %v %q", tt.date, d.GetKind(), d.GetName(), tt.kind, tt.what)
			}
		})
	}
}

func TestOfficialCalendarOtherYears(t *testing.T) {
	tests := []struct {
		name        string
		year        int
		workingDays int32
	}{
		{name: "2024", year: 2024, workingDays: 251},
		{name: "beyond the data: plain weeks", year: 2090, workingDays: 260},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OfficialCalendar(tt.year).GetWorkingDays(); got != tt.workingDays {
				t.Errorf("working days = %d, want %d", got, tt.workingDays)
			}
		})
	}
	// A clone each time.
	c := OfficialCalendar(2025)
	c.Days = nil
	if len(OfficialCalendar(2025).GetDays()) == 0 {
		t.Errorf("OfficialCalendar returned a shared calendar")
	}
}

func TestIsWorkingDay(t *testing.T) {
	r := New(Options{})
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{name: "friday before national day", at: day("2025-09-26"), want: true},
		{name: "saturday", at: day("2025-09-27"), want: false},
		{name: "swapped sunday", at: day("2025-09-28"), want: true},
		{name: "national day", at: day("2025-10-01"), want: false},
		{name: "national day, weekend", at: day("2025-10-04"), want: false},
		{name: "national day, monday", at: day("2025-10-06"), want: false},
		{name: "national day, last", at: day("2025-10-08"), want: false},
		{name: "thursday after", at: day("2025-10-09"), want: true},
		{name: "swapped saturday", at: day("2025-10-11"), want: true},
		{name: "sunday after", at: day("2025-10-12"), want: false},
		{name: "spring festival swapped sunday", at: day("2025-01-26"), want: true},
		{name: "spring festival", at: day("2025-01-28"), want: false},
		{name: "spring festival monday", at: day("2025-02-03"), want: false},
		{name: "spring festival swapped saturday", at: day("2025-02-08"), want: true},
		// 2025-09-30 20:00 UTC is 2025-10-01 04:00 in China: a holiday.
		{name: "date taken in CST", at: time.Date(2025, 9, 30, 20, 0, 0, 0, time.UTC), want: false},
		// 2025-10-08 23:00 UTC is 2025-10-09 07:00 in China: a working day.
		{name: "date taken in CST, next day", at: time.Date(2025, 10, 8, 23, 0, 0, 0, time.UTC), want: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.IsWorkingDay(tt.at); got != tt.want {
				t.Errorf("IsWorkingDay(%v) = %v, want %v", tt.at, got, tt.want)
			}
		})
	}
}

func TestAddWorkingDays(t *testing.T) {
	r := New(Options{})
	tests := []struct {
		name string
		from time.Time
		n    int
		want string
	}{
		{name: "zero: end of the same day", from: day("2025-09-26"), n: 0, want: "2025-09-26"},
		{name: "zero on a holiday", from: day("2025-10-01"), n: 0, want: "2025-10-01"},
		{name: "over the weekend onto a swapped sunday", from: day("2025-09-26"), n: 1, want: "2025-09-28"},
		{name: "two", from: day("2025-09-26"), n: 2, want: "2025-09-29"},
		{name: "into national day", from: day("2025-09-26"), n: 4, want: "2025-10-09"},
		{name: "onto the swapped saturday", from: day("2025-09-26"), n: 6, want: "2025-10-11"},
		{name: "past it", from: day("2025-09-26"), n: 7, want: "2025-10-13"},
		{name: "from a holiday", from: day("2025-10-03"), n: 1, want: "2025-10-09"},
		{name: "spring festival", from: day("2025-01-24"), n: 2, want: "2025-01-27"},
		{name: "spring festival across", from: day("2025-01-27"), n: 1, want: "2025-02-05"},
		{name: "across the year", from: day("2024-12-31"), n: 1, want: "2025-01-02"},
		{name: "promised 10 days", from: day("2025-09-22"), n: 10, want: "2025-10-11"},
		{name: "backwards", from: day("2025-10-09"), n: -1, want: "2025-09-30"},
		{name: "backwards over the swapped sunday", from: day("2025-09-29"), n: -1, want: "2025-09-28"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := r.AddWorkingDays(tt.from, tt.n)
			want := day(tt.want).Add(12*time.Hour - time.Nanosecond)
			if !got.Equal(want) {
				t.Errorf("AddWorkingDays(%s, %d) = %v, want %v", tt.from.Format(time.DateOnly), tt.n, got, want)
			}
			if tt.n >= 0 {
				if back := r.WorkingDaysBetween(tt.from, got); back != tt.n {
					t.Errorf("WorkingDaysBetween(from, AddWorkingDays(from, %d)) = %d", tt.n, back)
				}
			}
		})
	}
}

func TestWorkingDaysBetween(t *testing.T) {
	r := New(Options{})
	tests := []struct {
		name     string
		from, to time.Time
		want     int
	}{
		{name: "same day", from: day("2025-09-26"), to: day("2025-09-26").Add(3 * time.Hour), want: 0},
		{name: "national day period", from: day("2025-09-30"), to: day("2025-10-08"), want: 0},
		{name: "september 2025 after the 1st, with the swapped sunday", from: day("2025-09-01"), to: day("2025-09-30"), want: 22},
		{name: "reversed", from: day("2025-10-13"), to: day("2025-09-26"), want: -7},
		{name: "whole year 2025", from: day("2024-12-31"), to: day("2025-12-31"), want: 248},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.WorkingDaysBetween(tt.from, tt.to); got != tt.want {
				t.Errorf("WorkingDaysBetween = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestPutCalendar(t *testing.T) {
	r := newCounty(t)
	// The county declares 2025-10-09 a local holiday and works Sunday 2025-10-12.
	in := &yizhanv1.Calendar{Year: 2025, Source: "whatever", Days: []*yizhanv1.CalendarDay{
		{Date: "2025-10-12", Kind: yizhanv1.DayKind_DAY_KIND_WORKDAY, Name: "补班"},
		{Date: "2025-10-09", Kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, Name: "县庆"},
	}}
	out := mustApply(t, r, putCalendar(in))
	c := out.(*yizhanv1.Calendar)
	if c.GetSource() != SourceRegistry || c.GetRegistryIndex() != r.Index() {
		t.Errorf("calendar = source %q index %d", c.GetSource(), c.GetRegistryIndex())
	}
	if c.GetDays()[0].GetDate() != "2025-10-09" {
		t.Errorf("days not sorted: %v", c.GetDays())
	}
	// 261 weekdays − 1 + 1: the registry's calendar replaces the official one.
	if c.GetWorkingDays() != 261 {
		t.Errorf("working days = %d, want 261", c.GetWorkingDays())
	}
	if got := r.Calendar(2025); got.GetSource() != SourceRegistry || len(got.GetDays()) != 2 {
		t.Errorf("Calendar(2025) = %v", got)
	}
	if got := r.Calendar(2026); got.GetSource() != SourceOfficial || len(got.GetDays()) == 0 {
		t.Errorf("Calendar(2026) = %v, want the official one", got)
	}
	tests := []struct {
		date string
		want bool
	}{
		{date: "2025-10-01", want: true}, // official holiday, not in the registry's calendar
		{date: "2025-10-09", want: false},
		{date: "2025-10-11", want: false}, // official swapped saturday, not in the registry's calendar
		{date: "2025-10-12", want: true},
		{date: "2026-10-01", want: false}, // other years stay official
	}
	for _, tt := range tests {
		t.Run(tt.date, func(t *testing.T) {
			if got := r.IsWorkingDay(day(tt.date)); got != tt.want {
				t.Errorf("IsWorkingDay(%s) = %v, want %v", tt.date, got, tt.want)
			}
		})
	}
	if got := r.AddWorkingDays(day("2025-10-08"), 1); got.Format(time.DateOnly) != "2025-10-10" {
		t.Errorf("AddWorkingDays over the local holiday = %v", got)
	}

	// Putting the year again replaces it.
	mustApply(t, r, putCalendar(&yizhanv1.Calendar{Year: 2025}))
	if got := r.Calendar(2025); len(got.GetDays()) != 0 || got.GetWorkingDays() != 261 {
		t.Errorf("Calendar(2025) after reset = %v", got)
	}
}

func TestPutCalendarRejected(t *testing.T) {
	cal := func(days ...*yizhanv1.CalendarDay) *yizhanv1.Calendar {
		return &yizhanv1.Calendar{Year: 2025, Days: days}
	}
	holiday := func(date string) *yizhanv1.CalendarDay {
		return &yizhanv1.CalendarDay{Date: date, Kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY}
	}
	workday := func(date string) *yizhanv1.CalendarDay {
		return &yizhanv1.CalendarDay{Date: date, Kind: yizhanv1.DayKind_DAY_KIND_WORKDAY}
	}
	tests := []struct {
		name  string
		cal   *yizhanv1.Calendar
		field string
	}{
		{name: "no calendar", cal: nil, field: "calendar"},
		{name: "year too early", cal: &yizhanv1.Calendar{Year: 1999}, field: "calendar.year"},
		{name: "year too late", cal: &yizhanv1.Calendar{Year: 2101}, field: "calendar.year"},
		{name: "year missing", cal: &yizhanv1.Calendar{}, field: "calendar.year"},
		{name: "date missing", cal: cal(holiday("2025-10-09"), holiday("")), field: "calendar.days[1].date"},
		{name: "date not zero-padded", cal: cal(holiday("2025-1-02")), field: "calendar.days[0].date"},
		{name: "date with time", cal: cal(holiday("2025-01-02T00:00")), field: "calendar.days[0].date"},
		{name: "no such date", cal: cal(holiday("2025-02-29")), field: "calendar.days[0].date"},
		{name: "date in another year", cal: cal(holiday("2026-01-02")), field: "calendar.days[0].date"},
		{name: "kind unspecified", cal: cal(&yizhanv1.CalendarDay{Date: "2025-10-09"}), field: "calendar.days[0].kind"},
		{name: "kind unknown", cal: cal(&yizhanv1.CalendarDay{Date: "2025-10-09", Kind: 5}), field: "calendar.days[0].kind"},
		{name: "duplicate date", cal: cal(holiday("2025-10-09"), workday("2025-10-11"), holiday("2025-10-09")), field: "calendar.days[2].date"},
		{name: "workday on a monday", cal: cal(workday("2025-10-13")), field: "calendar.days[0].kind"},
		{name: "holiday on a saturday", cal: cal(holiday("2025-10-04")), field: "calendar.days[0].kind"},
		{name: "holiday on a sunday", cal: cal(holiday("2025-10-05")), field: "calendar.days[0].kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCounty(t)
			wantViolation(t, rejected(t, r, putCalendar(tt.cal)), tt.field)
		})
	}
}

// A calendar written with the registry index it was read at applies only
// while the year's calendar is still at that index (0: none set): checked
// when the command applies (on a replica too: Apply and Replay check
// alike), so of two writes from one read the second is refused.
func TestACalendarWriteAppliesOnlyOverTheCalendarItWasReadAt(t *testing.T) {
	r := newCounty(t)
	at := func(base uint64, date string) *peerv1.RegistryCommand {
		c := putCalendar(&yizhanv1.Calendar{Year: 2099, Days: []*yizhanv1.CalendarDay{{Date: date, Kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY}}})
		c.GetPutCalendar().BaseRegistryIndex = &base
		return c
	}
	mustApply(t, r, at(0, "2099-05-04"))
	index := r.Calendar(2099).GetRegistryIndex()
	if _, err := r.Apply(r.Index()+1, at(0, "2099-06-01")); !errors.Is(err, ErrConflict) {
		t.Fatalf("a second write from the same read: %v, want ErrConflict", err)
	}
	if got := r.Calendar(2099).GetDays(); len(got) != 1 || got[0].GetDate() != "2099-05-04" {
		t.Errorf("the refused write changed the calendar: %v", got)
	}
	mustApply(t, r, at(index, "2099-06-01"))
	if got := r.Calendar(2099).GetDays(); len(got) != 1 || got[0].GetDate() != "2099-06-01" {
		t.Errorf("a write from a fresh read: %v", got)
	}
}
