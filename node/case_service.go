package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/forward"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/office"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// caseService files cases and moves them through their life. Actions run
// on the leader of the office that owns the case; a follower forwards
// them there. Reads are answered where the case is held, or forwarded up
// the tree, where the county holds every case.
type caseService struct {
	yizhanv1.UnsafeCaseServiceServer
	n *Node

	filings *filingLimiter // anonymous online filings per client address
}

var _ yizhanv1.CaseServiceServer = (*caseService)(nil)

// optionalPrincipal returns the signed-in staff member, nil for a caller
// without a token, or an error for a bad token.
func (s *caseService) optionalPrincipal(ctx context.Context) (*auth.Principal, error) {
	if auth.BearerToken(ctx) == "" {
		return nil, nil
	}
	p, err := s.n.authn.FromContext(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return p, nil
}

func actorOf(p *auth.Principal) casework.Actor {
	if p == nil {
		return casework.Actor{Username: "citizen", Name: "申请人", Citizen: true}
	}
	return casework.Actor{Username: p.Username, Name: p.Name, Office: p.Office, Department: p.Department, Roles: p.Roles}
}

// onLeader runs f here when this node leads its office (the service
// layer's writes answer raftgroup.ErrNotLeader elsewhere), else forwards
// the call to the leader.
func onLeader[Resp proto.Message](ctx context.Context, s *caseService, f func() (Resp, error),
	forward func(ctx context.Context, c yizhanv1.CaseServiceClient) (Resp, error)) (Resp, error) {
	resp, err := whenLeaderReady(ctx, s.n, f)
	if !office.Forwardable(err) {
		return resp, toStatus(err)
	}
	err = s.n.office.ForwardToLeader(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
		var err error
		resp, err = forward(ctx, yizhanv1.NewCaseServiceClient(conn))
		return err
	})
	return resp, err
}

func (s *caseService) FileCase(ctx context.Context, req *yizhanv1.FileCaseRequest) (*yizhanv1.CaseResponse, error) {
	p, err := s.optionalPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	// The limits before anything quotes the request or forwards it.
	if err := casework.CheckFileRequest(req); err != nil {
		return nil, toStatus(err)
	}
	here := s.n.office.Code()
	if oc := req.GetOfficeCode(); oc != "" && oc != here {
		if p == nil && oc != here && registry.ValidCode(oc) == nil && registry.IsAncestorOrSelf(oc, here) {
			// A citizen filing online here for an item an office above takes
			// in: the filing goes there, as if made on its site (its
			// pre-check, its receipt).
			var resp *yizhanv1.CaseResponse
			err := s.n.office.ForwardToOffice(ctx, oc, func(ctx context.Context, conn *grpc.ClientConn) error {
				var err error
				resp, err = yizhanv1.NewCaseServiceClient(conn).FileCase(passClientAddr(ctx), req)
				return err
			})
			return resp, err
		}
		return nil, fieldError("office_code", reason.WrongOffice, reason.Meta{"office": here, "want": oc},
			fmt.Sprintf("this node serves office %s: file at a node of %s", here, oc))
	}
	if p != nil && p.Office != here {
		return nil, toStatus(fmt.Errorf("%w: %s works at office %s, not %s", auth.ErrPermissionDenied, p.Username, p.Office, here))
	}
	if req.GetItemCode() == "" {
		return nil, fieldReasonError("item_code", registry.ReasonRequired, "is required")
	}
	r, err := clientRequest(ctx, "FileCase", req)
	if err != nil {
		return nil, err
	}
	giveBack, err := s.checkOnlineFiling(ctx, p)
	if giveBack, err = s.unlessDone(r, giveBack, err); err != nil {
		return nil, err
	}
	// Only a new case costs the address a filing: a refused one, or a
	// retry the office had filed already, is given back.
	replayed := false
	resp, err := onLeader(ctx, s, func() (*yizhanv1.CaseResponse, error) {
		filed, err := s.n.svc.File(ctx, office.Filing{Request: r, ItemCode: req.GetItemCode(),
			Applicant: req.GetApplicant(), Materials: req.GetMaterials(), Actor: actorOf(p)})
		if err != nil {
			return nil, err
		}
		if filed.Replayed {
			replayed = true
			markReplayed(ctx)
		}
		c := s.presentWith(filed.Case, filed.Events, p)
		c.QueryCode = filed.QueryCode
		return &yizhanv1.CaseResponse{Case: c}, nil
	}, func(ctx context.Context, c yizhanv1.CaseServiceClient) (*yizhanv1.CaseResponse, error) {
		var header metadata.MD
		resp, err := c.FileCase(ctx, req, grpc.Header(&header))
		replayed = replayedBy(header)
		return resp, err
	})
	if replayed || (err != nil && !mayHaveBeenDone(err)) {
		giveBack()
	}
	return resp, err
}

