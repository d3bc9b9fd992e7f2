package walstore

import (
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	"golang.org/x/sys/unix"
)

// An append that fails on the disk (here: the process's file size limit
// at 0, so writes fail with EFBIG as on a full disk; Go ignores SIGXFSZ)
// stops the node, and the log opened again holds every append that
// returned, and nothing of the one that failed. Without the stop, the
// office had no leader again: raft-wal's writer refused every later
// append as "non-monotonic".
func TestAppendOnAFullDiskStopsAndTheLogRecovers(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, 0)
	storeLogs(t, s, 1, 100, 10)

	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: 0, Max: old.Max}); err != nil {
		t.Skipf("cannot lower the file size limit here: %v", err) // never on Linux: lowering is always allowed
	}
	panicked, stopped := func() (panicked bool, why string) {
		defer func() {
			if r := recover(); r != nil {
				panicked, why = true, strings.TrimSpace(strings.SplitN(fmtPanic(r), "\n", 2)[0])
			}
		}()
		err := s.StoreLogs([]*raft.Log{testLog(101), testLog(102)})
		return false, "returned " + errString(err)
	}()
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	// ErrAppendFailed's own words say "append to" too: what counts is
	// that the append did not return.
	if !panicked || !strings.Contains(stopped, "append to") {
		t.Fatalf("an append on a full disk %s; want the node stopped (a panic)", stopped)
	}
	s.Close()

	s = openTestStore(t, dir, 0)
	checkBounds(t, s, 1, 100)
	checkLogs(t, s, 1, 100)
	storeLogs(t, s, 101, 150, 7) // and it goes on
	checkLogs(t, s, 1, 150)
}

func fmtPanic(r any) string {
	if s, ok := r.(string); ok {
		return s
	}
	if e, ok := r.(error); ok {
		return e.Error()
	}
	return "panic"
}

func errString(err error) string {
	if err == nil {
		return "nil"
	}
	return err.Error()
}
