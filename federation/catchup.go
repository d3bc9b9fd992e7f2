package federation

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/reason"
)

// A node that restarts replays its office's log before its state is
// whole: until then it must not answer reads as if it knew everything,
// nor hand out case numbers, nor take automatic steps. catchUp tracks
// two things:
//   - started: this node has applied everything its office had committed
//     when it started (the leader's commit index, asked once the office
//     has a leader; on the leader itself, a raft barrier);
//   - leaderTerm: the term in which this node, as leader, has applied every
//     entry committed before it led (a barrier at the start of each term).
//     Case numbers and automatic steps wait for it, so a new leader never
//     works from a state that lacks what its predecessor committed.
type catchUp struct {
	started    atomic.Bool
	target     atomic.Uint64 // the commit index to reach at startup (0: not known yet)
	leaderTerm atomic.Uint64
	// foreign is the index this node started at when it is above what its
	// office's leader has committed (0: it is not): a state no log of the
	// office made (one node restored from a backup beside its running
	// office, whose restored index jumps), which it never takes again.
	foreign atomic.Uint64
}

// CaughtUp reports whether this node has applied everything its office
// had committed when it started, and if not, how far it is.
func (o *Office) CaughtUp() (bool, string) {
	if o.catchUp.started.Load() {
		return true, ""
	}
	t := o.catchUp.target.Load()
	if at := o.catchUp.foreign.Load(); at > 0 {
		return false, fmt.Sprintf("this node started at raft index %d, above the %d its office's leader has committed: its state was not made by its office's log; "+
			"it waits for the leader's snapshot to replace it (nodes of a county restored from one backup), and a node restored alone beside its office's running nodes never gets one: "+
			"give it an empty data directory and --join a node of the office", at, t)
	}
	if t > 0 {
		return false, fmt.Sprintf("applying the office's raft log: %d of %d entries", o.cfg.Group.AppliedIndex(), t)
	}
	return false, "waiting to learn how far the office's raft log is committed"
}

// StateForeign reports whether this node, not caught up, started at a
// raft index above what its office's leader has committed (CaughtUp says
// so, and what to do): a wait that ends only with the leader's snapshot.
func (o *Office) StateForeign() bool {
	return !o.catchUp.started.Load() && o.catchUp.foreign.Load() > 0
}

// LeaderReady reports whether this node leads its office and has applied
// everything committed before its term: only then may it number cases and
// take automatic steps.
func (o *Office) LeaderReady() bool {
	g := o.cfg.Group
	return g.IsLeader() && o.catchUp.leaderTerm.Load() == g.CurrentTerm()
}

// AwaitLeaderReady waits, while this node leads its office but has not
// yet applied everything committed before its term (LeaderReady false: a
// barrier, a moment after it came to lead), until it has, it no longer
// leads, ctx is done, or as long as a call forwarded to a leader that
// answers CATCHING_UP is sent to it again (forward.Forwarder) has passed.
// It reports whether this node then leads, ready. A write its office
// layer refused with ErrCatchingUp, which did nothing, may then run
// again: here, or, this node no longer leading, at the leader. A write at
// such a leader is not refused as if its office were down, no more than
// one at a node that does not lead, which waits for the election and then
// for the new leader.
func (o *Office) AwaitLeaderReady(ctx context.Context) bool {
	g := o.cfg.Group
	settled := func() bool { return !g.IsLeader() || o.LeaderReady() }
	return raftgroup.Poll(ctx, o.fwd.AttemptTimeout(), settled) && o.LeaderReady()
}

// ErrCatchingUp is returned by writes on a leader that is still applying
// the entries its predecessor committed: nothing was proposed, so the
// write is safe to send again shortly.
var ErrCatchingUp error = reason.Errorf(reason.CatchingUp, nil, "%w: the office leader is still applying its log", raftgroup.ErrNotLeader)

