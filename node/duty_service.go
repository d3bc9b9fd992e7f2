package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/federation"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// dutyService is government duty (政务值班): urgent reports. Reports are
// written, changed and signed by the leader of the reporting office (a
// follower forwards the call there), never by another office, so a
// village cut off from the tree keeps reporting and its book carries the
// signed reports up once the link is back. Reads are answered from this
// node's book (it holds the reports of the offices below it); the
// reporting office adds the acknowledgements the county holds, when it
// can reach it.
type dutyService struct {
	yizhanv1.UnsafeDutyServiceServer
	n       *Node
	signing signLock // the leader's signatures, one at a time
}

var _ yizhanv1.DutyServiceServer = (*dutyService)(nil)

// ackReadTimeout bounds the reporting office's read of the
// acknowledgements the county holds.
const ackReadTimeout = 2 * time.Second

// dutyStaff authenticates duty staff of this node's office: a duty
// officer (值班员) or a leader on duty (带班领导); leaderOnly asks for the
// leader.
func (s *dutyService) dutyStaff(ctx context.Context, what string, leaderOnly bool) (*auth.Principal, error) {
	p, err := s.n.authn.FromContext(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	roles := []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_LEADER}
	if !leaderOnly {
		roles = append(roles, yizhanv1.Role_ROLE_DUTY_OFFICER)
	}
	if p.Office != s.n.office.Code() || !slices.ContainsFunc(roles, p.Has) {
		who := "the duty staff (值班员, 带班领导)"
		if leaderOnly {
			who = "the leader on duty (带班领导)"
		}
		return nil, toStatus(fmt.Errorf("%w: %s is done by %s of office %s; %s is not one", auth.ErrPermissionDenied, what, who, s.n.office.Code(), p.Username))
	}
	return p, nil
}

// readScope checks who may read the reports of office (default: the
// caller's): duty staff, admins and supervisors, of that office or one
// above it.
func (s *dutyService) readScope(ctx context.Context, office string) (string, error) {
	p, err := s.n.authn.FromContext(ctx)
	if err != nil {
		return "", toStatus(err)
	}
	if office == "" {
		office = p.Office
	}
	if registry.ValidCode(office) != nil {
		return "", fieldError("office_code", registry.ReasonInvalidFormat, reason.Meta{"format": "DIVISION_CODE"}, "must be a 12-digit division code")
	}
	readers := []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_OFFICER, yizhanv1.Role_ROLE_DUTY_LEADER, yizhanv1.Role_ROLE_ADMIN, yizhanv1.Role_ROLE_SUPERVISOR}
	if !slices.ContainsFunc(readers, p.Has) || !registry.IsAncestorOrSelf(p.Office, office) {
		return "", toStatus(fmt.Errorf("%w: %s may not read the urgent reports of office %s", auth.ErrPermissionDenied, p.Username, office))
	}
	if !registry.IsAncestorOrSelf(s.n.office.Code(), office) {
		return "", fieldError("office_code", reason.WrongOffice, reason.Meta{"office": s.n.office.Code(), "want": office},
			fmt.Sprintf("office %s is not held here: ask at a node of that office or of an office above it", office))
	}
	return office, nil
}

// rostered checks the roster: while a shift of this office is on, only
// those on it write reports, and only its leader on duty signs them. With
// no shift on the roster now (an office that keeps none yet), the roles
// alone decide; the shift sweep flags the empty post meanwhile.
func (s *dutyService) rostered(p *auth.Principal, sign bool) error {
	sh, ok := s.n.office.Cases().CurrentShift(s.n.office.Code(), s.n.now())
	switch {
	case !ok:
		return nil
	case sign && sh.GetLeader() != p.Username:
		return toStatus(fmt.Errorf("%w: reports are signed by the leader on duty of shift %s, %s (%s)", auth.ErrPermissionDenied, sh.GetId(), sh.GetLeaderName(), sh.GetLeader()))
	case !sign && !duty.OnShift(sh, p.Username):
		return toStatus(fmt.Errorf("%w: %s is not on the roster for shift %s", auth.ErrPermissionDenied, p.Username, sh.GetId()))
	}
	return nil
}

