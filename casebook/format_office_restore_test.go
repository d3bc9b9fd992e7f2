package casebook

import (
	"bytes"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// A backup of the county taken by the previous release (its book names
// no office: no book/m/office in the stream), restored as raftgroup.
// RestoreBackup does it (Open with the backup's office, then Restore the
// stream: DropPrefix takes the mark Open just wrote), into a village's
// data directory, then opened by the village's node: the county's book
// was taken as the village's; the restore marks the book with the office
// whose stream it was given, and the village's node refuses it.
func TestAnOldBackupRestoredIntoAnotherOfficeIsRefused(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	o.file(licence, 0, Request{ID: "req-0", Hash: []byte{0}})
	// As the previous release wrote it: no office mark.
	if err := o.book.db.Update(func(txn *badger.Txn) error { return txn.Delete(keyOffice) }); err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer
	if _, err := o.book.Stream(&stream); err != nil {
		t.Fatal(err)
	}

	db := openDB(t, t.TempDir())
	b, err := Open(db, county) // RestoreBackup: casebook.Open(db, info.Office)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Restore(&stream); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(db, village); err == nil {
		t.Errorf("the county's book (a backup of the previous release, restored) opened as village %s's", village)
	}
}
