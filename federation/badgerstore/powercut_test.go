//go:build powercut

package badgerstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/powercut"
	"golang.org/x/sys/unix"
)

// A power cut under the case book's database (badger without SyncWrites)
// may lose the transactions since its last sync: raft's log, synced,
// gives them again. It must not lose part of one, nor a value whose key
// it kept: the database opens again, and every transaction up to the
// index it holds (m/applied, written with each) is whole, with its
// events (in the value log) readable; none after it is there in part.
//
// The writer (TestFullDiskChild, as the full-disk tests run it) writes
// transactions shaped like the book's on a power-cut file system
// (package powercut) and is killed with SIGKILL after a while, the power
// cut at once. Badger v4.9.6 flushed a memtable to a table (synced) with
// its events' value pointers pointing into a value log it had never
// synced: after the cut the keys were there and their values were not
// (patched in third_party/badger, PATCHES.md).
func TestPowerCutLosesNoPartOfATransaction(t *testing.T) {
	for _, tc := range []struct {
		name string
		mode string
		pad  int
		run  time.Duration
		// walsWrittenBack: the memtables' WALs keep what was written to
		// them (the kernel wrote their pages back), the value log does
		// not.
		walsWrittenBack bool
	}{
		{"value log fills first", "stop", 0, 2 * time.Second, false},
		{"memtable fills first", "stop", 900, 2 * time.Second, false},
		// Value-log GC moves a file's live values and deletes the file;
		// the power goes right after.
		{"right after value-log GC", "gc", 0, 30 * time.Second, false},
		// The WALs written back and the value log not: a torn cut.
		{"WALs written back, value log not", "stop", 0, 2 * time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			disk, mnt := t.TempDir(), t.TempDir()
			f, err := powercut.Mount(disk, mnt)
			if err != nil {
				t.Fatalf("%v\n(the power-cut tests need root and /dev/fuse)", err)
			}
			defer func() {
				f.Cut()
				f.Unmount()
			}()
			last, said := runFullDiskChild(t, mnt, tc.mode, tc.pad, 0, -1, 1<<30, tc.run)
			if tc.mode == "gc" && said != "gc-done" {
				t.Fatalf("value-log GC collected no file in %s (the writer acknowledged through %d, said %q)", tc.run, last, said)
			}
			var keep func(string) bool
			if tc.walsWrittenBack {
				writeBack(t, mnt, "*.mem")
				keep = func(name string) bool { return strings.HasSuffix(name, ".mem") }
			}
			if err := f.CutKeeping(keep); err != nil {
				t.Fatal(err)
			}
			stats := f.Stats()
			if err := f.Unmount(); err != nil {
				t.Fatal(err)
			}
			tables, _ := filepath.Glob(filepath.Join(disk, "*.sst"))
			vlogs, _ := filepath.Glob(filepath.Join(disk, "*.vlog"))
			if len(tables) == 0 {
				t.Fatalf("the writer (through %d, %q) flushed no memtable before the cut: nothing to check", last, said)
			}
			applied := checkFullDiskDB(t, disk, tc.pad, -1)
			t.Logf("acknowledged through %d, cut; %d tables and %d value logs on disk, transactions through %d whole after the cut; the file system saw %d writes and %d syncs, put %d files back",
				last, len(tables), len(vlogs), applied, stats.Writes, stats.Syncs, stats.Restored)
			if _, err := os.Stat(disk); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// writeBack has the kernel write back the pages it holds of the files of
// dir matching pattern, without syncing them.
func writeBack(t *testing.T, dir, pattern string) {
	t.Helper()
	names, _ := filepath.Glob(filepath.Join(dir, pattern))
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		err = unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}