// mayHaveBeenDone reports whether a write that answered err may have been
// done all the same (its reason says to look first, or it has none).
func mayHaveBeenDone(err error) bool {
	if d, ok := reason.Lookup(reason.StatusReason(err)); ok {
		return d.Retry == reason.RetryLook
	}
	return true
}

// notOnPath is the answer to staff asking for a case that does not pass
// through their office.
func notOnPath(number, office string) error {
	return reason.Status(reason.NotOnPath, fmt.Sprintf("case %s is not on the path of office %s", number, office),
		reason.Meta{"number": number, "office": office}, 0).Err()
}

// present prepares a case for the caller: its clocks, the appeal notice
// of a refusal or a denial, whether this office holds only a mirror, and
// the applicant's ID number, phone and address
// masked unless the caller is staff who handle the case.
func (s *caseService) present(c *yizhanv1.Case, p *auth.Principal) *yizhanv1.Case {
	return s.presentWith(c, nil, p)
}

// presentWith is present with c's log, when the caller has it (nil: read
// from the book).
func (s *caseService) presentWith(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, p *auth.Principal) *yizhanv1.Case {
	c = proto.CloneOf(c)
	reg := s.n.office.Registry()
	if events == nil {
		events = s.n.office.Cases().Events(c.GetNumber())
	}
	if n := int(c.GetLastSeq()); n > 0 && n < len(events) {
		// An answer replayed: the case as it stood then, its log then
		// (not the clocks and appeal notice of what came after).
		events = events[:n]
	}
	c.Deadlines = casework.Clocks(c, events, reg, s.n.now())
	c.AppealNotice = casework.AppealNotice(events, reg)
	c.Mirror = c.GetOwnerOffice() != s.n.office.Code()
	c.AllowedActions = s.allowedActions(c, events, p)
	if !(p != nil && handles(p, c)) {
		casework.MaskApplicant(c.GetApplicant())
	}
	if !seesScans(p, c, events) {
		casework.HideFiles(c)
	}
	return c
}

// seesScans reports whether p may download c's scanned files (events is
// c's log): staff who handle the case, of its departments at the county
// (casework.DepartmentSees). To anyone else the case shows its files
// without their hashes and names (casework.HideFiles): a filing names a file
// its office holds by its hash, and so the hash is the key to the file.
func seesScans(p *auth.Principal, c *yizhanv1.Case, events []*yizhanv1.CaseEvent) bool {
	return p != nil && handles(p, c) && len(events) > 0 && casework.DepartmentSees(actorOf(p), events[0].GetFiling())
}

// allowedActions are the actions the caller may take on c now
// (Case.allowed_actions), by casework's rule table (AllowedActions, the
// checks of NewEvent): for staff of this office, what this office would
// accept from them (nothing in a mirror: the office does not hold the
// case); for staff of another office, nothing (act refuses them); for the
// citizen (p nil: the query code was checked), what the owner this copy
// names would accept, where the citizen's request goes. events is c's
// log (up to c: presentWith trims it for an answer replayed).
func (s *caseService) allowedActions(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, p *auth.Principal) []string {
	office := s.n.office.Code()
	switch {
	case p == nil:
		office = c.GetOwnerOffice()
	case p.Office != office || c.GetOwnerOffice() != office:
		// Staff of an office on the route but not holding the case (a copy
		// here, or asked here from below) may hand in the corrections,
		// which go to the owner, and, where it was filed, reissue its query
		// code; nothing else.
		var out []string
		if c.GetState() == yizhanv1.CaseState_CASE_STATE_CORRECTION_REQUESTED && slices.Contains(casework.PathUp(c.GetOriginOffice()), p.Office) &&
			p.Office != c.GetOwnerOffice() && slices.ContainsFunc(casework.ActionResubmit.Roles(), p.Has) {
			out = append(out, casework.ActionResubmit.String())
		}
		if p.Office == c.GetOriginOffice() && p.Office != c.GetOwnerOffice() && slices.ContainsFunc(casework.ActionReissueQueryCode.Roles(), p.Has) {
			out = append(out, casework.ActionReissueQueryCode.String())
		}
		return out
	}
	var out []string
	for _, a := range casework.AllowedActions(c, events, actorOf(p), office, s.n.now(), s.n.office.Registry()) {
		out = append(out, a.String())
	}
	return out
}

// onPath reports whether office is on the path of case number (from the
// office where it was filed up to the county), as this node holds it.
func (s *caseService) onPath(number, office string) bool {
	c, ok := s.n.office.Cases().Case(number)
	return ok && slices.Contains(casework.PathUp(c.GetOriginOffice()), office)
}

// handles reports whether a staff member handles a case: their office
// owns it or does a step of its route.
func handles(p *auth.Principal, c *yizhanv1.Case) bool {
	if p.Office == c.GetOwnerOffice() || p.Office == c.GetOriginOffice() {
		return true
	}
	for _, st := range c.GetRoute() {
		if st.GetOfficeCode() == p.Office {
			return true
		}
	}
	return false
}

