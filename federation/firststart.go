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
//     casebook.RebuiltSince), and, when the parent holds none or does not
//     answer, the county, which mirrors every case (a parent that is
//     itself finding out whether it ran before declines to answer; one
//     restored from an old backup may hold none of a village's last
//     cases);
//   - the node directory lists nodes of it, taken out or not. A node
//     announces itself only once it is a member of its office's raft
//     group and its office knows whether it ran before (announceLoop), so
//     every entry was written by an earlier life of the office: not by a
//     node started beside this one that asks to join it (refused
//     meanwhile), nor by this node in a run that had no raft group. A
//     node that asks this one to join (PeerServer.Join) is not counted
//     either, and when the only sign is entries of other names, the
//     leader waits joinerGrace for them to ask (nodes of an older release
//     announce themselves before they join). No time is compared: the
//     directory's times are the county's clock.
//
// A new office (neither sign) proposes AnswerFirstStart{ran_before:
// false} and numbers from 1: a brand-new village waits for nothing more
// than its registry and the offices above's answer, which it needs
// anyway. An office that ran before proposes AnswerFirstStart{ran_before:
// true}: its book is marked restored from nothing, as --rebuild marks it,
// and its leader takes back what its neighbours hold (recover.go),
// numbering above casebook.RestoredSeqGap meanwhile. Unless the office
// still runs elsewhere: a node the directory lists for it (not this
// node's name nor its address) that holds raft state of the office — it
// leads it, follows, stands for election or catches up — answers
// Peer.Progress as a leader does, or names its refusal NOT_LEADER (a
// member that does not lead) or CATCHING_UP (a leader still applying its
// log); a node that merely asks to join, and holds nothing, names none,
// and a node bootstrapped so itself, its office not yet answered, names
// FIRST_START_PENDING (it leads only a group of itself): of nodes of one
// office bootstrapped at once, one goes on and the others count it as
// running the office (runsElsewhere). This node was then started
// with --bootstrap where it should have joined — beside its office, or
// under the name of one of its nodes that lost its disk — and files
// nothing, for good (OFFICE_RUNS_ELSEWHERE, kept with raft's state so
// that a restart does not decide again, and /readyz says what to do). It
// proposes nothing, takes none of its office's mail, serves no backup of
// it and answers for none of its members (firstStartUnavailable), and,
// its mark kept, it takes no raft connection from any other node (the
// node's raft stream layer refuses them while the mark is there): the
// running office's leader, which may still count this node's name among
// its voters, cannot pull it in with its term and vote forgotten.
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
// lists for a pending office: does it hold raft state of the office?
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
	// refused is set once the office is found to run elsewhere, and kept
	// with raft's state (firstStartRefusedKey).
	refused error
}

// firstStartRefusedKey keeps, with raft's state on this node's disk
// (raftgroup.Group.SetLocalValue), the node found running the office
// when this one was found bootstrapped beside it: its name and peer
// address, a line each.
const firstStartRefusedKey = "firststart-refused"

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
	if !o.firstStartPending() {
		return
	}
	o.first.mu.Lock()
	refused := o.first.refused != nil
	o.first.mu.Unlock()
	if refused {
		return // found so by an earlier run (LoadFirstStartRefusal)
	}
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
		if running := o.runsElsewhere(ctx, listed); running != nil {
			o.refuseFirstStart(running, true)
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
		"offices_above_hold_cases", held > 0, "nodes_listed_before", names(listed), "numbers_from", casebook.RestoredSeqGap+1)
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
// office above holds, as far as it says (0: none; 1: some, from an office
// above that only says whether it holds any, sending none): its parent's, and, when
// the parent holds none or does not answer (whatever the error), the
// county's, which mirrors every case. A parent that answers 0 while the
// county cannot be reached is taken at its word.
func (o *Office) casesHeldAbove(ctx context.Context) (int, error) {
	parent := registry.ParentCode(o.cfg.Office)
	held, err := o.casesHeldAt(ctx, parent)
	if held > 0 || parent == o.county {
		return held, err
	}
	atCounty, cerr := o.casesHeldAt(ctx, o.county)
	switch {
	case cerr == nil:
		return atCounty, nil
	case err == nil:
		o.log.Info("the county did not say whether it holds cases of this office; its parent holds none", "err", cerr)
		return 0, nil
	default:
		return 0, fmt.Errorf("its parent %s: %v; the county %s: %w", parent, err, o.county, cerr)
	}
}

