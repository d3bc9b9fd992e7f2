package federation

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/forward"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// An office below the county whose node was started with --bootstrap on
// an empty data directory, without --rebuild, may have run before and lost
// its data: numbered from 1 again, its next case would take the number of
// a case its parent holds for another citizen. Its book carries a
// first-start mark (casebook, firststart.go) and the office numbers no
// case (CanNumber: FIRST_START_PENDING) until its leader has found out,
// from two signs:
//
//   - the offices above hold cases filed at it or below it: its parent,
//     asked as a restored office asks it (Peer.CasesThrough, from
//     casebook.RebuiltSince), or the county, which mirrors every case,
//     when no node of the parent answers;
//   - the node directory lists nodes of it, taken out or not. A node
//     pending does not announce itself (announceLoop), so every entry was
//     written by an earlier life of the office, but for the nodes that
//     started beside it to join it: a node that asks this one to join
//     (PeerServer.Join, refused meanwhile) is not counted, and when the
//     only sign is entries of other names, the leader waits joinerGrace
//     for them to ask. No time is compared: the directory's times are the
//     county's clock, and this node's own announcement is not written.
//
// A new office (neither sign) proposes AnswerFirstStart{ran_before:
// false} and numbers from 1: a brand-new village waits for nothing more
// than its registry and its parent's answer, which it needs anyway. An
// office that ran before proposes AnswerFirstStart{ran_before: true}: its
// book is marked restored from nothing, as --rebuild marks it, and its
// leader takes back what its neighbours hold (recover.go), numbering
// above casebook.RestoredSeqGap meanwhile. Unless the office still runs
// elsewhere: a node the directory lists for it that leads a raft group of
// it answers Peer.Progress, and this node was started with --bootstrap
// where it should have joined; it then files nothing, for good
// (OFFICE_RUNS_ELSEWHERE, and /readyz says what to do), and proposes
// nothing, so the office's nodes that run are not touched.
//
// Until the answer is applied, the node joins no other node to the office
// (a node joining replays the log, which does not carry the mark) and
// tidies no directory entry away (tidyDirectoryLoop: they are the signs,
// and a node started beside its running office must not take that
// office's nodes out).

// firstStartInterval is how often the leader asks while it waits for
// something that comes by itself (its registry, a joiner); an office above
// that does not answer is asked again after a backoff up to
// firstStartMaxBackoff.
const (
	firstStartInterval   = 200 * time.Millisecond
	firstStartMaxBackoff = 5 * time.Second
)

// joinerGrace is how long the leader of a pending office waits for the
// nodes the directory lists for it, when they are its only sign of a life
// before, to ask to join it: a node started beside it with --join asks
// every 5 s at least (joinLoop).
const joinerGrace = 12 * time.Second

// progressProbeTimeout bounds the question to each node the directory
// lists for a pending office: does it lead a raft group of the office?
const progressProbeTimeout = 3 * time.Second

// firstStart is what this node knows of its office's first start beyond
// the book's mark.
type firstStart struct {
	mu sync.Mutex // guards the fields below
	// joiners are the nodes that asked this node to join the office while
	// it was pending: new beside it, not signs of an earlier life.
	joiners map[string]bool
	// waiting says what the leader waits for before it can answer.
	waiting string
	// refused is set once the office is found to run elsewhere.
	refused error
}

func (f *firstStart) setWaiting(why string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waiting = why
}

// firstStartPending reports whether this office does not know yet whether
// it ran before (the book's first-start mark).
func (o *Office) firstStartPending() bool {
	_, pending := o.cfg.FSM.Cases().FirstStart()
	return pending
}

