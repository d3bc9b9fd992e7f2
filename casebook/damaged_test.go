package casebook

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/supervision"
)

// A case whose events the database lost (dropped, or an entry of the
// value log that reads back empty) reads as damaged (CASE_DAMAGED),
// naming the case and what is missing; the book's other cases read as
// before. Each damaged case is logged at error and counted once,
// however often it is read.
func TestADamagedCaseReadsAsDamaged(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	var logs bytes.Buffer
	o.book.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	dropped := o.file(licence, 1, Request{})
	emptied := o.file(licence, 2, Request{})
	sound := o.file(licence, 3, Request{})
	if err := o.book.db.DropPrefix(eventPrefix(dropped)); err != nil {
		t.Fatal(err)
	}
	if err := o.book.db.Update(func(txn *badger.Txn) error { return txn.Set(eventKey(emptied, 1), nil) }); err != nil {
		t.Fatal(err)
	}

	for number, what := range map[string]string{dropped: "0 events on disk", emptied: "reads back empty"} {
		for range 3 {
			_, _, ok, err := o.book.Read(number)
			if ok || !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), number) || !strings.Contains(err.Error(), what) {
				t.Errorf("Read(%s): ok %v, %v; want ErrDamaged naming the case and %q", number, ok, err, what)
			}
			if e := reason.Of(err); e == nil || e.Reason != reason.CaseDamaged || e.Meta["number"] != number {
				t.Errorf("Read(%s): reason %v; want %s naming the case", number, e, reason.CaseDamaged)
			}
		}
		if _, _, ok := o.book.CaseAndEvents(number); ok {
			t.Errorf("CaseAndEvents(%s) answers a damaged case as whole", number)
		}
		if events := o.book.Events(number); events != nil {
			t.Errorf("Events(%s) answers %d events of a damaged case", number, len(events))
		}
		if _, _, ok := o.book.Pending(number); ok {
			t.Errorf("Pending(%s) asks to act on a damaged case", number)
		}
		if m, ok := o.book.Message(&peerv1.OutboxEntry{DestOffice: "450100000000", CaseNumber: number, UptoSeq: 1}); ok {
			t.Errorf("Message(%s) sends %d events of a damaged case", number, len(m.GetEvents()))
		}
	}
	if m, ok := o.book.Message(&peerv1.OutboxEntry{DestOffice: "450100000000", CaseNumber: sound, UptoSeq: 2}); ok {
		t.Errorf("Message(%s) sends %d events where 2 were queued", sound, len(m.GetEvents()))
	}
	c, events, ok, err := o.book.Read(sound)
	if err != nil || !ok || len(events) != int(c.GetLastSeq()) || len(events) == 0 {
		t.Errorf("Read(%s) of a sound case: %d events, ok %v, %v", sound, len(events), ok, err)
	}
	if _, _, ok, err := o.book.Read("450122000000-20260302-9999"); ok || err != nil {
		t.Errorf("Read of a case not held: ok %v, %v; want neither", ok, err)
	}
	if n := o.book.DamagedCases(); n != 2 {
		t.Errorf("DamagedCases: %d; want the 2 damaged cases", n)
	}
	for _, number := range []string{dropped, emptied} {
		if n := strings.Count(logs.String(), "case="+number); n != 1 || !strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("case %s is logged %d times at error, want once:\n%s", number, n, logs.String())
		}
	}
	problems, err := o.book.Check(t.Context(), reg)
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	for _, number := range []string{dropped, emptied} {
		if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, number) }) {
			t.Errorf("the check does not name damaged case %s: %q", number, problems)
		}
	}
}

// A command on a case one of whose events reads back empty stops the
// node, saying so, as one on a case without its events does
// (TestADamagedBookStopsTheNode), rather than being refused on this node
// alone while the office's other nodes apply it.
func TestACommandOnALostEventStopsTheNode(t *testing.T) {
	commandOnDamagedCaseStopsTheNode(t, "a case whose event reads back empty", "reads back empty", func(o *office, n string) error {
		return o.book.db.Update(func(txn *badger.Txn) error { return txn.Set(eventKey(n, 1), nil) })
	})
}