// mayRead reports whether a staff member may see a case: their office is
// on its path up to the county.
func mayRead(p *auth.Principal, c *yizhanv1.Case) bool {
	return slices.Contains(casework.PathUp(c.GetOriginOffice()), p.Office) || handles(p, c)
}

// readable finds a case held here and checks the caller may see it. found
// is false when this node does not hold the case.
func (s *caseService) readable(ctx context.Context, number, queryCode string) (c *yizhanv1.Case, p *auth.Principal, found bool, err error) {
	if number == "" {
		return nil, nil, false, fieldReasonError("number", registry.ReasonRequired, "is required")
	}
	// Bounded before anything counts or forwards them: the attempt
	// limiters keep them as keys.
	for _, v := range []*registry.FieldViolation{
		registry.CheckLine("number", number, registry.MaxCodeLen),
		registry.CheckLine("query_code", queryCode, registry.MaxCodeLen),
	} {
		if v != nil {
			return nil, nil, false, invalidArgument(*v)
		}
	}
	p, err = s.optionalPrincipal(ctx)
	if err != nil {
		return nil, nil, false, err
	}
	c, ok, damaged := s.caseHeld(number)
	if ok && p != nil && mayRead(p, c) {
		return c, p, true, damaged
	}
	switch {
	case queryCode == "" && p == nil:
		return nil, nil, true, errNoCase // nothing guessed, nothing counted, nothing sent up
	case queryCode == "" && !ok:
		return nil, p, false, nil // the offices above may hold it
	case queryCode == "" && p != nil:
		return nil, nil, true, notOnPath(number, p.Office)
	case queryCode == "":
		return nil, nil, true, errNoCase // nothing guessed: nothing counted
	case !ok && !s.n.office.IsCounty():
		return nil, p, false, nil
	}
	// A query code: the citizen's authority, counted and checked here, by
	// the first node that holds the case (or by the county, for a number
	// no one holds).
	var filing *yizhanv1.CaseFiling
	if ok {
		filing = s.filingOf(number)
	}
	switch err := s.checkQueryCode(ctx, number, queryCode, filing); {
	case errors.Is(err, errCannotCheck) && !s.n.office.IsCounty():
		return nil, p, false, nil
	case err != nil:
		return nil, nil, true, err
	}
	return c, nil, true, damaged
}

// caseHeld is the case with the given number as this node holds it, and
// when the book cannot read its log whole (casebook.ErrDamaged: its
// record without all its events) the error that says so, naming the case
// (DATA_LOSS, CASE_DAMAGED; the book logs it once): answered to a caller
// who may see the case, in place of it, rather than the case shown, or
// acted on, from what is left.
func (s *caseService) caseHeld(number string) (*yizhanv1.Case, bool, error) {
	c, _, ok, err := s.n.office.Cases().Read(number)
	if errors.Is(err, casebook.ErrDamaged) {
		c, ok = s.n.office.Cases().Case(number)
		return c, ok, toStatus(err)
	}
	if err != nil {
		c, ok = s.n.office.Cases().Case(number) // as before: a failed read is a case not held
	}
	return c, ok, nil
}

func (s *caseService) GetCase(ctx context.Context, req *yizhanv1.GetCaseRequest) (*yizhanv1.CaseResponse, error) {
	c, p, found, err := s.readable(ctx, req.GetNumber(), req.GetQueryCode())
	if err != nil {
		return nil, err
	}
	up := func(ctx context.Context, cl yizhanv1.CaseServiceClient) (*yizhanv1.CaseResponse, error) {
		return cl.GetCase(ctx, req)
	}
	if !found {
		return forwardUp(ctx, s, req.GetNumber(), up)
	}
	local := false
	if s.staleMirror(c) {
		resp, err := forwardUp(ctx, s, req.GetNumber(), up)
		if !unreachable(err) && !inTransit(err) {
			return resp, err
		}
		// Cut off from above, this office's copy is the best answer; not
		// there yet (still in the mail), it is the newest there is.
		local = unreachable(err)
	}
	return &yizhanv1.CaseResponse{Case: s.present(c, p), LocalCopy: local}, nil
}

// staleMirror reports whether this node's copy of a case may be behind:
// the case has moved on to another office, and this office is not the
// county (which every office mirrors its cases to). The offices above
// know more.
func (s *caseService) staleMirror(c *yizhanv1.Case) bool {
	return c.GetOwnerOffice() != s.n.office.Code() && !s.n.office.IsCounty()
}

// unreachable reports whether a forwarded read found no office above
// that answered in time.
func unreachable(err error) bool {
	c := status.Code(err)
	return err != nil && (c == codes.Unavailable || c == codes.DeadlineExceeded)
}

// inTransit reports whether the offices above answered that they hold no
// such case, about a case this office handed on: it is still in the mail.
func inTransit(err error) bool { return status.Code(err) == codes.NotFound }

