package walstore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
)

// raftSeesMissing reports whether raft takes (err) from Get or GetUint64
// as a missing key: no error, or one whose text is "not found" (raft.go,
// api.go in raft v1.8).
func raftSeesMissing(err error) bool { return err == nil || err.Error() == "not found" }

func TestOpenCreatesPrivateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "raft-wal")
	s := openTestStore(t, dir, 0)
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Fatalf("dir mode %v, want 0700", perm)
	}
	if s.Dir() != dir {
		t.Fatalf("Dir() = %q, want %q", s.Dir(), dir)
	}
}

func TestEmptyStoreAsRaftExpects(t *testing.T) {
	s := openTestStore(t, t.TempDir(), 0)
	checkBounds(t, s, 0, 0)
	checkMissing(t, s, 0, 1, 100)

	for _, k := range []string{"CurrentTerm", "LastVoteTerm", "LastVoteCand"} {
		v, err := s.Get([]byte(k))
		if !raftSeesMissing(err) || len(v) != 0 {
			t.Fatalf("Get(%s) on an empty store = %q, %v; raft wants empty and no error (or \"not found\")", k, v, err)
		}
		if v != nil {
			t.Fatalf("Get(%s) on an empty store = %q, want nil (raft tests LastVoteCand != nil)", k, v)
		}
		n, err := s.GetUint64([]byte(k))
		if !raftSeesMissing(err) || n != 0 {
			t.Fatalf("GetUint64(%s) on an empty store = %d, %v; raft wants 0", k, n, err)
		}
	}
	snaps := raft.NewInmemSnapshotStore()
	if has, err := raft.HasExistingState(s, s, snaps); err != nil || has {
		t.Fatalf("HasExistingState on an empty store = %v, %v; want false, nil", has, err)
	}
	if !s.IsMonotonic() {
		t.Fatal("IsMonotonic() = false; raft-wal allows no gaps")
	}
	var _ raft.MonotonicLogStore = s
}

func TestLogStoreConformance(t *testing.T) {
	s := openTestStore(t, t.TempDir(), 0)

	// The first append may start anywhere.
	storeLogs(t, s, 5, 104, 1)
	storeLogs(t, s, 105, 300, 64)
	if err := s.StoreLog(testLog(301)); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 5, 301)
	checkLogs(t, s, 5, 301)
	checkMissing(t, s, 0, 1, 4, 302, 1000)

	// A gap is refused, and nothing of the batch is stored.
	if err := s.StoreLogs([]*raft.Log{testLog(302), testLog(304)}); err == nil {
		t.Fatal("StoreLogs with a gap succeeded")
	}
	checkBounds(t, s, 5, 301)

	// Compaction after a snapshot: a prefix.
	if err := s.DeleteRange(5, 50); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 51, 301)
	checkMissing(t, s, 5, 30, 50)
	checkLogs(t, s, 51, 301)

	// A conflicting suffix: truncated, then written again with another term.
	if err := s.DeleteRange(290, 301); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 51, 289)
	checkMissing(t, s, 290, 301)
	l := testLog(290)
	l.Term, l.Data = 99, []byte("new leader")
	if err := s.StoreLogs([]*raft.Log{l}); err != nil {
		t.Fatal(err)
	}
	var got raft.Log
	if err := s.GetLog(290, &got); err != nil || got.Term != 99 || string(got.Data) != "new leader" {
		t.Fatalf("GetLog(290) after rewrite = %+v, %v", got, err)
	}

	// Empty and out-of-log ranges do nothing.
	for _, r := range [][2]uint64{{10, 5}, {1, 20}, {500, 600}} {
		if err := s.DeleteRange(r[0], r[1]); err != nil {
			t.Fatalf("DeleteRange(%d, %d): %v", r[0], r[1], err)
		}
	}
	checkBounds(t, s, 51, 290)

	// The middle of the log: raft never asks, raft-wal refuses.
	if err := s.DeleteRange(100, 110); err == nil {
		t.Fatal("DeleteRange in the middle succeeded")
	}

	// Everything (raft after installing a snapshot, MonotonicLogStore):
	// then the next append may start anywhere.
	if err := s.DeleteRange(51, 290); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 0, 0)
	checkMissing(t, s, 51, 290)
	storeLogs(t, s, 1000, 1010, 4)
	checkBounds(t, s, 1000, 1010)
	checkLogs(t, s, 1000, 1010)

	// Everything survives a reopen.
	s = reopen(t, s, 0)
	checkBounds(t, s, 1000, 1010)
	checkLogs(t, s, 1000, 1010)
	checkMissing(t, s, 999, 1011)
}