// Supervision's sweep and the check meet a damaged case that nobody
// reads: they pass over it and go on with the other cases, and the case
// is logged at error once and counted (the metric
// yizhan_casebook_cases_damaged), not left out without a word.
func TestASweepCountsADamagedCase(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	var logs bytes.Buffer
	o.book.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	o.now = day(3, 2, 9) // Monday 2 March
	damaged := o.file(licence, 1, Request{})
	late := o.file(licence, 2, Request{})
	o.act(damaged, casework.ActionAccept, nil) // two events: the last one lost below
	if err := o.book.db.Update(func(txn *badger.Txn) error { return txn.Delete(eventKey(damaged, 2)) }); err != nil {
		t.Fatal(err)
	}

	// 20 March: the case nobody accepted is late (§32), and the damaged
	// one is due soon.
	o.now = day(3, 20, 10)
	checks, err := o.book.CardsDue(o.now, reg, supervision.Policy{}, MaxCardChecks)
	if err != nil {
		t.Fatalf("the sweep over a book with a damaged case: %v", err)
	}
	if !slices.ContainsFunc(checks, func(c *peerv1.CardCheck) bool {
		return c.GetCaseNumber() == late && c.GetRule() == yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME
	}) {
		t.Errorf("the sweep proposes %v; want the late filing %s", checks, late)
	}
	if slices.ContainsFunc(checks, func(c *peerv1.CardCheck) bool { return c.GetCaseNumber() == damaged }) {
		t.Errorf("the sweep proposes the damaged case: %v", checks)
	}
	if n := o.book.DamagedCases(); n != 1 {
		t.Errorf("after the sweep, DamagedCases is %d; want 1", n)
	}
	if _, err := o.book.Check(t.Context(), reg); err != nil {
		t.Fatal(err)
	}
	if n := o.book.DamagedCases(); n != 1 {
		t.Errorf("after the sweep and the check, DamagedCases is %d; want 1", n)
	}
	if n := strings.Count(logs.String(), "case="+damaged); n != 1 || !strings.Contains(logs.String(), "has its record at event 2 but 1 events on disk") {
		t.Errorf("the damaged case is logged %d times, want once naming what is missing:\n%s", n, logs.String())
	}
}

// A book counted by an older release counts its statistics again before
// its next apply; a damaged case met then stops the node naming it, as a
// command on it does, rather than counting what is left (the office's
// other nodes count it whole) or stopping with a bare error.
func TestAStatisticsUpgradeMeetingADamagedCaseStopsTheNode(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	n := o.file(licence, 1, Request{})
	o.act(n, casework.ActionAccept, nil)
	if err := o.book.db.Update(func(txn *badger.Txn) error { return txn.Delete(eventKey(n, 2)) }); err != nil {
		t.Fatal(err)
	}
	if err := o.book.db.DropPrefix(keyStatsFormat); err != nil { // what the previous release left
		t.Fatal(err)
	}
	defer func() {
		r := recover()
		err, _ := r.(error)
		var d *DamageError
		if !errors.As(err, &d) || d.Case != n || !strings.Contains(err.Error(), "has its record at event 2 but 1 events on disk") {
			t.Errorf("the upgrade over a damaged case: %v; want a *DamageError naming %s and what is missing", r, n)
		}
	}()
	o.reopen()
	t.Error("the upgrade counted a damaged case")
}

// A listing meets a case whose events the database lost, all of them
// (the filing event, the one a listing reads, among them): the case is
// left out of the office's list, of the list with the offices below and
// of the applicant's, and it is noted damaged, as a read of it is:
// logged at error once and counted, however many listings meet it.
func TestAListingNotesACaseThatLostItsEvents(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	var logs bytes.Buffer
	o.book.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	dropped := o.file(licence, 1, Request{})
	sound := o.file(licence, 2, Request{})
	if err := o.book.db.DropPrefix(eventPrefix(dropped)); err != nil {
		t.Fatal(err)
	}

	for _, l := range []struct {
		what string
		list func() ([]*yizhanv1.Case, string, error)
	}{
		{"the office's list", func() ([]*yizhanv1.Case, string, error) { return o.book.List(ListQuery{Office: county}) }},
		{"the list with the offices below", func() ([]*yizhanv1.Case, string, error) {
			return o.book.List(ListQuery{Office: county, Subtree: true})
		}},
		{"the applicant's list", func() ([]*yizhanv1.Case, string, error) {
			return o.book.ByApplicant(ApplicantQuery{IDNumber: idNumber(1)}, reg)
		}},
	} {
		cases, _, err := l.list()
		if err != nil {
			t.Errorf("%s: %v", l.what, err)
		}
		if slices.ContainsFunc(cases, func(c *yizhanv1.Case) bool { return c.GetNumber() == dropped }) {
			t.Errorf("%s shows the case that lost its events", l.what)
		}
	}
	if cases, _, err := o.book.List(ListQuery{Office: county}); err != nil || len(cases) != 1 || cases[0].GetNumber() != sound {
		t.Errorf("the office's list: %v, %v; want the sound case %s", cases, err, sound)
	}
	if n := o.book.DamagedCases(); n != 1 {
		t.Errorf("after the listings, DamagedCases is %d; want 1", n)
	}
	if n := strings.Count(logs.String(), "case="+dropped); n != 1 || !strings.Contains(logs.String(), "level=ERROR") ||
		!strings.Contains(logs.String(), "has its record at event 1 but 0 events on disk") {
		t.Errorf("the case that lost its events is logged %d times, want once at error naming what is missing:\n%s", n, logs.String())
	}
}

