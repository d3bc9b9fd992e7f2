package node

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation"
	"github.com/yizhan-gov/yizhan/office"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// Follow-ups and supervision orders are the county's records: every call
// runs at the county's leader (a node below, or a county node that does
// not lead, forwards it there with the client's own token, as a registry
// write goes), so a list shows the steps answered before it; every write
// is applied exactly once per request ID.

// maxSupervisionText bounds the texts of replies, answers and orders.
const maxSupervisionText = 2000

// atCounty runs local when this node is of the county, else forwards the
// call toward the county (its leader) with remote.
func atCounty[Resp any](ctx context.Context, s *supervisionService, local func() (Resp, error), remote func(context.Context, yizhanv1.SupervisionServiceClient) (Resp, error)) (Resp, error) {
	o := s.n.office
	if o.IsCounty() {
		resp, err := whenLeaderReady(ctx, s.n, local)
		if err == nil || !office.Forwardable(err) {
			return resp, err
		}
	}
	var resp Resp
	err := o.ForwardRegistry(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
		var err error
		resp, err = remote(ctx, yizhanv1.NewSupervisionServiceClient(conn))
		return err
	})
	return resp, err
}

// supervise runs a step at the county's leader (see atCounty): method is
// the RPC's name and req the client's message, for its request ID (two
// RPCs of one message, CloseOrder and ReturnOrder, are two requests).
func (s *supervisionService) supervise(ctx context.Context, method string, req proto.Message, step func() (*peerv1.SupervisionStep, error)) (proto.Message, error) {
	r, err := clientRequest(ctx, method, req)
	if err != nil {
		return nil, err
	}
	st, err := step()
	if err != nil {
		return nil, err
	}
	v, replayed, err := s.n.svc.Supervise(ctx, r, st)
	if err != nil {
		if office.Forwardable(err) {
			return nil, err
		}
		return nil, toStatus(err)
	}
	if replayed {
		markReplayed(ctx)
	}
	return v, nil
}

// replayed is, at the county's leader, the answer to the step the county
// applied before under req's request ID (method's), told to the client as
// a replay (ok): for a step whose checks read the records, the cases or
// the registry as they are now, which a retry of a step done may no
// longer pass.
func (s *supervisionService) replayed(ctx context.Context, method string, req proto.Message) (proto.Message, bool, error) {
	r, err := clientRequest(ctx, method, req)
	if err != nil {
		return nil, false, err
	}
	v, ok, err := answeredBefore[proto.Message](ctx, s.n, r)
	if err != nil && !office.Forwardable(err) {
		err = toStatus(err)
	}
	return v, ok, err
}

func checkText(field, v string, required bool) error {
	v = strings.TrimSpace(v)
	if required && v == "" {
		return fieldError(field, registry.ReasonRequired, nil, "is required")
	}
	if v := registry.CheckText(field, v, maxSupervisionText); v != nil {
		return invalidArgument(*v)
	}
	return nil
}

