package registry

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The State Council's calendars are compiled into the binary (lunar-go's
// holiday data), not written in the registry's log: a release that brings
// a new year's data, or mends a year's, changes how every office counts
// working days with no command in any log. A book keeps the data it
// judged with (Registry.OfficialData) and, under a release whose data
// differs, judges again with Workdays.WithOfficial as the calendar of
// before (casebook), as after a county's calendar write.

// officialFirst and officialLast bound the years the official data
// covers: the first year of lunar-go's holiday data, and far enough on
// that no release's data ends past it.
const officialFirst, officialLast = 2001, 2099

// officialData is a set of official calendars given as OfficialData's
// text (another release's, or one a test pins); nil is this binary's.
type officialData struct {
	text  string
	years map[int]*official
}

// year is the official calendar of y by o: a year o has no line for is
// Monday to Friday (Source weekdays).
func (o *officialData) year(y int) *official {
	if o == nil {
		return officialYear(y)
	}
	if c, ok := o.years[y]; ok {
		return c
	}
	c := &yizhanv1.Calendar{Year: int32(y), Source: SourceWeekdays}
	k := dayKinds{}
	c.WorkingDays = int32(k.workingDays(y))
	return &official{cal: c, kinds: k}
}

// String is o's text (OfficialData's form).
func (o *officialData) String() string {
	if o == nil {
		return binaryOfficial()
	}
	return o.text
}

// binaryOfficial is this binary's official data as text, made once.
var binaryOfficial = sync.OnceValue(func() string {
	var b strings.Builder
	for y := officialFirst; y <= officialLast; y++ {
		o := officialYear(y)
		if o.cal.GetSource() != SourceOfficial {
			continue
		}
		b.WriteString(strconv.Itoa(y))
		for _, d := range o.cal.GetDays() {
			k := byte('h')
			if d.GetKind() == yizhanv1.DayKind_DAY_KIND_WORKDAY {
				k = 'w'
			}
			b.WriteByte(' ')
			b.WriteString(d.GetDate()[5:7] + d.GetDate()[8:10])
			b.WriteByte(k)
		}
		b.WriteByte('\n')
	}
	return b.String()
})

// parseOfficial reads official calendars from text in OfficialData's
// form: one line a year that has data, the year, then each exception to
// the Monday–Friday week as MMDD and h (a weekday off) or w (a weekend
// day worked).
func parseOfficial(text string) (*officialData, error) {
	o := &officialData{text: text, years: map[int]*official{}}
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		y, err := strconv.Atoi(f[0])
		if err != nil || y < officialFirst || y > officialLast {
			return nil, fmt.Errorf("registry: official calendar data: bad year %q", f[0])
		}
		c := &yizhanv1.Calendar{Year: int32(y), Source: SourceOfficial}
		for _, d := range f[1:] {
			if len(d) != 5 || (d[4] != 'h' && d[4] != 'w') {
				return nil, fmt.Errorf("registry: official calendar data of %d: bad day %q", y, d)
			}
			kind := yizhanv1.DayKind_DAY_KIND_HOLIDAY
			if d[4] == 'w' {
				kind = yizhanv1.DayKind_DAY_KIND_WORKDAY
			}
			date := fmt.Sprintf("%04d-%s-%s", y, d[0:2], d[2:4])
			if t, err := parseDate(date); err != nil || t.Year() != y {
				return nil, fmt.Errorf("registry: official calendar data of %d: bad day %q", y, d)
			}
			c.Days = append(c.Days, &yizhanv1.CalendarDay{Date: date, Kind: kind})
		}
		k := kindsOf(c)
		c.WorkingDays = int32(k.workingDays(y))
		o.years[y] = &official{cal: c, kinds: k}
	}
	return o, nil
}

// OfficialData is the official calendars r judges with, as text: one
// line a year that has data, the year, then each exception to the
// Monday–Friday week as MMDD and h (a weekday off) or w (a weekend day
// worked), in order ("2027 0101h 0131w 0205h …"). This binary's data
// unless Options.OfficialData pinned other; two releases with the same
// data give the same text.
func (r *Registry) OfficialData() string { return r.official.String() }

// officialBefore is the official data of every release before a book
// kept the data it judged with: lunar-go v1.4.7's, frozen here (a test
// checks its digest): a later release brings other data, and a book of
// before the record was judged with this.
//
//go:embed official_before.txt
var officialBefore string

// OfficialDataBefore is the official data, in OfficialData's text, that
// a book judged with before books kept theirs (every release up to
// session 43's, lunar-go v1.4.7): a book that keeps none was judged with
// it.
func OfficialDataBefore() string { return officialBefore }

// WithOfficial is w with the official calendars of data (OfficialData's
// text, perhaps of another release) in place of those w judges with: a
// year w holds a county calendar of keeps it; every other year is judged
// by data (Monday to Friday when data has no line for it).
func (w Workdays) WithOfficial(data string) (Workdays, error) {
	o, err := parseOfficial(data)
	if err != nil {
		return Workdays{}, err
	}
	return Workdays{years: w.years, official: o}, nil
}

// CalendarKnownUntil is midnight (China Standard Time) of the first 1
// January from now's year on whose year has neither a county calendar
// nor official data: from there working days are Monday to Friday, no
// holiday known, until a county admin sets the year from the State
// Council's notice (published each November). It looks five years on at
// most.
func (r *Registry) CalendarKnownUntil(now time.Time) time.Time {
	y := now.In(CST).Year()
	for end := y + 5; y < end && r.Calendar(y).GetSource() != SourceWeekdays; y++ {
	}
	return time.Date(y, 1, 1, 0, 0, 0, 0, CST)
}
