package badger

import (
	"fmt"
	"github.com/dgraph-io/badger/v4/pb"
	"os"
	"path/filepath"
	"testing"
)

// yizhan patch (PATCHES.md): a MANIFEST change that could not be written
// leaves the manifest held in memory as the file has it.
func TestYizhanManifestChangeNotWrittenIsNotHeld(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(txn *Txn) error { return txn.Set([]byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	mf := db.manifest
	before := len(mf.manifest.Tables)
	good := mf.fp
	// A file that takes no write, as a full disk.
	ro, err := os.Open(filepath.Join(dir, ManifestFilename))
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	mf.fp = ro
	err = mf.addChanges([]*pb.ManifestChange{newCreateChange(999999, 6, 0, 0)}, db.opt)
	mf.fp = good
	if err == nil {
		t.Fatal("a MANIFEST change was written to a read-only file")
	}
	if _, ok := mf.manifest.Tables[999999]; ok || len(mf.manifest.Tables) != before {
		t.Fatalf("the manifest in memory holds a change the file does not (%d tables, %d before)", len(mf.manifest.Tables), before)
	}
	// The next change is written and held.
	if err := mf.addChanges([]*pb.ManifestChange{newCreateChange(999998, 6, 0, 0)}, db.opt); err != nil {
		t.Fatal(err)
	}
	if _, ok := mf.manifest.Tables[999998]; !ok {
		t.Fatal("a change written is not held")
	}
	delete(mf.manifest.Tables, 999998) // not a real table: keep Close from looking for it
	for _, l := range mf.manifest.Levels {
		delete(l.Tables, 999998)
	}
}

// yizhan patch (PATCHES.md): with no table builders' buffers kept, the
// DB writes its tables (flushes and compactions) and they read back.
func TestYizhanTableBuilderPoolOfNone(t *testing.T) {
	dir := t.TempDir()
	opt := DefaultOptions(dir).WithLogger(nil).
		WithMemTableSize(1 << 20).WithBaseTableSize(256 << 10).
		WithNumLevelZeroTables(1).WithNumLevelZeroTablesStall(2).
		WithTableBuilderPool(0).WithValueThreshold(1 << 10)
	db, err := Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	value := make([]byte, 200)
	const keys = 20_000 // about 4 MB: several memtable flushes
	for i := 0; i < keys; i += 500 {
		err := db.Update(func(txn *Txn) error {
			for k := i; k < i+500; k++ {
				if err := txn.Set([]byte(fmt.Sprintf("key-%06d", k)), value); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Flatten(2); err != nil {
		t.Fatal(err)
	}
	if n := len(db.Tables()); n < 2 {
		t.Fatalf("%d tables written, want several", n)
	}
	err = db.View(func(txn *Txn) error {
		for k := 0; k < keys; k += 997 {
			if _, err := txn.Get([]byte(fmt.Sprintf("key-%06d", k))); err != nil {
				return fmt.Errorf("key-%06d: %w", k, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
