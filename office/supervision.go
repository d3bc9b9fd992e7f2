package office

import (
	"context"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casebook"
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
