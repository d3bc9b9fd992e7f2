package walstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
)

// raft deletes a conflicting suffix of a follower's log after a change of
// leader. raft-wal v0.4.0 then leaves the segment sealed without an index
// block, which it cannot read once opened again (the fault harness: a
// county node that never started again). The store writes such a log
// again when it opens it: every entry and stable key is kept, and the log
// goes on.
func TestLogWithATruncatedTailOpensAgain(t *testing.T) {
	dir := t.TempDir() + "/raft-wal"
	s := openTestStore(t, dir, 0)
	storeLogs(t, s, 1, 100, 10)
	if err := s.SetUint64(keyCurrentTerm, 7); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(keyLastVoteCand, []byte("county-2")); err != nil {
		t.Fatal(err)
	}
	// The conflicting suffix, cut inside an append of 10 (the file holds
	// 81-90 under one commit).
	if err := s.DeleteRange(86, 100); err != nil {
		t.Fatal(err)
	}
	checkLogs(t, s, 1, 85) // read from memory: fine
	s.Close()

	// raft-wal alone cannot read the log back.
	raw, err := openWAL(dir, discard, SegmentSize)
	if err != nil {
		t.Fatal(err)
	}
	var l raft.Log
	if err := raw.GetLog(85, &l); err == nil || !strings.Contains(err.Error(), "no index block") {
		t.Fatalf("raft-wal v0.4.0 read entry 85 of a truncated log (%v): the repair may no longer be needed", err)
	}
	raw.Close()

	// The store repairs it as it opens it.
	s = openTestStore(t, dir, 0)
	checkBounds(t, s, 1, 85)
	checkLogs(t, s, 1, 85)
	if v, err := s.GetUint64(keyCurrentTerm); err != nil || v != 7 {
		t.Errorf("CurrentTerm = %d, %v after the repair, want 7", v, err)
	}
	if v, err := s.Get(keyLastVoteCand); err != nil || string(v) != "county-2" {
		t.Errorf("LastVoteCand = %q, %v after the repair", v, err)
	}
	storeLogs(t, s, 86, 140, 7)
	s = reopen(t, s, 0)
	checkLogs(t, s, 1, 140)
	for _, left := range []string{dir + ".old", dir + ".rebuild"} {
		if _, err := os.Stat(left); err == nil {
			t.Errorf("%s left behind", left)
		}
	}
}

// A repair stopped by a crash: a rebuilt log already renamed away from is
// put in place; one still being written is dropped, the old log kept.
func TestRepairStoppedByACrash(t *testing.T) {
	base := t.TempDir()
	// Crashed between the two renames: dir gone, the rebuilt log whole.
	dir := base + "/a"
	s := openTestStore(t, dir+".rebuild", 0)
	storeLogs(t, s, 1, 20, 5)
	s.Close()
	s = openTestStore(t, dir, 0)
	checkLogs(t, s, 1, 20)
	s.Close()
	// Crashed while writing the rebuilt log: the old log stays.
	dir = base + "/b"
	s = openTestStore(t, dir, 0)
	storeLogs(t, s, 1, 30, 5)
	s.Close()
	if err := os.MkdirAll(dir+".rebuild", 0o700); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, 0)
	checkLogs(t, s, 1, 30)
	if _, err := os.Stat(dir + ".rebuild"); err == nil {
		t.Error("a half-written rebuilt log was left")
	}
}

// A node stopped after raft-wal sealed a full segment and before it
// rotated to a new one (a SIGTERM is enough): raft-wal v0.4.0 recovers
// the seal but not the rotation, and refuses every append ("segment is
// sealed"). The store writes such a log again when it opens it.
func TestLogStoppedBetweenSealAndRotationOpensAgain(t *testing.T) {
	dir := t.TempDir() + "/raft-wal"
	const segSize = 4096
	s := openTestStore(t, dir, segSize)
	storeLogs(t, s, 1, 300, 1) // segments of 4 KiB: several rotations
	time.Sleep(200 * time.Millisecond)
	s.Close()
	meta := &metadb.BoltMetaDB{}
	st, err := meta.Load(dir)
	meta.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Segments) < 2 {
		t.Fatalf("%d segments: no rotation", len(st.Segments))
	}
	last := st.Segments[len(st.Segments)-2].MaxIndex
	// Back to the state a stop between the seal and the rotation leaves:
	// the sealed segment still the tail in the metadata, no new tail.
	n := len(st.Segments)
	newTail := st.Segments[n-1]
	st.Segments = st.Segments[:n-1]
	sealed := &st.Segments[n-2]
	sealed.SealTime, sealed.MaxIndex, sealed.IndexStart = time.Time{}, 0, 0
	meta = &metadb.BoltMetaDB{}
	if _, err := meta.Load(dir); err != nil {
		t.Fatal(err)
	}
	if err := meta.CommitState(st); err != nil {
		t.Fatal(err)
	}
	meta.Close()
	os.Remove(filepath.Join(dir, segment.FileName(newTail)))

	raw, err := openWAL(dir, discard, segSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.wal.StoreLogs([]*raft.Log{testLog(last + 1)}); err == nil || !strings.Contains(err.Error(), "sealed") {
		t.Fatalf("raft-wal v0.4.0 appended after a seal without rotation (%v): the repair may no longer be needed", err)
	}
	raw.Close()

	s = openTestStore(t, dir, segSize)
	checkBounds(t, s, 1, last)
	checkLogs(t, s, 1, last)
	storeLogs(t, s, last+1, last+300, 5)
	s = reopen(t, s, segSize)
	checkLogs(t, s, 1, last+300)
}
