package raftgroup

import (
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// A leader knows which of its followers answer: raft tells it each
// heartbeat that fails, with the follower's last contact, and the first
// that succeeds after (its observations). The office's status
// (/v1/cluster) tells a member that has not answered for a while from a
// live follower; every voter but the leader was "Follower" before, the
// dead one too.

// unreachableAfter is how long a follower may go without answering its
// leader's heartbeats before the leader reports it unreachable: past an
// election's refused heartbeats (the next append brings the new term)
// and a follower busy writing a snapshot.
const unreachableAfter = 2 * time.Second

// peerWatch is what the leader has observed of its followers' heartbeats.
type peerWatch struct {
	mu      sync.Mutex
	failing map[raft.ServerID]time.Time // follower → its last contact, while its heartbeats fail
}

// watchPeers follows raft's heartbeat observations until the group
// closes. A change of leadership forgets them: a new leader observes its
// own.
func (g *Group) watchPeers() {
	ch := make(chan raft.Observation, 64)
	obs := raft.NewObserver(ch, false, func(o *raft.Observation) bool {
		switch o.Data.(type) {
		case raft.FailedHeartbeatObservation, raft.ResumedHeartbeatObservation, raft.LeaderObservation:
			return true
		}
		return false
	})
	g.raft.RegisterObserver(obs)
	defer g.raft.DeregisterObserver(obs)
	for {
		select {
		case <-g.stopNudges:
			return
		case o := <-ch:
			g.peers.mu.Lock()
			switch d := o.Data.(type) {
			case raft.FailedHeartbeatObservation:
				if _, ok := g.peers.failing[d.PeerID]; !ok {
					at := d.LastContact
					if at.IsZero() {
						at = time.Now()
					}
					g.peers.failing[d.PeerID] = at
				}
			case raft.ResumedHeartbeatObservation:
				delete(g.peers.failing, d.PeerID)
			case raft.LeaderObservation:
				clear(g.peers.failing)
			}
			g.peers.mu.Unlock()
		}
	}
}

// Unreachable reports, on the leader, whether follower id has not
// answered its heartbeats for unreachableAfter, and its last contact.
func (g *Group) Unreachable(id string) (lastContact time.Time, unreachable bool) {
	g.peers.mu.Lock()
	defer g.peers.mu.Unlock()
	at, ok := g.peers.failing[raft.ServerID(id)]
	if !ok || !g.IsLeader() {
		return time.Time{}, false
	}
	return at, time.Since(at) > unreachableAfter
}
