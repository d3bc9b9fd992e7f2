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
	log   *raft.InmemStore
}

// newTLSCluster starts count raft nodes of the county over the stream
// layer, not yet bootstrapped.
func newTLSCluster(t *testing.T, ca *pki.CA, count int) ([]*tlsNode, []raft.Server) {
	t.Helper()
	var nodes []*tlsNode
	var servers []raft.Server
	for i := range count {
		name := fmt.Sprintf("c%d", i)
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
		store := raft.NewInmemStore()
		n := &tlsNode{layer: layer, fsm: &countFSM{}, log: store}
		n.raft, err = raft.NewRaft(conf, n.fsm, store, store, raft.NewInmemSnapshotStore(), trans)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = n.raft.Shutdown().Error() })
		nodes = append(nodes, n)
		servers = append(servers, raft.Server{ID: conf.LocalID, Address: trans.LocalAddr()})
	}
	return nodes, servers
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

// TestAHeartbeatOfANewerTermDoesNotRelabelTheLeadersEntries: a leader that
// is told of a newer term by a heartbeat, and is asked to apply a command
// before its main loop has seen the heartbeat, must not write that command
// into its log with the newer term: raft would take it for the new
// leader's entry at that index (it compares terms only), keep it, and
// apply it (hashicorp/raft #695, chaos seed 1007). With raft's heartbeat
// fast path the command is written with the new term; without it, the
// heartbeat waits for the main loop, which steps down first.
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
	last, _ := a.log.LastIndex()
	var entry raft.Log
	if err := a.log.GetLog(last, &entry); err != nil {
		t.Fatal(err)
	}
	term := entry.Term

	// Another node of the office, leader of the next term as far as its
	// heartbeat says.
	other := NewTransport(newLayer(t, pki.NewTestBundle(t, ca, pki.Identity{Office: county, Node: "c9"}), county), quiet)
	t.Cleanup(func() { _ = other.Close() })
	heartbeat := &raft.AppendEntriesRequest{
		RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("c9"), Addr: []byte(other.LocalAddr())},
		Term:      term + 1,
	}
	var resp raft.AppendEntriesResponse
	if err := other.AppendEntries("c0", servers[0].Address, heartbeat, &resp); err != nil {
		t.Fatalf("heartbeat: %v", err)
	}
	if resp.Term != term+1 {
		t.Fatalf("the heartbeat's answer has term %d, want %d", resp.Term, term+1)
	}
	// At once: the leader's main loop, idle, has not had a reason to look
	// at its state since.
	err := a.raft.Apply([]byte("after"), 5*time.Second).Error()

	first, _ := a.log.FirstIndex()
	last, _ = a.log.LastIndex()
	for i := first; i <= last; i++ {
		if err := a.log.GetLog(i, &entry); err != nil {
			t.Fatal(err)
		}
		if entry.Term > term {
			t.Errorf("entry %d (%q, %v) has term %d, which this node never led (it led %d; apply said %v)",
				i, entry.Data, entry.Type, entry.Term, term, err)
		}
	}
	if a.raft.State() == raft.Leader {
		t.Errorf("still leader after a heartbeat of term %d", term+1)
	}
}