// forwardUp asks the offices above for a case this node does not hold
// (a read: a node that does not answer in time is passed over).
func forwardUp[Resp proto.Message](ctx context.Context, s *caseService, number string,
	call func(ctx context.Context, c yizhanv1.CaseServiceClient) (Resp, error)) (Resp, error) {
	var zero Resp
	if s.n.office.IsCounty() {
		return zero, errNoCase
	}
	var resp Resp
	err := s.n.office.ReadUp(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
		var err error
		resp, err = call(passClientAddr(ctx), yizhanv1.NewCaseServiceClient(conn))
		return err
	})
	return resp, err
}

func (s *caseService) ListCaseEvents(ctx context.Context, req *yizhanv1.ListCaseEventsRequest) (*yizhanv1.ListCaseEventsResponse, error) {
	c, p, found, err := s.readable(ctx, req.GetNumber(), req.GetQueryCode())
	if err != nil {
		return nil, err
	}
	up := func(ctx context.Context, cl yizhanv1.CaseServiceClient) (*yizhanv1.ListCaseEventsResponse, error) {
		return cl.ListCaseEvents(ctx, req)
	}
	if !found {
		return forwardUp(ctx, s, req.GetNumber(), up)
	}
	local := false
	if s.staleMirror(c) {
		resp, err := forwardUp(ctx, s, req.GetNumber(), up)
		if !unreachable(err) && !inTransit(err) {
			return resp, err
		}
		local = unreachable(err)
	}
	events := s.n.office.Cases().Events(c.GetNumber())
	valid := s.verify(c.GetNumber(), events) == nil
	scans := seesScans(p, c, events)
	out := make([]*yizhanv1.CaseEvent, 0, len(events))
	for _, e := range events {
		e = proto.CloneOf(e)
		if !scans {
			casework.HideFiles(e)
		}
		e.SignerChain = nil                  // large, and of no use to a reader
		e.QueryCodeHash = nil                // a reissued code's: no one's to guess against
		e.RequestId, e.RequestHash = "", nil // the office's, to answer a retry
		if f := e.GetFiling(); f != nil {
			f.QueryCodeHash = nil
			if !(p != nil && handles(p, c)) {
				casework.MaskApplicant(f.GetApplicant())
			}
		}
		out = append(out, e)
	}
	return &yizhanv1.ListCaseEventsResponse{Events: out, ChainValid: valid, LocalCopy: local}, nil
}

// verify checks a case's hash chain and every event's signature.
func (s *caseService) verify(number string, events []*yizhanv1.CaseEvent) error {
	if err := casework.VerifyChain(number, events); err != nil {
		return err
	}
	for _, e := range events {
		if err := s.n.office.VerifyEventSignature(e); err != nil {
			return err
		}
	}
	return nil
}