// While a restore replaces the book, what a reader sees may be part of a
// book: a case's record read before its events are in is not damage, so
// the reads and listings that meet it then neither log it nor count it.
// Once the book is whole again, a case without its events is noted.
func TestAReadWhileRestoringNotesNoDamage(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	var logs bytes.Buffer
	o.book.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	n := o.file(licence, 1, Request{})
	if err := o.book.db.DropPrefix(eventPrefix(n)); err != nil {
		t.Fatal(err)
	}

	o.book.generation.Add(1) // odd: as while Restore runs
	if _, _, _, err := o.book.Read(n); !errors.Is(err, ErrReplacing) {
		t.Errorf("Read while restoring: %v; want ErrReplacing", err)
	}
	o.book.Events(n)
	o.book.CaseAndEvents(n)
	o.book.Pending(n)
	if _, _, err := o.book.List(ListQuery{Office: county}); err != nil {
		t.Errorf("the office's list while restoring: %v", err)
	}
	if d := o.book.DamagedCases(); d != 0 || strings.Contains(logs.String(), "case="+n) {
		t.Errorf("while restoring, DamagedCases is %d and the log holds:\n%s\nwant nothing noted", d, logs.String())
	}

	o.book.generation.Add(1) // the restore is done
	o.book.Events(n)
	if d := o.book.DamagedCases(); d != 1 || strings.Count(logs.String(), "case="+n) != 1 {
		t.Errorf("once restored, DamagedCases is %d and the log holds:\n%s\nwant the case noted once", d, logs.String())
	}
}

// A disk that lost many cases' events does not make the node log, nor
// hold, each one: the first cases are logged one by one, then one line
// each hundred more, and the count stops at maxNotedDamage with a line
// saying the book is lost. A case met again is neither counted nor
// logged again.
func TestManyDamagedCasesAreLoggedAndHeldWithinBounds(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	var logs bytes.Buffer
	o.book.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	note := func(i int) {
		o.book.noteDamage(o.book.Generation(), damage(fmt.Sprintf("%s-20260302-%06d", county, i), "has its record at event 1 but 0 events on disk"))
	}
	for i := range 350 {
		note(i)
		note(i) // met again
	}
	if got := o.book.DamagedCases(); got != 350 {
		t.Errorf("350 damaged cases, each met twice: counted %d", got)
	}
	lines := strings.Count(logs.String(), "\n")
	if want := damageLoggedEach + 2; lines != want { // the first 100, then at 200 and 300
		t.Errorf("350 damaged cases logged in %d lines; want %d:\n%s", lines, want, logs.String())
	}
	if !strings.Contains(logs.String(), "damaged_cases=300") {
		t.Errorf("the summary lines do not say how many cases were found damaged:\n%s", logs.String())
	}
	for i := 350; i < maxNotedDamage+500; i++ {
		note(i)
	}
	if got := o.book.DamagedCases(); got != maxNotedDamage {
		t.Errorf("%d damaged cases: counted %d; want the count to stop at %d", maxNotedDamage+500, got, maxNotedDamage)
	}
	if !strings.Contains(logs.String(), "counts no more: its book is lost") {
		t.Error("the count stopped without a line saying the book is lost")
	}
	if lines := strings.Count(logs.String(), "\n"); lines > damageLoggedEach+maxNotedDamage/damageLoggedEach+1 {
		t.Errorf("%d lines logged for %d damaged cases", lines, maxNotedDamage+500)
	}
}

