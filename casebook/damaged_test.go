package casebook

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
)

// A case whose events the database lost (dropped, or an entry of the
// value log that reads back empty) reads as damaged, naming the case and
// what is missing; the book's other cases read as before.
func TestADamagedCaseReadsAsDamaged(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
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
		_, _, ok, err := o.book.Read(number)
		if ok || !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), number) || !strings.Contains(err.Error(), what) {
			t.Errorf("Read(%s): ok %v, %v; want ErrDamaged naming the case and %q", number, ok, err, what)
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
