//go:build powercut

package badgerstore

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
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

// heldFlushChildEnv names the directory the held-flush writer writes in;
// unset, TestPowerCutHeldFlushChild does nothing.
const heldFlushChildEnv = "YIZHAN_POWERCUT_HELDFLUSH_CHILD"

// heldFlushPad is the held-flush writer's record padding: its memtables
// fill before its value log.
const heldFlushPad = 900

// A memtable's WAL that waits for its flush is synced by nothing but
// DB.Sync until its table replaces it, so a power cut can find an older
// WAL torn (synced up to a DB.Sync, its tail never) and a newer one whole
// (the kernel wrote it back): badger replayed the older one to its torn
// end and the newer one whole, keeping writes above the ones it lost (for
// the case book, its applied index past them; raft's log does not give
// them again). Badger now syncs the value log and then a full memtable's
// WAL before the next memtable takes a write (PATCHES.md).
//
// The writer (TestPowerCutHeldFlushChild) holds its flushes back (no
// compactor, level 0 stalled at its second table: the memtables' WALs
// pile up until the writes wait, as at a county whose level 0 is
// stalled) and calls DB.Sync once, a little after its third WAL is
// made. Killed once the writes wait, the power is cut keeping the newest
// WAL and the value logs as the kernel had them (written back, as if
// before the cut) and the other files as at their last sync: every
// transaction up to the index the database holds after the cut must be
// whole.
func TestPowerCutKeepsNoWriteAboveALostOne(t *testing.T) {
	disk, mnt := t.TempDir(), t.TempDir()
	f, err := powercut.Mount(disk, mnt)
	if err != nil {
		t.Fatalf("%v\n(the power-cut tests need root and /dev/fuse)", err)
	}
	defer func() {
		f.Cut()
		f.Unmount()
	}()
	last, synced := runHeldFlushChild(t, mnt)
	wals, _ := filepath.Glob(filepath.Join(mnt, "*.mem"))
	slices.Sort(wals) // badger's names are zero-padded: the newest last
	if len(wals) < 3 || synced < 0 {
		t.Fatalf("the writer (through %d, DB.Sync after %d) left %d WALs: its flushes were not held back", last, synced, len(wals))
	}
	newest := filepath.Base(wals[len(wals)-1])
	keep := func(name string) bool { return name == newest || strings.HasSuffix(name, ".vlog") }
	writeBack(t, mnt, newest)
	writeBack(t, mnt, "*.vlog")
	if err := f.CutKeeping(keep); err != nil {
		t.Fatal(err)
	}
	stats := f.Stats()
	if err := f.Unmount(); err != nil {
		t.Fatal(err)
	}
	applied := checkFullDiskDB(t, disk, heldFlushPad, -1)
	t.Logf("acknowledged through %d (DB.Sync after %d), cut with %d WALs, %s kept as written; transactions through %d whole after the cut; the file system saw %d writes and %d syncs, put %d files back",
		last, synced, len(wals), newest, applied, stats.Writes, stats.Syncs, stats.Restored)
	if applied != last {
		// Every WAL but the newest was synced at its rotation and the
		// newest was kept whole, with the value logs: nothing is lost.
		t.Errorf("transactions through %d after the cut, want through %d: every WAL was whole", applied, last)
	}
}

// runHeldFlushChild runs the held-flush writer on dir and kills it with
// SIGKILL once its writes have waited for a second. It returns the last
// transaction the writer acknowledged and the one after which it called
// DB.Sync (-1: none).
func runHeldFlushChild(t *testing.T, dir string) (last, synced int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPowerCutHeldFlushChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), heldFlushChildEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	var mu sync.Mutex
	last, synced = -1, -1
	var said []string
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			mu.Lock()
			if n, ok := strings.CutPrefix(line, "ok "); ok {
				last, _ = strconv.Atoi(n)
			} else if n, ok := strings.CutPrefix(line, "synced "); ok {
				synced, _ = strconv.Atoi(n)
			} else {
				said = append(said, line)
			}
			mu.Unlock()
		}
	}()
	seen, since := -1, time.Now()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		mu.Lock()
		now, out := last, said
		mu.Unlock()
		if now != seen {
			seen, since = now, time.Now()
		}
		if now >= 0 && time.Since(since) > time.Second {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the held-flush writer's writes did not wait within a minute (through %d; it said %q)", now, out)
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	mu.Lock()
	defer mu.Unlock()
	return last, synced
}

// TestPowerCutHeldFlushChild is the writer of
// TestPowerCutKeepsNoWriteAboveALostOne; it does nothing in a normal
// run. It writes the full-disk tests' transactions (fullDiskTxn) one by
// one with its memtables' flushes held back, printing "ok i" for each
// and "synced i" once it has called DB.Sync after transaction i, until
// its writes wait for a flush that does not come and it is killed.
func TestPowerCutHeldFlushChild(t *testing.T) {
	dir := os.Getenv(heldFlushChildEnv)
	if dir == "" {
		return
	}
	// No compactor, level 0 stalled at two tables: the third memtable's
	// flush waits for good, the next memtables wait behind it, and then
	// the writes.
	opts := BadgerOptions(dir, DBOptions{Small: true}).
		WithNumCompactors(0).WithNumLevelZeroTables(1).WithNumLevelZeroTablesStall(2)
	db, err := badger.Open(opts)
	if err != nil {
		fmt.Printf("open-error %v\n", err)
		os.Exit(3)
	}
	out := bufio.NewWriter(os.Stdout)
	synced := false
	for i := 0; ; i++ {
		if err := db.Update(func(txn *badger.Txn) error { return fullDiskTxn(txn, i, heldFlushPad) }); err != nil {
			fmt.Fprintf(out, "commit-error %d %v\n", i, err)
			out.Flush()
			os.Exit(2)
		}
		fmt.Fprintf(out, "ok %d\n", i)
		// Once the third WAL has taken some writes, DB.Sync makes every
		// WAL durable as far as written (as the case book's sync before
		// a raft snapshot does): the WAL being written is then synced in
		// part, and torn at a cut unless something syncs it again.
		if !synced && i%20 == 0 {
			if wals, _ := filepath.Glob(filepath.Join(dir, "*.mem")); len(wals) >= 3 {
				if err := db.Sync(); err != nil {
					fmt.Fprintf(out, "sync-error %v\n", err)
					out.Flush()
					os.Exit(2)
				}
				synced = true
				fmt.Fprintf(out, "synced %d\n", i)
			}
		}
		out.Flush()
	}
}
