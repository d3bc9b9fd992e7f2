package registry

import (
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"
	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Working days. A day is a working day when it is Monday to Friday and not
// a holiday, or a Saturday or Sunday marked as a swapped workday (调休上班).
// The exceptions of a year come from the registry's calendar for that year
// when a county admin has set one, otherwise from the State Council's
// calendar as published in github.com/6tail/lunar-go. Dates are civil
// dates in China Standard Time.

// CST is China Standard Time (Asia/Shanghai, UTC+8 all year). It is a
// fixed zone so that no tzdata is needed.
var CST = time.FixedZone("CST", 8*60*60)

// Calendar sources (yizhanv1.Calendar.Source).
const (
	SourceOfficial = "official" // the State Council's calendar
	SourceRegistry = "registry" // set in the registry by a county admin
	// SourceWeekdays: no official data for the year (the holiday data
	// compiled in ends before it): Monday to Friday, no holidays, until a
	// county admin sets the year from the State Council's notice.
	SourceWeekdays = "weekdays"
)

// dayKinds holds a year's exceptions to the Monday–Friday week by day of
// the year (1..366).
type dayKinds map[int]yizhanv1.DayKind

// kindsOf indexes a calendar's days; it skips dates it cannot parse.
func kindsOf(c *yizhanv1.Calendar) dayKinds {
	k := dayKinds{}
	for _, d := range c.GetDays() {
		date, err := parseDate(d.GetDate())
		if err != nil || date.Year() != int(c.GetYear()) {
			continue
		}
		k[date.YearDay()] = d.GetKind()
	}
	return k
}

// isWorking reports whether the civil date d (midnight UTC) is a working
// day given its year's exceptions.
func (k dayKinds) isWorking(d time.Time) bool {
	switch d.Weekday() {
	case time.Saturday, time.Sunday:
		return k[d.YearDay()] == yizhanv1.DayKind_DAY_KIND_WORKDAY
	default:
		return k[d.YearDay()] != yizhanv1.DayKind_DAY_KIND_HOLIDAY
	}
}

// workingDays counts the working days of year.
func (k dayKinds) workingDays(year int) int {
	n := 0
	for d := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == year; d = d.AddDate(0, 0, 1) {
		if k.isWorking(d) {
			n++
		}
	}
	return n
}

// official is one year of the State Council's calendar, computed once.
type official struct {
	cal   *yizhanv1.Calendar
	kinds dayKinds
}

// officialYears caches official calendars by year (int → *official). The
// data is compiled into lunar-go, so this is a pure function memoised.
var officialYears sync.Map

func officialYear(year int) *official {
	if o, ok := officialYears.Load(year); ok {
		return o.(*official)
	}
	c := &yizhanv1.Calendar{Year: int32(year), Source: SourceOfficial}
	seen := map[string]bool{}
	for e := HolidayUtil.GetHolidaysByYear(year).Front(); e != nil; e = e.Next() {
		h, ok := e.Value.(*HolidayUtil.Holiday)
		if !ok || seen[h.GetDay()] {
			continue
		}
		date, err := parseDate(h.GetDay())
		if err != nil || date.Year() != year {
			continue
		}
		seen[h.GetDay()] = true
		weekend := date.Weekday() == time.Saturday || date.Weekday() == time.Sunday
		switch {
		case h.IsWork() && weekend:
			c.Days = append(c.Days, &yizhanv1.CalendarDay{Date: h.GetDay(), Kind: yizhanv1.DayKind_DAY_KIND_WORKDAY, Name: h.GetName()})
		case !h.IsWork() && !weekend:
			c.Days = append(c.Days, &yizhanv1.CalendarDay{Date: h.GetDay(), Kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, Name: h.GetName()})
		}
	}
	sort.Slice(c.Days, func(i, j int) bool { return c.Days[i].GetDate() < c.Days[j].GetDate() })
	if len(c.Days) == 0 {
		// Every year the State Council publishes has holidays on
		// weekdays: none is no data, not a year without holidays.
		c.Source = SourceWeekdays
	}
	o := &official{cal: c, kinds: kindsOf(c)}
	c.WorkingDays = int32(o.kinds.workingDays(year))
	actual, _ := officialYears.LoadOrStore(year, o)
	return actual.(*official)
}

// OfficialCalendar returns this binary's State Council working-day
// calendar of year (lunar-go's data; a registry judges by the data in
// force, Registry.Calendar): the weekdays off (holidays) and the weekend
// days worked (swapped workdays), with their names (春节, 国庆节 …),
// Source "official". Weekend days of a holiday period are not listed:
// they are off anyway. A year the data does not cover has no exceptions.
func OfficialCalendar(year int) *yizhanv1.Calendar {
	return proto.CloneOf(officialYear(year).cal)
}

// CasePolicy is the county's case policy (the defaults, all zero, until
// a county admin sets one).
func (r *Registry) CasePolicy() *yizhanv1.CasePolicy {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.st.cases == nil {
		return &yizhanv1.CasePolicy{}
	}
	return proto.CloneOf(r.st.cases)
}

// DutyPolicy is the county's duty policy (the defaults, all zero, until
// a county admin sets one).
func (r *Registry) DutyPolicy() *yizhanv1.DutyPolicy {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.st.duty == nil {
		return &yizhanv1.DutyPolicy{}
	}
	return proto.CloneOf(r.st.duty)
}

// SupervisionPolicy is the county's supervision policy (the defaults,
// all zero, until a county admin sets one).
func (r *Registry) SupervisionPolicy() *yizhanv1.SupervisionPolicy {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.st.policy == nil {
		return &yizhanv1.SupervisionPolicy{}
	}
	return proto.CloneOf(r.st.policy)
}

// Calendar returns the working-day calendar of year: the registry's if a
// county admin has set one (Source "registry"), else the official one
// (Source "official").
func (r *Registry) Calendar(year int) *yizhanv1.Calendar {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if c, ok := r.st.calendars[int32(year)]; ok && int(int32(year)) == year {
		return proto.CloneOf(c)
	}
	return proto.CloneOf(r.st.official.year(year).cal)
}

// kindsFor returns the exceptions in force for year. Caller holds r.mu.
func (s *state) kindsFor(year int) dayKinds {
	if k, ok := s.calendarDays[int32(year)]; ok && int(int32(year)) == year {
		return k
	}
	return s.official.year(year).kinds
}

// civilDate is t's date in China Standard Time, as midnight UTC (so that
// date arithmetic never meets a zone transition).
func civilDate(t time.Time) time.Time {
	y, m, d := t.In(CST).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// endOfDay is the last nanosecond of the civil date d in China Standard Time.
func endOfDay(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 23, 59, 59, 999999999, CST)
}

// kindsSource gives the exceptions in force for a year: the registry's
// state (under its lock) or a Workdays taken from it.
type kindsSource interface{ kindsFor(year int) dayKinds }

// workingDayCursor walks civil dates, looking up each year's exceptions once.
type workingDayCursor struct {
	s     kindsSource
	year  int
	kinds dayKinds
}

func (c *workingDayCursor) isWorking(d time.Time) bool {
	if c.kinds == nil || d.Year() != c.year {
		c.year, c.kinds = d.Year(), c.s.kindsFor(d.Year())
	}
	return c.kinds.isWorking(d)
}

// IsWorkingDay reports whether the date of d in China Standard Time is a
// working day.
func (r *Registry) IsWorkingDay(d time.Time) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return isWorkingDay(r.st, d)
}