func (s *caseService) VerifyCase(ctx context.Context, req *yizhanv1.VerifyCaseRequest) (*yizhanv1.VerifyCaseResponse, error) {
	p, err := s.n.authn.FromContext(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	if req.GetNumber() == "" {
		return nil, fieldReasonError("number", registry.ReasonRequired, "is required")
	}
	if v := registry.CheckLine("number", req.GetNumber(), registry.MaxCodeLen); v != nil {
		return nil, invalidArgument(*v)
	}
	c, ok, damaged := s.caseHeld(req.GetNumber())
	if !ok {
		return forwardUp(ctx, s, req.GetNumber(), func(ctx context.Context, cl yizhanv1.CaseServiceClient) (*yizhanv1.VerifyCaseResponse, error) {
			return cl.VerifyCase(ctx, req)
		})
	}
	if !mayRead(p, c) {
		return nil, notOnPath(req.GetNumber(), p.Office)
	}
	if damaged != nil {
		// This node's copy is damaged: what it holds is not valid.
		return &yizhanv1.VerifyCaseResponse{Valid: false, Problem: status.Convert(damaged).Message()}, nil
	}
	events := s.n.office.Cases().Events(req.GetNumber())
	resp := &yizhanv1.VerifyCaseResponse{Valid: true, Events: uint32(len(events))}
	if err := s.verify(req.GetNumber(), events); err != nil {
		resp.Valid, resp.Problem = false, err.Error()
	}
	return resp, nil
}

func (s *caseService) ListCases(ctx context.Context, req *yizhanv1.ListCasesRequest) (*yizhanv1.ListCasesResponse, error) {
	p, err := s.n.authn.FromContext(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	office := req.GetOfficeCode()
	if office == "" {
		office = p.Office
	}
	if office != p.Office && !(p.Has(yizhanv1.Role_ROLE_ADMIN) && registry.IsAncestorOrSelf(p.Office, office)) {
		return nil, toStatus(fmt.Errorf("%w: %s may list the cases of office %s only", auth.ErrPermissionDenied, p.Username, p.Office))
	}
	size, err := pageSizeOf(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	var from, to time.Time
	if t := req.GetFiledFrom(); t != nil {
		from = t.AsTime()
	}
	if t := req.GetFiledTo(); t != nil {
		to = t.AsTime()
	}
	if req.GetOverdue() && (req.GetHistory() || req.GetApplicant() != "" || !from.IsZero() || !to.IsZero() || casework.Final(req.GetState())) {
		return nil, fieldError("overdue", registry.ReasonInvalidFormat, reason.Meta{"format": "QUEUE_ONLY"}, "keeps the queue's late cases: not with history, dates, an applicant or a final state")
	}
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return nil, fieldError("filed_to", registry.ReasonOutOfRange, reason.Meta{"min": from.Format(time.RFC3339)}, "must be after filed_from")
	}
	for _, v := range []*registry.FieldViolation{
		registry.CheckLine("applicant", req.GetApplicant(), registry.MaxNameLen),
		registry.CheckLine("department_code", req.GetDepartmentCode(), registry.MaxCodeLen),
		registry.CheckLine("item_code", req.GetItemCode(), registry.MaxCodeLen),
	} {
		if v != nil {
			return nil, invalidArgument(*v)
		}
	}
	if err := knownEnum("state", req.GetState()); err != nil {
		return nil, err
	}
	pages := queryOf("ListCases", office, req.GetState(), req.GetItemCode(), req.GetDepartmentCode(), from, to, req.GetApplicant(), req.GetHistory(), req.GetOverdue())
	pos, err := pages.position(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	// The page's cases, read and presented, held within the
	// node's room for listings (takeListing).
	if err := s.n.takeListing(ctx, size); err != nil {
		return nil, err
	}
	defer s.n.giveListing(size)
	book := s.n.office.Cases()
	var (
		cases []*yizhanv1.Case
		next  string
	)
	switch {
	case req.GetApplicant() != "":
		q := casebook.ApplicantQuery{Office: office, State: req.GetState(), ItemCode: req.GetItemCode(), Department: req.GetDepartmentCode(),
			FiledFrom: from, FiledTo: to, PageSize: size, PageToken: pos}
		var by, key string // for the record of the search: the key masked
		switch a := strings.TrimSpace(req.GetApplicant()); {
		case casework.ValidIDNumber(strings.ToUpper(a)) == nil: // the check character typed as x
			q.IDNumber, by, key = a, "id_number", casework.MaskIDNumber(a)
		case len(a) == 18 && casework.ValidCreditCode(strings.ToUpper(a)) == nil:
			q.CreditCode, by, key = strings.ToUpper(a), "credit_code", strings.ToUpper(a)
		case casework.ValidPhone(a) == nil:
			q.Phone, by, key = a, "phone", casework.MaskPhone(a)
		default:
			q.Name, by = a, "name" // the name itself is not logged: the cases found say whose
		}
		cases, next, err = book.ByApplicant(q, s.n.office.Registry())
		if err == nil {
			s.logApplicantSearch(p, office, by, key, cases)
		}
	case req.GetHistory() || !from.IsZero() || !to.IsZero() || casework.Final(req.GetState()):
		cases, next, err = book.List(casebook.ListQuery{Office: office, State: req.GetState(), ItemCode: req.GetItemCode(),
			Department: req.GetDepartmentCode(), FiledFrom: from, FiledTo: to, PageSize: size, PageToken: pos})
	default:
		q := casebook.QueueQuery{Office: office, State: req.GetState(), ItemCode: req.GetItemCode(),
			Department: req.GetDepartmentCode(), PageSize: size, PageToken: pos}
		if req.GetOverdue() {
			q.OverdueAt, q.Registry = s.n.now(), s.n.office.Registry()
		}
		cases, next, err = book.Queue(q)
	}
	if err != nil {
		return nil, listError(err)
	}
	resp := &yizhanv1.ListCasesResponse{NextPageToken: pages.token(next)}
	for _, c := range cases {
		resp.Cases = append(resp.Cases, s.present(c, p))
	}
	return resp, nil
}

// logApplicantSearch keeps the record of a staff search for a citizen's
// cases (docs/logging.md, audit=applicant_search): who searched which
// office's book, by what kind of key (an ID number or a phone masked as
// shown to those who do not handle a case, a company's credit code as
// typed, never a name), and the numbers of the cases found, which say
// whose without the log holding the citizen's data in clear. A page
// further of the same search is a line of its own.
func (s *caseService) logApplicantSearch(p *auth.Principal, office, by, key string, found []*yizhanv1.Case) {
	numbers := make([]string, len(found))
	for i, c := range found {
		numbers[i] = c.GetNumber()
	}
	s.n.log.Info("personal data searched: a citizen's cases by applicant", "audit", "applicant_search",
		"staff", p.Username, "staff_office", p.Office, "office", office, "by", by, "key", key,
		"found", len(found), "cases", strings.Join(numbers, ","))
}

// citizenOnly reports whether only the citizen may ask for action, with
// the case's number and query code: a rating (好差评) or a complaint (the
// rule table's).
func citizenOnly(action casework.Action) bool { return action.CitizenOnly() }

// actionRPCs are the client methods of the actions, for sending an action
// on to another node: one for each action casework's rule table lets staff
// or the citizen ask for (casework.AskedActions; a test checks).
var actionRPCs = map[casework.Action]func(yizhanv1.CaseServiceClient, context.Context, *yizhanv1.CaseActionRequest, ...grpc.CallOption) (*yizhanv1.CaseResponse, error){
	casework.ActionAccept:            yizhanv1.CaseServiceClient.Accept,
	casework.ActionRequestCorrection: yizhanv1.CaseServiceClient.RequestCorrection,
	casework.ActionResubmit:          yizhanv1.CaseServiceClient.Resubmit,
	casework.ActionRefuse:            yizhanv1.CaseServiceClient.Refuse,
	casework.ActionReview:            yizhanv1.CaseServiceClient.Review,
	casework.ActionDecide:            yizhanv1.CaseServiceClient.Decide,
	casework.ActionCertify:           yizhanv1.CaseServiceClient.Certify,
	casework.ActionAssessFee:         yizhanv1.CaseServiceClient.AssessFee,
	casework.ActionPay:               yizhanv1.CaseServiceClient.Pay,
	casework.ActionCorrectFee:        yizhanv1.CaseServiceClient.CorrectFee,
	casework.ActionDeliver:           yizhanv1.CaseServiceClient.Deliver,
	casework.ActionWithdraw:          yizhanv1.CaseServiceClient.Withdraw,
	casework.ActionSuspend:           yizhanv1.CaseServiceClient.Suspend,
	casework.ActionResume:            yizhanv1.CaseServiceClient.Resume,
	casework.ActionExtend:            yizhanv1.CaseServiceClient.Extend,
	casework.ActionGiveOpinion:       yizhanv1.CaseServiceClient.GiveOpinion,
	casework.ActionRate:              yizhanv1.CaseServiceClient.Rate,
	casework.ActionComplain:          yizhanv1.CaseServiceClient.Complain,
	casework.ActionPrecheck:          yizhanv1.CaseServiceClient.Precheck,
	casework.ActionRejectPrecheck:    yizhanv1.CaseServiceClient.RejectPrecheck,
	casework.ActionReissueQueryCode:  yizhanv1.CaseServiceClient.ReissueQueryCode,
}

// act runs one staff (or citizen) action on a case this office owns. The
// citizen's actions (withdraw, rate, complain: with the query code) may be
// asked for at any office: they go to the office that owns the case.
func (s *caseService) act(ctx context.Context, req *yizhanv1.CaseActionRequest, action casework.Action) (*yizhanv1.CaseResponse, error) {
	ctx = pinClientAddr(ctx)
	forward := func(ctx context.Context, c yizhanv1.CaseServiceClient) (*yizhanv1.CaseResponse, error) {
		return actionRPCs[action](c, passClientAddr(ctx), req)
	}
	if req.GetNumber() == "" {
		return nil, fieldReasonError("number", registry.ReasonRequired, "is required")
	}
	if err := casework.CheckActionRequest(action, req); err != nil {
		return nil, toStatus(err)
	}
	r, err := clientRequest(ctx, "action:"+action.String(), req)
	if err != nil {
		return nil, err
	}
	if action.ByCitizen() && req.GetQueryCode() != "" && req.GetRequestId() == "" {
		// A citizen's action may be sent on again while its case moves
		// between offices (whileInTransit): under an ID of its own, so
		// that a try whose answer was lost is not applied twice.
		req.RequestId = "transit-" + rand.Text()
		if r, err = clientRequest(ctx, "action:"+action.String(), req); err != nil {
			return nil, err
		}
	}
	p, err := s.optionalPrincipal(ctx)
	if err != nil {
		return nil, err
	}
	here := s.n.office.Code()
	byCitizen := action.ByCitizen()
	switch {
	case p != nil && citizenOnly(action):
		return nil, toStatus(reason.Errorf(reason.CitizenOnly, reason.Meta{"action": action.String()},
			"%w: %s is signed in as staff: the citizen does %s, with the case's query code", auth.ErrPermissionDenied, p.Username, action))
	case p == nil && !byCitizen:
		return nil, toStatus(fmt.Errorf("%w: sign in to act on a case", auth.ErrUnauthenticated))
	case p == nil && req.GetQueryCode() == "":
		return nil, fieldReasonError("query_code", registry.ReasonRequired, fmt.Sprintf("is required to %s without signing in", action))
	}
	if byCitizen && req.GetQueryCode() != "" {
		// A citizen may ask at any office: the request goes to the office
		// that owns the case, with the query code as authority. The first
		// node that holds a copy checks the code (and counts a wrong one)
		// before sending it on; the county answers for a number no one
		// holds.
		number := req.GetNumber()
		_, ok := s.n.office.Cases().Case(number)
		checked := false
		switch {
		case ok:
			err := s.checkQueryCode(ctx, number, req.GetQueryCode(), s.filingOf(number))
			if err != nil && !errors.Is(err, errCannotCheck) {
				return nil, err
			}
			checked = err == nil
		case s.n.office.IsCounty():
			return nil, s.checkQueryCode(ctx, number, req.GetQueryCode(), nil)
		}
		try := func() (*yizhanv1.CaseResponse, error) {
			if c, ok := s.n.office.Cases().Case(number); !ok || c.GetOwnerOffice() != here {
				return s.atOwner(ctx, req, c, forward)
			}
			if evs := s.n.office.Cases().Events(number); len(evs) > 0 && evs[len(evs)-1].GetType() == yizhanv1.EventType_EVENT_TYPE_FORWARDED {
				// Handed to this office, not received yet (its RECEIVED
				// comes first): nothing may be appended before it.
				return nil, s.onItsWay(number, nil)
			}
			return s.actHere(ctx, r, req, action, nil, forward)
		}
		if !checked {
			return try()
		}
		// The code checked against this copy, the case is one: an owner
		// that does not answer for it yet (handed on, not arrived) is
		// asked again for a few seconds.
		return s.whileInTransit(ctx, req, try)
	} else if relayed := action == casework.ActionResubmit || action == casework.ActionReissueQueryCode; p != nil && relayed &&
		(p.Office == here || s.onPath(req.GetNumber(), p.Office)) {
		// Corrections are handed in at any office on the case's route, and
		// a query code reissued where the case was filed: this office
		// relays them to the owner. An office on the way relays them on
		// when its copy says the case has moved on again (the filing
		// office's copy may lag one hop behind).
		if c, ok := s.n.office.Cases().Case(req.GetNumber()); ok && c.GetOwnerOffice() != here {
			var resp *yizhanv1.CaseResponse
			err := s.n.office.ForwardToOffice(ctx, c.GetOwnerOffice(), func(ctx context.Context, conn *grpc.ClientConn) error {
				cl := yizhanv1.NewCaseServiceClient(conn)
				var err error
				resp, err = forward(ctx, cl)
				// The scans handed in here go up only when the owner,
				// which checks all else first, answers that it lacks
				// them: corrections it refuses take none up. Then the
				// corrections again, under the same request ID.
				if reason.OnlyFieldReason(err, reason.AttachmentMissing) {
					if err := s.uploadTo(ctx, cl, req.GetMaterials()); err != nil {
						return err
					}
					resp, err = forward(ctx, cl)
				}
				return err
			})
			if err == nil && action == casework.ActionReissueQueryCode {
				// The citizen stands here: this office's copy, which checks
				// their codes, takes the reissue before the answer goes.
				s.waitForEvent(ctx, req.GetNumber(), resp.GetCase().GetLastSeq())
			}
			return resp, err
		}
	} else if p != nil && p.Office != here {
		return nil, toStatus(fmt.Errorf("%w: %s works at office %s, not %s", auth.ErrPermissionDenied, p.Username, p.Office, here))
	}
	return s.actHere(ctx, r, req, action, p, forward)
}

// actHere applies action at this office (its leader), by p (nil: the
// citizen, by the query code).
func (s *caseService) actHere(ctx context.Context, r raftgroup.Request, req *yizhanv1.CaseActionRequest, action casework.Action, p *auth.Principal,
	forward func(ctx context.Context, c yizhanv1.CaseServiceClient) (*yizhanv1.CaseResponse, error)) (*yizhanv1.CaseResponse, error) {
	return onLeader(ctx, s, func() (*yizhanv1.CaseResponse, error) {
		a := office.Action{Request: r, Number: req.GetNumber(), Action: action, Input: req, Actor: actorOf(p)}
		if p == nil {
			a.Authorize = func(filing *yizhanv1.CaseFiling) error {
				return s.checkQueryCode(ctx, req.GetNumber(), req.GetQueryCode(), filing)
			}
		}
		acted, err := s.n.svc.Act(ctx, a)
		if err != nil {
			return nil, err
		}
		if acted.Replayed {
			markReplayed(ctx)
		}
		c := s.present(acted.Case, p)
		c.QueryCode = acted.QueryCode // a reissue's new code, shown this once
		return &yizhanv1.CaseResponse{Case: c}, nil
	}, forward)
}

// transitWait is how long a citizen's action waits, at the node it
// reached, for its case to arrive where it is handed on to (a hop takes
// milliseconds when the link is up).
const transitWait = 5 * time.Second

// whileInTransit calls try (a citizen's action, at the owner its copy
// names) until it is answered otherwise than "not held there (yet)", for
// transitWait at most: a case just handed on is held by neither office
// for a moment (this copy names the next, which has not received it: the
// county, asked, holds no copy yet; or this office's receipt came back
// between its check and the action). The citizen hears that it is on its
// way rather than that their number and code match no case. Only the
// node the citizen reached waits (a call forwarded carries hops).
func (s *caseService) whileInTransit(ctx context.Context, req *yizhanv1.CaseActionRequest, try func() (*yizhanv1.CaseResponse, error)) (*yizhanv1.CaseResponse, error) {
	if md, _ := metadata.FromIncomingContext(ctx); len(md.Get(forward.HopsHeader)) > 0 {
		return try()
	}
	deadline := time.Now().Add(transitWait)
	pause := 50 * time.Millisecond
	for {
		resp, err := try()
		st, _ := status.FromError(err)
		moving := st.Code() == codes.NotFound || st.Code() == codes.Unavailable || reason.StatusReason(err) == reason.CaseHeldElsewhere
		if err == nil || !moving {
			return resp, err
		}
		if time.Now().Add(pause).After(deadline) {
			return nil, s.onItsWay(req.GetNumber(), err)
		}
		select {
		case <-ctx.Done():
			return nil, s.onItsWay(req.GetNumber(), err)
		case <-time.After(pause):
		}
		pause = min(2*pause, 500*time.Millisecond)
	}
}

// onItsWay is the answer to a citizen's action whose case no office
// answered for while it waited (err, the last; nil: the case is being
// received here): Unavailable as it came, else UNREACHABLE (Unavailable
// too: whileInTransit asks again), on its way, never "no such case".
func (s *caseService) onItsWay(number string, err error) error {
	if err != nil && status.Code(err) == codes.Unavailable {
		return err
	}
	owner := ""
	if c, ok := s.n.office.Cases().Case(number); ok {
		owner = c.GetOwnerOffice()
	}
	return reason.Status(reason.Unreachable, fmt.Sprintf("case %s is on its way to office %s: try again in a minute", number, owner),
		reason.Meta{"number": number, "office": owner}, time.Minute).Err()
}

// atOwner sends a citizen's action (withdraw, rate, complain: the same
// call, by send) to the office that owns the case: the owner this node's
// copy names, else up the tree, where the county knows every case. The
// request goes as the citizen's: with the query code, without any staff
// token.
func (s *caseService) atOwner(ctx context.Context, req *yizhanv1.CaseActionRequest, mirror *yizhanv1.Case,
	send func(ctx context.Context, c yizhanv1.CaseServiceClient) (*yizhanv1.CaseResponse, error)) (*yizhanv1.CaseResponse, error) {
	in, _ := metadata.FromIncomingContext(ctx)
	citizen := metadata.MD{}
	for _, k := range []string{forward.HopsHeader} {
		if v := in.Get(k); len(v) > 0 {
			citizen.Set(k, v...)
		}
	}
	ctx = metadata.NewIncomingContext(ctx, citizen)
	var resp *yizhanv1.CaseResponse
	call := func(ctx context.Context, conn *grpc.ClientConn) error {
		var err error
		resp, err = send(ctx, yizhanv1.NewCaseServiceClient(conn))
		return err
	}
	if mirror != nil && mirror.GetOwnerOffice() != "" {
		err := s.n.office.ForwardToOffice(ctx, mirror.GetOwnerOffice(), call)
		if err == nil || status.Code(err) != codes.Unavailable {
			return resp, err
		}
	}
	if s.n.office.IsCounty() {
		return nil, reason.Status(reason.Unreachable, fmt.Sprintf("the office holding case %s cannot be reached", req.GetNumber()),
			reason.Meta{"number": req.GetNumber()}, 0).Err()
	}
	err := s.n.office.ForwardUp(ctx, call)
	return resp, err
}

func (s *caseService) Accept(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionAccept)
}

func (s *caseService) RequestCorrection(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionRequestCorrection)
}

func (s *caseService) ReissueQueryCode(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionReissueQueryCode)
}

func (s *caseService) Resubmit(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionResubmit)
}

func (s *caseService) Refuse(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionRefuse)
}

func (s *caseService) Review(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionReview)
}

func (s *caseService) Decide(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionDecide)
}

func (s *caseService) Certify(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionCertify)
}

func (s *caseService) AssessFee(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionAssessFee)
}

func (s *caseService) CorrectFee(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionCorrectFee)
}

func (s *caseService) Pay(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionPay)
}

func (s *caseService) Deliver(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionDeliver)
}

func (s *caseService) Withdraw(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionWithdraw)
}

func (s *caseService) Suspend(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionSuspend)
}

func (s *caseService) Resume(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionResume)
}

func (s *caseService) Extend(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionExtend)
}

func (s *caseService) GiveOpinion(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionGiveOpinion)
}

func (s *caseService) Rate(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionRate)
}

func (s *caseService) Complain(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionComplain)
}

// waitForEvent waits (a few seconds at most) until this node's copy of a
// case holds its event seq, sent down by the office holding it.
func (s *caseService) waitForEvent(ctx context.Context, number string, seq uint32) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for {
		if c, ok := s.n.office.Cases().Case(number); ok && c.GetLastSeq() >= seq {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}
