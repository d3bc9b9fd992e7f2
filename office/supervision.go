package office

import (
	"context"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/supervision"
)

// SweepCards is one sweep of the time-driven card rules (supervision):
// the leader finds, in its book, the cases that earn a card now and that
// do not hold one yet (its own and those mirrored from the offices below
// it), and proposes them as EvaluateCards commands; each node decides at
// apply time, on the case as the log has it then, so a card is issued
// once per case and rule whichever leader sweeps, and however often. It
// returns how many cases it proposed. The leader only (see Leading).
func (s *Service) SweepCards(ctx context.Context, p supervision.Policy) (int, error) {
	if err := s.Leading(); err != nil {
		return 0, err
	}
	proposed := 0
	for range 100 { // bounded: at most 100 commands a sweep
		now := s.now()
		checks, err := s.fed.Cases().CardsDue(now, s.fed.Registry(), p, casebook.MaxCardChecks)
		if err != nil || len(checks) == 0 {
			return proposed, err
		}
		cmd := &peerv1.CaseCommand{AtUnixNano: now.UnixNano(), Op: &peerv1.CaseCommand_EvaluateCards{
			EvaluateCards: &peerv1.EvaluateCards{Checks: checks, WarningDays: int32(p.WarningDays)}}}
		if _, err := s.fed.ProposeCase(ctx, cmd); err != nil {
			return proposed, err
		}
		proposed += len(checks)
		if len(checks) < casebook.MaxCardChecks {
			return proposed, nil
		}
	}
	return proposed, nil
}

// Supervise runs a step on a follow-up or a supervision order, the
// county's records (the county's leader only: see Leading; a node below
// the county forwards the request). A step under a request ID the office
// has done answers as it did then. The answer is the record after the
// step: a yizhanv1.FollowUp or yizhanv1.SupervisionOrder.
func (s *Service) Supervise(ctx context.Context, r raftgroup.Request, step *peerv1.SupervisionStep) (v proto.Message, replayed bool, err error) {
	if err := s.Leading(); err != nil {
		return nil, false, err
	}
	if v, _, ok, err := s.fed.Answered(r); err != nil || ok {
		return v, ok, err
	}
	return s.fed.ProposeCaseOnce(ctx, &peerv1.CaseCommand{AtUnixNano: s.now().UnixNano(), RequestId: r.ID, RequestHash: r.Hash,
		Op: &peerv1.CaseCommand_Supervision{Supervision: step}})
}
