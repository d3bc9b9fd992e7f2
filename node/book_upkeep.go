package node

import (
	"context"
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/supervision"
)

// The case book's upkeep on a running node: badger's value log garbage
// collection, and (with Config.CheckBook) one walk of the book after the
// node has caught up with its office's log.

// valueLogGCInterval is how often the node asks badger to rewrite value
// log files that are mostly garbage (case records rewritten as cases move
// leave their old values behind).
const valueLogGCInterval = 10 * time.Minute

// valueLogGCRatio is the share of garbage that makes a value log file
// worth rewriting (badger's own recommendation).
const valueLogGCRatio = 0.5

// collectValueLog runs badger's value log GC every valueLogGCInterval,
// each time until there is nothing left worth rewriting.
func (n *Node) collectValueLog(ctx context.Context) {
	t := time.NewTicker(valueLogGCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for rewritten := 0; ctx.Err() == nil; rewritten++ {
			err := n.db.RunValueLogGC(valueLogGCRatio)
			if errors.Is(err, badger.ErrNoRewrite) || errors.Is(err, badger.ErrRejected) {
				if rewritten > 0 {
					n.log.Info("value log garbage collected", "files_rewritten", rewritten)
				}
				break
			}
			if err != nil {
				n.log.Warn("value log garbage collection", "err", err)
				break
			}
		}
	}
}

// checkBookWhenCaughtUp walks the case book once the node has applied
// what its office had committed when it started: every index entry and
// counter must agree with the cases (casebook.Check). Each problem is
// logged as an error; the count is the metric yizhan_casebook_problems.
func (n *Node) checkBookWhenCaughtUp(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if ok, _ := n.office.CaughtUp(); ok {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
	start := time.Now()
	book := n.office.Cases()
	// The walk is one read transaction of minutes on a large book: a
	// node told to stop stops it rather than its shutdown waiting for it.
	problems, err := book.Check(ctx, n.office.Registry())
	for (errors.Is(err, casebook.ErrStatsRecounting) || errors.Is(err, casebook.ErrReplacing)) && ctx.Err() == nil {
		// The first write after an upgrade counts the statistics again,
		// and a follower far behind restores the book from the leader's
		// snapshot: the book is checked once it is whole.
		n.log.Info("case book check waits: the book is being restored, or its statistics counted again", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
		}
		start = time.Now()
		problems, err = book.Check(ctx, n.office.Registry())
	}
	if ctx.Err() != nil {
		n.log.Info("case book check stopped: the node is stopping", "after", time.Since(start).Round(time.Millisecond))
		return
	}
	if err != nil {
		n.log.Error("case book check failed", "err", err)
		n.bookCheckFailed.Store(true)
		return
	}
	for _, p := range problems {
		n.log.Error("case book problem", "problem", p)
	}
	n.bookProblems.Store(int64(len(problems)))
	n.log.Info("case book checked", "cases", book.Len(), "applied_index", book.Applied(),
		"problems", len(problems), "took", time.Since(start).Round(time.Millisecond))
}

// defaultCardSweepInterval is how often the leader sweeps the
// time-driven card rules. A red or §32 card's time is the rule's, not the
// sweep's, so the interval only delays when a card shows; a sweep walks
// every open case due by the warning horizon (about a second per 100,000
// open cases: docs/BENCHMARKS.md), so it runs every few minutes.
const defaultCardSweepInterval = 5 * time.Minute

// sweepCards runs the supervision card sweep (office.Service.SweepCards)
// on the office's leader every Config.CardSweepInterval.
func (n *Node) sweepCards(ctx context.Context) {
	every := n.cfg.CardSweepInterval
	if every == 0 {
		every = defaultCardSweepInterval
	}
	n.whileLeading(ctx, every, func() {
		policy := supervision.Policy{WarningDays: int(n.office.Registry().SupervisionPolicy().GetWarningDays())}
		if k, err := n.svc.SweepCards(ctx, policy); err != nil {
			n.log.Warn("supervision card sweep", "err", err)
		} else if k > 0 {
			n.log.Info("supervision card sweep", "cases_evaluated", k)
		}
	})
}

// defaultDutySweepInterval is how often the leader flags the shifts of
// the duty roster nobody took over or handed over (duty.ShiftGrace after
// their start or end), and the first reports still unsigned at their
// deadline: the indexes hold only the shifts with a flag due and the
// drafts, so a sweep is a short read.
const defaultDutySweepInterval = time.Minute

// sweepDuty runs office.Service.SweepShifts and SweepUnsignedReports on
// the office's leader every Config.DutySweepInterval, after UpgradeBook
// (a book of an older release counts its counters again at the first
// sweep rather than at the office's next write).
func (n *Node) sweepDuty(ctx context.Context) {
	every := n.cfg.DutySweepInterval
	if every == 0 {
		every = defaultDutySweepInterval
	}
	n.whileLeading(ctx, every, func() {
		if done, err := n.svc.UpgradeBook(ctx); err != nil {
			n.log.Warn("book upgrade", "err", err)
		} else if done {
			n.log.Info("book upgrade: the counters of an older release counted again")
		}
		if k, err := n.svc.SweepShifts(ctx); err != nil {
			n.log.Warn("duty shift sweep", "err", err)
		} else if k > 0 {
			n.log.Info("duty shift sweep", "shifts_flagged", k)
		}
		if k, err := n.svc.SweepUnsignedReports(ctx); err != nil {
			n.log.Warn("duty unsigned report sweep", "err", err)
		} else if k > 0 {
			n.log.Info("duty unsigned report sweep", "reports_flagged", k)
		}
	})
}

// defaultRerouteSweepInterval is how often the leader looks for cases in
// flight that a grant's change stranded: a sweep walks the office's open
// cases, reading a case's log only for those to reroute.
const defaultRerouteSweepInterval = time.Minute

// sweepReroutes runs office.Service.SweepReroutes, and SweepAttachments
// (files no case named a day after they came), on the office's leader
// every Config.RerouteSweepInterval.
func (n *Node) sweepReroutes(ctx context.Context) {
	every := n.cfg.RerouteSweepInterval
	if every == 0 {
		every = defaultRerouteSweepInterval
	}
	n.whileLeading(ctx, every, func() {
		if k, err := n.svc.SweepReroutes(ctx); err != nil {
			n.log.Warn("reroute sweep", "err", err)
		} else if k > 0 {
			n.log.Info("reroute sweep", "cases_rerouted", k)
		}
		// Scans no case named a day after they came (abandoned uploads).
		if k, err := n.svc.SweepAttachments(ctx); err != nil {
			n.log.Warn("scanned file sweep", "err", err)
		} else if k > 0 {
			n.log.Info("scanned file sweep", "files_dropped", k)
		}
	})
}

// whileLeading runs sweep every interval, while this node leads its
// office, until ctx ends.
func (n *Node) whileLeading(ctx context.Context, every time.Duration, sweep func()) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n.svc.Leading() == nil {
			sweep()
		}
	}
}