// casesHeldAt is whether office above holds cases filed at this office or
// below it (Peer.CasesThrough, whether_any: none is sent), as
// casesHeldAbove counts. It pages on to the last page: a page walks at
// most casesThroughWalk keys of the cases the office's subtree touched,
// and may hold none of the office's own while a later one does (a book
// with many cases filed elsewhere that passed through the office), so
// only the last page's "none" is an answer. An office above that sends
// back the page token it was sent would never reach its last page, nor
// would one that sends more pages than any book holds
// (maxCasesThroughPages): an error, as an office that does not answer.
func (o *Office) casesHeldAt(ctx context.Context, above string) (int, error) {
	targets := o.routes.OfficeTargets(above)
	token := ""
	for pages := 1; ; pages++ {
		if pages > maxCasesThroughPages {
			return 0, fmt.Errorf("office %s sent %d pages of its book and still a next page: more than any book holds (a page looks through thousands of cases); it would never say whether it holds cases of this office", above, maxCasesThroughPages)
		}
		var resp *peerv1.CasesThroughResponse
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := o.fwd.Read(cctx, targets, func(ctx context.Context, conn *grpc.ClientConn) error {
			var err error
			resp, err = peerv1.NewPeerClient(conn).CasesThrough(ctx, &peerv1.CasesThroughRequest{
				OfficeCode: o.cfg.Office, SinceUnixNano: casebook.RebuiltSince.UnixNano(), PageToken: token, WhetherAny: true})
			return err
		})
		cancel()
		if err != nil {
			return 0, err
		}
		if resp.GetHoldsAny() {
			return 1, nil
		}
		if n := len(resp.GetMessages()); n > 0 { // an office above of an older release sends them
			return n, nil
		}
		next := resp.GetNextPageToken()
		if next == "" {
			return 0, nil
		}
		if next == token {
			return 0, fmt.Errorf("office %s sent back page %d's token as the next page's: it would never say whether it holds cases of this office", above, pages)
		}
		token = next
		o.first.setWaiting(fmt.Sprintf("office %s to say whether it holds cases of this office (pages of its book looked through so far, none holding one: %d)", above, pages))
	}
}

// maxCasesThroughPages bounds the pages casesHeldAt asks for. A page of
// Peer.CasesThrough looks through thousands of the cases an office's
// subtree touched, so 20,000 pages are some hundred million cases: a
// hundred times what a county files in ten years. A var, so that a test
// can reach it.
var maxCasesThroughPages = 20_000

// runsElsewhere is the first of the listed nodes (not this node, nor one
// at its address, nor one taken out) that holds raft state of this
// office: it answers Peer.Progress (it leads the office), or refuses it
// naming NOT_LEADER (a member that does not lead: a follower, or a
// candidate while the office has no leader) or CATCHING_UP (a leader
// still applying its log). A node that asks to join, and holds nothing,
// refuses it with no reason. A node that was itself bootstrapped on an
// empty data directory and does not know yet whether the office ran
// before refuses it naming FIRST_START_PENDING: of nodes of one office
// bootstrapped at once (a village whose two disks died, both nodes given
// --bootstrap again), one goes on and the others are refused, so that one
// of them runs the office and the others join it. The other node asks
// this one only when the directory lists this node under its name at its
// address, as it lists the other: then the one whose name sorts first
// goes on; else this node cannot be seen, and defers to it. When no node
// holds raft state, runsElsewhere is the first such node this node defers
// to. A node found to run beside its office (OFFICE_RUNS_ELSEWHERE) files
// nothing and is not counted. nil when none.
func (o *Office) runsElsewhere(ctx context.Context, listed []*yizhanv1.NodeEntry) *yizhanv1.NodeEntry {
	seen := slices.ContainsFunc(listed, func(e *yizhanv1.NodeEntry) bool {
		return e.GetName() == o.cfg.Node && !e.GetRemoved() && e.GetPeerAddress() == o.cfg.PeerAddr
	})
	var pendingFirst *yizhanv1.NodeEntry // a pending node this node defers to
	for _, e := range listed {
		if e.GetName() == o.cfg.Node || e.GetRemoved() || e.GetPeerAddress() == "" || e.GetPeerAddress() == o.cfg.PeerAddr {
			continue
		}
		var answer error // the node's own, not the forwarder's words around it
		pctx, cancel := context.WithTimeout(ctx, progressProbeTimeout)
		err := o.fwd.Read(pctx, []forward.Target{{Addr: e.GetPeerAddress(), Office: o.cfg.Office}}, func(ctx context.Context, conn *grpc.ClientConn) error {
			_, answer = peerv1.NewPeerClient(conn).Progress(ctx, &peerv1.ProgressRequest{OfficeCode: o.cfg.Office})
			return answer
		})
		cancel()
		if err == nil {
			return e
		}
		switch reason.StatusReason(answer) {
		case reason.NotLeader, reason.CatchingUp:
			return e
		case reason.FirstStartPending:
			if pendingFirst == nil && (!seen || e.GetName() < o.cfg.Node) {
				pendingFirst = e
			}
		}
	}
	return pendingFirst
}