// supervisor authenticates a county supervisor.
func (s *supervisionService) supervisor(ctx context.Context) (*auth.Principal, error) {
	p, err := s.n.authn.FromContext(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	if !p.Has(yizhanv1.Role_ROLE_SUPERVISOR) || p.Office != federation.CountyOf(s.n.office.Code()) {
		return nil, toStatus(fmt.Errorf("%w: supervision orders are issued and decided by a county supervisor (监察员); %s is not one", auth.ErrPermissionDenied, p.Username))
	}
	return p, nil
}

// responsible authenticates staff of office, the record's responsible
// office.
func (s *supervisionService) responsible(ctx context.Context, office, what string) (*auth.Principal, error) {
	p, err := s.n.authn.FromContext(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	if p.Office != office {
		return nil, toStatus(fmt.Errorf("%w: %s is answered by the staff of office %s, not by %s", auth.ErrPermissionDenied, what, office, p.Username))
	}
	return p, nil
}

// atLeader answers ErrNotLeader on a county node that does not lead: the
// lists are read at the county's leader, which has applied every step it
// answered (a reply, then the list, shows the reply).
func (s *supervisionService) atLeader() error {
	if err := s.n.svc.Leading(); office.Forwardable(err) {
		return err
	}
	return nil
}

func (s *supervisionService) ListFollowUps(ctx context.Context, req *yizhanv1.ListFollowUpsRequest) (*yizhanv1.ListFollowUpsResponse, error) {
	return atCounty(ctx, s, func() (*yizhanv1.ListFollowUpsResponse, error) {
		if err := s.atLeader(); err != nil {
			return nil, err
		}
		if err := knownEnum("state", req.GetState()); err != nil {
			return nil, err
		}
		if req.GetQueryCode() != "" {
			return s.citizenFollowUps(ctx, req)
		}
		office, subtree, err := s.scope(ctx, req.GetOfficeCode())
		if err != nil {
			return nil, err
		}
		fs, err := s.n.office.Cases().FollowUps(casebook.RecordQuery{Office: office, Subtree: subtree, CaseNumber: req.GetCaseNumber(), State: int32(req.GetState())})
		if err != nil {
			return nil, toStatus(err)
		}
		return &yizhanv1.ListFollowUpsResponse{FollowUps: fs}, nil
	}, func(ctx context.Context, c yizhanv1.SupervisionServiceClient) (*yizhanv1.ListFollowUpsResponse, error) {
		return c.ListFollowUps(ctx, req)
	})
}

// citizenFollowUps answers a citizen: the follow-ups of the case whose
// number and query code they give (the attempts counted as a tracking's),
// those in the state asked for when one is.
func (s *supervisionService) citizenFollowUps(ctx context.Context, req *yizhanv1.ListFollowUpsRequest) (*yizhanv1.ListFollowUpsResponse, error) {
	if req.GetCaseNumber() == "" {
		return nil, fieldError("case_number", registry.ReasonRequired, nil, "is required with a query code")
	}
	if err := s.cases.checkQueryCode(ctx, req.GetCaseNumber(), req.GetQueryCode(), s.cases.filingOf(req.GetCaseNumber())); err != nil {
		return nil, toStatus(err)
	}
	fs, err := s.n.office.Cases().FollowUps(casebook.RecordQuery{CaseNumber: req.GetCaseNumber(), State: int32(req.GetState())})
	if err != nil {
		return nil, toStatus(err)
	}
	return &yizhanv1.ListFollowUpsResponse{FollowUps: fs}, nil
}

func (s *supervisionService) ReplyFollowUp(ctx context.Context, req *yizhanv1.ReplyFollowUpRequest) (*yizhanv1.FollowUpResponse, error) {
	return atCounty(ctx, s, func() (*yizhanv1.FollowUpResponse, error) {
		if err := s.atLeader(); err != nil {
			return nil, err
		}
		f, ok := s.n.office.Cases().FollowUp(req.GetId())
		if !ok {
			return nil, toStatus(fmt.Errorf("no follow-up %q: %w", req.GetId(), casework.ErrNotFound))
		}
		p, err := s.responsible(ctx, f.GetOfficeCode(), "follow-up "+f.GetId())
		if err != nil {
			return nil, err
		}
		if err := checkText("text", req.GetText(), true); err != nil {
			return nil, err
		}
		v, err := s.supervise(ctx, "ReplyFollowUp", req, func() (*peerv1.SupervisionStep, error) {
			return &peerv1.SupervisionStep{Op: &peerv1.SupervisionStep_ReplyFollowUp{ReplyFollowUp: &peerv1.ReplyFollowUp{Id: f.GetId(),
				Entry: &yizhanv1.FollowUpEntry{Actor: p.Username, ActorName: p.Name, OfficeCode: p.Office, Text: strings.TrimSpace(req.GetText())}}}}, nil
		})
		return followUpResponse(v, err)
	}, func(ctx context.Context, c yizhanv1.SupervisionServiceClient) (*yizhanv1.FollowUpResponse, error) {
		return c.ReplyFollowUp(ctx, req)
	})
}

func (s *supervisionService) RevisitFollowUp(ctx context.Context, req *yizhanv1.RevisitFollowUpRequest) (*yizhanv1.FollowUpResponse, error) {
	return atCounty(ctx, s, func() (*yizhanv1.FollowUpResponse, error) {
		if err := s.atLeader(); err != nil {
			return nil, err
		}
		if err := checkText("comment", req.GetComment(), !req.GetResolved()); err != nil {
			return nil, err
		}
		f, ok := s.n.office.Cases().FollowUp(req.GetId())
		number := f.GetCaseNumber()
		if !ok {
			number = req.GetId() // counted against as a wrong code would be
		}
		if err := s.cases.checkQueryCode(ctx, number, req.GetQueryCode(), s.cases.filingOf(f.GetCaseNumber())); err != nil || !ok {
			if err == nil {
				err = errNoCase
			}
			return nil, toStatus(err)
		}
		v, err := s.supervise(ctx, "RevisitFollowUp", req, func() (*peerv1.SupervisionStep, error) {
			return &peerv1.SupervisionStep{Op: &peerv1.SupervisionStep_RevisitFollowUp{RevisitFollowUp: &peerv1.RevisitFollowUp{Id: f.GetId(),
				Entry: &yizhanv1.FollowUpEntry{Actor: casework.CitizenActor, ActorName: "申请人", Text: strings.TrimSpace(req.GetComment()), Resolved: req.GetResolved()}}}}, nil
		})
		return followUpResponse(v, err)
	}, func(ctx context.Context, c yizhanv1.SupervisionServiceClient) (*yizhanv1.FollowUpResponse, error) {
		return c.RevisitFollowUp(ctx, req)
	})
}

func followUpResponse(v proto.Message, err error) (*yizhanv1.FollowUpResponse, error) {
	if err != nil {
		return nil, err
	}
	f, ok := v.(*yizhanv1.FollowUp)
	if !ok {
		return nil, toStatus(fmt.Errorf("%w: the request ID was used for another request", reason.New(reason.RequestIDReused, "node")))
	}
	return &yizhanv1.FollowUpResponse{FollowUp: f}, nil
}

func orderResponse(v proto.Message, err error) (*yizhanv1.OrderResponse, error) {
	if err != nil {
		return nil, err
	}
	o, ok := v.(*yizhanv1.SupervisionOrder)
	if !ok {
		return nil, toStatus(fmt.Errorf("%w: the request ID was used for another request", reason.New(reason.RequestIDReused, "node")))
	}
	return &yizhanv1.OrderResponse{Order: o}, nil
}

func (s *supervisionService) IssueOrder(ctx context.Context, req *yizhanv1.IssueOrderRequest) (*yizhanv1.OrderResponse, error) {
	return atCounty(ctx, s, func() (*yizhanv1.OrderResponse, error) {
		if err := s.atLeader(); err != nil {
			return nil, err
		}
		p, err := s.supervisor(ctx)
		if err != nil {
			return nil, err
		}
		if req.GetCaseNumber() == "" {
			return nil, fieldError("case_number", registry.ReasonRequired, nil, "is required")
		}
		if err := checkText("instruction", req.GetInstruction(), true); err != nil {
			return nil, err
		}
		if d := req.GetAnswerDays(); d < 0 || d > supervision.MaxAnswerDays {
			return nil, fieldError("answer_days", registry.ReasonOutOfRange, reason.Meta{"min": "0", "max": reason.Itoa(supervision.MaxAnswerDays), "got": reason.Itoa(d)},
				fmt.Sprintf("working days to answer: 1 to %d (0: %d)", supervision.MaxAnswerDays, supervision.DefaultAnswerDays))
		}
		if err := knownEnum("card_rule", req.GetCardRule()); err != nil {
			return nil, err
		}
		// A retry answers as the first did, before the checks of the case,
		// its cards and the registry as they are now.
		if v, ok, err := s.replayed(ctx, "IssueOrder", req); err != nil || ok {
			return orderResponse(v, err)
		}
		c, ok := s.n.office.Cases().Case(req.GetCaseNumber())
		if !ok {
			return nil, fieldError("case_number", reason.CaseNotFound, nil, "no case with this number is held at the county")
		}
		to := req.GetOfficeCode()
		if to == "" && req.GetCardRule() != yizhanv1.CardRule_CARD_RULE_UNSPECIFIED {
			cards, _, err := s.n.office.Cases().Cards(casebook.CardQuery{CaseNumber: c.GetNumber(), Rule: req.GetCardRule()})
			if err != nil {
				return nil, toStatus(err)
			}
			if len(cards) == 0 {
				return nil, fieldError("card_rule", reason.InvalidValue, nil, "the case has no card of this rule")
			}
			to = cards[0].GetOfficeCode()
		}
		if to == "" {
			to = c.GetOwnerOffice()
		}
		if _, err := s.n.office.Registry().Office(to); err != nil {
			return nil, fieldError("office_code", reason.OfficeNotFound, reason.Meta{"code": to}, "no such office in the registry")
		}
		if path := casework.PathUp(c.GetOriginOffice()); !slices.Contains(path, to) {
			return nil, fieldError("office_code", reason.InvalidValue, nil,
				fmt.Sprintf("office %s is not on the path of case %s (%s): an order goes to an office that handles it", to, c.GetNumber(), strings.Join(path, ", ")))
		}
		v, err := s.supervise(ctx, "IssueOrder", req, func() (*peerv1.SupervisionStep, error) {
			return &peerv1.SupervisionStep{Op: &peerv1.SupervisionStep_IssueOrder{IssueOrder: &peerv1.IssueOrder{Order: &yizhanv1.SupervisionOrder{
				CaseNumber: c.GetNumber(), CardRule: req.GetCardRule(), OfficeCode: to, Instruction: strings.TrimSpace(req.GetInstruction()),
				AnswerDays: req.GetAnswerDays(), IssuedBy: p.Username}}}}, nil
		})
		return orderResponse(v, err)
	}, func(ctx context.Context, c yizhanv1.SupervisionServiceClient) (*yizhanv1.OrderResponse, error) {
		return c.IssueOrder(ctx, req)
	})
}

func (s *supervisionService) ListOrders(ctx context.Context, req *yizhanv1.ListOrdersRequest) (*yizhanv1.ListOrdersResponse, error) {
	return atCounty(ctx, s, func() (*yizhanv1.ListOrdersResponse, error) {
		if err := s.atLeader(); err != nil {
			return nil, err
		}
		office, subtree, err := s.scope(ctx, req.GetOfficeCode())
		if err != nil {
			return nil, err
		}
		if err := knownEnum("state", req.GetState()); err != nil {
			return nil, err
		}
		os, err := s.n.office.Cases().Orders(casebook.RecordQuery{Office: office, Subtree: subtree, CaseNumber: req.GetCaseNumber(), State: int32(req.GetState())})
		if err != nil {
			return nil, toStatus(err)
		}
		return &yizhanv1.ListOrdersResponse{Orders: os}, nil
	}, func(ctx context.Context, c yizhanv1.SupervisionServiceClient) (*yizhanv1.ListOrdersResponse, error) {
		return c.ListOrders(ctx, req)
	})
}

func (s *supervisionService) AnswerOrder(ctx context.Context, req *yizhanv1.AnswerOrderRequest) (*yizhanv1.OrderResponse, error) {
	return atCounty(ctx, s, func() (*yizhanv1.OrderResponse, error) {
		if err := s.atLeader(); err != nil {
			return nil, err
		}
		od, ok := s.n.office.Cases().Order(req.GetId())
		if !ok {
			return nil, toStatus(fmt.Errorf("no order %q: %w", req.GetId(), casework.ErrNotFound))
		}
		p, err := s.responsible(ctx, od.GetOfficeCode(), "order "+od.GetId())
		if err != nil {
			return nil, err
		}
		if !slices.Contains(supervision.AnswerKinds, req.GetKind()) {
			return nil, fieldError("kind", registry.ReasonOutOfRange, reason.Meta{"enum": strings.Join(supervision.AnswerKinds, ",")}, "说明情况 or 整改情况")
		}
		if err := checkText("text", req.GetText(), true); err != nil {
			return nil, err
		}
		v, err := s.supervise(ctx, "AnswerOrder", req, func() (*peerv1.SupervisionStep, error) {
			return &peerv1.SupervisionStep{Op: &peerv1.SupervisionStep_AnswerOrder{AnswerOrder: &peerv1.AnswerOrder{Id: od.GetId(),
				Entry: &yizhanv1.FollowUpEntry{Actor: p.Username, ActorName: p.Name, OfficeCode: p.Office, Text: req.GetKind() + "：" + strings.TrimSpace(req.GetText())}}}}, nil
		})
		return orderResponse(v, err)
	}, func(ctx context.Context, c yizhanv1.SupervisionServiceClient) (*yizhanv1.OrderResponse, error) {
		return c.AnswerOrder(ctx, req)
	})
}

func (s *supervisionService) decideOrder(ctx context.Context, req *yizhanv1.DecideOrderRequest, close bool) (*yizhanv1.OrderResponse, error) {
	if err := s.atLeader(); err != nil {
		return nil, err
	}
	p, err := s.supervisor(ctx)
	if err != nil {
		return nil, err
	}
	if err := checkText("reason", req.GetReason(), !close); err != nil {
		return nil, err
	}
	if _, ok := s.n.office.Cases().Order(req.GetId()); !ok {
		return nil, toStatus(fmt.Errorf("no order %q: %w", req.GetId(), casework.ErrNotFound))
	}
	method := "ReturnOrder"
	if close {
		method = "CloseOrder"
	}
	v, err := s.supervise(ctx, method, req, func() (*peerv1.SupervisionStep, error) {
		return &peerv1.SupervisionStep{Op: &peerv1.SupervisionStep_DecideOrder{DecideOrder: &peerv1.DecideOrder{Id: req.GetId(), Close: close,
			Entry: &yizhanv1.FollowUpEntry{Actor: p.Username, ActorName: p.Name, OfficeCode: p.Office, Text: strings.TrimSpace(req.GetReason())}}}}, nil
	})
	return orderResponse(v, err)
}

func (s *supervisionService) CloseOrder(ctx context.Context, req *yizhanv1.DecideOrderRequest) (*yizhanv1.OrderResponse, error) {
	return atCounty(ctx, s, func() (*yizhanv1.OrderResponse, error) { return s.decideOrder(ctx, req, true) },
		func(ctx context.Context, c yizhanv1.SupervisionServiceClient) (*yizhanv1.OrderResponse, error) {
			return c.CloseOrder(ctx, req)
		})
}

func (s *supervisionService) ReturnOrder(ctx context.Context, req *yizhanv1.DecideOrderRequest) (*yizhanv1.OrderResponse, error) {
	return atCounty(ctx, s, func() (*yizhanv1.OrderResponse, error) { return s.decideOrder(ctx, req, false) },
		func(ctx context.Context, c yizhanv1.SupervisionServiceClient) (*yizhanv1.OrderResponse, error) {
			return c.ReturnOrder(ctx, req)
		})
}
