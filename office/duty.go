package office

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
)

// PutReport keeps an urgent report written at this office: a new draft,
// a draft changed, or a draft signed by the leader on duty, which this
// node then signs with its key (the book carries it up the tree). The
// leader only (see Leading); it works while the office is cut off. A
// request ID the office has seen answers as it did then.
func (s *Service) PutReport(ctx context.Context, r raftgroup.Request, rep *yizhanv1.UrgentReport) (*yizhanv1.HeldReport, bool, error) {
	if rep.GetState() == yizhanv1.ReportState_REPORT_STATE_SIGNED {
		rep = proto.CloneOf(rep)
		rep.Signature, rep.SignerChain = nil, nil
		var err error
		if rep.Signature, rep.SignerChain, err = s.fed.SignRecord(duty.Hash(rep)); err != nil {
			return nil, false, fmt.Errorf("office: sign report %s: %w", rep.GetId(), err)
		}
	}
	return s.putRecord(ctx, r, &peerv1.CaseCommand{Op: &peerv1.CaseCommand_PutReport{PutReport: &peerv1.PutUrgentReport{Report: rep}}})
}

// Acknowledge keeps this office's acknowledgement (签收) of a report from
// below, signed by this node; the book carries it up.
func (s *Service) Acknowledge(ctx context.Context, r raftgroup.Request, a *yizhanv1.ReportAck) (*yizhanv1.HeldReport, bool, error) {
	a = proto.CloneOf(a)
	a.Signature, a.SignerChain = nil, nil
	var err error
	if a.Signature, a.SignerChain, err = s.fed.SignRecord(duty.Hash(a)); err != nil {
		return nil, false, fmt.Errorf("office: sign acknowledgement %s: %w", a.GetId(), err)
	}
	return s.putRecord(ctx, r, &peerv1.CaseCommand{Op: &peerv1.CaseCommand_PutReportAck{PutReportAck: &peerv1.PutReportAck{Ack: a}}})
}

// putRecord proposes a duty command once per request ID, at the leader.
func (s *Service) putRecord(ctx context.Context, r raftgroup.Request, cmd *peerv1.CaseCommand) (*yizhanv1.HeldReport, bool, error) {
	if err := s.Leading(); err != nil {
		return nil, false, err
	}
	if h, ok, err := Answered[*yizhanv1.HeldReport](s, r); err != nil || ok {
		return h, ok, err
	}
	cmd.AtUnixNano = s.now().UnixNano()
	return propose[*yizhanv1.HeldReport](ctx, s, r, cmd)
}

// PutShifts keeps shifts of this office, each signed by this node: a
// roster published, or one shift's next version (a swap, a take-over, a
// handover). The book checks each change against the shift as the log
// has it; the leader only.
func (s *Service) PutShifts(ctx context.Context, r raftgroup.Request, shifts []*yizhanv1.DutyShift) ([]*yizhanv1.DutyShift, bool, error) {
	if err := s.Leading(); err != nil {
		return nil, false, err
	}
	if resp, ok, err := Answered[*yizhanv1.PublishShiftsResponse](s, r); err != nil || ok {
		return resp.GetShifts(), ok, err
	}
	signed := make([]*yizhanv1.DutyShift, len(shifts))
	for i, sh := range shifts {
		sh = proto.CloneOf(sh)
		sh.Signature, sh.SignerChain = nil, nil
		var err error
		if sh.Signature, sh.SignerChain, err = s.fed.SignRecord(duty.Hash(sh)); err != nil {
			return nil, false, fmt.Errorf("office: sign shift %s: %w", sh.GetId(), err)
		}
		signed[i] = sh
	}
	resp, replayed, err := propose[*yizhanv1.PublishShiftsResponse](ctx, s, r, &peerv1.CaseCommand{AtUnixNano: s.now().UnixNano(),
		Op: &peerv1.CaseCommand_PutShifts{PutShifts: &peerv1.PutShifts{Shifts: signed}}})
	return resp.GetShifts(), replayed, err
}

// SweepShifts flags this office's shifts that nobody took over, or that
// ended without a handover, ShiftGrace after their start or end (the
// leader only). Each flag is decided in the log at the command's time: a
// shift taken over meanwhile is refused its flag, and the sweep goes on.
// It returns how many shifts it flagged.
func (s *Service) SweepShifts(ctx context.Context) (int, error) {
	if err := s.Leading(); err != nil {
		return 0, err
	}
	now := s.now()
	due, err := s.fed.Cases().ShiftsDue(now, 100)
	if err != nil {
		return 0, err
	}
	flagged := 0
	for _, sh := range due {
		next, ok := duty.Flagged(sh, now)
		if !ok {
			continue
		}
		if _, _, err := s.PutShifts(ctx, raftgroup.Request{}, []*yizhanv1.DutyShift{next}); err != nil {
			if errors.Is(err, raftgroup.ErrNotLeader) {
				return flagged, err
			}
			s.log.Warn("duty: a shift's flag was not kept", "shift", sh.GetId(), "err", err)
			continue
		}
		flagged++
	}
	return flagged, nil
}