// A read that met a damaged case just before a restore replaced the book
// (a raft snapshot installed on a follower) does not count the case, nor
// log it: the restored book holds it whole, and the count of damaged
// cases (yizhan_casebook_cases_damaged) is of the book the node holds.
func TestADamagedCaseReadBeforeARestoreIsNotCountedAfterIt(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	var logs bytes.Buffer
	o.book.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	number := o.file(licence, 1, Request{})
	var sound bytes.Buffer // the leader's book, the case whole
	if _, err := o.book.Stream(&sound); err != nil {
		t.Fatal(err)
	}
	if err := o.book.db.DropPrefix(eventPrefix(number)); err != nil {
		t.Fatal(err)
	}
	// The restore comes between the read and its note.
	restored := false
	o.book.beforeNote = func() {
		if !restored {
			restored = true
			if err := o.book.Restore(&sound); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, _, _, err := o.book.Read(number); !errors.Is(err, ErrDamaged) {
		t.Fatalf("the read before the restore: %v; want ErrDamaged", err)
	}
	if !restored {
		t.Fatal("the read noted no damage")
	}
	if _, events, ok, err := o.book.Read(number); err != nil || !ok || len(events) != 1 {
		t.Fatalf("the case after the restore: %d events, ok %v, %v; want it whole", len(events), ok, err)
	}
	if n := o.book.DamagedCases(); n != 0 {
		t.Errorf("DamagedCases after the restore: %d; want 0 (the restored book holds the case whole)", n)
	}
	if strings.Contains(logs.String(), "case="+number) {
		t.Errorf("the log says the case is damaged though the book restored holds it whole:\n%s", logs.String())
	}
}

// The book's stream (what a follower rebuilt from the leader is sent, and
// a backup) notes each damaged case it carries, on the node it is read
// from: logged at error once and counted, as a read of the case would,
// though no one read it before. It is still written whole, damaged cases
// and all; a sound book's notes nothing.
func TestAStreamOfTheBookNotesItsDamagedCases(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	var logs bytes.Buffer
	o.book.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	dropped := o.file(licence, 1, Request{})
	sound := o.file(licence, 2, Request{})
	emptied := o.file(licence, 3, Request{})
	lastLost := o.file(licence, 4, Request{})
	o.act(lastLost, casework.ActionAccept, nil) // two events: the last one lost below
	droppedLast := o.file(licence, 5, Request{})
	stream := func() *bytes.Buffer {
		t.Helper()
		var b bytes.Buffer
		if _, err := o.book.Stream(&b); err != nil {
			t.Fatal(err)
		}
		return &b
	}
	stream()
	if n := o.book.DamagedCases(); n != 0 || logs.Len() != 0 {
		t.Fatalf("the stream of a sound book notes %d damaged cases:\n%s", n, logs.String())
	}

	for _, number := range []string{dropped, droppedLast} {
		if err := o.book.db.DropPrefix(eventPrefix(number)); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.book.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(eventKey(emptied, 1), nil); err != nil {
			return err
		}
		return txn.Delete(eventKey(lastLost, 2))
	}); err != nil {
		t.Fatal(err)
	}
	sent := stream()
	stream() // met again: neither logged nor counted again
	want := map[string]string{
		dropped:     `damage="has its record at event 1 but 0 events on disk"`,
		emptied:     `damage="event 1: it reads back empty (its value is lost)"`,
		lastLost:    `damage="has its record at event 2 but 1 events on disk"`,
		droppedLast: `damage="has its record at event 1 but 0 events on disk"`,
	}
	if n := o.book.DamagedCases(); n != len(want) {
		t.Errorf("DamagedCases after the stream: %d; want the %d damaged cases", n, len(want))
	}
	for number, damage := range want {
		if n := strings.Count(logs.String(), "case="+number); n != 1 || !strings.Contains(logs.String(), "case="+number+" "+damage) {
			t.Errorf("case %s is logged %d times; want once, at error, with %s:\n%s", number, n, damage, logs.String())
		}
	}
	if strings.Contains(logs.String(), sound) {
		t.Errorf("the stream notes sound case %s:\n%s", sound, logs.String())
	}
	// Sent whole: the book restored from it holds what the leader holds.
	c := newOffice(t, county, reg)
	if err := c.book.Restore(sent); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := c.book.Read(lastLost); !errors.Is(err, ErrDamaged) {
		t.Errorf("the book restored from the stream reads case %s: %v; want ErrDamaged, as the leader's", lastLost, err)
	}
	if _, _, ok, err := c.book.Read(sound); !ok || err != nil {
		t.Errorf("the book restored from the stream reads sound case %s: ok %v, %v", sound, ok, err)
	}
}