// CanNumber is nil when the office may number new cases: it knows whether
// it ran before (see the top of this file). Otherwise FIRST_START_PENDING
// (Unavailable: nothing was done, send it again shortly), saying what the
// leader waits for, or, once the office is found to run on other nodes,
// OFFICE_RUNS_ELSEWHERE (FailedPrecondition), saying what to do.
func (o *Office) CanNumber() error {
	if !o.firstStartPending() {
		return nil
	}
	f := &o.first
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refused != nil {
		return f.refused
	}
	why := "its leader has not asked yet"
	if f.waiting != "" {
		why = "waiting for " + f.waiting
	}
	return reason.Errorf(reason.FirstStartPending, reason.Meta{"office": o.cfg.Office},
		"federation: office %s does not know yet whether it ran before (its node was started with --bootstrap on an empty data directory, without --rebuild): it numbers no case until it knows (%s)", o.cfg.Office, why)
}

// firstStartJoin refuses, with Unavailable, a node asking to join the
// office while the office does not know whether it ran before, and notes
// its name: it started beside this node, and its entry in the directory
// is no sign of an earlier life.
func (o *Office) firstStartJoin(node string) error {
	if !o.firstStartPending() {
		return nil
	}
	f := &o.first
	f.mu.Lock()
	if f.joiners == nil {
		f.joiners = map[string]bool{}
	}
	f.joiners[node] = true
	f.mu.Unlock()
	return status.Errorf(codes.Unavailable, "node %s takes no node into its office until the office knows whether it ran before: %v", o.cfg.Node, o.CanNumber())
}