func TestStableStoreConformance(t *testing.T) {
	s := openTestStore(t, t.TempDir(), 0)
	if err := s.SetUint64([]byte("CurrentTerm"), 42); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("LastVoteTerm"), 1<<40); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("LastVoteCand"), []byte("node-2")); err != nil {
		t.Fatal(err)
	}
	check := func(s *Store) {
		t.Helper()
		if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != 42 {
			t.Fatalf("CurrentTerm = %d, %v", v, err)
		}
		if v, err := s.GetUint64([]byte("LastVoteTerm")); err != nil || v != 1<<40 {
			t.Fatalf("LastVoteTerm = %d, %v", v, err)
		}
		if v, err := s.Get([]byte("LastVoteCand")); err != nil || string(v) != "node-2" {
			t.Fatalf("LastVoteCand = %q, %v", v, err)
		}
		if v, err := s.Get([]byte("nope")); err != nil || v != nil {
			t.Fatalf("Get(missing) = %q, %v", v, err)
		}
	}
	check(s)

	// The value given to Set may be reused by the caller.
	buf := []byte("node-3")
	if err := s.Set([]byte("LastVoteCand"), buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXX")
	if v, _ := s.Get([]byte("LastVoteCand")); string(v) != "node-3" {
		t.Fatalf("LastVoteCand = %q after the caller reused its buffer", v)
	}
	if err := s.Set([]byte("LastVoteCand"), []byte("node-2")); err != nil {
		t.Fatal(err)
	}

	s = reopen(t, s, 0)
	check(s)
	if has, err := raft.HasExistingState(s, s, raft.NewInmemSnapshotStore()); err != nil || !has {
		t.Fatalf("HasExistingState with a term = %v, %v; want true", has, err)
	}

	// A nil value deletes (raft never sets one).
	if err := s.Set([]byte("LastVoteCand"), nil); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get([]byte("LastVoteCand")); err != nil || v != nil {
		t.Fatalf("Get after Set(nil) = %q, %v", v, err)
	}
}

func TestSegmentsRotateAndTruncate(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, 64<<10)
	storeLogs(t, s, 1, 3000, 50)
	segments := func() int {
		t.Helper()
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".wal") {
				n++
			}
		}
		return n
	}
	before := segments()
	if before < 3 {
		t.Fatalf("%d segment files after writing ~150 KB in 64 KiB segments", before)
	}
	checkLogs(t, s, 1, 3000)

	// Compaction deletes whole segments; the entries before the new
	// first index are gone even where their segment stays.
	if err := s.DeleteRange(1, 2000); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 2001, 3000)
	checkMissing(t, s, 1, 1000, 2000)
	if after := segments(); after >= before {
		t.Fatalf("%d segment files after deleting two thirds of the log, %d before", after, before)
	}

	s = reopen(t, s, 64<<10)
	checkBounds(t, s, 2001, 3000)
	checkLogs(t, s, 2001, 3000)
	checkMissing(t, s, 2000)
	storeLogs(t, s, 3001, 3100, 7)
	checkLogs(t, s, 2001, 3100)
}

func TestStoreLogsRefusesWhatRaftWALCannotRead(t *testing.T) {
	s := openTestStore(t, t.TempDir(), 0)
	storeLogs(t, s, 1, 3, 3)
	big := &raft.Log{Index: 4, Term: 1, Type: raft.LogCommand, Data: make([]byte, MaxLogBytes+1)}
	err := s.StoreLogs([]*raft.Log{testLog(4), big})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("StoreLogs of %d bytes = %v, want ErrTooLarge", len(big.Data), err)
	}
	checkBounds(t, s, 1, 3)

	if testing.Short() {
		return
	}
	// The largest accepted entry reads back (raft-wal refuses to read a
	// record over segment.MaxEntrySize).
	big.Data = bytes.Repeat([]byte{'y'}, MaxLogBytes)
	big.AppendedAt = testLog(4).AppendedAt
	big.Extensions = nil
	if err := s.StoreLogs([]*raft.Log{big}); err != nil {
		t.Fatalf("StoreLogs of MaxLogBytes: %v", err)
	}
	var got raft.Log
	if err := s.GetLog(4, &got); err != nil {
		t.Fatalf("GetLog of MaxLogBytes entry: %v", err)
	}
	if !sameLog(&got, big) {
		t.Fatal("MaxLogBytes entry read back different")
	}
}

func TestCloseTwiceAndAfterClose(t *testing.T) {
	s := openTestStore(t, t.TempDir(), 0)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := s.StoreLogs([]*raft.Log{testLog(1)}); err == nil {
		t.Fatal("StoreLogs after Close succeeded")
	}
}

// A leader's raft stages the entries it appends (raft.LogStager): its
// replicators read them while StoreLogs writes them, and from raft-wal
// once it has; an append that fails leaves nothing staged behind.
func TestStagedLogsReadBeforeTheirAppend(t *testing.T) {
	s := openTestStore(t, t.TempDir(), 0)
	storeLogs(t, s, 1, 3, 3)
	staged := []*raft.Log{testLog(4), testLog(5)}
	s.StageLogs(staged)
	for _, want := range staged {
		var got raft.Log
		if err := s.GetLog(want.Index, &got); err != nil || !sameLog(&got, want) {
			t.Fatalf("staged entry %d: %v, %+v", want.Index, err, got)
		}
	}
	checkLogs(t, s, 1, 3)
	checkMissing(t, s, 6)
	if last, _ := s.LastIndex(); last != 3 {
		t.Errorf("LastIndex %d with entries staged, want 3: staged entries are not stored", last)
	}
	if err := s.StoreLogs(staged); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, s, 1, 5)
	checkLogs(t, s, 1, 5)

	// A refused append clears its stage too.
	big := &raft.Log{Index: 6, Term: 1, Type: raft.LogCommand, Data: make([]byte, MaxLogBytes+1)}
	s.StageLogs([]*raft.Log{big})
	if err := s.StoreLogs([]*raft.Log{big}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("StoreLogs of %d bytes = %v, want ErrTooLarge", len(big.Data), err)
	}
	checkMissing(t, s, 6)
}