// content checks what the writer typed, as a field error.
func (s *dutyService) content(r *yizhanv1.UrgentReport) error {
	if r == nil {
		return fieldReasonError("report", registry.ReasonRequired, "is required")
	}
	if err := duty.CheckContent(r, s.n.now()); err != nil {
		var fe *duty.FieldError
		if errors.As(err, &fe) {
			return fieldError(fe.Field, fe.Why, fe.Meta, fe.Msg)
		}
		return err
	}
	return nil
}

// limitOf is the limit a first report is written under: the county's
// policy for its category and level, now.
func (s *dutyService) limitOf(r *yizhanv1.UrgentReport) int32 {
	if r.GetKind() != yizhanv1.ReportKind_REPORT_KIND_FIRST {
		return 0
	}
	return duty.LimitMinutes(s.n.office.Registry().DutyPolicy(), r.GetCategory(), r.GetLevel())
}

// written is the content of r as a writer may set it.
func written(r *yizhanv1.UrgentReport) *yizhanv1.UrgentReport {
	return &yizhanv1.UrgentReport{Kind: r.GetKind(), FirstId: r.GetFirstId(), Category: r.GetCategory(), Level: r.GetLevel(),
		Title: r.GetTitle(), Place: r.GetPlace(), OccurredAt: r.GetOccurredAt(), KnownAt: r.GetKnownAt(),
		Deaths: r.GetDeaths(), Injured: r.GetInjured(), Missing: r.GetMissing(), Losses: r.GetLosses(),
		Measures: r.GetMeasures(), Details: r.GetDetails(), Contact: r.GetContact()}
}

// replayedOrRostered is, at the office's leader, the answer to a report's
// write applied before under r (ok), or else the roster's verdict on p
// (rostered): a retry answers as the first did, though the shift it was
// made on has ended since.
func (s *dutyService) replayedOrRostered(ctx context.Context, r raftgroup.Request, p *auth.Principal, sign bool) (*yizhanv1.HeldReport, bool, error) {
	if v, ok, err := answeredBefore[*yizhanv1.HeldReport](ctx, s.n, r); err != nil || ok {
		return v, ok, err
	}
	return nil, false, s.rostered(p, sign)
}

// put keeps rep through the office layer, once per request.
func (s *dutyService) put(ctx context.Context, r raftgroup.Request, rep *yizhanv1.UrgentReport) (*yizhanv1.HeldReport, error) {
	v, replayed, err := s.n.svc.PutReport(ctx, r, rep)
	return v, replayedAnswer(ctx, replayed, err)
}

func (s *dutyService) WriteReport(ctx context.Context, req *yizhanv1.WriteReportRequest) (*yizhanv1.HeldReport, error) {
	p, err := s.dutyStaff(ctx, "writing an urgent report", false)
	if err != nil {
		return nil, err
	}
	if err := s.content(req.GetReport()); err != nil {
		return nil, err
	}
	r, err := clientRequest(ctx, "WriteReport", req)
	if err != nil {
		return nil, err
	}
	return atLeader(ctx, s.n, yizhanv1.NewDutyServiceClient, func() (*yizhanv1.HeldReport, error) {
		if v, ok, err := s.replayedOrRostered(ctx, r, p, false); err != nil || ok {
			return v, err
		}
		suffix, err := casework.NewQueryCode(rand.Reader)
		if err != nil {
			return nil, err
		}
		now := s.n.now()
		rep := written(req.GetReport())
		rep.Id = duty.ReportID(s.n.office.Code(), now, casework.NormalizeQueryCode(suffix)[:6])
		rep.OfficeCode, rep.Reporter, rep.ReporterName = s.n.office.Code(), p.Username, p.Name
		rep.WrittenAt, rep.State, rep.Version = timestamppb.New(now), yizhanv1.ReportState_REPORT_STATE_DRAFT, 1
		rep.LimitMinutes = s.limitOf(rep)
		if rep.GetKind() != yizhanv1.ReportKind_REPORT_KIND_FIRST {
			// Numbered when it is signed (SignReport), not now.
			if err := s.followable(rep.GetFirstId()); err != nil {
				return nil, err
			}
		}
		return s.put(ctx, r, rep)
	}, func(ctx context.Context, cl yizhanv1.DutyServiceClient) (*yizhanv1.HeldReport, error) {
		return cl.WriteReport(ctx, req)
	})
}

