package badger

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// yizhan patch (PATCHES.md): a value whose entry's header is damaged on
// the disk (its lengths' uvarints overflow) is handed over empty, as one
// that reads short is (the reader, casebook, takes it for damage), by a
// Get and by an iterator prefetching values, and the database goes on;
// upstream sliced out of range and panicked, in the iterator's
// prefetching goroutine where no caller can catch it.
func TestYizhanAValueWhoseHeaderIsDamagedReadsEmpty(t *testing.T) {
	for _, prefetch := range []bool{false, true} {
		t.Run(fmt.Sprintf("prefetch=%v", prefetch), func(t *testing.T) {
			dir := t.TempDir()
			db, err := Open(DefaultOptions(dir).WithLogger(nil).WithValueThreshold(1 << 10))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			key, value := []byte("a-key-of-a-part"), bytes.Repeat([]byte("scan"), 1024)
			if err := db.Update(func(txn *Txn) error { return txn.Set(key, value) }); err != nil {
				t.Fatal(err)
			}
			if err := db.Sync(); err != nil {
				t.Fatal(err)
			}
			// The header (meta, user meta, the key's and the value's
			// lengths, the expiry) before the key with its version: its
			// lengths made eleven bytes of 0xff, a uvarint that overflows.
			files, _ := filepath.Glob(filepath.Join(dir, "*.vlog"))
			damaged := false
			for _, name := range files {
				b, err := os.ReadFile(name)
				if err != nil {
					t.Fatal(err)
				}
				i := bytes.Index(b, key)
				if i < 0 {
					continue
				}
				at := i - 4 // the key's length (1 byte), the value's (2), the expiry (1)
				if at < 2 || b[at] != byte(len(key)+8) {
					t.Fatalf("no key length %d at %d in %s", len(key)+8, at, name)
				}
				f, err := os.OpenFile(name, os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				_, err = f.WriteAt(bytes.Repeat([]byte{0xff}, 11), int64(at))
				f.Close()
				if err != nil {
					t.Fatal(err)
				}
				damaged = true
				break
			}
			if !damaged {
				t.Fatal("the entry is not in the value log")
			}
			var got [][]byte
			read := func() (err error) {
				defer func() {
					if r := recover(); r != nil {
						err = fmt.Errorf("panic: %v", r)
					}
				}()
				return db.View(func(txn *Txn) error {
					if prefetch {
						opt := DefaultIteratorOptions
						opt.PrefetchValues = true
						it := txn.NewIterator(opt)
						defer it.Close()
						for it.Rewind(); it.Valid(); it.Next() {
							v, err := it.Item().ValueCopy(nil)
							if err != nil {
								return err
							}
							got = append(got, v)
						}
						return nil
					}
					item, err := txn.Get(key)
					if err != nil {
						return err
					}
					v, err := item.ValueCopy(nil)
					got = append(got, v)
					return err
				})
			}
			if err := read(); err != nil {
				t.Fatalf("the damaged entry's read: %v", err)
			}
			if len(got) != 1 || len(got[0]) != 0 {
				t.Fatalf("the damaged entry read as %d values %q; want one, empty", len(got), got)
			}
			// The database goes on: another key is written and read.
			if err := db.Update(func(txn *Txn) error { return txn.Set([]byte("next"), []byte("v")) }); err != nil {
				t.Fatal(err)
			}
		})
	}
}
