package casebook

import (
	"maps"
	"slices"
	"strings"
	"testing"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// withOfficialHoliday is official calendar data (registry.OfficialData's
// text) with the weekday date (MMDD) of year made a holiday.
func withOfficialHoliday(t *testing.T, data string, year, mmdd string) string {
	t.Helper()
	var out []string
	found := false
	for line := range strings.Lines(data) {
		if strings.HasPrefix(line, year+" ") {
			line, found = strings.TrimSuffix(line, "\n")+" "+mmdd+"h\n", true
		}
		out = append(out, line)
	}
	if !found {
		t.Fatalf("the official data has no line for %s", year)
	}
	return strings.Join(out, "")
}

// putOfficial puts official calendars data in force in o's registry, as
// the office's log applies the county's PutOfficialCalendars: the
// registry, then the book at the next index (as putCalendar does).
func (o *office) putOfficial(data string) (CalendarChange, bool) {
	o.t.Helper()
	return o.applyCalendarCommand(&peerv1.RegistryCommand{AtUnixNano: o.now.UnixNano(), Actor: "node:county-1",
		Op: &peerv1.RegistryCommand_PutOfficialCalendars{PutOfficialCalendars: &peerv1.PutOfficialCalendars{Data: data}}})
}

// The county puts a release's official calendars in force (a release
// that brings a year's holidays or mends one: here the data in force had
// Wednesday 4 March 2026 off, the release's has it worked): the office
// judges its cases again at that point of its log, as after a calendar
// write, and ends with the figures, cards and queue of an office that
// judged by the release's data all along.
func TestOfficialCalendarsPutInForceJudgeTheBookAgain(t *testing.T) {
	current := registry.OfficialData()
	old := newOffice(t, county, newRegistry(t))
	old.putOfficial(withOfficialHoliday(t, current, "2026", "0304"))
	plain := newOffice(t, county, newRegistry(t))
	d, e := holidayWeek(old)
	holidayWeek(plain)
	if got := old.liveCards(); len(got) != 0 {
		t.Fatalf("judged by the old data (4 March off), the office holds the cards %v", got)
	}
	if maps.Equal(old.figures(), plain.figures()) {
		t.Fatal("the figures agree under both data: the test shows nothing")
	}

	old.now = day(3, 6, 11)
	ch, changed := old.putOfficial(current)
	if !changed || !ch.From.Equal(day(3, 4, 0)) {
		t.Fatalf("the release's data changed %v from %v", changed, ch.From)
	}
	overdueD := d + " " + yizhanv1.CardRule_CARD_RULE_OVERDUE.String()
	if got := old.liveCards(); !slices.Equal(got, []string{overdueD}) {
		t.Errorf("under the release's data, the office holds the cards %v, want %v (the decision on Friday late)", got, []string{overdueD})
	}
	endsAs(t, old, plain, e)
}