// followable checks, before anything is proposed, that a follow-up or
// final report may follow report first: a signed first report of this
// office. The book checks it again where it is applied (and that its
// matter is not closed); here a wrong one costs no raft entry and is
// named.
func (s *dutyService) followable(first string) error {
	h, ok := s.n.office.Cases().Report(first)
	if !ok || h.GetReport().GetOfficeCode() != s.n.office.Code() {
		return fieldError("report.first_id", reason.RecordNotFound, reason.Meta{"id": first},
			fmt.Sprintf("office %s holds no report %s of its own", s.n.office.Code(), first))
	}
	if r := h.GetReport(); r.GetKind() != yizhanv1.ReportKind_REPORT_KIND_FIRST || r.GetState() != yizhanv1.ReportState_REPORT_STATE_SIGNED {
		return reason.Status(reason.FailedPrecondition, fmt.Sprintf("report %s is not a signed first report: a follow-up follows one", first),
			reason.Meta{"id": first}, 0).Err()
	}
	return nil
}

// hourKept checks, before anything is proposed, that a change of a first
// report's draft made at now does not move its hour (duty.Due) later once
// it has run out: the report stays late (迟报). The book checks it again
// where the change is applied.
func hourKept(held, next *yizhanv1.UrgentReport, now time.Time) error {
	passed := duty.Due(held)
	if passed.IsZero() || !now.After(passed) || !duty.Due(next).After(passed) {
		return nil
	}
	field := "report.category" // or its level: the limit they give
	switch {
	case !next.GetOccurredAt().AsTime().Equal(held.GetOccurredAt().AsTime()):
		field = "report.occurred_at"
	case !next.GetKnownAt().AsTime().Equal(held.GetKnownAt().AsTime()):
		field = "report.known_at" // the hour runs from it (duty.Due)
	}
	return fieldError(field, registry.ReasonOutOfRange, reason.Meta{"max": passed.In(registry.CST).Format("2006-01-02T15:04")},
		fmt.Sprintf("the first report's hour ran out at %s: a change may not move it later (the report is late; say in its details why the time was wrong)",
			passed.In(registry.CST).Format("2006-01-02 15:04")))
}

// open checks, before anything is proposed, that a follow-up or final
// report's matter is not closed by a final report signed since it was
// written (the book checks it again where the signature is applied).
func (s *dutyService) open(r *yizhanv1.UrgentReport) error {
	if r.GetKind() == yizhanv1.ReportKind_REPORT_KIND_FIRST {
		return nil
	}
	if h, ok := s.n.office.Cases().Report(r.GetFirstId()); ok && h.GetClosed() {
		return reason.Status(reason.FailedPrecondition, fmt.Sprintf("the matter of report %s is closed by its final report: the draft %s that follows it is not signed", r.GetFirstId(), r.GetId()),
			reason.Meta{"id": r.GetId()}, 0).Err()
	}
	return nil
}

// heldDraft is the report id held here, for a change by this office.
func (s *dutyService) heldDraft(id string) (*yizhanv1.UrgentReport, error) {
	if id == "" {
		return nil, fieldReasonError("id", registry.ReasonRequired, "is required")
	}
	if v := registry.CheckLine("id", id, registry.MaxCodeLen); v != nil {
		return nil, invalidArgument(*v)
	}
	h, ok := s.n.office.Cases().Report(id)
	if !ok || h.GetReport().GetOfficeCode() != s.n.office.Code() {
		return nil, reason.Status(reason.NotFound, fmt.Sprintf("no report %s of office %s", id, s.n.office.Code()), reason.Meta{"id": id}, 0).Err()
	}
	if h.GetReport().GetState() != yizhanv1.ReportState_REPORT_STATE_DRAFT {
		return nil, reason.Status(reason.FailedPrecondition, fmt.Sprintf("report %s is signed: it does not change; write a follow-up report", id), reason.Meta{"id": id}, 0).Err()
	}
	return h.GetReport(), nil
}