// AddWorkingDays returns the end (23:59:59.999999999 CST) of the date n
// working days after the date of from: the deadline of a limit of n
// working days that starts on from. The date of from itself does not
// count; n = 0 gives the end of from's own date, and a negative n counts
// back to the date |n| working days before. It walks day by day, so n
// should be a number of days a time limit can have.
func (r *Registry) AddWorkingDays(from time.Time, n int) time.Time {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return addWorkingDays(r.st, from, n)
}

// WorkingDaysBetween counts the working days after the date of from up to
// and including the date of to (dates in China Standard Time), so that
// WorkingDaysBetween(t, AddWorkingDays(t, n)) == n. It is negative when to
// is before from, and 0 on the same date.
func (r *Registry) WorkingDaysBetween(from, to time.Time) int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return workingDaysBetween(r.st, from, to)
}

func isWorkingDay(s kindsSource, d time.Time) bool {
	date := civilDate(d)
	return s.kindsFor(date.Year()).isWorking(date)
}

func addWorkingDays(s kindsSource, from time.Time, n int) time.Time {
	c := workingDayCursor{s: s}
	d := civilDate(from)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if c.isWorking(d) {
			n--
		}
	}
	for n < 0 {
		d = d.AddDate(0, 0, -1)
		if c.isWorking(d) {
			n++
		}
	}
	return endOfDay(d)
}

