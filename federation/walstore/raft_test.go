package walstore

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// listFSM records every command it applies.
type listFSM struct {
	mu      sync.Mutex // guards applied
	applied []string
}

func (f *listFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = append(f.applied, string(l.Data))
	return len(f.applied)
}

func (f *listFSM) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return listSnapshot(slices.Clone(f.applied)), nil
}

func (f *listFSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var applied []string
	if err := json.NewDecoder(rc).Decode(&applied); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = applied
	return nil
}

func (f *listFSM) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.applied)
}

type listSnapshot []string

func (s listSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode([]string(s)); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (listSnapshot) Release() {}

// startRaft starts a single-node raft on logs/stable with snapshots in dir.
func startRaft(t *testing.T, dir string, logs raft.LogStore, stable raft.StableStore, trailing uint64) (*raft.Raft, *listFSM, raft.ServerAddress) {
	t.Helper()
	snaps, err := raft.NewFileSnapshotStoreWithLogger(filepath.Join(dir, "snapshots"), 2, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	addr, trans := raft.NewInmemTransport("node-1")
	conf := raft.DefaultConfig()
	conf.LocalID = "node-1"
	conf.Logger = hclog.NewNullLogger()
	conf.HeartbeatTimeout = 100 * time.Millisecond
	conf.ElectionTimeout = 100 * time.Millisecond
	conf.LeaderLeaseTimeout = 50 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	conf.TrailingLogs = trailing
	conf.SnapshotThreshold = 1 << 30 // snapshots only when asked
	conf.SnapshotInterval = time.Hour
	fsm := &listFSM{}
	r, err := raft.NewRaft(conf, fsm, logs, stable, snaps, trans)
	if err != nil {
		t.Fatalf("NewRaft: %v", err)
	}
	t.Cleanup(func() { _ = r.Shutdown().Error() })
	return r, fsm, addr
}

func waitLeader(t *testing.T, r *raft.Raft) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.State() != raft.Leader {
		if time.Now().After(deadline) {
			t.Fatalf("no leader after 10s (state %v)", r.State())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func apply(t *testing.T, r *raft.Raft, cmd string) {
	t.Helper()
	if err := r.Apply([]byte(cmd), 5*time.Second).Error(); err != nil {
		t.Fatalf("apply %s: %v", cmd, err)
	}
}

// A group that ran on badger (the previous release) starts on the WAL
// after the migration with its term and log, and goes on.
func TestRaftOnMigratedStore(t *testing.T) {
	n := newOldNode(t)
	raftDir := filepath.Dir(n.walDir)

	// The previous release: raft on badger, with a snapshot in the
	// middle of its log so that the log starts after 1.
	old, oldFSM, addr := startRaft(t, raftDir, n.bs, n.bs, 10)
	if err := old.BootstrapCluster(raft.Configuration{Servers: []raft.Server{{ID: "node-1", Address: addr}}}).Error(); err != nil {
		t.Fatal(err)
	}
	waitLeader(t, old)
	var want []string
	for i := range 40 {
		cmd := fmt.Sprintf("old-%d", i)
		apply(t, old, cmd)
		want = append(want, cmd)
		if i == 29 {
			if err := old.Snapshot().Error(); err != nil {
				t.Fatalf("snapshot: %v", err)
			}
		}
	}
	if err := old.Shutdown().Error(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(oldFSM.list(), want) {
		t.Fatalf("old FSM = %v", oldFSM.list())
	}
	oldTerm, err := n.bs.GetUint64([]byte("CurrentTerm"))
	if err != nil || oldTerm == 0 {
		t.Fatalf("badger CurrentTerm = %d, %v", oldTerm, err)
	}
	oldFirst, _ := n.bs.FirstIndex()
	oldLast, _ := n.bs.LastIndex()
	if oldFirst <= 1 || oldLast < 40 {
		t.Fatalf("badger log %d-%d; want compacted, ≥ 40 entries", oldFirst, oldLast)
	}

	// This release: the WAL, migrated before raft starts.
	s := openTestStore(t, n.walDir, 0)
	if migrated, err := MigrateFromBadger(n.db, prefix, s, discard); err != nil || !migrated {
		t.Fatalf("MigrateFromBadger = %v, %v", migrated, err)
	}
	checkBounds(t, s, oldFirst, oldLast)
	if term, err := s.GetUint64([]byte("CurrentTerm")); err != nil || term != oldTerm {
		t.Fatalf("WAL CurrentTerm = %d, %v; want %d", term, err, oldTerm)
	}
	if has, err := raft.HasExistingState(s, s, mustSnaps(t, raftDir)); err != nil || !has {
		t.Fatalf("HasExistingState after migration = %v, %v", has, err)
	}

	r, fsm, _ := startRaft(t, raftDir, s, s, 10)
	if got := r.LastIndex(); got != oldLast {
		t.Fatalf("raft LastIndex at start = %d, want %d", got, oldLast)
	}
	waitLeader(t, r)
	if term := r.CurrentTerm(); term <= oldTerm {
		t.Fatalf("term %d after re-election, want more than %d", term, oldTerm)
	}
	apply(t, r, "new-0")
	want = append(want, "new-0")
	// Snapshot restored, the rest of the log replayed, then the new entry.
	if got := fsm.list(); !slices.Equal(got, want) {
		t.Fatalf("FSM after restart = %v\nwant %v", got, want)
	}

	// Compaction on the WAL after a snapshot.
	for i := 1; i < 30; i++ {
		apply(t, r, fmt.Sprintf("new-%d", i))
	}
	if err := r.Snapshot().Error(); err != nil {
		t.Fatalf("snapshot on the WAL: %v", err)
	}
	first, _ := s.FirstIndex()
	last, _ := s.LastIndex()
	if first <= oldFirst || last-first+1 > 11 {
		t.Fatalf("WAL %d-%d after a snapshot with 10 trailing logs", first, last)
	}

	// And once more from disk.
	if err := r.Shutdown().Error(); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, 0)
	if migrated, err := MigrateFromBadger(n.db, prefix, s, discard); err != nil || migrated {
		t.Fatalf("MigrateFromBadger at the next start = %v, %v", migrated, err)
	}
	r2, fsm2, _ := startRaft(t, raftDir, s, s, 10)
	waitLeader(t, r2)
	apply(t, r2, "after-restart")
	if got := fsm2.list(); len(got) != 71 || got[70] != "after-restart" || got[69] != "new-29" {
		t.Fatalf("FSM after the second restart has %d commands, ends %v", len(got), got[max(0, len(got)-3):])
	}
}

func mustSnaps(t *testing.T, dir string) raft.SnapshotStore {
	t.Helper()
	s, err := raft.NewFileSnapshotStoreWithLogger(filepath.Join(dir, "snapshots"), 2, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	return s
}