func (s *dutyService) UpdateReport(ctx context.Context, req *yizhanv1.UpdateReportRequest) (*yizhanv1.HeldReport, error) {
	p, err := s.dutyStaff(ctx, "changing an urgent report", false)
	if err != nil {
		return nil, err
	}
	if req.GetReport() == nil {
		return nil, fieldReasonError("report", registry.ReasonRequired, "is required")
	}
	r, err := clientRequest(ctx, "UpdateReport", req)
	if err != nil {
		return nil, err
	}
	return atLeader(ctx, s.n, yizhanv1.NewDutyServiceClient, func() (*yizhanv1.HeldReport, error) {
		// A retry of a change made answers as it did, before the draft
		// (signed since, perhaps) is looked at.
		if v, ok, err := s.replayedOrRostered(ctx, r, p, false); err != nil || ok {
			return v, err
		}
		held, err := s.heldDraft(req.GetId())
		if err != nil {
			return nil, err
		}
		next := written(req.GetReport())
		next.Kind, next.FirstId = held.GetKind(), held.GetFirstId() // what a draft is does not change
		if err := s.content(next); err != nil {
			return nil, err
		}
		next.Id, next.OfficeCode, next.FollowUpNumber = held.GetId(), held.GetOfficeCode(), held.GetFollowUpNumber()
		next.Reporter, next.ReporterName, next.WrittenAt = held.GetReporter(), held.GetReporterName(), held.GetWrittenAt()
		next.State, next.Version = held.GetState(), held.GetVersion()+1
		// The limit stamped when it was written stays, whatever the
		// policy says since, unless the category or level changes it.
		next.LimitMinutes = held.GetLimitMinutes()
		if next.GetCategory() != held.GetCategory() || next.GetLevel() != held.GetLevel() {
			next.LimitMinutes = s.limitOf(next)
		}
		if err := hourKept(held, next, s.n.now()); err != nil {
			return nil, err
		}
		return s.put(ctx, r, next)
	}, func(ctx context.Context, cl yizhanv1.DutyServiceClient) (*yizhanv1.HeldReport, error) {
		return cl.UpdateReport(ctx, req)
	})
}

func (s *dutyService) SignReport(ctx context.Context, req *yizhanv1.SignReportRequest) (*yizhanv1.HeldReport, error) {
	p, err := s.dutyStaff(ctx, "signing an urgent report", true)
	if err != nil {
		return nil, err
	}
	r, err := clientRequest(ctx, "SignReport", req)
	if err != nil {
		return nil, err
	}
	return atLeader(ctx, s.n, yizhanv1.NewDutyServiceClient, func() (*yizhanv1.HeldReport, error) {
		if v, ok, err := s.replayedOrRostered(ctx, r, p, true); err != nil || ok {
			return v, err
		}
		if err := s.signing.lock(ctx); err != nil {
			return nil, toStatus(err)
		}
		defer s.signing.unlock()
		for attempt := 1; ; attempt++ {
			held, err := s.heldDraft(req.GetId())
			if err != nil {
				return nil, err
			}
			if err := s.open(held); err != nil {
				return nil, err
			}
			signed := duty.Sign(held, p.Username, p.Name, s.n.now())
			if signed.GetKind() != yizhanv1.ReportKind_REPORT_KIND_FIRST {
				// The matter's next number, now that it is sent: one
				// signature at a time here, and the book checks it.
				signed.FollowUpNumber = s.n.office.Cases().NextFollowUpNumber(signed.GetFirstId())
			}
			v, err := s.put(ctx, r, signed)
			// Another node, leader a moment ago, signed one of the
			// matter's reports meanwhile: number it again.
			if attempt < 3 && errors.Is(err, casebook.ErrFollowUpNumber) {
				continue
			}
			return v, err
		}
	}, func(ctx context.Context, cl yizhanv1.DutyServiceClient) (*yizhanv1.HeldReport, error) {
		return cl.SignReport(ctx, req)
	})
}

// signLock lets the office's leader sign one report at a time, so that
// each follow-up takes its matter's next number (the book refuses a
// number taken meanwhile). A caller that gives up waiting is answered.
type signLock struct {
	once sync.Once
	ch   chan struct{}
}