// firstStartProgress is Peer.Progress's answer on a node whose office does
// not know yet whether it ran before (FIRST_START_PENDING), or was found
// to run elsewhere (OFFICE_RUNS_ELSEWHERE): it leads only the raft group
// it bootstrapped, of itself, which holds nothing of the office, and a
// node of the office that asks whether it runs the office (runsElsewhere)
// must not take it for the office's leader. nil otherwise.
func (o *Office) firstStartProgress() error {
	err := o.CanNumber()
	if err == nil {
		return nil
	}
	if r := reason.Of(err); r != nil {
		return reason.Status(r.Reason, r.Error(), r.Meta, 0).Err()
	}
	return status.Error(codes.Unavailable, err.Error())
}

// firstStartUnavailable refuses what a neighbouring office sends (case
// messages, scanned files), a backup of the office and its members (the
// list, or one taken out), with Unavailable naming FIRST_START_PENDING,
// while this office does not know whether it ran before, or once it is
// found to run elsewhere: this node leads a group of itself, and,
// bootstrapped beside its running office at the address of one of its
// nodes (a member that lost its disk), what it took would be acknowledged
// to the sender and never reach that office, a backup of it would hold
// none of the office's cases, and its members would be itself alone (a
// member named to be taken out not one, itself taken out of the node
// directory while the running office still counts it). The caller tries
// the office's next node (FetchBackup, the mail's sender, `yizhan
// members`), or sends again later; an office found new, or rebuilt,
// answers once it knows. does says what the node does not ("takes no
// case messages").
func (o *Office) firstStartUnavailable(does string) error {
	err := o.CanNumber()
	if err == nil {
		return nil
	}
	return reason.StatusCode(codes.Unavailable, reason.FirstStartPending,
		fmt.Sprintf("node %s %s until its office knows whether it ran before: %v", o.cfg.Node, does, err),
		reason.Meta{"office": o.cfg.Office}).Err()
}

// LoadFirstStartRefusal reads whether an earlier run of this node found
// its office running elsewhere (refuseFirstStart kept it with raft's
// state). The node calls it when it is made, before it serves anything:
// from its first answer it refuses as it did (OFFICE_RUNS_ELSEWHERE),
// where a peer would otherwise be told FIRST_START_PENDING for the
// moments until the office starts, and take it for a node still finding
// out (runsElsewhere). A refusal kept but not readable is an error, and
// the node does not start: taken for none, the node would find out again
// and, while its running office's nodes do not answer (all down, cut
// off), take the office for one that lost its data and start it a second
// time beside them, numbering the same case numbers.
func (o *Office) LoadFirstStartRefusal() error {
	if !o.firstStartPending() {
		return nil
	}
	v, err := o.cfg.Group.LocalValue(firstStartRefusedKey)
	if err != nil {
		return fmt.Errorf("federation: read whether an earlier run of this node found office %s running on other nodes (kept with raft's state in the data directory): %w; "+
			"the node does not start rather than ask again, which, while the office's running nodes do not answer, would start the office a second time beside them", o.cfg.Office, err)
	}
	if len(v) == 0 {
		return nil
	}
	name, addr, _ := strings.Cut(string(v), "\n")
	o.refuseFirstStart(&yizhanv1.NodeEntry{Name: name, PeerAddress: addr}, false)
	return nil
}

// refuseFirstStart keeps this node from filing for good: its office runs
// on the raft group of running, beside which it was bootstrapped. keep
// writes it with raft's state, for the node's next runs.
func (o *Office) refuseFirstStart(running *yizhanv1.NodeEntry, keep bool) {
	err := reason.Errorf(reason.OfficeRunsElsewhere, reason.Meta{"node": running.GetName(), "peerAddress": running.GetPeerAddress()},
		"federation: this node, %s, was started with --bootstrap on an empty data directory, which started a new raft group of office %s, "+
			"while the office runs on node %s (peer address %s): it files nothing. Stop this node, empty its data directory, and start it with --join %s (no --bootstrap)",
		o.cfg.Node, o.cfg.Office, running.GetName(), running.GetPeerAddress(), running.GetPeerAddress())
	o.first.mu.Lock()
	o.first.refused = err
	o.first.mu.Unlock()
	if keep {
		if werr := o.cfg.Group.SetLocalValue(firstStartRefusedKey, []byte(running.GetName()+"\n"+running.GetPeerAddress())); werr != nil {
			o.log.Warn("keeping on disk that this node runs beside its office failed: its next run finds it out again", "err", werr)
		}
	}
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
