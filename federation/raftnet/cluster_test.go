package raftnet

import (
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/yizhan-gov/yizhan/federation/pki"
)

// countFSM records the commands it applies.
type countFSM struct {
	mu      sync.Mutex // guards applied
	applied []string
}

func (f *countFSM) Apply(l *raft.Log) any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.applied = append(f.applied, string(l.Data))
	return nil
}

func (f *countFSM) Snapshot() (raft.FSMSnapshot, error) { return nopSnapshot{}, nil }
func (f *countFSM) Restore(rc io.ReadCloser) error      { return rc.Close() }

func (f *countFSM) list() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.applied)
}

type nopSnapshot struct{}

func (nopSnapshot) Persist(sink raft.SnapshotSink) error { return sink.Close() }
func (nopSnapshot) Release()                             {}

type tlsNode struct {
	layer *StreamLayer
	raft  *raft.Raft
	fsm   *countFSM
	log   raft.LogStore
}

// newTLSCluster starts count raft nodes of the county over the stream
// layer, not yet bootstrapped.
func newTLSCluster(t *testing.T, ca *pki.CA, count int) ([]*tlsNode, []raft.Server) {
	t.Helper()
	var nodes []*tlsNode
	var servers []raft.Server
	for i := range count {
		n, server := newTLSNode(t, ca, fmt.Sprintf("c%d", i), raft.NewInmemStore())
		nodes = append(nodes, n)
		servers = append(servers, server)
	}
	return nodes, servers
}

// newTLSNode starts raft node name of the county over the stream layer
// with its log in logs, not bootstrapped.
func newTLSNode(t *testing.T, ca *pki.CA, name string, logs raft.LogStore) (*tlsNode, raft.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := pki.NewTestBundle(t, ca, pki.Identity{Office: county, Node: name})
	layer := NewStreamLayer(ln, nil, b, county, quiet)
	trans := NewTransport(layer, quiet)
	conf := raft.DefaultConfig()
	conf.LocalID = raft.ServerID(name)
	conf.Logger = NewHCLogger(quiet, "raft")
	// Generous for a loaded 2-core machine under -race.
	conf.HeartbeatTimeout = 500 * time.Millisecond
	conf.ElectionTimeout = 500 * time.Millisecond
	conf.LeaderLeaseTimeout = 250 * time.Millisecond
	conf.CommitTimeout = 5 * time.Millisecond
	n := &tlsNode{layer: layer, fsm: &countFSM{}, log: logs}
	n.raft, err = raft.NewRaft(conf, n.fsm, logs, raft.NewInmemStore(), raft.NewInmemSnapshotStore(), trans)
	if err != nil {
		t.Fatal(err)
	}
	trans.Attach(n.raft)
	t.Cleanup(func() { _ = n.raft.Shutdown().Error() })
	return n, raft.Server{ID: conf.LocalID, Address: trans.LocalAddr()}
}

func TestRaftClusterOverTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a raft cluster")
	}
	ca := pki.NewTestCA(t)
	nodes, servers := newTLSCluster(t, ca, 3)
	if err := nodes[0].raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}

	leaderOf := func() *tlsNode {
		for _, n := range nodes {
			if n.raft.State() == raft.Leader {
				return n
			}
		}
		return nil
	}
	var want []string
	for i := range 20 {
		cmd := fmt.Sprintf("cmd-%d", i)
		applyRetrying(t, leaderOf, []byte(cmd))
		want = append(want, cmd)
	}
	waitFor(t, "every node to apply 20 commands", func() bool {
		for _, n := range nodes {
			if !slices.Equal(dedup(n.fsm.list()), want) {
				return false
			}
		}
		return true
	}, 10*time.Second)

	for i, n := range nodes {
		if r := n.layer.Refused(); r != 0 {
			t.Errorf("node %d refused %d connections of its own office", i, r)
		}
	}

	// A node of another office that dials the leader gets nowhere.
	var leader *tlsNode
	waitFor(t, "a leader", func() bool { leader = leaderOf(); return leader != nil }, 10*time.Second)
	intruder := newLayer(t, pki.NewTestBundle(t, ca, pki.Identity{Office: township}), county)
	// Its own config expects the county, so in TLS 1.3 the handshake may
	// complete on its side; the leader's side drops it.
	if c, err := intruder.Dial(raft.ServerAddress(leader.layer.Addr().String()), 2*time.Second); err == nil {
		defer c.Close()
	}
	waitFor(t, "the leader to refuse the intruder", func() bool { return leader.layer.Refused() == 1 }, 5*time.Second)
}

