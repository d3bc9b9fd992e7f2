package casebook

import (
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// A data directory from a newer release: its book's statistics were
// counted with definitions this binary does not know (book/m/stats-format
// above statsFormat; every release that changes them bumps it, CHANGELOG
// "stats format 4…8"). The book format gets a clear refusal ("the book on
// disk has format %d; this binary reads up to %d"); the stats format gets
// none: this binary opened the book, served the newer release's counters
// as its own, and at its first write stamped them with its own, older,
// format. It refuses as it does for the book format; and a book of
// another office is refused too, naming both.
func TestABookOfANewerStatsFormatOrAnotherOfficeIsRefused(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	db := o.book.db
	o.file(licence, 0, Request{ID: "req-0", Hash: []byte{0}})
	// What the next release writes.
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set(keyStatsFormat, be64(statsFormat+1)) }); err != nil {
		t.Fatal(err)
	}
	b, err := Open(db, county)
	if err == nil {
		var stored uint64
		b.view(func(txn *badger.Txn) error { stored, err = getUint(txn, keyStatsFormat); return err })
		t.Errorf("a book whose statistics are of format %d (a newer release's) opened without error by a binary of stats format %d (stale=%v, stored %d)",
			statsFormat+1, statsFormat, b.StatsStale(), stored)
	} else if !strings.Contains(err.Error(), "newer release") {
		t.Errorf("the refusal does not say why: %v", err)
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set(keyStatsFormat, be64(statsFormat)) }); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(db, county); err != nil {
		t.Fatalf("the book of its own office and format: %v", err)
	}
	if _, err := Open(db, village); err == nil || !strings.Contains(err.Error(), "office "+county) {
		t.Errorf("the county's book opened as the village's: %v", err)
	}
}