func (l *signLock) lock(ctx context.Context) error {
	l.once.Do(func() { l.ch = make(chan struct{}, 1) })
	select {
	case l.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *signLock) unlock() { <-l.ch }

func (s *dutyService) AcknowledgeReport(ctx context.Context, req *yizhanv1.AcknowledgeReportRequest) (*yizhanv1.HeldReport, error) {
	p, err := s.dutyStaff(ctx, "acknowledging an urgent report", false)
	if err != nil {
		return nil, err
	}
	if v := registry.CheckLine("id", req.GetId(), registry.MaxCodeLen); v != nil {
		return nil, invalidArgument(*v)
	}
	if err := checkText("request", req.GetRequest(), false); err != nil {
		return nil, err
	}
	if m := req.GetFollowUpMinutes(); m != 0 && (m < 30 || m > 1440) {
		return nil, fieldError("follow_up_minutes", registry.ReasonOutOfRange, reason.Meta{"min": "30", "max": "1440", "got": reason.Itoa(m)},
			"follow-ups every 30 minutes to 24 hours (0: when there is news)")
	}
	r, err := clientRequest(ctx, "AcknowledgeReport", req)
	if err != nil {
		return nil, err
	}
	return atLeader(ctx, s.n, yizhanv1.NewDutyServiceClient, func() (*yizhanv1.HeldReport, error) {
		// A retry of an acknowledgement made answers as it did; else,
		// while a shift is on, only those on it acknowledge.
		if v, ok, err := s.replayedOrRostered(ctx, r, p, false); err != nil || ok {
			return v, err
		}
		h, ok := s.n.office.Cases().Report(req.GetId())
		switch {
		case req.GetId() == "":
			return nil, fieldReasonError("id", registry.ReasonRequired, "is required")
		case !ok || h.GetReport().GetState() != yizhanv1.ReportState_REPORT_STATE_SIGNED:
			return nil, reason.Status(reason.NotFound, fmt.Sprintf("no signed report %s here (it may still be on its way up)", req.GetId()), reason.Meta{"id": req.GetId()}, 0).Err()
		// What the book checks again where it is applied; here so that a
		// refusal costs no raft entry. (A retry of an acknowledgement made
		// is answered above, by its request ID.)
		case h.GetReport().GetOfficeCode() == s.n.office.Code():
			return nil, toStatus(fmt.Errorf("%w: an office acknowledges the reports from below it, not its own", auth.ErrPermissionDenied))
		case slices.ContainsFunc(h.GetAcks(), func(a *yizhanv1.ReportAck) bool { return a.GetOfficeCode() == s.n.office.Code() }):
			return nil, reason.Status(reason.FailedPrecondition, fmt.Sprintf("report %s is acknowledged here already", req.GetId()), reason.Meta{"id": req.GetId()}, 0).Err()
		}
		a := &yizhanv1.ReportAck{Id: duty.AckID(s.n.office.Code(), req.GetId()), ReportId: req.GetId(), OfficeCode: s.n.office.Code(),
			By: p.Username, ByName: p.Name, At: timestamppb.New(s.n.now()), Request: strings.TrimSpace(req.GetRequest()), FollowUpMinutes: req.GetFollowUpMinutes()}
		v, replayed, err := s.n.svc.Acknowledge(ctx, r, a)
		return v, replayedAnswer(ctx, replayed, err)
	}, func(ctx context.Context, cl yizhanv1.DutyServiceClient) (*yizhanv1.HeldReport, error) {
		return cl.AcknowledgeReport(ctx, req)
	})
}

func (s *dutyService) GetReport(ctx context.Context, req *yizhanv1.GetReportRequest) (*yizhanv1.HeldReport, error) {
	if v := registry.CheckLine("id", req.GetId(), registry.MaxCodeLen); v != nil {
		return nil, invalidArgument(*v)
	}
	office := duty.ReportOffice(req.GetId())
	if office == "" || registry.ValidCode(office) != nil {
		return nil, fieldError("id", registry.ReasonInvalidFormat, reason.Meta{"format": "REPORT_ID"}, "not a report's id")
	}
	if _, err := s.readScope(ctx, office); err != nil {
		return nil, err
	}
	h, ok := s.n.office.Cases().Report(req.GetId())
	if !ok {
		return nil, reason.Status(reason.NotFound, fmt.Sprintf("no report %s here", req.GetId()), reason.Meta{"id": req.GetId()}, 0).Err()
	}
	if h.GetReport().GetState() == yizhanv1.ReportState_REPORT_STATE_SIGNED && h.GetReport().GetOfficeCode() == s.n.office.Code() {
		h = proto.CloneOf(h)
		s.countyAcks(ctx, []*yizhanv1.HeldReport{h}, &yizhanv1.ListReportsRequest{FirstId: req.GetId()})
	}
	return h, nil
}

func (s *dutyService) ListReports(ctx context.Context, req *yizhanv1.ListReportsRequest) (*yizhanv1.ListReportsResponse, error) {
	scope, err := s.readScope(ctx, req.GetOfficeCode())
	if err != nil {
		return nil, err
	}
	if v := registry.CheckLine("first_id", req.GetFirstId(), registry.MaxCodeLen); v != nil {
		return nil, invalidArgument(*v)
	}
	limit, err := pageSizeOf(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	if err := knownEnum("state", req.GetState()); err != nil {
		return nil, err
	}
	if err := knownEnum("scope", req.GetScope()); err != nil {
		return nil, err
	}
	if req.GetUnacknowledged() && req.GetScope() == yizhanv1.ReportScope_REPORT_SCOPE_OWN {
		return nil, fieldError("scope", registry.ReasonOutOfRange, reason.Meta{"enum": "ReportScope", "got": reason.Itoa(int32(req.GetScope()))},
			"the reports waiting for acknowledgement are from below: not OWN with unacknowledged")
	}
	// The county pages its copy of this office's reports by the same
	// token (countyAcks): the query is the office's, named.
	pages := queryOf("ListReports", scope, req.GetState(), req.GetFirstId(), req.GetUnacknowledged(), req.GetScope())
	pos, err := pages.position(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	q := casebook.ReportQuery{Office: scope, State: req.GetState(), FirstID: req.GetFirstId(), Unacknowledged: req.GetUnacknowledged(), Limit: limit,
		PageToken: pos, Scope: req.GetScope()}
	if q.Unacknowledged {
		// This office's own index: every report from below it that waits
		// for its acknowledgement, sibling offices' among them. It is read
		// by this office's staff and those above it (readScope), never by
		// an office below, which reads only its own reports.
		if scope != s.n.office.Code() {
			return nil, toStatus(fmt.Errorf("%w: the reports waiting for acknowledgement here are read by the staff of office %s and of the offices above it, not of office %s",
				auth.ErrPermissionDenied, s.n.office.Code(), scope))
		}
		q.Office = ""
	}
	rs, next, err := s.n.office.Cases().Reports(q)
	if err != nil {
		return nil, listError(err)
	}
	if !q.Unacknowledged && scope == s.n.office.Code() {
		// The same page at the county: a token is a report's time and
		// id, the same in every book, and the county holds of this
		// office's reports the signed ones only, so its page holds
		// every one of this page that it holds.
		s.countyAcks(ctx, rs, &yizhanv1.ListReportsRequest{OfficeCode: scope, State: req.GetState(), FirstId: req.GetFirstId(),
			PageSize: req.GetPageSize(), PageToken: req.GetPageToken(), Scope: req.GetScope()})
	}
	return &yizhanv1.ListReportsResponse{Reports: rs, NextPageToken: pages.token(next)}, nil
}

// countyAcks adds to the reports of this office the acknowledgements the
// county holds (every office above acknowledges there, and they travel
// up, not down), read with req at the county. Best effort, and short:
// cut off, the reports are answered as held here.
func (s *dutyService) countyAcks(ctx context.Context, rs []*yizhanv1.HeldReport, req *yizhanv1.ListReportsRequest) {
	county := federation.CountyOf(s.n.office.Code())
	own := slices.ContainsFunc(rs, func(h *yizhanv1.HeldReport) bool {
		return h.GetReport().GetOfficeCode() == s.n.office.Code() && h.GetReport().GetState() == yizhanv1.ReportState_REPORT_STATE_SIGNED
	})
	if county == s.n.office.Code() || !own {
		return
	}
	fctx, cancel := context.WithTimeout(ctx, ackReadTimeout)
	defer cancel()
	var up *yizhanv1.ListReportsResponse
	err := s.n.office.ForwardToOffice(fctx, county, func(ctx context.Context, conn *grpc.ClientConn) error {
		var err error
		up, err = yizhanv1.NewDutyServiceClient(conn).ListReports(ctx, req)
		return err
	})
	if err != nil {
		return
	}
	acks := map[string][]*yizhanv1.ReportAck{}
	for _, h := range up.GetReports() {
		acks[h.GetReport().GetId()] = h.GetAcks()
	}
	for _, h := range rs {
		for _, a := range acks[h.GetReport().GetId()] {
			if h.GetReport().GetOfficeCode() == s.n.office.Code() &&
				!slices.ContainsFunc(h.Acks, func(b *yizhanv1.ReportAck) bool { return b.GetId() == a.GetId() }) {
				h.Acks = append(h.Acks, a)
			}
		}
		casebook.SetNextFollowUp(h) // an interval asked above counts here too
	}
}
