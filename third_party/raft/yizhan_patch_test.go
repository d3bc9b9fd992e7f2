package raft

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// stagingStore is an InmemStore that stages entries (LogStager) and whose
// StoreLogs, once held, waits until released: a leader's slow disk.
type stagingStore struct {
	*InmemStore
	mu      sync.Mutex
	staged  []*Log
	hold    chan struct{} // non-nil: StoreLogs waits for it to close
	holding chan struct{} // closed when a StoreLogs call waits
}

func (s *stagingStore) StageLogs(logs []*Log) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.staged = logs
}

func (s *stagingStore) GetLog(index uint64, l *Log) error {
	s.mu.Lock()
	for _, st := range s.staged {
		if st.Index == index {
			*l = *st
			s.mu.Unlock()
			return nil
		}
	}
	s.mu.Unlock()
	return s.InmemStore.GetLog(index, l)
}

func (s *stagingStore) StoreLogs(logs []*Log) error {
	s.mu.Lock()
	hold, holding := s.hold, s.holding
	s.mu.Unlock()
	if hold != nil {
		close(holding)
		<-hold
	}
	err := s.InmemStore.StoreLogs(logs)
	s.mu.Lock()
	s.staged = nil
	s.mu.Unlock()
	return err
}

// holdWrites makes the next StoreLogs wait until release is closed.
func (s *stagingStore) holdWrites() (holding chan struct{}, release chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold, s.holding = make(chan struct{}), make(chan struct{})
	return s.holding, s.hold
}

func (s *stagingStore) releaseWrites() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold, s.holding = nil, nil
}

// The patch in dispatchLogs: a leader whose store stages entries sends
// them to its followers while its own write is under way, so that its
// fsync and theirs overlap, and it answers the write only once its own
// write is done. Unpatched, the followers get nothing until the leader's
// write returns.
func TestYizhanLeaderReplicatesWhileItWrites(t *testing.T) {
	const n = 3
	var (
		rafts  []*Raft
		stores []*stagingStore
		trans  []*InmemTransport
		fsms   []*MockFSM
		config Configuration
	)
	for i := range n {
		addr, tr := NewInmemTransport("")
		trans = append(trans, tr)
		config.Servers = append(config.Servers, Server{ID: ServerID(fmt.Sprint(i)), Address: addr})
	}
	for i := range trans {
		for j := range trans {
			if i != j {
				trans[i].Connect(config.Servers[j].Address, trans[j])
			}
		}
	}
	for i := range n {
		conf := DefaultConfig()
		conf.LocalID = config.Servers[i].ID
		conf.HeartbeatTimeout, conf.ElectionTimeout = 50*time.Millisecond, 50*time.Millisecond
		conf.LeaderLeaseTimeout, conf.CommitTimeout = 50*time.Millisecond, 5*time.Millisecond
		conf.LogLevel = "error"
		store := &stagingStore{InmemStore: NewInmemStore()}
		snaps := NewInmemSnapshotStore()
		if err := BootstrapCluster(conf, store, store, snaps, trans[i], config); err != nil {
			t.Fatal(err)
		}
		fsm := &MockFSM{}
		r, err := NewRaft(conf, fsm, store, store, snaps, trans[i])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Shutdown().Error() })
		rafts, stores, fsms = append(rafts, r), append(stores, store), append(fsms, fsm)
	}
	leader := -1
	for deadline := time.Now().Add(10 * time.Second); leader < 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no leader")
		}
		for i, r := range rafts {
			if r.State() == Leader {
				leader = i
			}
		}
	}
	if err := rafts[leader].Barrier(5 * time.Second).Error(); err != nil {
		t.Fatal(err)
	}

	want := rafts[leader].LastIndex() + 1 // the write's entry
	holding, release := stores[leader].holdWrites()
	f := rafts[leader].Apply([]byte("while the leader writes"), 5*time.Second)
	<-holding
	for i, s := range stores {
		if i == leader {
			continue
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			if last, _ := s.LastIndex(); last >= want {
				break
			}
			if time.Now().After(deadline) {
				close(release)
				t.Fatalf("follower %d did not get entry %d while the leader was writing it", i, want)
			}
			time.Sleep(time.Millisecond)
		}
	}
	select {
	case <-f.(*logFuture).errCh:
		t.Fatal("the write was answered before the leader had it on its disk")
	case <-time.After(50 * time.Millisecond):
	}
	stores[leader].releaseWrites()
	close(release)
	if err := f.Error(); err != nil {
		t.Fatal(err)
	}
	if got := fsms[leader].Logs(); len(got) != 1 || string(got[0]) != "while the leader writes" {
		t.Errorf("the leader applied %q", got)
	}
}