// PutLogEntry keeps an entry of this office's duty log (the leader only).
func (s *Service) PutLogEntry(ctx context.Context, r raftgroup.Request, e *yizhanv1.DutyLogEntry) (*yizhanv1.DutyLogEntry, bool, error) {
	if err := s.Leading(); err != nil {
		return nil, false, err
	}
	if kept, ok, err := Answered[*yizhanv1.DutyLogEntry](s, r); err != nil || ok {
		return kept, ok, err
	}
	return propose[*yizhanv1.DutyLogEntry](ctx, s, r, &peerv1.CaseCommand{AtUnixNano: s.now().UnixNano(),
		Op: &peerv1.CaseCommand_PutLogEntry{PutLogEntry: &peerv1.PutLogEntry{Entry: e}}})
}

// PutZeroReport keeps this office's zero report of a day, signed by this
// node (the leader only; once per day: a second is refused).
func (s *Service) PutZeroReport(ctx context.Context, r raftgroup.Request, z *yizhanv1.ZeroReport) (*yizhanv1.ZeroReport, bool, error) {
	if err := s.Leading(); err != nil {
		return nil, false, err
	}
	if kept, ok, err := Answered[*yizhanv1.ZeroReport](s, r); err != nil || ok {
		return kept, ok, err
	}
	z = proto.CloneOf(z)
	z.Signature, z.SignerChain = nil, nil
	var err error
	if z.Signature, z.SignerChain, err = s.fed.SignRecord(duty.Hash(z)); err != nil {
		return nil, false, fmt.Errorf("office: sign zero report %s: %w", z.GetId(), err)
	}
	return propose[*yizhanv1.ZeroReport](ctx, s, r, &peerv1.CaseCommand{AtUnixNano: s.now().UnixNano(),
		Op: &peerv1.CaseCommand_PutZeroReport{PutZeroReport: &peerv1.PutZeroReport{Report: z}}})
}

// SweepUnsignedReports flags this office's draft first reports still
// unsigned at their deadline (逾时未审签), each flag signed by this node
// and carried up (the leader only). The book decides each at the
// command's time: a report signed meanwhile is refused its flag, and the
// sweep goes on. It returns how many it flagged.
func (s *Service) SweepUnsignedReports(ctx context.Context) (int, error) {
	if err := s.Leading(); err != nil {
		return 0, err
	}
	now := s.now()
	drafts, err := s.fed.Cases().DraftsDue(now, 100)
	if err != nil {
		return 0, err
	}
	flagged := 0
	for _, r := range drafts {
		f, ok := duty.UnsignedFlag(r, now)
		if !ok {
			continue
		}
		if f.Signature, f.SignerChain, err = s.fed.SignRecord(duty.Hash(f)); err != nil {
			return flagged, fmt.Errorf("office: sign flag %s: %w", f.GetId(), err)
		}
		_, err := s.fed.ProposeCase(ctx, &peerv1.CaseCommand{AtUnixNano: s.now().UnixNano(),
			Op: &peerv1.CaseCommand_FlagUnsignedReport{FlagUnsignedReport: &peerv1.FlagUnsignedReport{Flag: f}}})
		if err != nil {
			if errors.Is(err, raftgroup.ErrNotLeader) {
				return flagged, err
			}
			s.log.Warn("duty: an unsigned report's flag was not kept", "report", r.GetId(), "err", err)
			continue
		}
		flagged++
	}
	return flagged, nil
}

// UpgradeBook proposes an empty command when the book's counters were
// made by an older release (casebook.Book.StatsStale), so that every node
// of the office counts them again at that entry instead of waiting for
// the office's next write (the leader only). It reports whether it did.
func (s *Service) UpgradeBook(ctx context.Context) (bool, error) {
	if err := s.Leading(); err != nil {
		return false, err
	}
	if !s.fed.Cases().StatsStale() {
		return false, nil
	}
	_, err := s.fed.ProposeCase(ctx, &peerv1.CaseCommand{AtUnixNano: s.now().UnixNano(), Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{}}})
	return err == nil, err
}