// catchUpLoop keeps started and leaderTerm up to date.
func (o *Office) catchUpLoop(ctx context.Context) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	// What this node holds when it starts: at most what its office had
	// committed, unless its state came from elsewhere (catchUp.foreign).
	startedAt := o.cfg.Group.AppliedIndex()
	for {
		g := o.cfg.Group
		switch {
		case g.IsLeader():
			term := g.CurrentTerm()
			if o.catchUp.leaderTerm.Load() != term {
				if err := g.Barrier(5 * time.Second); err == nil && g.CurrentTerm() == term && g.IsLeader() {
					o.catchUp.leaderTerm.Store(term)
					if !o.catchUp.started.Load() {
						o.catchUp.target.Store(g.AppliedIndex())
						o.markStarted()
					}
				}
			}
		case !o.catchUp.started.Load():
			if target := o.catchUp.target.Load(); target > 0 {
				applied := g.AppliedIndex()
				switch {
				case startedAt > target && applied >= startedAt:
					// Until the leader's snapshot replaces the state.
					if o.catchUp.foreign.Swap(startedAt) == 0 {
						_, why := o.CaughtUp()
						o.log.Warn("this node's state is not its office's", "why", why)
					}
				case applied >= target:
					o.catchUp.foreign.Store(0)
					o.markStarted()
				}
			} else if _, id := g.Leader(); id != "" {
				if idx, err := o.leaderCommitIndex(ctx); err == nil {
					o.catchUp.target.Store(max(idx, 1))
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (o *Office) markStarted() {
	o.catchUp.started.Store(true)
	o.log.Info("caught up with the office's raft log", "applied_index", o.cfg.Group.AppliedIndex())
}

// leaderCommitIndex asks the office's leader how far the log is committed.
func (o *Office) leaderCommitIndex(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var idx uint64
	err := o.fwd.Send(ctx, o.routes.LeaderTargets(), func(ctx context.Context, conn *grpc.ClientConn) error {
		resp, err := peerv1.NewPeerClient(conn).Progress(ctx, &peerv1.ProgressRequest{OfficeCode: o.cfg.Office})
		if err == nil {
			idx = resp.GetCommitIndex()
		}
		return err
	})
	return idx, err
}

// leaderStale asks the office's leader how stale its registry is
// (feed.Config.AskLeader); known is false when the leader does not say
// (an older version).
func (o *Office) leaderStale(ctx context.Context) (stale float64, known bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var said *float64
	err = o.fwd.Read(ctx, o.routes.LeaderTargets(), func(ctx context.Context, conn *grpc.ClientConn) error {
		resp, err := peerv1.NewPeerClient(conn).Progress(ctx, &peerv1.ProgressRequest{OfficeCode: o.cfg.Office})
		if err == nil {
			said = resp.RegistryStaleSeconds
		}
		return err
	})
	if err != nil || said == nil {
		return 0, false, err
	}
	return *said, true, nil
}

// Progress answers a node of this office with the leader's commit index
// and how stale its registry is.
func (s *PeerServer) Progress(ctx context.Context, req *peerv1.ProgressRequest) (*peerv1.ProgressResponse, error) {
	o := s.o
	id, err := pki.PeerIdentity(ctx)
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, err.Error())
	}
	if id.Office != o.cfg.Office || req.GetOfficeCode() != o.cfg.Office {
		return nil, status.Errorf(codes.PermissionDenied, "office %s may not ask office %s's progress", id.Office, o.cfg.Office)
	}
	// A node bootstrapped on an empty data directory whose office does not
	// know yet whether it ran before, or runs elsewhere, says so
	// (FIRST_START_PENDING, OFFICE_RUNS_ELSEWHERE): it leads only a group
	// of itself, which holds nothing of the office. A node that does not
	// lead says whether it is a member of the office's raft group
	// (NOT_LEADER) or holds nothing of it (no reason: a node asking to
	// join). A node bootstrapped on an empty data directory asks, to find
	// out whether its office runs elsewhere (firststart.go).
	if err := o.firstStartProgress(); err != nil {
		return nil, err
	}
	g := o.cfg.Group
	if !g.IsLeader() {
		if o.hasMember(o.cfg.Node) {
			return nil, reason.StatusErrorf(reason.NotLeader, nil, "%s is a member of office %s but not its leader", o.cfg.Node, o.cfg.Office)
		}
		return nil, status.Errorf(codes.Unavailable, "%s is not the leader of office %s, nor a member of it", o.cfg.Node, o.cfg.Office)
	}
	// A new leader knows how far the log is committed only once an entry
	// of its own term is (raft keeps no commit index over a restart): until
	// its barrier, it could answer far too low.
	if !o.LeaderReady() {
		return nil, reason.StatusErrorf(reason.CatchingUp, nil, "%s leads office %s but is still applying its log", o.cfg.Node, o.cfg.Office)
	}
	return &peerv1.ProgressResponse{CommitIndex: g.CommitIndex(), Term: g.CurrentTerm(), RegistryStaleSeconds: proto.Float64(o.StaleSeconds(time.Now()))}, nil
}