func workingDaysBetween(s kindsSource, from, to time.Time) int {
	c := workingDayCursor{s: s}
	fd, td := civilDate(from), civilDate(to)
	sign := 1
	if td.Before(fd) {
		fd, td, sign = td, fd, -1
	}
	n := 0
	for d := fd.AddDate(0, 0, 1); !d.After(td); d = d.AddDate(0, 0, 1) {
		if c.isWorking(d) {
			n++
		}
	}
	return sign * n
}

// Workdays is the working-day calendar in force at one moment: the
// registry's calendars as they were when it was taken (Registry.Workdays),
// unchanged by later calendar writes. A node keeps the one in force
// before a calendar write, to judge again what it had judged with it
// (casebook's CalendarChanged).
type Workdays struct {
	years    map[int32]dayKinds
	official *officialData // the years not in years; nil: OfficialDataBefore's
}

// Workdays is the calendar now in force, kept as it is.
func (r *Registry) Workdays() Workdays {
	r.mu.RLock()
	defer r.mu.RUnlock()
	// A year's exceptions are replaced by a calendar write, never
	// changed in place: the map's values can be shared.
	return Workdays{years: maps.Clone(r.st.calendarDays), official: r.st.official}
}

func (w Workdays) kindsFor(year int) dayKinds {
	if k, ok := w.years[int32(year)]; ok && int(int32(year)) == year {
		return k
	}
	return w.official.year(year).kinds
}

// IsWorkingDay is Registry.IsWorkingDay by this calendar.
func (w Workdays) IsWorkingDay(d time.Time) bool { return isWorkingDay(w, d) }

// AddWorkingDays is Registry.AddWorkingDays by this calendar.
func (w Workdays) AddWorkingDays(from time.Time, n int) time.Time { return addWorkingDays(w, from, n) }

// WorkingDaysBetween is Registry.WorkingDaysBetween by this calendar.
func (w Workdays) WorkingDaysBetween(from, to time.Time) int {
	return workingDaysBetween(w, from, to)
}

// FirstChange is the first day (midnight, China Standard Time) that is a
// working day by one of a and b and not by the other; ok is false when
// they agree on every day.
func FirstChange(a, b Workdays) (day time.Time, ok bool) {
	first, _, ok := ChangedDays(a, b)
	return first, ok
}

// ChangedDays are the first and the last day (midnights, China Standard
// Time) that are working days by one of a and b and not by the other; ok
// is false when they agree on every day.
func ChangedDays(a, b Workdays) (first, last time.Time, ok bool) {
	years := map[int32]bool{}
	for y := range a.years {
		years[y] = true
	}
	for y := range b.years {
		years[y] = true
	}
	if a.official.String() != b.official.String() {
		for y := int32(officialFirst); y <= officialLast; y++ {
			years[y] = true
		}
	}
	for _, y := range slices.Sorted(maps.Keys(years)) {
		ka, kb := a.kindsFor(int(y)), b.kindsFor(int(y))
		for d := time.Date(int(y), 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == int(y); d = d.AddDate(0, 0, 1) {
			if ka.isWorking(d) != kb.isWorking(d) {
				last = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, CST)
				if !ok {
					first, ok = last, true
				}
			}
		}
	}
	return first, last, ok
}

// WithWorkdays is a registry that judges working days by a calendar of
// its own (the one in force before a calendar write) and answers the rest
// as the registry it wraps does.
type WithWorkdays struct {
	*Registry
	Days Workdays
}

// IsWorkingDay is Days.IsWorkingDay.
func (r WithWorkdays) IsWorkingDay(d time.Time) bool { return r.Days.IsWorkingDay(d) }

// AddWorkingDays is Days.AddWorkingDays.
func (r WithWorkdays) AddWorkingDays(from time.Time, n int) time.Time {
	return r.Days.AddWorkingDays(from, n)
}

// WorkingDaysBetween is Days.WorkingDaysBetween.
func (r WithWorkdays) WorkingDaysBetween(from, to time.Time) int {
	return r.Days.WorkingDaysBetween(from, to)
}
