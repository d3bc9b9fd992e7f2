package office

import (
	"context"
	"errors"
	"time"

	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
)

// SweepReroutes reroutes this office's cases in flight whose next step
// sits with an office that no longer holds the step's right for the item
// (改派: a grant revoked, expired or moved since the case was routed):
// each gets a REROUTED event with the route under the grants in force and
// the reason (casework.Reroute), and the office's mail then carries it on
// to the step's new office. A case whose step no office may do now waits
// where it is. It walks the office's queue (the cases it owns and that
// are not over), reading a case's log only when its step's right is lost.
// It returns how many cases it rerouted. The leader only (see Leading).
//
// A right is lost only when the registry changes, when a grant starts,
// ends or is revoked with the passing of time, or when a case comes in by
// mail routed under another office's registry; a case this office routes
// itself is routed under the grants in force. So the walk is skipped when
// none of these happened since the last complete walk of this node's
// term as leader, and made at least every rerouteWalkAtLeast whatever
// happened: an office with many cases open (a county's million, filed and
// never taken up, in BenchmarkCountyBook) does not read them all each
// minute for nothing.
func (s *Service) SweepReroutes(ctx context.Context) (int, error) {
	if err := s.Leading(); err != nil {
		return 0, err
	}
	book, reg, now := s.fed.Cases(), s.fed.Registry(), s.now()
	mark := rerouteMark{term: s.fed.Group().CurrentTerm(), registry: reg.Index(), arrivals: s.fed.Arrivals()}
	s.walkMu.Lock()
	defer s.walkMu.Unlock()
	if last := s.lastWalk; last.mark == mark && !now.Before(last.at) && now.Sub(last.at) < rerouteWalkAtLeast &&
		!reg.GrantsChangeBetween(last.at, now) {
		return 0, nil
	}
	s.lastWalk = rerouteWalk{} // until this walk is complete
	s.walks.Add(1)
	var lost []string
	token := ""
	for {
		page, next, err := book.Queue(casebook.QueueQuery{Office: s.fed.Code(), PageSize: casebook.MaxPageSize, PageToken: token})
		if err != nil {
			return 0, err
		}
		for _, c := range page {
			if casework.StepRightLost(c, reg, now) {
				lost = append(lost, c.GetNumber())
			}
		}
		if next == "" || ctx.Err() != nil {
			break
		}
		token = next
	}
	complete := ctx.Err() == nil
	rerouted := 0
	var stranded []string
	for _, number := range lost {
		ok, waits, err := s.reroute(ctx, number)
		switch {
		case errors.Is(err, raftgroup.ErrNotLeader) || ctx.Err() != nil:
			return rerouted, err
		case err != nil:
			complete = false // the next sweep walks again
			s.log.Warn("a case was not rerouted", "case", number, "err", err)
		case ok:
			rerouted++
		case waits:
			stranded = append(stranded, number)
		}
	}
	if complete {
		s.lastWalk = rerouteWalk{mark: mark, at: now}
	}
	s.stranded.Store(&strandedCount{term: mark.term, cases: int64(len(stranded))})
	if len(stranded) > 0 {
		s.log.Warn("cases wait for a step that no office may do under the grants in force: grant the item's right to an office on their route",
			"cases", len(stranded), "first", stranded[:min(len(stranded), 5)])
	}
	return rerouted, nil
}

// rerouteWalkAtLeast is how often the reroute sweep walks the office's
// queue when nothing it knows of could have lost a case its step's right
// (SweepReroutes): a bound on what it cannot see, such as a case routed
// at the very moment the registry changed.
const rerouteWalkAtLeast = time.Hour

// rerouteMark is what a right lost depends on besides time: the term
// this node leads in (cases may have come in under another leader), the
// registry's index, and how many cases came in by mail here.
type rerouteMark struct {
	term, registry, arrivals uint64
}

// rerouteWalk is the last complete walk of the reroute sweep: its mark
// and when (zero: none).
type rerouteWalk struct {
	mark rerouteMark
	at   time.Time
}

// RerouteWalks is how many times the reroute sweep has walked the
// office's queue on this node (the metric yizhan_reroute_walks_total).
func (s *Service) RerouteWalks() uint64 { return s.walks.Load() }

// Stranded is how many of the office's cases the last reroute sweep on
// this node found waiting for a step no office may do now (the metric
// yizhan_cases_stranded): -1 when this node does not lead, or has made
// no sweep since it leads. The office's leader counts; a node that led
// before does not report what it counted then, which the leader since
// may have seen mended.
func (s *Service) Stranded() int64 {
	c, g := s.stranded.Load(), s.fed.Group()
	if c == nil || !g.IsLeader() || c.term != g.CurrentTerm() {
		return -1
	}
	return c.cases
}

// strandedCount is what a reroute sweep counted stranded, and in which
// term this node led then.
type strandedCount struct {
	term  uint64
	cases int64
}

// reroute reroutes one case if it still needs it, under its lock; waits
// reports a case that needs it and has nowhere to go (no office may do
// its step under the grants in force).
func (s *Service) reroute(ctx context.Context, number string) (rerouted, waits bool, err error) {
	unlock := s.fed.LockCase(number)
	defer unlock()
	c, events, ok := s.fed.Cases().CaseAndEvents(number)
	if !ok || c.GetOwnerOffice() != s.fed.Code() {
		return false, false, nil
	}
	now := s.now()
	route, why, ok := casework.Reroute(c, events, s.fed.Registry(), now)
	if !ok {
		return false, casework.StepRightLost(c, s.fed.Registry(), now), nil
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	e := casework.NewRerouteEvent(c, route, why, s.fed.Code(), now)
	if _, err := s.fed.AppendEvents(actx, number, events[len(events)-1].GetHash(), e); err != nil {
		return false, false, err
	}
	s.log.Info("case rerouted", "case", number, "why", why)
	return true, false, nil
}
