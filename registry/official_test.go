package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// withoutYear is official data with year's line left out (a release
// before that year's data).
func withoutYear(data, year string) string {
	var lines []string
	for line := range strings.Lines(data) {
		if !strings.HasPrefix(line, year+" ") {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "")
}

func putOfficial(data string) *peerv1.RegistryCommand {
	return &peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_PutOfficialCalendars{PutOfficialCalendars: &peerv1.PutOfficialCalendars{Data: data}}}
}

// The official calendars come with the binary, but a registry judges by
// those in its log: a release with other data (the next year's holidays,
// due each November) would have counted otherwise from the moment each
// node ran it, with nothing to judge the cases again. Until the county
// puts a release's data in force, a registry judges by the data of every
// release before (OfficialDataBefore); a registry that has it in force
// judges by it, says so in its snapshot (and digest), and a calendar of
// before it differs from one after it at the first day they disagree on
// (FirstChange), which makes a book judge again.
func TestTheOfficialCalendarsInForceAreTheLogs(t *testing.T) {
	r := New(Options{})
	if r.OfficialInForce() != OfficialDataBefore() {
		t.Fatal("a new registry judges by other official data than that of the releases before")
	}
	data := OfficialData()
	if !strings.Contains(data, "2027 0101h") || !strings.Contains(data, " 0131w") {
		t.Fatalf("this binary's official data has no 2027 (元旦 off, Sunday 31 January worked): %q…", data[:min(len(data), 80)])
	}
	// A release before the 2027 data: 2027 is Monday to Friday.
	older := withoutYear(data, "2027")
	before := r.Workdays()
	mustApply(t, r, putOfficial(older))
	if r.OfficialInForce() != older {
		t.Fatal("the official calendars put in force are not in force")
	}
	springFestival := time.Date(2027, 2, 8, 12, 0, 0, 0, CST)
	if !r.IsWorkingDay(springFestival) || before.IsWorkingDay(springFestival) {
		t.Error("Monday 8 February 2027 (春节) is not a working day by the older data in force, and a holiday by the calendar taken before")
	}
	if c := r.Calendar(2027); c.GetSource() != SourceWeekdays {
		t.Errorf("2027 by the older data is of source %q, want %q", c.GetSource(), SourceWeekdays)
	}
	if d, ok := FirstChange(before, r.Workdays()); !ok || d.Format(time.DateOnly) != "2027-01-01" {
		t.Errorf("the first day the two data disagree on: %v, %v; want 2027-01-01 (元旦)", d, ok)
	}
	// A snapshot carries the data in force, and so does the digest.
	_, digest := r.Digest()
	restored := New(Options{})
	if err := restored.Restore(r.Snapshot()); err != nil {
		t.Fatal(err)
	}
	if restored.OfficialInForce() != older || !restored.IsWorkingDay(springFestival) {
		t.Error("a registry restored from the snapshot does not judge by the data in force")
	}
	other := New(Options{})
	mustApply(t, other, putOfficial(withoutYear(data, "2026")))
	if _, d := other.Digest(); d == digest {
		t.Error("the digest is the same for two registries at the same index that judge by other official data")
	}
	// The data in force again: refused when proposed (Check), and a
	// replay of it changes nothing.
	if err := r.Check(putOfficial(older)); !errors.Is(err, ErrAlreadyExists) {
		t.Errorf("official data in force proposed again: %v, want already exists", err)
	}
	// A county's own calendar for a year stands over either.
	cal := OfficialCalendar(2027)
	mustApply(t, r, putCalendar(cal))
	if r.IsWorkingDay(springFestival) {
		t.Error("with the county's 2027 calendar set, 8 February 2027 is a working day")
	}
	// Later data reaches a later year; data that only mends a year is
	// not later (two releases would put theirs by turns).
	if !OfficialNewer(data, older) || OfficialNewer(older, data) || OfficialNewer(withOfficialMend(data), data) {
		t.Error("OfficialNewer does not order the data by the last year it reaches")
	}
	// Data that cannot be read is refused, naming the field.
	for _, bad := range []string{"", "\n", "1999 0101h\n", "2027 0230h\n", "2027 0101x\n", "twenty 0101h\n", "2027 0101h\n2027 0102h\n"} {
		var ve *ValidationError
		if err := r.Check(putOfficial(bad)); !errors.As(err, &ve) || ve.Violations[0].Field != "data" {
			t.Errorf("official data %q: %v, want a violation of data", bad, err)
		}
	}
}

// The data of the releases before it was in the log is frozen: it is
// what every registry judged by until a county puts a release's in force.
func TestOfficialDataBeforeIsFrozen(t *testing.T) {
	sum := sha256.Sum256([]byte(OfficialDataBefore()))
	if got := hex.EncodeToString(sum[:]); got != "0e706796e37aadfdbbb274ea6953e74013a0c276865a85ae40b4b38e74f567a9" {
		t.Errorf("official_before.txt changed (sha256 %s): it is the data every node judged by before, not to be regenerated", got)
	}
	o, err := parseOfficial(OfficialDataBefore())
	if err != nil {
		t.Fatal(err)
	}
	// Read back, it says every day its text says (written again from
	// what was read, it is the same text): not compared with the
	// binary's lunar-go, which a later release may mend.
	var b strings.Builder
	for y := officialFirst; y <= officialLast; y++ {
		c, ok := o.years[y]
		if !ok {
			continue
		}
		fmt.Fprint(&b, y)
		for _, d := range c.cal.GetDays() {
			k := "h"
			if d.GetKind() == yizhanv1.DayKind_DAY_KIND_WORKDAY {
				k = "w"
			}
			fmt.Fprintf(&b, " %s%s%s", d.GetDate()[5:7], d.GetDate()[8:10], k)
		}
		b.WriteString("\n")
	}
	if b.String() != OfficialDataBefore() {
		t.Error("official_before.txt read and written again is another text")
	}
	for _, k := range []struct {
		date    string
		working bool
	}{{"2027-02-08", false}, {"2027-02-14", true}, {"2026-10-01", false}, {"2026-10-12", true}} {
		d, _ := time.Parse(time.DateOnly, k.date)
		if got := o.years[d.Year()].kinds.isWorking(d); got != k.working {
			t.Errorf("%s by the data of before: working %v, want %v", k.date, got, k.working)
		}
	}
}

// The first year nobody has set: 2028 with the data in force (through
// 2027), 2029 once a county sets 2028, 2027 under a release's data
// without 2027.
func TestCalendarKnownUntil(t *testing.T) {
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, CST)
	r := New(Options{})
	if got := r.CalendarKnownUntil(now); !got.Equal(time.Date(2028, 1, 1, 0, 0, 0, 0, CST)) {
		t.Errorf("known until %v, want 2028-01-01", got)
	}
	cal := OfficialCalendar(2027)
	cal.Year = 2028
	cal.Days = nil
	mustApply(t, r, putCalendar(cal))
	if got := r.CalendarKnownUntil(now); !got.Equal(time.Date(2029, 1, 1, 0, 0, 0, 0, CST)) {
		t.Errorf("with a county calendar for 2028, known until %v, want 2029-01-01", got)
	}
	older := New(Options{})
	mustApply(t, older, putOfficial(withoutYear(OfficialData(), "2027")))
	if got := older.CalendarKnownUntil(now); !got.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, CST)) {
		t.Errorf("under data without 2027: known until %v, want 2027-01-01", got)
	}
}

// withOfficialMend is data with one day of 2026 changed (a mend of a
// past year, the same years).
func withOfficialMend(data string) string {
	return strings.Replace(data, "\n2026 ", "\n2026 0304h ", 1)
}
