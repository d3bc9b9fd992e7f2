package casebook

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
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

// A release's official calendars (lunar-go's holiday data, compiled in)
// are in no log: a release with other data — the next year's holidays,
// published each November, or a year mended — changed how a book counts
// with no calendar write to judge its cases again, and its figures, cards
// and queue stayed those of the old data (the book's check, which counts
// with the new, reported them). A book keeps the data it was judged with
// and, opened under a release whose data differs, judges again at its
// first write: here a release whose data had Wednesday 4 March 2026 off,
// then this binary's, which has it worked. The office ends with the
// figures, cards and queue of an office that ran this binary all along,
// and its counters equal a recount.
func TestAReleaseWithOtherOfficialCalendarsJudgesTheBookAgain(t *testing.T) {
	current := registry.New(registry.Options{}).OfficialData()
	old := newOffice(t, county, newRegistryWith(t, true, registry.Options{OfficialData: withOfficialHoliday(t, current, "2026", "0304")}))
	plain := newOffice(t, county, newRegistry(t))
	d, e := holidayWeek(old)
	holidayWeek(plain)
	if got := old.liveCards(); len(got) != 0 {
		t.Fatalf("judged with the old data (4 March off), the office holds the cards %v", got)
	}
	if maps.Equal(old.figures(), plain.figures()) {
		t.Fatal("the figures agree under both data: the test shows nothing")
	}

	// The new release starts on the same data directory, with the same
	// registry (restored from its snapshot) and its own official data.
	next := registry.New(registry.Options{})
	if err := next.Restore(old.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	old.reg = next
	old.now = day(3, 6, 11)
	old.reopen()
	overdueD := d + " " + yizhanv1.CardRule_CARD_RULE_OVERDUE.String()
	if got := old.liveCards(); !slices.Equal(got, []string{overdueD}) {
		t.Errorf("under this release's data, the office holds the cards %v, want %v (the decision on Friday late)", got, []string{overdueD})
	}
	if got, want := old.queueKey(e), plain.queueKey(e); got != want {
		t.Errorf("the open case's place in the queue is %s, at the office that ran this release %s", got, want)
	}
	old.check()
	old.sweep() // cards the open case, overdue since Thursday's end
	if got, want := old.liveCards(), plain.liveCards(); !slices.Equal(got, want) {
		t.Errorf("after the next sweep, the office holds the cards %v, the office that ran this release %v", got, want)
	}
	// The warning the open case had on Friday morning, right by the
	// data of then, stays (as after a calendar write).
	noWarning := func(m map[string]uint64) map[string]uint64 {
		maps.DeleteFunc(m, func(k string, _ uint64) bool { return strings.HasSuffix(k, " card_due_soon") })
		return m
	}
	if got, want := noWarning(old.figures()), plain.figures(); !maps.Equal(got, want) {
		t.Errorf("under this release's data, the office counts\n%v\nwhere the office that ran it counts\n%v", got, want)
	}
	var kept []byte
	if err := old.book.db.View(func(txn *badger.Txn) error { kept = getRaw(txn, keyOfficial); return nil }); err != nil {
		t.Fatal(err)
	}
	if string(kept) != current {
		t.Errorf("the book keeps official data of %d bytes, not this release's", len(kept))
	}

	// Opened again under the same release: nothing to judge again.
	before := old.figures()
	old.reopen()
	if got := old.figures(); !maps.Equal(got, before) {
		t.Errorf("opened again under the same release, the office counts %v, before %v", got, before)
	}
}

// A book of a release before the record of official data keeps none: it
// takes this binary's as the data it was judged with (the release before
// had the same), and judges nothing again.
func TestABookWithoutOfficialDataTakesThisRelease(t *testing.T) {
	o := newOffice(t, county, newRegistry(t))
	holidayWeek(o)
	if err := o.book.db.Update(func(txn *badger.Txn) error { return txn.Delete(keyOfficial) }); err != nil {
		t.Fatal(err)
	}
	before, cards := o.figures(), o.liveCards()
	o.reopen()
	if got := o.figures(); !maps.Equal(got, before) {
		t.Errorf("the book counts %v, before %v", got, before)
	}
	if got := o.liveCards(); !slices.Equal(got, cards) {
		t.Errorf("the book holds the cards %v, before %v", got, cards)
	}
	var kept []byte
	if err := o.book.db.View(func(txn *badger.Txn) error { kept = getRaw(txn, keyOfficial); return nil }); err != nil {
		t.Fatal(err)
	}
	if string(kept) != o.reg.OfficialData() {
		t.Errorf("the book keeps official data of %d bytes, not this release's", len(kept))
	}
}

// judgedUnderOldData is an office whose book was judged under official
// data with Wednesday 4 March 2026 off (holidayWeek), its registry since
// replaced by this release's (restored from its snapshot), and its book
// opened again with nothing applied yet; and an office that ran this
// release all along.
func judgedUnderOldData(t *testing.T) (old, plain *office, d, e string) {
	t.Helper()
	current := registry.New(registry.Options{}).OfficialData()
	old = newOffice(t, county, newRegistryWith(t, true, registry.Options{OfficialData: withOfficialHoliday(t, current, "2026", "0304")}))
	plain = newOffice(t, county, newRegistry(t))
	d, e = holidayWeek(old)
	holidayWeek(plain)
	next := registry.New(registry.Options{})
	if err := next.Restore(old.reg.Snapshot()); err != nil {
		t.Fatal(err)
	}
	old.reg = next
	b, err := Open(old.book.db, old.code)
	if err != nil {
		t.Fatal(err)
	}
	old.book, old.mem = b, casework.NewBook(old.code)
	old.now, plain.now = day(3, 6, 11), day(3, 6, 11)
	return old, plain, d, e
}

// sameAs checks that o ends as plain does: after the next sweep, the
// same cards and figures (the warning of Friday morning aside), and its
// counters equal a recount.
func sameAs(t *testing.T, o, plain *office) {
	t.Helper()
	o.sweep()
	plain.sweep()
	if got, want := o.liveCards(), plain.liveCards(); !slices.Equal(got, want) {
		t.Errorf("the office holds the cards %v, the office that ran this release %v", got, want)
	}
	noWarning := func(m map[string]uint64) map[string]uint64 {
		maps.DeleteFunc(m, func(k string, _ uint64) bool { return strings.HasSuffix(k, " card_due_soon") })
		return m
	}
	if got, want := noWarning(o.figures()), noWarning(plain.figures()); !maps.Equal(got, want) {
		t.Errorf("the office counts\n%v\nwhere the office that ran this release counts\n%v", got, want)
	}
	o.check()
}

// The first write under the new release is a county's calendar write for
// 2026 (a holiday in June): the book was judged again by the calendar
// before the write with this release's data, then by the write. Judged
// by the write alone, the year the county set hid the data's change for
// good (a county's calendar stands over the official data), and the
// decision late by this release's data stayed in time.
func TestOtherOfficialDataThenACalendarWriteFirst(t *testing.T) {
	old, plain, d, _ := judgedUnderOldData(t)
	old.putCalendar("2026-06-01")
	plain.putCalendar("2026-06-01")
	overdueD := d + " " + yizhanv1.CardRule_CARD_RULE_OVERDUE.String()
	if got := old.liveCards(); !slices.Contains(got, overdueD) {
		t.Errorf("after the calendar write, the office holds the cards %v, want the late decision's %s", got, overdueD)
	}
	sameAs(t, old, plain)
}

// The new release also counts the statistics again from nothing (a stats
// format older than its own): the recount counts by this release's data,
// and the judging again that follows withdraws and gives the cards, and
// counts nothing twice.
func TestOtherOfficialDataAndARecountFromNothing(t *testing.T) {
	old, plain, d, _ := judgedUnderOldData(t)
	if err := old.book.db.Update(func(txn *badger.Txn) error { return txn.Set(keyStatsFormat, be64(5)) }); err != nil {
		t.Fatal(err)
	}
	old.reopen()
	overdueD := d + " " + yizhanv1.CardRule_CARD_RULE_OVERDUE.String()
	if got := old.liveCards(); !slices.Equal(got, []string{overdueD}) {
		t.Errorf("after the recount, the office holds the cards %v, want the late decision's %s", got, overdueD)
	}
	var counted []byte
	if err := old.book.db.View(func(txn *badger.Txn) error { counted = getRaw(txn, keyOfficialCounted); return nil }); err != nil {
		t.Fatal(err)
	}
	if counted != nil {
		t.Error("the book still says its counters were recounted apart from its cards")
	}
	sameAs(t, old, plain)
}
