package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// The official calendars come with the binary, in no log: a release with
// other data (the next year's holidays, due each November) counted
// otherwise with nothing to tell. A registry says which data it judges
// with (OfficialData); a calendar of another release's data
// (WithOfficial) differs from this one's at the first day they disagree
// on (FirstChange), which is what makes a book judge again.
func TestOfficialDataOfAnotherReleaseIsACalendarChange(t *testing.T) {
	r := New(Options{})
	data := r.OfficialData()
	if !strings.Contains(data, "2027 0101h") || !strings.Contains(data, " 0131w") {
		t.Fatalf("this binary's official data has no 2027 (元旦 off, Sunday 31 January worked): %q…", data[:min(len(data), 80)])
	}
	same, err := r.Workdays().WithOfficial(data)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := FirstChange(same, r.Workdays()); ok {
		t.Errorf("the same data read back differs from %s", d.Format(time.DateOnly))
	}

	// A release before the 2027 data: 2027 was Monday to Friday.
	var lines []string
	for line := range strings.Lines(data) {
		if !strings.HasPrefix(line, "2027 ") {
			lines = append(lines, line)
		}
	}
	older := strings.Join(lines, "")
	before, err := r.Workdays().WithOfficial(older)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := FirstChange(before, r.Workdays())
	if !ok || d.Format(time.DateOnly) != "2027-01-01" {
		t.Errorf("the first day the release before and this one disagree on: %v, %v; want 2027-01-01 (元旦)", d, ok)
	}
	if !before.IsWorkingDay(time.Date(2027, 2, 8, 12, 0, 0, 0, CST)) || r.IsWorkingDay(time.Date(2027, 2, 8, 12, 0, 0, 0, CST)) {
		t.Error("Monday 8 February 2027 (春节) is not a working day by the release before and a holiday by this one")
	}

	// A registry pinned to the older data judges by it, and says so.
	pinned := New(Options{OfficialData: older})
	if pinned.OfficialData() != older || !pinned.IsWorkingDay(time.Date(2027, 2, 8, 12, 0, 0, 0, CST)) {
		t.Error("a registry pinned to the release before's data does not judge by it")
	}
	if c := pinned.Calendar(2027); c.GetSource() != SourceWeekdays {
		t.Errorf("the pinned registry's 2027 calendar is of source %q, want %q", c.GetSource(), SourceWeekdays)
	}
	// A county's own calendar for a year stays in force over either.
	cal := OfficialCalendar(2027)
	mustApply(t, pinned, putCalendar(cal))
	if _, ok := FirstChange(pinned.Workdays(), r.Workdays()); ok {
		t.Error("with the county's 2027 calendar set, the two releases still disagree")
	}

	for _, bad := range []string{"1999 0101h\n", "2027 0230h\n", "2027 0101x\n", "twenty 0101h\n"} {
		if _, err := r.Workdays().WithOfficial(bad); err == nil {
			t.Errorf("official data %q read without an error", bad)
		}
	}
}

// The first year nobody has set: 2028 with this release's data (through
// 2027), 2029 once a county sets 2028, 2027 for a release without 2027.
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
	var lines []string
	for line := range strings.Lines(r.OfficialData()) {
		if !strings.HasPrefix(line, "2027 ") {
			lines = append(lines, line)
		}
	}
	older := New(Options{OfficialData: strings.Join(lines, "")})
	if got := older.CalendarKnownUntil(now); !got.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, CST)) {
		t.Errorf("a release without 2027: known until %v, want 2027-01-01", got)
	}
}

// The data of the releases before books kept theirs is frozen: a release
// that brings other data still judges a book of before by it.
func TestOfficialDataBeforeIsFrozen(t *testing.T) {
	sum := sha256.Sum256([]byte(OfficialDataBefore()))
	if got := hex.EncodeToString(sum[:]); got != "0e706796e37aadfdbbb274ea6953e74013a0c276865a85ae40b4b38e74f567a9" {
		t.Errorf("official_before.txt changed (sha256 %s): it is the data books of before were judged with, not to be regenerated", got)
	}
	if _, err := parseOfficial(OfficialDataBefore()); err != nil {
		t.Error(err)
	}
	if !strings.Contains(OfficialDataBefore(), "\n2027 0101h") {
		t.Error("the data of before has no 2027 (lunar-go v1.4.7 had it)")
	}
}
