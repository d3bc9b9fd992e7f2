package node

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// Consultations (咨询登记) are written at the office where they come in,
// by its leader (a follower forwards the call there), so recording one
// needs no other office: a village cut off from the tree keeps recording,
// and its book carries them up once the link is back. A question left
// online is answered by the office that holds the accept right for its
// item, lowest on the path up; the citizen reads the answer with the id
// and the query code at the office where it was asked, which asks the
// answering office when its own copy has no answer yet.

// errNoQuestion answers an unknown id and a wrong query code alike.
var errNoQuestion = reason.Err(reason.CaseNotFound, "no question with this number and query code")

// consultationStaff are the roles that record consultations and answer
// questions: the staff who meet citizens.
var consultationStaff = []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT, yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_WINDOW,
	yizhanv1.Role_ROLE_REVIEWER, yizhanv1.Role_ROLE_APPROVER, yizhanv1.Role_ROLE_ADMIN}

// counterStaff authenticates staff of this node's office who meet citizens.
func (s *supervisionService) counterStaff(ctx context.Context, what string) (*auth.Principal, error) {
	p, err := s.n.authn.FromContext(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	if p.Office != s.n.office.Code() || !slices.ContainsFunc(consultationStaff, p.Has) {
		return nil, toStatus(fmt.Errorf("%w: %s is done by the window staff or agents of office %s; %s is not one", auth.ErrPermissionDenied, what, s.n.office.Code(), p.Username))
	}
	return p, nil
}

// consultationItem checks item_code (required when required) and returns
// the item, nil when none was named.
func (s *supervisionService) consultationItem(code string, required bool) (*yizhanv1.Item, error) {
	if code == "" {
		if required {
			return nil, fieldReasonError("item_code", registry.ReasonRequired, "is required: the item says which office answers")
		}
		return nil, nil
	}
	if v := registry.CheckLine("item_code", code, registry.MaxCodeLen); v != nil {
		return nil, invalidArgument(*v)
	}
	it, err := s.n.office.Registry().Item(code, 0)
	if err != nil {
		return nil, fieldError("item_code", reason.ItemNotFound, reason.Meta{"code": code}, "no such item in the catalogue")
	}
	return it, nil
}

// newConsultation is a consultation coming in here now, with a new id.
func (s *supervisionService) newConsultation(ch yizhanv1.ConsultationChannel, it *yizhanv1.Item, question string) (*yizhanv1.Consultation, error) {
	suffix, err := casework.NewQueryCode(rand.Reader)
	if err != nil {
		return nil, err
	}
	now := s.n.now()
	code := s.n.office.Code()
	return &yizhanv1.Consultation{Id: supervision.ConsultationID(code, now, casework.NormalizeQueryCode(suffix)[:6]), OfficeCode: code, Channel: ch,
		ItemCode: it.GetCode(), ItemName: it.GetName(), DepartmentCode: it.GetDepartmentCode(),
		Question: strings.TrimSpace(question), At: timestamppb.New(now), Version: 1}, nil
}

func (s *supervisionService) RecordConsultation(ctx context.Context, req *yizhanv1.RecordConsultationRequest) (*yizhanv1.ConsultationResponse, error) {
	p, err := s.counterStaff(ctx, "recording a consultation")
	if err != nil {
		return nil, err
	}
	switch req.GetChannel() {
	case yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_IN_PERSON, yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE:
	case yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_UNSPECIFIED:
		return nil, fieldError("channel", registry.ReasonRequired, reason.Meta{"input": "choice"}, "is required: in person or by phone")
	default:
		return nil, fieldError("channel", registry.ReasonOutOfRange, reason.Meta{"enum": "ConsultationChannel", "got": reason.Itoa(int32(req.GetChannel()))},
			"in person or by phone (a question online is left with AskQuestion)")
	}
	for _, f := range []struct{ name, v string }{{"question", req.GetQuestion()}, {"answer", req.GetAnswer()}} {
		if err := checkText(f.name, f.v, true); err != nil {
			return nil, err
		}
	}
	it, err := s.consultationItem(req.GetItemCode(), false)
	if err != nil {
		return nil, err
	}
	r, err := clientRequest(ctx, "RecordConsultation", req)
	if err != nil {
		return nil, err
	}
	return atLeader(ctx, s.n, yizhanv1.NewSupervisionServiceClient, func() (*yizhanv1.ConsultationResponse, error) {
		c, err := s.newConsultation(req.GetChannel(), it, req.GetQuestion())
		if err != nil {
			return nil, err
		}
		c.State, c.Answer = yizhanv1.ConsultationState_CONSULTATION_STATE_ANSWERED, strings.TrimSpace(req.GetAnswer())
		c.RecordedBy, c.RecordedByName = p.Username, p.Name
		return s.consult(ctx, r, c)
	}, func(ctx context.Context, cl yizhanv1.SupervisionServiceClient) (*yizhanv1.ConsultationResponse, error) {
		return cl.RecordConsultation(ctx, req)
	})
}

// consult keeps c through the office layer, exactly once per request.
func (s *supervisionService) consult(ctx context.Context, r raftgroup.Request, c *yizhanv1.Consultation) (*yizhanv1.ConsultationResponse, error) {
	kept, replayed, err := s.n.svc.Consult(ctx, r, c)
	if err = replayedAnswer(ctx, replayed, err); err != nil {
		return nil, err
	}
	return &yizhanv1.ConsultationResponse{Consultation: shown(kept, false)}, nil
}

// answerOffice is the office that answers a question about it asked at
// origin: the lowest on the path up holding the accept right for it now.
func (s *supervisionService) answerOffice(it *yizhanv1.Item, origin string) (string, error) {
	reg := s.n.office.Registry()
	now := s.n.now()
	for _, o := range casework.PathUp(origin) {
		if slices.Contains(reg.Rights(it.GetCode(), o, now), yizhanv1.Right_RIGHT_ACCEPT) {
			return o, nil
		}
	}
	return "", fieldError("item_code", reason.NoRoute, reason.Meta{"item": it.GetCode(), "origin": origin},
		fmt.Sprintf("no office on the path from %s up holds the accept right for item %s: ask by phone", origin, it.GetCode()))
}

func (s *supervisionService) AskQuestion(ctx context.Context, req *yizhanv1.AskQuestionRequest) (*yizhanv1.AskQuestionResponse, error) {
	if v := registry.CheckLine("office_code", req.GetOfficeCode(), registry.MaxCodeLen); v != nil {
		return nil, invalidArgument(*v)
	}
	if oc := req.GetOfficeCode(); oc != "" && oc != s.n.office.Code() {
		return nil, fieldError("office_code", reason.WrongOffice, reason.Meta{"office": s.n.office.Code(), "want": oc},
			fmt.Sprintf("this is a node of office %s: ask at a node of office %s", s.n.office.Code(), oc))
	}
	if err := checkText("question", req.GetQuestion(), true); err != nil {
		return nil, err
	}
	if req.GetContact() != "" {
		if err := casework.ValidPhone(req.GetContact()); err != nil {
			return nil, fieldError("contact", reason.InvalidFormat, reason.Meta{"format": "PHONE"}, err.Error())
		}
	}
	// Which office answers goes by the rights in force now: by this
	// node's clock, which must be right first (the office layer would
	// refuse the write anyway, CLOCK_OFF; a clock years behind found no
	// right in force and told the citizen so).
	if err := s.n.office.ClockOff(); err != nil {
		return nil, err
	}
	it, err := s.consultationItem(req.GetItemCode(), true)
	if err != nil {
		return nil, err
	}
	answerer, err := s.answerOffice(it, s.n.office.Code())
	if err != nil {
		return nil, err
	}
	r, err := clientRequest(ctx, "AskQuestion", req)
	if err != nil {
		return nil, err
	}
	giveBack, err := s.cases.filings.allow(clientAddr(ctx))
	if giveBack, err = s.cases.unlessDone(r, giveBack, err); err != nil {
		return nil, err
	}
	replayed := false
	resp, err := atLeader(ctx, s.n, yizhanv1.NewSupervisionServiceClient, func() (*yizhanv1.AskQuestionResponse, error) {
		code, err := s.n.svc.QuestionCode(r)
		if err != nil {
			return nil, err
		}
		c, err := s.newConsultation(yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_ONLINE, it, req.GetQuestion())
		if err != nil {
			return nil, err
		}
		c.State, c.AnswerOffice, c.Contact = yizhanv1.ConsultationState_CONSULTATION_STATE_ASKED, answerer, req.GetContact()
		c.RecordedBy, c.RecordedByName = "citizen", "咨询人"
		c.QueryCodeHash = supervision.QuestionCodeHash(c.GetId(), casework.NormalizeQueryCode(code))
		kept, again, err := s.n.svc.Consult(ctx, r, c)
		if err = replayedAnswer(ctx, again, err); err != nil {
			return nil, err
		}
		replayed = again
		// A retry is answered with the question first kept: its code
		// comes from the same request ID.
		return &yizhanv1.AskQuestionResponse{Consultation: shown(kept, true), QueryCode: code}, nil
	}, func(ctx context.Context, cl yizhanv1.SupervisionServiceClient) (*yizhanv1.AskQuestionResponse, error) {
		var header metadata.MD
		resp, err := cl.AskQuestion(passClientAddr(ctx), req, grpc.Header(&header))
		replayed = replayedBy(header)
		return resp, err
	})
	// Only a new question costs the address one (as a filing).
	if replayed || (err != nil && !mayHaveBeenDone(err)) {
		giveBack()
	}
	return resp, err
}

// shown is c as the API answers it: without the hash of its query code
// (what the citizen's code is checked against: no one's to guess
// against, as a case's), and, for a citizen or staff of another office
// (mask), with the contact phone masked.
func shown(c *yizhanv1.Consultation, mask bool) *yizhanv1.Consultation {
	if c == nil || len(c.GetQueryCodeHash()) == 0 && (!mask || c.GetContact() == "") {
		return c
	}
	c = proto.CloneOf(c)
	c.QueryCodeHash = nil
	if mask {
		c.Contact = casework.MaskPhone(c.GetContact())
	}
	return c
}

func (s *supervisionService) AnswerQuestion(ctx context.Context, req *yizhanv1.AnswerQuestionRequest) (*yizhanv1.ConsultationResponse, error) {
	p, err := s.counterStaff(ctx, "answering a question")
	if err != nil {
		return nil, err
	}
	if req.GetId() == "" {
		return nil, fieldReasonError("id", registry.ReasonRequired, "is required")
	}
	if err := checkText("answer", req.GetAnswer(), true); err != nil {
		return nil, err
	}
	r, err := clientRequest(ctx, "AnswerQuestion", req)
	if err != nil {
		return nil, err
	}
	return atLeader(ctx, s.n, yizhanv1.NewSupervisionServiceClient, func() (*yizhanv1.ConsultationResponse, error) {
		if v, ok, err := answeredBefore[*yizhanv1.Consultation](ctx, s.n, r); err != nil {
			return nil, err
		} else if ok {
			return &yizhanv1.ConsultationResponse{Consultation: shown(v, false)}, nil
		}
		held, ok := s.n.office.Cases().Consultation(req.GetId())
		switch {
		case !ok:
			return nil, fieldError("id", reason.RecordNotFound, reason.Meta{"id": req.GetId()}, "no such question held here (it may still be on its way up)")
		case held.GetAnswerOffice() != s.n.office.Code():
			return nil, toStatus(fmt.Errorf("%w: question %s is answered by office %s", auth.ErrPermissionDenied, held.GetId(), held.GetAnswerOffice()))
		case held.GetState() != yizhanv1.ConsultationState_CONSULTATION_STATE_ASKED:
			return nil, reason.Status(reason.FailedPrecondition, fmt.Sprintf("question %s is answered already", held.GetId()), reason.Meta{"id": held.GetId()}, 0).Err()
		}
		c := proto.CloneOf(held)
		c.Version, c.State, c.Answer = 2, yizhanv1.ConsultationState_CONSULTATION_STATE_ANSWERED, strings.TrimSpace(req.GetAnswer())
		c.AnsweredAt, c.AnsweredBy, c.AnsweredByName = timestamppb.New(s.n.now()), p.Username, p.Name
		return s.consult(ctx, r, c)
	}, func(ctx context.Context, cl yizhanv1.SupervisionServiceClient) (*yizhanv1.ConsultationResponse, error) {
		return cl.AnswerQuestion(ctx, req)
	})
}

func (s *supervisionService) ListConsultations(ctx context.Context, req *yizhanv1.ListConsultationsRequest) (*yizhanv1.ListConsultationsResponse, error) {
	scope, subtree, err := s.scope(ctx, req.GetOfficeCode())
	if err != nil {
		return nil, err
	}
	p, _ := s.n.authn.FromContext(ctx)
	size, err := pageSizeOf(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	q := casebook.ConsultationQuery{Office: scope, Subtree: subtree, Awaiting: req.GetAwaitingAnswer(), Limit: size}
	if q.Awaiting && scope != s.n.office.Code() {
		return nil, fieldError("office_code", reason.WrongOffice, reason.Meta{"office": s.n.office.Code(), "want": scope},
			"the questions an office must answer are listed at a node of that office")
	}
	if q.From, err = parseDay("from", req.GetFrom(), time.Time{}); err != nil {
		return nil, err
	}
	to, err := parseDay("to", req.GetTo(), time.Time{})
	if err != nil {
		return nil, err
	}
	if !to.IsZero() && !q.From.IsZero() && to.Before(q.From) {
		return nil, fieldError("to", registry.ReasonOutOfRange, nil, "is before from")
	}
	if !to.IsZero() {
		q.To = to.AddDate(0, 0, 1)
	}
	pages := queryOf("ListConsultations", scope, subtree, q.Awaiting, q.From, q.To)
	if q.PageToken, err = pages.position(req.GetPageToken()); err != nil {
		return nil, err
	}
	cs, next, err := s.n.office.Cases().Consultations(q)
	if err != nil {
		return nil, listError(err)
	}
	for i, c := range cs {
		cs[i] = shown(c, c.GetOfficeCode() != p.Office && c.GetAnswerOffice() != p.Office)
	}
	return &yizhanv1.ListConsultationsResponse{Consultations: cs, NextPageToken: pages.token(next)}, nil
}

// GetQuestion is the citizen's: the question with its answer, for its id
// and query code. A copy here without an answer, of a question another
// office answers, is asked of that office; if it cannot be reached, the
// copy here is the answer ("not answered yet").
func (s *supervisionService) GetQuestion(ctx context.Context, req *yizhanv1.GetQuestionRequest) (*yizhanv1.ConsultationResponse, error) {
	id, code := req.GetId(), casework.NormalizeQueryCode(req.GetQueryCode())
	for _, v := range []*registry.FieldViolation{
		registry.CheckLine("id", id, registry.MaxCodeLen),
		registry.CheckLine("query_code", req.GetQueryCode(), registry.MaxCodeLen),
	} {
		if v != nil {
			return nil, invalidArgument(*v)
		}
	}
	if id == "" || code == "" {
		return nil, fieldReasonError(map[bool]string{true: "id", false: "query_code"}[id == ""], registry.ReasonRequired, "is required")
	}
	held, found := s.n.office.Cases().Consultation(id)
	if !found {
		if s.n.office.IsCounty() || !supervision.IsConsultationID(id) {
			return nil, s.checkQuestionCode(ctx, id, code, nil)
		}
		var resp *yizhanv1.ConsultationResponse
		err := s.n.office.ReadUp(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
			var err error
			resp, err = yizhanv1.NewSupervisionServiceClient(conn).GetQuestion(passClientAddr(ctx), req)
			return err
		})
		return resp, err
	}
	if err := s.checkQuestionCode(ctx, id, code, held); err != nil {
		return nil, err
	}
	if held.GetState() == yizhanv1.ConsultationState_CONSULTATION_STATE_ASKED && held.GetAnswerOffice() != s.n.office.Code() {
		var resp *yizhanv1.ConsultationResponse
		err := s.n.office.ForwardToOffice(ctx, held.GetAnswerOffice(), func(ctx context.Context, conn *grpc.ClientConn) error {
			var err error
			resp, err = yizhanv1.NewSupervisionServiceClient(conn).GetQuestion(passClientAddr(ctx), req)
			return err
		})
		if err == nil {
			return resp, nil
		}
		// Not reachable, or the question not there yet: the copy here.
	}
	return &yizhanv1.ConsultationResponse{Consultation: shown(held, true)}, nil
}

// checkQuestionCode checks a query code for question id within the
// node's query-code limits (as for cases: counted against the id and the
// client address); held is nil when no office holds it as far as this
// node can tell.
func (s *supervisionService) checkQuestionCode(ctx context.Context, id, code string, held *yizhanv1.Consultation) error {
	done, err := s.n.queryCodes.reserve(id, clientAddr(ctx))
	if err != nil {
		return err
	}
	if held == nil || !hmac.Equal(held.GetQueryCodeHash(), supervision.QuestionCodeHash(id, code)) {
		done(attemptFailed)
		return errNoQuestion
	}
	done(attemptSucceeded)
	return nil
}
