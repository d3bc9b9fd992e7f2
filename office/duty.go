package office

import (
	"context"
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
	if v, _, ok, err := s.fed.Answered(r); err != nil || ok {
		h, _ := v.(*yizhanv1.HeldReport)
		return h, ok, err
	}
	cmd.AtUnixNano, cmd.RequestId, cmd.RequestHash = s.now().UnixNano(), r.ID, r.Hash
	v, err := s.fed.ProposeCase(ctx, cmd)
	if err != nil {
		return nil, false, err
	}
	h, _ := v.(*yizhanv1.HeldReport)
	return h, false, nil
}
