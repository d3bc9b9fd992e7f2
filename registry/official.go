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

// The State Council's calendars come with the binary (lunar-go's holiday
// data), but an office judges by those in its registry's log: a release
// that brings a new year's data, or mends a year's, would otherwise change
// how each node counts working days from the moment it runs the release,
// each at its own point of its office's log, with no command to judge the
// cases again. The registry holds the data in force (OfficialInForce;
// until a PutOfficialCalendars, OfficialDataBefore: the data of every
// release before it was in the log); the county's leader, running a
// release whose data (OfficialData) differs, puts it in force, and every
// office judges again at that command's point of its log, as after a
// county's calendar write (casebook's CalendarChanged).

// officialFirst and officialLast bound the years the official data
// covers: the first year of lunar-go's holiday data, and far enough on
// that no release's data ends past it.
const officialFirst, officialLast = 2001, 2099

// officialData is a set of official calendars given as OfficialData's
// text; nil is OfficialDataBefore's.
type officialData struct {
	text   string
	years  map[int]*official
	binary bool // text is this binary's: its years are officialYear's, with the holidays' names
}

// year is the official calendar of y by o: a year o has no line for is
// Monday to Friday (Source weekdays).
func (o *officialData) year(y int) *official {
	if o == nil {
		o = before()
	}
	if o.binary {
		return officialYear(y) // the same data, with the holidays' names
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
		return officialBefore
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
	o := &officialData{text: text, years: map[int]*official{}, binary: text == binaryOfficial()}
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		y, err := strconv.Atoi(f[0])
		if err != nil || y < officialFirst || y > officialLast {
			return nil, fmt.Errorf("bad year %q", f[0])
		}
		if _, dup := o.years[y]; dup {
			return nil, fmt.Errorf("year %d twice", y)
		}
		c := &yizhanv1.Calendar{Year: int32(y), Source: SourceOfficial}
		for _, d := range f[1:] {
			if len(d) != 5 || (d[4] != 'h' && d[4] != 'w') {
				return nil, fmt.Errorf("year %d: bad day %q", y, d)
			}
			kind := yizhanv1.DayKind_DAY_KIND_HOLIDAY
			if d[4] == 'w' {
				kind = yizhanv1.DayKind_DAY_KIND_WORKDAY
			}
			date := fmt.Sprintf("%04d-%s-%s", y, d[0:2], d[2:4])
			if t, err := parseDate(date); err != nil || t.Year() != y {
				return nil, fmt.Errorf("year %d: bad day %q", y, d)
			}
			c.Days = append(c.Days, &yizhanv1.CalendarDay{Date: date, Kind: kind})
		}
		k := kindsOf(c)
		c.WorkingDays = int32(k.workingDays(y))
		o.years[y] = &official{cal: c, kinds: k}
	}
	return o, nil
}

// OfficialData is this binary's official calendars (lunar-go's data), as
// text: one line a year that has data, the year, then each exception to
// the Monday–Friday week as MMDD and h (a weekday off) or w (a weekend
// day worked), in order ("2027 0101h 0131w 0205h …"). Two releases with
// the same data give the same text. The county's leader puts it in force
// when it differs from OfficialInForce (PutOfficialCalendars).
func OfficialData() string { return binaryOfficial() }

// OfficialInForce is the official calendars r judges by, in OfficialData's
// text: the last PutOfficialCalendars' of its log, or OfficialDataBefore.
func (r *Registry) OfficialInForce() string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.st.official.String()
}

// officialBefore is the official data of every release before it was in
// the registry's log: lunar-go v1.4.7's, frozen here (a test checks its
// digest), which every node judged by until then.
//
//go:embed official_before.txt
var officialBefore string

// before is officialBefore read, once.
var before = sync.OnceValue(func() *officialData {
	o, err := parseOfficial(officialBefore)
	if err != nil {
		panic(fmt.Sprintf("registry: official_before.txt: %v", err))
	}
	return o
})

// OfficialDataBefore is the official data, in OfficialData's text, of
// every release before it was in the registry's log (up to session 43's,
// lunar-go v1.4.7): a registry with no PutOfficialCalendars judges by it.
func OfficialDataBefore() string { return officialBefore }

// CalendarKnownUntil is midnight (China Standard Time) of the first 1
// January from now's year on whose year has neither a county calendar
// nor official data in force: from there working days are Monday to
// Friday, no holiday known, until a county admin sets the year from the
// State Council's notice (published each November) or a release brings
// it. It looks five years on at most.
func (r *Registry) CalendarKnownUntil(now time.Time) time.Time {
	y := now.In(CST).Year()
	for end := y + 5; y < end && r.Calendar(y).GetSource() != SourceWeekdays; y++ {
	}
	return time.Date(y, 1, 1, 0, 0, 0, 0, CST)
}

// officialSpan names the years data holds ("2001–2027"), "" for none.
func officialSpan(data string) string {
	o, err := parseOfficial(data)
	if err != nil || len(o.years) == 0 {
		return ""
	}
	lo, hi := officialLast, officialFirst
	for y := range o.years {
		lo, hi = min(lo, y), max(hi, y)
	}
	return fmt.Sprintf("%d–%d", lo, hi)
}

// OfficialNewer reports whether official data a (OfficialData's text)
// reaches a later year than b: the data of a later release, which adds
// the next year's holidays each November. Data that only mends a year
// of b's is not newer: two releases that disagree on a year they both
// cover would otherwise put their data in force by turns, whichever of
// them led the county (a county set that year's calendar itself).
func OfficialNewer(a, b string) bool { return lastOfficialYear(a) > lastOfficialYear(b) }

// lastOfficialYear is the latest year data holds (0: none, or data that
// cannot be read).
func lastOfficialYear(data string) int {
	o, err := parseOfficial(data)
	if err != nil {
		return 0
	}
	last := 0
	for y := range o.years {
		last = max(last, y)
	}
	return last
}