// applyRetrying applies cmd at the current leader, again if leadership
// moved (a slow machine can miss a heartbeat): the command may then apply
// twice, which dedup hides.
func applyRetrying(t *testing.T, leaderOf func() *tlsNode, cmd []byte) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var err error
		if l := leaderOf(); l != nil {
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

// hold keeps count idle TCP connections from the loopback address from
// open to addr until the test ends, dialling again whenever the server
// closes one: a host that tries to take every handshake slot of a raft
// port and keeps trying.
func hold(t *testing.T, from net.IP, addr string, count int) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: from}, Timeout: time.Second}
	probe, err := d.Dial("tcp", addr)
	if err != nil {
		t.Skipf("cannot dial from %s: %v", from, err)
	}
	probe.Close()
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c, err := d.Dial("tcp", addr)
				if err == nil {
					go func() { <-done; c.Close() }()
					_, _ = c.Read(make([]byte, 1)) // until the server closes it
					c.Close()
				}
				select {
				case <-done:
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
		}()
	}
	t.Cleanup(func() { close(done); wg.Wait() })
}

// TestIdleConnectionsFromOneHostDoNotLockTheOfficeOut: a host holding a
// hundred idle connections to each node's raft port (and opening new ones
// as the old are closed) takes at most MaxHandshakesPerHost slots; the
// office's nodes still connect, elect a leader and replicate.
func TestIdleConnectionsFromOneHostDoNotLockTheOfficeOut(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a raft cluster")
	}
	ca := pki.NewTestCA(t)
	nodes, servers := newTLSCluster(t, ca, 3)
	attacker := net.IPv4(127, 0, 0, 2) // the nodes dial from 127.0.0.1
	for _, n := range nodes {
		hold(t, attacker, n.layer.Addr().String(), 100)
	}
	waitFor(t, "the idle connections to fill their host's slots", func() bool {
		for _, n := range nodes {
			if n.layer.RefusedAtLimit() < 100-MaxHandshakesPerHost {
				return false
			}
		}
		return true
	}, 10*time.Second)

	if err := nodes[0].raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	leaderOf := func() *tlsNode {
		for _, n := range nodes {
			if n.raft.State() == raft.Leader {
				return n
			}
		}
		return nil
	}
	var want []string
	for i := range 10 {
		cmd := fmt.Sprintf("cmd-%d", i)
		applyRetrying(t, leaderOf, []byte(cmd))
		want = append(want, cmd)
	}
	waitFor(t, "every node to apply 10 commands", func() bool {
		for _, n := range nodes {
			if !slices.Equal(dedup(n.fsm.list()), want) {
				return false
			}
		}
		return true
	}, 10*time.Second)
	// Past the handshake deadline the held slots are freed and taken
	// again: the office still replicates.
	time.Sleep(HandshakeTimeout + time.Second)
	applyRetrying(t, leaderOf, []byte("after-timeout"))
	want = append(want, "after-timeout")
	waitFor(t, "every node to apply the command after the timeout", func() bool {
		for _, n := range nodes {
			if !slices.Equal(dedup(n.fsm.list()), want) {
				return false
			}
		}
		return true
	}, 10*time.Second)
	for i, n := range nodes {
		t.Logf("node %d: refused %d at the limit, %d in all", i, n.layer.RefusedAtLimit(), n.layer.Refused())
	}
}

// otherNode is a transport of another node of the county, c9, that the
// tests speak raft through as if they were its leader.
func otherNode(t *testing.T, ca *pki.CA) *Transport {
	t.Helper()
	other := NewTransport(newLayer(t, pki.NewTestBundle(t, ca, pki.Identity{Office: county, Node: "c9"}), county), quiet)
	t.Cleanup(func() { _ = other.Close() })
	return other
}

// heartbeatFrom is a heartbeat of term from other (raft's shape: no
// entries, no previous entry, no commit index).
func heartbeatFrom(other *Transport, term uint64) *raft.AppendEntriesRequest {
	return &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("c9"), Addr: []byte(other.LocalAddr())},
		Term:      term,
	}
}

// TestAHeartbeatOfANewerTermDoesNotRelabelTheLeadersEntries: a leader that
// is told of a newer term by a heartbeat, and is asked to apply a command
// before its main loop has seen the heartbeat, must not write that command
// into its log with the newer term: raft would take it for the new
// leader's entry at that index (it compares terms only), keep it, and
// apply it (hashicorp/raft #695, chaos seed 1007). With raft's heartbeat
// fast path the command was written with the new term; now the heartbeat
// is refused and the next append of the new term, which goes through the
// main loop, makes the leader step down.
func TestAHeartbeatOfANewerTermDoesNotRelabelTheLeadersEntries(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a raft node")
	}
	ca := pki.NewTestCA(t)
	nodes, servers := newTLSCluster(t, ca, 1)
	a := nodes[0]
	if err := a.raft.BootstrapCluster(raft.Configuration{Servers: servers}).Error(); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	waitFor(t, "a leader", func() bool { return a.raft.State() == raft.Leader }, 10*time.Second)
	if err := a.raft.Apply([]byte("before"), 5*time.Second).Error(); err != nil {
		t.Fatalf("apply: %v", err)
	}
	term := a.raft.CurrentTerm()

	other := otherNode(t, ca)
	var resp raft.AppendEntriesResponse
	if err := other.AppendEntries("c0", servers[0].Address, heartbeatFrom(other, term+1), &resp); err == nil {
		t.Errorf("a heartbeat of term %d to the leader of term %d was answered (%+v), want it refused", term+1, term, resp)
	}
	// At once: with the fast path, the leader's main loop, idle, had not
	// looked at its state since the heartbeat changed it.
	err := a.raft.Apply([]byte("after"), 5*time.Second).Error()

	first, _ := a.log.FirstIndex()
	last, _ := a.log.LastIndex()
	for i := first; i <= last; i++ {
		var entry raft.Log
		if err := a.log.GetLog(i, &entry); err != nil {
			t.Fatal(err)
		}
		if entry.Term > term {
			t.Errorf("entry %d (%q, %v) has term %d, which this node never led (it led %d; apply said %v)",
				i, entry.Data, entry.Type, entry.Term, term, err)
		}
	}
	if err != nil {
		t.Errorf("apply after the refused heartbeat: %v", err)
	}

	// An append of the new term (a commit index: not a heartbeat) goes
	// through the main loop, which steps down.
	req := heartbeatFrom(other, term+1)
	req.LeaderCommitIndex = 1
	if err := other.AppendEntries("c0", servers[0].Address, req, &resp); err != nil || !resp.Success || resp.Term != term+1 {
		t.Fatalf("append of term %d: %+v, %v", term+1, resp, err)
	}
	if st := a.raft.State(); st != raft.Follower {
		t.Errorf("state %v after an append of term %d, want follower", st, term+1)
	}
}

