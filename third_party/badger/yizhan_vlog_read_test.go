package badger

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// yizhan patch (PATCHES.md): a value whose entry in the value log reads
// short (its header damaged on the disk) is handed over empty, as
// upstream does, and the value log file's read lock is let go: the
// database closes.
func TestYizhanAValueThatReadsShortLetsGoOfItsLogFile(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(DefaultOptions(dir).WithLogger(nil).WithValueThreshold(1 << 10))
	if err != nil {
		t.Fatal(err)
	}
	key, value := []byte("a-key-of-a-part"), bytes.Repeat([]byte("scan"), 1024)
	if err := db.Update(func(txn *Txn) error { return txn.Set(key, value) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	// The entry's header: meta, user meta, the key's length, the value's
	// length (uvarints), the expiry (0: one byte), then the key with its
	// version. The value's length made larger than the entry.
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
		var vlen [binary.MaxVarintLen64]byte
		n := binary.PutUvarint(vlen[:], uint64(len(value)))
		at := i - 1 - n
		if !bytes.Equal(b[at:at+n], vlen[:n]) {
			t.Fatalf("no value length %x before the key in %s", vlen[:n], name)
		}
		f, err := os.OpenFile(name, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteAt([]byte{b[at+n-1] + 1}, int64(at+n-1))
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
	err = db.View(func(txn *Txn) error {
		item, err := txn.Get(key)
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != 0 {
				t.Errorf("the damaged entry read %d bytes", len(v))
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("the database did not close: the value log file's read lock is held")
	}
}