// firstStartLoop finds out, on the leader, whether an office started on an
// empty data directory ran before, and proposes the answer (see the top
// of this file). It returns once the book holds the answer, or once the
// office is found to run elsewhere.
func (o *Office) firstStartLoop(ctx context.Context) {
	started := time.Now()
	wait := firstStartInterval
	for o.firstStartPending() {
		if o.LeaderReady() {
			done, failed := o.askFirstStart(ctx, started)
			if done {
				return
			}
			if failed {
				wait = min(2*wait, firstStartMaxBackoff)
			} else {
				wait = firstStartInterval
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// askFirstStart asks once: done when the answer is proposed and applied, or
// the office is found to run elsewhere; failed when an office above or
// the proposal failed (the caller backs off).
func (o *Office) askFirstStart(ctx context.Context, started time.Time) (done, failed bool) {
	f := &o.first
	if _, err := o.reg.Office(o.cfg.Office); err != nil {
		f.setWaiting("the registry from the offices above (the registry feed), which lists this office's nodes")
		return false, false
	}
	listed := o.earlierNodes()
	held, err := o.casesHeldAbove(ctx)
	if err != nil && len(listed) == 0 {
		f.setWaiting(fmt.Sprintf("the office above to say whether it holds cases of this office: %v", err))
		return false, true
	}
	ranBefore := held > 0 || len(listed) > 0
	if held == 0 && !slices.ContainsFunc(listed, func(e *yizhanv1.NodeEntry) bool { return e.GetName() == o.cfg.Node }) &&
		len(listed) > 0 && time.Since(started) < joinerGrace {
		f.setWaiting(fmt.Sprintf("the nodes the node directory lists for this office (%s) to ask to join it, if they are new beside it", names(listed)))
		return false, false
	}
	if ranBefore {
		if leader := o.leaderElsewhere(ctx, listed); leader != nil {
			o.refuseFirstStart(leader)
			return true, false
		}
	}
	_, err = o.ProposeCase(ctx, &peerv1.CaseCommand{AtUnixNano: o.cfg.Now().UnixNano(),
		Op: &peerv1.CaseCommand_AnswerFirstStart{AnswerFirstStart: &peerv1.AnswerFirstStart{RanBefore: ranBefore}}})
	if err != nil {
		f.setWaiting(fmt.Sprintf("its answer to be committed: %v", err))
		return false, true
	}
	if !ranBefore {
		o.log.Info("this office is new: the offices above hold no case of it and the node directory lists no node of it; it numbers its cases from 1")
		return true, false
	}
	o.log.Warn("this office ran before and lost its data: this node was started with --bootstrap on an empty data directory without --rebuild; "+
		"the office is rebuilt as --rebuild does: it takes back from its neighbouring offices every case they hold of it, and numbers today's cases above those its lost data may have handed out",
		"cases_held_above", held, "nodes_listed_before", names(listed), "numbers_from", casebook.RestoredSeqGap+1)
	return true, false
}

// earlierNodes are the node directory's entries of this office (taken out
// or not) but those of nodes that asked this node to join the office:
// signs of an earlier life of it (see the top of this file).
func (o *Office) earlierNodes() []*yizhanv1.NodeEntry {
	f := &o.first
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.DeleteFunc(o.reg.NodesEver(o.cfg.Office), func(e *yizhanv1.NodeEntry) bool { return f.joiners[e.GetName()] })
}

// casesHeldAbove is how many cases filed at this office or below it the
// first page of the office above holds (0: none): the parent's, or, when
// no node of the parent answers, the county's.
func (o *Office) casesHeldAbove(ctx context.Context) (int, error) {
	parent := registry.ParentCode(o.cfg.Office)
	targets := o.routes.OfficeTargets(parent)
	if parent != o.county {
		targets = append(targets, o.routes.OfficeTargets(o.county)...)
	}
	token := ""
	for range 100 { // pages walk at most casesThroughWalk keys each; one holds a case but for a damaged book
		var resp *peerv1.CasesThroughResponse
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := o.fwd.Read(cctx, targets, func(ctx context.Context, conn *grpc.ClientConn) error {
			var err error
			resp, err = peerv1.NewPeerClient(conn).CasesThrough(ctx, &peerv1.CasesThroughRequest{
				OfficeCode: o.cfg.Office, SinceUnixNano: casebook.RebuiltSince.UnixNano(), PageToken: token})
			return err
		})
		cancel()
		if err != nil {
			return 0, err
		}
		if n := len(resp.GetMessages()); n > 0 {
			return n, nil
		}
		if token = resp.GetNextPageToken(); token == "" {
			return 0, nil
		}
	}
	return 0, nil
}

// leaderElsewhere is the first of the listed nodes (not this node, nor one
// at its address, nor one taken out) that leads a raft group of this
// office: it answers Peer.Progress, which only a leader does. nil when
// none does.
func (o *Office) leaderElsewhere(ctx context.Context, listed []*yizhanv1.NodeEntry) *yizhanv1.NodeEntry {
	for _, e := range listed {
		if e.GetName() == o.cfg.Node || e.GetRemoved() || e.GetPeerAddress() == "" || e.GetPeerAddress() == o.cfg.PeerAddr {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, progressProbeTimeout)
		err := o.fwd.Read(pctx, []forward.Target{{Addr: e.GetPeerAddress(), Office: o.cfg.Office}}, func(ctx context.Context, conn *grpc.ClientConn) error {
			_, err := peerv1.NewPeerClient(conn).Progress(ctx, &peerv1.ProgressRequest{OfficeCode: o.cfg.Office})
			return err
		})
		cancel()
		if err == nil {
			return e
		}
	}
	return nil
}

// refuseFirstStart keeps this node from filing for good: its office runs
// on leader's raft group, beside which it was bootstrapped.
func (o *Office) refuseFirstStart(leader *yizhanv1.NodeEntry) {
	err := reason.Errorf(reason.OfficeRunsElsewhere, reason.Meta{"node": leader.GetName(), "peerAddress": leader.GetPeerAddress()},
		"federation: this node, %s, was started with --bootstrap on an empty data directory, which started a new raft group of office %s, "+
			"while the office runs on node %s (peer address %s), which leads it: it files nothing. Stop this node, empty its data directory, and start it with --join %s (no --bootstrap)",
		o.cfg.Node, o.cfg.Office, leader.GetName(), leader.GetPeerAddress(), leader.GetPeerAddress())
	o.first.mu.Lock()
	o.first.refused = err
	o.first.mu.Unlock()
	o.log.Error(err.Error())
}

// names lists the entries' names.
func names(es []*yizhanv1.NodeEntry) string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.GetName()
	}
	return strings.Join(out, ", ")
}