// gatedLog is a raft log whose appends wait while it is closed.
type gatedLog struct {
	*raft.InmemStore
	mu      sync.Mutex
	gate    chan struct{} // nil: open
	waiting chan struct{} // closed when an append waits at the gate
}

func (g *gatedLog) close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate, g.waiting = make(chan struct{}), make(chan struct{})
}

func (g *gatedLog) open() {
	g.mu.Lock()
	defer g.mu.Unlock()
	close(g.gate)
	g.gate = nil
}

func (g *gatedLog) StoreLogs(logs []*raft.Log) error {
	g.mu.Lock()
	gate, waiting := g.gate, g.waiting
	g.mu.Unlock()
	if gate != nil {
		close(waiting)
		<-gate
	}
	return g.InmemStore.StoreLogs(logs)
}

// TestAFollowerAnswersItsLeadersHeartbeatWhileItsLogIsBusy: the fast path
// kept for heartbeats of the follower's own term answers them while its
// main loop waits on its log (a slow disk, a snapshot installing), so its
// leader keeps its lease; a heartbeat of a newer term is refused at once,
// not left waiting, and changes nothing.
func TestAFollowerAnswersItsLeadersHeartbeatWhileItsLogIsBusy(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a raft node")
	}
	ca := pki.NewTestCA(t)
	logs := &gatedLog{InmemStore: raft.NewInmemStore()}
	b, server := newTLSNode(t, ca, "c0", logs)
	other := otherNode(t, ca)

	// c9 leads term 5 and appends entry 1 to c0.
	const term = 5
	first := heartbeatFrom(other, term)
	first.Entries = []*raft.Log{{Index: 1, Term: term, Type: raft.LogNoop}}
	var resp raft.AppendEntriesResponse
	if err := other.AppendEntries("c0", server.Address, first, &resp); err != nil || !resp.Success {
		t.Fatalf("first append: %+v, %v", resp, err)
	}
	// Its next append waits at c0's log.
	logs.close()
	second := heartbeatFrom(other, term)
	second.PrevLogEntry, second.PrevLogTerm = 1, term
	second.Entries = []*raft.Log{{Index: 2, Term: term, Type: raft.LogNoop}}
	done := make(chan error, 1)
	go func() {
		var resp raft.AppendEntriesResponse
		err := other.AppendEntries("c0", server.Address, second, &resp)
		if err == nil && !resp.Success {
			err = fmt.Errorf("refused: %+v", resp)
		}
		done <- err
	}()
	select {
	case <-logs.waiting:
	case <-time.After(10 * time.Second):
		t.Fatal("the second append never reached the log")
	}

	answered := make(chan error, 1)
	go func() {
		var resp raft.AppendEntriesResponse
		err := other.AppendEntries("c0", server.Address, heartbeatFrom(other, term), &resp)
		if err == nil && !resp.Success {
			err = fmt.Errorf("refused: %+v", resp)
		}
		answered <- err
	}()
	select {
	case err := <-answered:
		if err != nil {
			t.Errorf("heartbeat of the follower's term: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("a heartbeat of the follower's term waited for its busy log")
	}
	if err := other.AppendEntries("c0", server.Address, heartbeatFrom(other, term+1), &resp); err == nil {
		t.Errorf("a heartbeat of term %d to a follower of term %d was answered (%+v), want it refused", term+1, term, resp)
	}
	if got := b.raft.CurrentTerm(); got != term {
		t.Errorf("term %d after a refused heartbeat, want %d", got, term)
	}

	logs.open()
	if err := <-done; err != nil {
		t.Errorf("the append that waited: %v", err)
	}
}
