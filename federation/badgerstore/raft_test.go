package badgerstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
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

// testNode is one member of an in-process raft group on badger.
type testNode struct {
	id    raft.ServerID
	dir   string
	db    *badger.DB
	store *Store
	fsm   *listFSM
	trans *raft.InmemTransport
	raft  *raft.Raft
}

func startNode(t *testing.T, id raft.ServerID, dir string) *testNode {
	t.Helper()
	n := &testNode{id: id, dir: dir, fsm: &listFSM{}}
	n.db = openTestDB(t, filepath.Join(dir, "badger"))
	n.store = New(n.db, "raft/")
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	_, n.trans = raft.NewInmemTransport(raft.ServerAddress(id))
	conf := raft.DefaultConfig()
	conf.LocalID = id
	conf.Logger = hclog.NewNullLogger()
	// Generous for a loaded 2-core machine under -race.
	conf.HeartbeatTimeout = 300 * time.Millisecond
	conf.ElectionTimeout = 300 * time.Millisecond
	conf.LeaderLeaseTimeout = 150 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	n.raft, err = raft.NewRaft(conf, n.fsm, n.store, n.store, snaps, n.trans)
	if err != nil {
		t.Fatalf("NewRaft %s: %v", id, err)
	}
	// Registered after openTestDB's cleanup, so it runs before it: raft
	// stops before its database closes.
	t.Cleanup(func() { _ = n.raft.Shutdown().Error() })
	return n
}

// stop shuts raft down, then closes badger: raft may write until Shutdown
// returns.
func (n *testNode) stop(t *testing.T) {
	t.Helper()
	if err := n.raft.Shutdown().Error(); err != nil {
		t.Fatalf("shutdown %s: %v", n.id, err)
	}
	if err := n.db.Close(); err != nil {
		t.Fatalf("close badger of %s: %v", n.id, err)
	}
}

func connectAll(nodes []*testNode) {
	for _, a := range nodes {
		for _, b := range nodes {
			if a != b {
				a.trans.Connect(b.trans.LocalAddr(), b.trans)
			}
		}
	}
}

func leaderOf(nodes []*testNode) *testNode {
	for _, n := range nodes {
		if n.raft.State() == raft.Leader {
			return n
		}
	}
	return nil
}

func TestRaftClusterOnBadger(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a raft cluster")
	}
	var nodes []*testNode
	var servers []raft.Server
	for i := range 3 {
		id := raft.ServerID(fmt.Sprintf("node%d", i))
		n := startNode(t, id, t.TempDir())
		nodes = append(nodes, n)
		servers = append(servers, raft.Server{ID: id, Address: n.trans.LocalAddr()})
	}
	connectAll(nodes)
	if err := nodes[0].raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}

	var want []string
	apply := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			cmd := fmt.Sprintf("cmd-%d", i)
			applyRetrying(t, nodes, []byte(cmd))
			want = append(want, cmd)
		}
	}
	allApplied := func(ns []*testNode) func() bool {
		return func() bool {
			for _, n := range ns {
				if !slices.Equal(dedup(n.fsm.list()), want) {
					return false
				}
			}
			return true
		}
	}
	apply(0, 50)
	waitFor(t, "every node to apply 50 commands", allApplied(nodes), 10*time.Second)

	// Restart the leader from its badger directory: the others elect a
	// new leader and go on; the old one rejoins from what it stored.
	var old *testNode
	waitFor(t, "a leader", func() bool { old = leaderOf(nodes); return old != nil }, 10*time.Second)
	oldIdx := slices.Index(nodes, old)
	old.stop(t)
	apply(50, 60)

	restarted := startNode(t, old.id, old.dir)
	nodes[oldIdx] = restarted
	if ok, err := raft.HasExistingState(restarted.store, restarted.store, mustSnaps(t, old.dir)); err != nil || !ok {
		t.Fatalf("restarted node has no state on disk: %v, %v", ok, err)
	}
	if term, err := restarted.store.GetUint64([]byte("CurrentTerm")); err != nil || term == 0 {
		t.Fatalf("CurrentTerm after restart = %d, %v", term, err)
	}
	connectAll(nodes)

	apply(60, 70)
	waitFor(t, "every node, the restarted one too, to apply 70 commands", allApplied(nodes), 10*time.Second)

	last, err := restarted.store.LastIndex()
	if err != nil || last < 70 {
		t.Fatalf("restarted store LastIndex = %d, %v; want ≥ 70", last, err)
	}
}

func mustSnaps(t *testing.T, dir string) raft.SnapshotStore {
	t.Helper()
	s, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, hclog.NewNullLogger())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// applyRetrying applies cmd at the current leader, again if leadership
// moved (a slow machine can miss a heartbeat): the command may then apply
// twice, which dedup hides.
func applyRetrying(t *testing.T, nodes []*testNode, cmd []byte) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var err error
		if l := leaderOf(nodes); l != nil {
			if err = l.raft.Apply(cmd, 5*time.Second).Error(); err == nil {
				return
			}
			if !errors.Is(err, raft.ErrNotLeader) && !errors.Is(err, raft.ErrLeadershipLost) {
				t.Fatalf("apply %s: %v", cmd, err)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("apply %s: no stable leader (%v)", cmd, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dedup drops repeated entries, keeping the first of each.
func dedup(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}
