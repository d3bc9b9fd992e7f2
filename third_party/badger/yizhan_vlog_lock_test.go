package badger

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// yizhan patch (PATCHES.md): a value whose read from the value log fails
// otherwise than by reading short (past the file's end, or a pread error:
// a bad sector) is handed over empty, as upstream does, without holding
// the log file's read lock while badger logs the key's versions: a writer
// rotating that file meanwhile goes on, and so do the reads and writes
// behind it.
func TestYizhanAValueThatFailsToReadLetsGoOfItsLogFileBeforeItIsLogged(t *testing.T) {
	db, err := Open(DefaultOptions(t.TempDir()).WithLogger(nil).WithValueThreshold(1 << 10).
		WithValueLogFileSize(1 << 20).WithDropLogPages(true))
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("a-key-of-a-part")
	if err := db.Update(func(txn *Txn) error { return txn.Set(key, bytes.Repeat([]byte("scan"), 1024)) }); err != nil {
		t.Fatal(err)
	}
	// Writes of 64 KiB parts, a new value log file every 16 or so, until
	// 40 files are written; and reads of a value whose entry, in the log
	// file being written, says it runs past the file's end.
	const files, perFile = 40, 16
	stop := make(chan struct{})
	var writes, reads atomic.Int64
	written, read := make(chan error, 1), make(chan error, 1)
	go func() {
		value := bytes.Repeat([]byte("part"), 16<<10)
		for i := range files * perFile {
			if err := db.Update(func(txn *Txn) error { return txn.Set(fmt.Appendf(nil, "part-%d", i%64), value) }); err != nil {
				written <- err
				return
			}
			writes.Add(1)
		}
		written <- nil
	}()
	go func() {
		for {
			select {
			case <-stop:
				read <- nil
				return
			default:
			}
			err := db.View(func(txn *Txn) error {
				item, err := txn.Get(key)
				if err != nil {
					return err
				}
				var vp valuePointer
				vp.Decode(item.vptr)
				db.vlog.filesLock.RLock()
				vp.Fid = db.vlog.maxFid
				db.vlog.filesLock.RUnlock()
				vp.Offset, vp.Len = vlogHeaderSize, 3<<20
				item.vptr = vp.Encode()
				return item.Value(func(v []byte) error {
					if len(v) != 0 {
						return fmt.Errorf("the value that cannot be read read %d bytes", len(v))
					}
					return nil
				})
			})
			if err != nil {
				read <- err
				return
			}
			reads.Add(1)
		}
	}()
	lastWrites, lastReads, still := int64(-1), int64(-1), time.Now()
	for done := false; !done; {
		select {
		case err := <-written:
			if err != nil {
				t.Fatal(err)
			}
			done = true
		case <-time.After(50 * time.Millisecond):
		}
		if w, r := writes.Load(), reads.Load(); w != lastWrites || r != lastReads {
			lastWrites, lastReads, still = w, r, time.Now()
		} else if time.Since(still) > 5*time.Second {
			t.Fatalf("writes and reads stopped after %d writes and %d reads: the reader holds the log file the writer rotates", w, r)
		}
	}
	close(stop)
	if err := <-read; err != nil {
		t.Fatal(err)
	}
	if reads.Load() == 0 {
		t.Fatal("the value that cannot be read was never read")
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}
