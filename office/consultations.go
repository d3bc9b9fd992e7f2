package office

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/supervision"
)

// Consult keeps consultation c, which came in at this office (version 1),
// or the answer this office gives to a question left online (version 2):
// it signs c with this node's key and proposes it; the book carries it up
// the tree. The leader only (see Leading): it works while the office is
// cut off from the others. A request ID the office has seen answers with
// the record it kept then.
func (s *Service) Consult(ctx context.Context, r raftgroup.Request, c *yizhanv1.Consultation) (kept *yizhanv1.Consultation, replayed bool, err error) {
	if err := s.Leading(); err != nil {
		return nil, false, err
	}
	if kept, ok, err := Answered[*yizhanv1.Consultation](s, r); err != nil || ok {
		return kept, ok, err
	}
	c = proto.CloneOf(c)
	c.Signature, c.SignerChain = nil, nil
	if c.Signature, c.SignerChain, err = s.fed.SignRecord(supervision.ConsultationHash(c)); err != nil {
		return nil, false, fmt.Errorf("office: sign consultation %s: %w", c.GetId(), err)
	}
	return propose[*yizhanv1.Consultation](ctx, s, r, &peerv1.CaseCommand{AtUnixNano: s.now().UnixNano(),
		Op: &peerv1.CaseCommand_PutConsultation{PutConsultation: &peerv1.PutConsultation{Consultation: c}}})
}

// QuestionCode is the query code of a question left online: from the
// request ID when there is one, so that a retry answers with the same
// code (see newQueryCode).
func (s *Service) QuestionCode(r raftgroup.Request) (string, error) {
	code, _, _, err := s.newQueryCode(r)
	return code, err
}
