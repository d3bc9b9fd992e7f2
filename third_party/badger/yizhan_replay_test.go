package badger

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// yizhan patch (PATCHES.md): a memtable's WAL whose transactions point
// past what the value log holds on disk (the kernel wrote the WAL's
// pages back and not the value log's, then the power went) is replayed
// up to the last transaction whose values are whole: the keys of the
// later ones are not there, with their values lost, and the index each
// transaction writes says where the writes stop.
func TestYizhanReplayStopsAtAValueNotOnDisk(t *testing.T) {
	dir, copyDir := t.TempDir(), t.TempDir()
	db, err := Open(replayTestOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	value := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, 2000) }
	write := func(from, to int) {
		for i := from; i < to; i++ {
			err := db.Update(func(txn *Txn) error {
				if err := txn.Set([]byte(fmt.Sprintf("value-%03d", i)), value(i)); err != nil {
					return err
				}
				return txn.Set([]byte("index"), []byte(fmt.Sprint(i)))
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	write(0, 100)
	db.vlog.filesLock.RLock()
	fid, durable := db.vlog.maxFid, db.vlog.woffset()
	db.vlog.filesLock.RUnlock()
	write(100, 200)

	// The disk after the cut: every file as written (the WAL too), but
	// the value log only up to what the first 100 transactions wrote.
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f.Name() == lockFile {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if f.Name() == fmt.Sprintf("%06d.vlog", fid) {
			clear(b[durable:])
		}
		if err := os.WriteFile(filepath.Join(copyDir, f.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.HasSuffix(vlogFilePath(copyDir, fid), fmt.Sprintf("%06d.vlog", fid)) {
		t.Fatal("the value log's file name is not as the test assumes")
	}

	after, err := Open(replayTestOptions(copyDir))
	if err != nil {
		t.Fatal(err)
	}
	defer after.Close()
	err = after.View(func(txn *Txn) error {
		item, err := txn.Get([]byte("index"))
		if err != nil {
			return err
		}
		index, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if string(index) != "99" {
			return fmt.Errorf("index %s after the replay, want 99 (the last transaction whose value is on disk)", index)
		}
		for i := 0; i < 200; i++ {
			item, err := txn.Get([]byte(fmt.Sprintf("value-%03d", i)))
			if i >= 100 {
				if !errors.Is(err, ErrKeyNotFound) {
					return fmt.Errorf("value-%03d, whose value did not reach the disk: %v, want not found", i, err)
				}
				continue
			}
			if err != nil {
				return fmt.Errorf("value-%03d: %w", i, err)
			}
			if v, err := item.ValueCopy(nil); err != nil || !bytes.Equal(v, value(i)) {
				return fmt.Errorf("value-%03d reads %d bytes (%v)", i, len(v), err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// replayTestOptions keeps the files small (the test copies them): 200
// transactions fit in one memtable and one value log file.
func replayTestOptions(dir string) Options {
	return DefaultOptions(dir).WithLogger(nil).WithValueThreshold(1 << 10).
		WithMemTableSize(4 << 20).WithValueLogFileSize(1 << 20)
}
