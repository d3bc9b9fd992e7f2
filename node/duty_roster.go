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

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// dutyRosterService is the duty roster, its shifts and the duty log.
// Like the reports, every write runs at the leader of the office it
// belongs to (a follower forwards it there), never at another office;
// shifts are carried up the tree, so an office above reads who is on duty
// below it from its own book.
type dutyRosterService struct {
	yizhanv1.UnsafeDutyRosterServiceServer
	n    *Node
	duty *dutyService
	// changing is held at the leader while a shift's change is read,
	// decided and kept: a take-over reads the shift before it, a handover
	// the shift after it, and neither may miss the other made meanwhile.
	changing sync.Mutex
}

var _ yizhanv1.DutyRosterServiceServer = (*dutyRosterService)(nil)

// maxShiftsPublished bounds one PublishShifts call (a month of three
// shifts a day, with room), and maxPublishDays the days it repeats them.
const (
	maxShiftsPublished = 200
	maxPublishDays     = 31
)

// rosterKeeper authenticates who keeps this office's roster: its admin or
// a leader on duty.
func (s *dutyRosterService) rosterKeeper(ctx context.Context, what string) (*auth.Principal, error) {
	p, err := s.n.authn.FromContext(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	if p.Office != s.n.office.Code() || !(p.Has(yizhanv1.Role_ROLE_ADMIN) || p.Has(yizhanv1.Role_ROLE_DUTY_LEADER)) {
		return nil, toStatus(fmt.Errorf("%w: %s is done by an admin or a leader on duty of office %s; %s is not one", auth.ErrPermissionDenied, what, s.n.office.Code(), p.Username))
	}
	return p, nil
}

// dutyMember checks that username is staff of this office who may be on
// a shift as a leader (leader) or as an officer, and returns their name.
func (s *dutyRosterService) dutyMember(field, username string, leader bool) (string, error) {
	m, err := s.n.office.Registry().Staff(username)
	role, what, zh := yizhanv1.Role_ROLE_DUTY_OFFICER, "a duty officer (值班员) or a leader on duty", "值班员或带班领导"
	if leader {
		role, what, zh = yizhanv1.Role_ROLE_DUTY_LEADER, "a leader on duty (带班领导)", "带班领导"
	}
	switch {
	case err != nil || m.GetDisabled():
		return "", fieldError(field, reason.StaffNotFound, reason.Meta{"username": username}, "no such staff member (or the account is disabled)")
	case m.GetOfficeCode() != s.n.office.Code():
		return "", fieldError(field, reason.WrongOffice, reason.Meta{"office": m.GetOfficeCode(), "want": s.n.office.Code()},
			fmt.Sprintf("%s is staff of office %s, not %s", username, m.GetOfficeCode(), s.n.office.Code()))
	case !slices.Contains(m.GetRoles(), role) && !(role == yizhanv1.Role_ROLE_DUTY_OFFICER && slices.Contains(m.GetRoles(), yizhanv1.Role_ROLE_DUTY_LEADER)):
		return "", fieldError(field, reason.StaffLacksRole, reason.Meta{"username": username, "role": zh}, fmt.Sprintf("%s is not %s", username, what))
	}
	return m.GetName(), nil
}

func (s *dutyRosterService) PublishShifts(ctx context.Context, req *yizhanv1.PublishShiftsRequest) (*yizhanv1.PublishShiftsResponse, error) {
	p, err := s.rosterKeeper(ctx, "publishing the duty roster")
	if err != nil {
		return nil, err
	}
	days := int(req.GetDays())
	if days < 0 || days > maxPublishDays {
		return nil, fieldError("days", registry.ReasonOutOfRange, reason.Meta{"min": "0", "max": reason.Itoa(maxPublishDays), "got": reason.Itoa(days)},
			fmt.Sprintf("from 1 to %d days", maxPublishDays))
	}
	days = max(days, 1)
	switch n := len(req.GetShifts()) * days; {
	case n == 0:
		return nil, fieldError("shifts", registry.ReasonRequired, reason.Meta{"input": "list"}, "name at least one shift")
	case n > maxShiftsPublished:
		return nil, fieldError("shifts", registry.ReasonTooMany, reason.Meta{"max": reason.Itoa(maxShiftsPublished), "got": reason.Itoa(n)},
			fmt.Sprintf("at most %d shifts a call, days included", maxShiftsPublished))
	}
	code := s.n.office.Code()
	var shifts []*yizhanv1.DutyShift
	seen := map[string]int{}
	for k := range len(req.GetShifts()) * days {
		i, in := k%len(req.GetShifts()), req.GetShifts()[k%len(req.GetShifts())]
		if day := k / len(req.GetShifts()); day > 0 {
			in = proto.CloneOf(in)
			in.Start = timestamppb.New(in.GetStart().AsTime().AddDate(0, 0, day))
			in.End = timestamppb.New(in.GetEnd().AsTime().AddDate(0, 0, day))
		}
		field := fmt.Sprintf("shifts[%d]", i)
		sh := &yizhanv1.DutyShift{OfficeCode: code, Start: in.GetStart(), End: in.GetEnd(), Leader: in.GetLeader(),
			Officers: in.GetOfficers(), DutyPhone: strings.TrimSpace(in.GetDutyPhone()),
			State: yizhanv1.ShiftState_SHIFT_STATE_PLANNED, PublishedBy: p.Username, Version: 1}
		if err := duty.CheckNewShift(sh, field); err != nil {
			var fe *duty.FieldError
			if errors.As(err, &fe) {
				return nil, fieldError(fe.Field, fe.Why, fe.Meta, fe.Msg)
			}
			return nil, err
		}
		sh.Id = duty.ShiftID(code, sh.GetStart().AsTime())
		if j, dup := seen[sh.GetId()]; dup {
			return nil, fieldError(field+".start", reason.Duplicate, reason.Meta{"index": reason.Itoa(j)}, fmt.Sprintf("shifts[%d] starts at the same time", j))
		}
		seen[sh.GetId()] = i
		shifts = append(shifts, sh)
	}
	r, err := clientRequest(ctx, "PublishShifts", req)
	if err != nil {
		return nil, err
	}
	return atLeader(ctx, s.n, yizhanv1.NewDutyRosterServiceClient, func() (*yizhanv1.PublishShiftsResponse, error) {
		// A retry answers as the first did, though its staff have moved
		// on since; a new roster names staff who may be on duty now.
		if v, ok, err := answeredBefore[*yizhanv1.PublishShiftsResponse](ctx, s.n, r); err != nil || ok {
			return v, err
		}
		if err := s.dutyMembers(shifts, len(req.GetShifts())); err != nil {
			return nil, err
		}
		out, replayed, err := s.n.svc.PutShifts(ctx, r, shifts)
		if err = replayedAnswer(ctx, replayed, err); err != nil {
			return nil, err
		}
		return &yizhanv1.PublishShiftsResponse{Shifts: out}, nil
	}, func(ctx context.Context, cl yizhanv1.DutyRosterServiceClient) (*yizhanv1.PublishShiftsResponse, error) {
		return cl.PublishShifts(ctx, req)
	})
}

// dutyMembers checks the staff of shifts, n of them a day (the fields
// name the request's shifts), and puts in their names.
func (s *dutyRosterService) dutyMembers(shifts []*yizhanv1.DutyShift, n int) error {
	for k, sh := range shifts {
		field := fmt.Sprintf("shifts[%d]", k%n)
		name, err := s.dutyMember(field+".leader", sh.GetLeader(), true)
		if err != nil {
			return err
		}
		sh.LeaderName, sh.OfficerNames = name, nil
		for j, o := range sh.GetOfficers() {
			name, err := s.dutyMember(fmt.Sprintf("%s.officers[%d]", field, j), o, false)
			if err != nil {
				return err
			}
			sh.OfficerNames = append(sh.OfficerNames, name)
		}
	}
	return nil
}

// checkShiftID checks a shift id given as field: required, a line of at
// most registry.MaxCodeLen characters (a refusal names no more of it).
func checkShiftID(field, id string) error {
	if id == "" {
		return fieldReasonError(field, registry.ReasonRequired, "is required")
	}
	if v := registry.CheckLine(field, id, registry.MaxCodeLen); v != nil {
		return invalidArgument(*v)
	}
	return nil
}

// change runs one change of a held shift of this office at its leader.
// next gives the shift's next version (change numbers it) and the next
// versions of other shifts kept with it, in the same command (the first
// is the one answered). may, when set, is whether the caller may make
// the change on a shift: checked on the shift held now before next, and
// on a retry of a change made (its request ID) on the shift as that
// change left it, before it is answered again: the body names only the
// shift, and a request ID is no authority of its own. Not on the shift
// as it is now, which a retry of a change made may no longer pass.
func (s *dutyRosterService) change(ctx context.Context, method string, req proto.Message, id string,
	may func(sh *yizhanv1.DutyShift) error,
	next func(held *yizhanv1.DutyShift, now time.Time) (*yizhanv1.DutyShift, []*yizhanv1.DutyShift, error),
	remote func(context.Context, yizhanv1.DutyRosterServiceClient) (*yizhanv1.DutyShift, error)) (*yizhanv1.DutyShift, error) {
	if err := checkShiftID("id", id); err != nil {
		return nil, err
	}
	r, err := clientRequest(ctx, method, req)
	if err != nil {
		return nil, err
	}
	if may == nil {
		may = func(*yizhanv1.DutyShift) error { return nil }
	}
	return atLeader(ctx, s.n, yizhanv1.NewDutyRosterServiceClient, func() (*yizhanv1.DutyShift, error) {
		s.changing.Lock()
		defer s.changing.Unlock()
		if v, ok, err := answeredTo(ctx, s.n, r, func(v *yizhanv1.PublishShiftsResponse) error { return may(v.GetShifts()[0]) }); err != nil {
			return nil, err
		} else if ok {
			return v.GetShifts()[0], nil
		}
		held, ok := s.n.office.Cases().Shift(id)
		if !ok || held.GetOfficeCode() != s.n.office.Code() {
			return nil, reason.Status(reason.NotFound, fmt.Sprintf("no shift %s of office %s", id, s.n.office.Code()), reason.Meta{"id": id}, 0).Err()
		}
		if err := may(held); err != nil {
			return nil, err
		}
		n, more, err := next(held, s.n.now())
		if err != nil {
			return nil, err
		}
		n.Version = held.GetVersion() + 1
		out, replayed, err := s.n.svc.PutShifts(ctx, r, append([]*yizhanv1.DutyShift{n}, more...))
		if err != nil {
			return nil, err
		}
		if replayed {
			// The first of a retry racing it was applied meanwhile: its
			// answer, told as a replay, to a caller the shift as that
			// change left it lets have it (as answeredTo above).
			if err := may(out[0]); err != nil {
				return nil, err
			}
			markReplayed(ctx)
		}
		return out[0], nil
	}, remote)
}

func (s *dutyRosterService) SwapShift(ctx context.Context, req *yizhanv1.SwapShiftRequest) (*yizhanv1.DutyShift, error) {
	p, err := s.rosterKeeper(ctx, "approving a shift swap (调班)")
	if err != nil {
		return nil, err
	}
	// A swap is an exception to the roster (不许非值班人员顶班): it says why.
	if err := checkText("reason", req.GetReason(), true); err != nil {
		return nil, err
	}
	for _, f := range []struct{ name, v string }{{"from", req.GetFrom()}, {"to", req.GetTo()}} {
		if v := registry.CheckLine(f.name, f.v, registry.MaxCodeLen); v != nil {
			return nil, invalidArgument(*v)
		}
	}
	return s.change(ctx, "SwapShift", req, req.GetId(), nil, func(held *yizhanv1.DutyShift, now time.Time) (*yizhanv1.DutyShift, []*yizhanv1.DutyShift, error) {
		if held.GetState() != yizhanv1.ShiftState_SHIFT_STATE_PLANNED {
			return nil, nil, reason.Status(reason.FailedPrecondition, fmt.Sprintf("shift %s is taken over: it is swapped before", held.GetId()), reason.Meta{"id": held.GetId()}, 0).Err()
		}
		if !duty.OnShift(held, req.GetFrom()) {
			return nil, nil, fieldError("from", reason.NotOnShift, reason.Meta{"username": req.GetFrom()}, "not on the shift")
		}
		if duty.OnShift(held, req.GetTo()) {
			return nil, nil, fieldError("to", reason.Duplicate, reason.Meta{"index": "0"}, "on the shift already")
		}
		leader := held.GetLeader() == req.GetFrom()
		name, err := s.dutyMember("to", req.GetTo(), leader)
		if err != nil {
			return nil, nil, err
		}
		n := proto.CloneOf(held)
		n.Signature, n.SignerChain = nil, nil
		if leader {
			n.Leader, n.LeaderName = req.GetTo(), name
		} else {
			i := slices.Index(n.Officers, req.GetFrom())
			n.Officers[i] = req.GetTo()
			if i < len(n.OfficerNames) {
				n.OfficerNames[i] = name
			}
		}
		n.Swaps = append(n.Swaps, &yizhanv1.ShiftSwap{From: req.GetFrom(), To: req.GetTo(), ApprovedBy: p.Username, At: timestamppb.New(now), Reason: strings.TrimSpace(req.GetReason())})
		return n, nil, nil
	}, func(ctx context.Context, cl yizhanv1.DutyRosterServiceClient) (*yizhanv1.DutyShift, error) {
		return cl.SwapShift(ctx, req)
	})
}

// onIt authenticates someone of this office's duty staff.
func (s *dutyRosterService) onIt(ctx context.Context, what string) (*auth.Principal, error) {
	return s.duty.dutyStaff(ctx, what, false)
}

func (s *dutyRosterService) TakeOverShift(ctx context.Context, req *yizhanv1.TakeOverShiftRequest) (*yizhanv1.DutyShift, error) {
	p, err := s.onIt(ctx, "taking over a shift (接班)")
	if err != nil {
		return nil, err
	}
	onShift := func(sh *yizhanv1.DutyShift) error {
		if !duty.OnShift(sh, p.Username) {
			return toStatus(fmt.Errorf("%w: only those on shift %s take it over; %s is not on the roster for it", auth.ErrPermissionDenied, sh.GetId(), p.Username))
		}
		return nil
	}
	return s.change(ctx, "TakeOverShift", req, req.GetId(), onShift, func(held *yizhanv1.DutyShift, now time.Time) (*yizhanv1.DutyShift, []*yizhanv1.DutyShift, error) {
		if held.GetState() != yizhanv1.ShiftState_SHIFT_STATE_PLANNED {
			return nil, nil, reason.Status(reason.FailedPrecondition, fmt.Sprintf("shift %s is taken over already", held.GetId()), reason.Meta{"id": held.GetId()}, 0).Err()
		}
		if now.Before(held.GetStart().AsTime().Add(-duty.TakeOverEarly)) || !now.Before(held.GetEnd().AsTime()) {
			return nil, nil, reason.Status(reason.FailedPrecondition, fmt.Sprintf("shift %s is taken over from %s before its start until its end", held.GetId(), duty.TakeOverEarly), reason.Meta{"id": held.GetId()}, 0).Err()
		}
		n := proto.CloneOf(held)
		n.Signature, n.SignerChain = nil, nil
		n.State, n.TakenOverBy, n.TakenOverAt = yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY, p.Username, timestamppb.New(now)
		// The incoming officer signs for the open matters the shift
		// before handed over (交接班); when it hands over later (both may
		// act in the half hour before the change), its handover writes
		// them into this shift (HandOverShift).
		if prev := s.previousShift(held); prev.GetState() == yizhanv1.ShiftState_SHIFT_STATE_HANDED_OVER {
			n.TakenOverFrom, n.MattersTakenOver = prev.GetId(), prev.GetOpenMatters()
		}
		return n, nil, nil
	}, func(ctx context.Context, cl yizhanv1.DutyRosterServiceClient) (*yizhanv1.DutyShift, error) {
		return cl.TakeOverShift(ctx, req)
	})
}

// previousShift is the office's shift that started last before shift
// sh, within two days; nil when there is none.
func (s *dutyRosterService) previousShift(sh *yizhanv1.DutyShift) *yizhanv1.DutyShift {
	start := sh.GetStart().AsTime()
	shifts, err := s.n.office.Cases().Shifts(casebook.ShiftQuery{Office: sh.GetOfficeCode(), From: start.Add(-48 * time.Hour), To: start})
	if err != nil {
		return nil
	}
	var prev *yizhanv1.DutyShift
	for _, o := range shifts {
		if o.GetOfficeCode() == sh.GetOfficeCode() && o.GetStart().AsTime().Before(start) &&
			(prev == nil || o.GetStart().AsTime().After(prev.GetStart().AsTime())) {
			prev = o
		}
	}
	return prev
}

// nextShift is the office's shift that starts first after shift sh,
// within two days (the one whose previousShift sh is); nil when there
// is none.
func (s *dutyRosterService) nextShift(sh *yizhanv1.DutyShift) *yizhanv1.DutyShift {
	start := sh.GetStart().AsTime()
	shifts, err := s.n.office.Cases().Shifts(casebook.ShiftQuery{Office: sh.GetOfficeCode(), From: start, To: start.Add(48 * time.Hour)})
	if err != nil {
		return nil
	}
	var next *yizhanv1.DutyShift
	for _, o := range shifts {
		if o.GetOfficeCode() == sh.GetOfficeCode() && o.GetStart().AsTime().After(start) &&
			(next == nil || o.GetStart().AsTime().Before(next.GetStart().AsTime())) {
			next = o
		}
	}
	return next
}

func (s *dutyRosterService) HandOverShift(ctx context.Context, req *yizhanv1.HandOverShiftRequest) (*yizhanv1.DutyShift, error) {
	p, err := s.onIt(ctx, "handing over a shift (交班)")
	if err != nil {
		return nil, err
	}
	if err := checkText("open_matters", req.GetOpenMatters(), false); err != nil {
		return nil, err
	}
	onShift := func(sh *yizhanv1.DutyShift) error {
		if !duty.OnShift(sh, p.Username) {
			return toStatus(fmt.Errorf("%w: %s is not on shift %s", auth.ErrPermissionDenied, p.Username, sh.GetId()))
		}
		return nil
	}
	return s.change(ctx, "HandOverShift", req, req.GetId(), onShift, func(held *yizhanv1.DutyShift, now time.Time) (*yizhanv1.DutyShift, []*yizhanv1.DutyShift, error) {
		if held.GetState() != yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY {
			return nil, nil, reason.Status(reason.FailedPrecondition, fmt.Sprintf("shift %s is not on duty", held.GetId()), reason.Meta{"id": held.GetId()}, 0).Err()
		}
		if from := held.GetEnd().AsTime().Add(-duty.HandOverEarly); now.Before(from) {
			return nil, nil, reason.Status(reason.FailedPrecondition, fmt.Sprintf("shift %s is handed over from %s (%s before its end): the post is kept until then",
				held.GetId(), from.In(registry.CST).Format("2006-01-02 15:04"), duty.HandOverEarly), reason.Meta{"id": held.GetId()}, 0).Err()
		}
		n := proto.CloneOf(held)
		n.Signature, n.SignerChain = nil, nil
		n.State, n.OpenMatters, n.HandedOverBy, n.HandedOverAt = yizhanv1.ShiftState_SHIFT_STATE_HANDED_OVER, strings.TrimSpace(req.GetOpenMatters()), p.Username, timestamppb.New(now)
		// The next shift, taken over already (both may act in the half
		// hour before the change, or its officer took over at its start
		// while this one had not handed over yet), takes on the open
		// matters as it would have at its take-over: it records this shift
		// and them, kept in the same command as this handover.
		if after := s.nextShift(held); after.GetState() == yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY && after.GetTakenOverFrom() == "" {
			a := proto.CloneOf(after)
			a.Signature, a.SignerChain = nil, nil
			a.TakenOverFrom, a.MattersTakenOver, a.Version = held.GetId(), n.GetOpenMatters(), after.GetVersion()+1
			return n, []*yizhanv1.DutyShift{a}, nil
		}
		return n, nil, nil
	}, func(ctx context.Context, cl yizhanv1.DutyRosterServiceClient) (*yizhanv1.DutyShift, error) {
		return cl.HandOverShift(ctx, req)
	})
}

func (s *dutyRosterService) ListShifts(ctx context.Context, req *yizhanv1.ListShiftsRequest) (*yizhanv1.ListShiftsResponse, error) {
	scope, err := s.duty.readScope(ctx, req.GetOfficeCode())
	if err != nil {
		return nil, err
	}
	now := s.n.now().In(registry.CST)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, registry.CST)
	from, err := parseDay("from", req.GetFrom(), today)
	if err != nil {
		return nil, err
	}
	to, err := parseDay("to", req.GetTo(), from)
	if err != nil {
		return nil, err
	}
	if to.Before(from) || to.Sub(from) >= 62*24*time.Hour {
		return nil, fieldError("to", registry.ReasonOutOfRange, reason.Meta{"max": "62"}, "from the first day, at most 62 days on")
	}
	shifts, err := s.n.office.Cases().Shifts(casebook.ShiftQuery{Office: scope, From: from, To: to.AddDate(0, 0, 1), Flagged: req.GetFlagged()})
	if err != nil {
		return nil, toStatus(err)
	}
	return &yizhanv1.ListShiftsResponse{Shifts: shifts}, nil
}

// GetOnDuty is the duty contact directory: for the office and every
// office below it, the shift on now, from this node's book (the offices
// below carry their shifts up).
func (s *dutyRosterService) GetOnDuty(ctx context.Context, req *yizhanv1.GetOnDutyRequest) (*yizhanv1.GetOnDutyResponse, error) {
	scope, err := s.duty.readScope(ctx, req.GetOfficeCode())
	if err != nil {
		return nil, err
	}
	now := s.n.now()
	book := s.n.office.Cases()
	resp := &yizhanv1.GetOnDutyResponse{Contacts: s.n.office.Registry().DutyPolicy().GetContacts()}
	for _, o := range s.n.office.Registry().Offices(0, "") {
		if !registry.IsAncestorOrSelf(scope, o.GetCode()) {
			continue
		}
		od := &yizhanv1.OfficeOnDuty{OfficeCode: o.GetCode(), OfficeName: o.GetName(), OfficePhone: o.GetPhone()}
		if sh, ok := book.CurrentShift(o.GetCode(), now); ok {
			od.Shift = sh
		}
		resp.Offices = append(resp.Offices, od)
	}
	slices.SortFunc(resp.Offices, func(a, b *yizhanv1.OfficeOnDuty) int { return strings.Compare(a.GetOfficeCode(), b.GetOfficeCode()) })
	return resp, nil
}

// onDutyNow is the shift of this office on duty now with p on it, or a
// refusal that says why p may not write in it.
func (s *dutyRosterService) onDutyNow(p *auth.Principal) (*yizhanv1.DutyShift, error) {
	sh, ok := s.n.office.Cases().CurrentShift(s.n.office.Code(), s.n.now())
	switch {
	case !ok:
		return nil, reason.Status(reason.FailedPrecondition, "no shift of this office is on the roster now", reason.Meta{"office": s.n.office.Code()}, 0).Err()
	case !duty.OnShift(sh, p.Username):
		return nil, toStatus(fmt.Errorf("%w: %s is not on the roster for shift %s", auth.ErrPermissionDenied, p.Username, sh.GetId()))
	case sh.GetState() != yizhanv1.ShiftState_SHIFT_STATE_ON_DUTY:
		return nil, reason.Status(reason.FailedPrecondition, fmt.Sprintf("shift %s is not taken over: take it over first (接班)", sh.GetId()), reason.Meta{"id": sh.GetId()}, 0).Err()
	}
	return sh, nil
}

func (s *dutyRosterService) WriteLogEntry(ctx context.Context, req *yizhanv1.WriteLogEntryRequest) (*yizhanv1.DutyLogEntry, error) {
	p, err := s.onIt(ctx, "writing the duty log")
	if err != nil {
		return nil, err
	}
	in := req.GetEntry()
	if err := duty.CheckLogEntry(in, s.n.now()); err != nil {
		var fe *duty.FieldError
		if errors.As(err, &fe) {
			return nil, fieldError(fe.Field, fe.Why, fe.Meta, fe.Msg)
		}
		return nil, err
	}
	if c := in.GetCorrects(); c != "" {
		if v := registry.CheckLine("entry.corrects", c, registry.MaxCodeLen); v != nil {
			return nil, invalidArgument(*v)
		}
	}
	r, err := clientRequest(ctx, "WriteLogEntry", req)
	if err != nil {
		return nil, err
	}
	return atLeader(ctx, s.n, yizhanv1.NewDutyRosterServiceClient, func() (*yizhanv1.DutyLogEntry, error) {
		// A retry answers as the first did, though the shift it was
		// written on has been handed over since.
		if v, ok, err := answeredBefore[*yizhanv1.DutyLogEntry](ctx, s.n, r); err != nil || ok {
			return v, err
		}
		// Checked again where it is applied; here so that a wrong one
		// costs no raft entry and is named.
		if c := in.GetCorrects(); c != "" && !s.n.office.Cases().HasLogEntry(c) {
			return nil, fieldError("entry.corrects", reason.RecordNotFound, reason.Meta{"id": c},
				fmt.Sprintf("office %s's log holds no entry %s to correct", s.n.office.Code(), c))
		}
		sh, err := s.onDutyNow(p)
		if err != nil {
			return nil, err
		}
		suffix, err := casework.NewQueryCode(rand.Reader)
		if err != nil {
			return nil, err
		}
		now := s.n.now()
		// When the call or notice came: not after it is written (a clock
		// ahead by ClockSkew or less writes the time it is written),
		// and, not given, the time it is written.
		received := in.GetReceivedAt()
		switch k := in.GetKind(); {
		case received != nil && received.AsTime().After(now):
			received = timestamppb.New(now)
		case received == nil && (k == yizhanv1.LogKind_LOG_KIND_CALL || k == yizhanv1.LogKind_LOG_KIND_NOTICE):
			received = timestamppb.New(now)
		}
		e := &yizhanv1.DutyLogEntry{Id: duty.LogEntryID(s.n.office.Code(), now, casework.NormalizeQueryCode(suffix)[:6]),
			OfficeCode: s.n.office.Code(), ShiftId: sh.GetId(), Kind: in.GetKind(), At: timestamppb.New(now),
			ReceivedAt: received, Caller: in.GetCaller(), Unit: in.GetUnit(), Phone: in.GetPhone(), PhoneWithheld: in.GetPhoneWithheld(), Matter: in.GetMatter(),
			Action: in.GetAction(), Told: in.GetTold(), Corrects: in.GetCorrects(), Writer: p.Username, WriterName: p.Name}
		v, replayed, err := s.n.svc.PutLogEntry(ctx, r, e)
		return v, replayedAnswer(ctx, replayed, err)
	}, func(ctx context.Context, cl yizhanv1.DutyRosterServiceClient) (*yizhanv1.DutyLogEntry, error) {
		return cl.WriteLogEntry(ctx, req)
	})
}

func (s *dutyRosterService) ListLog(ctx context.Context, req *yizhanv1.ListLogRequest) (*yizhanv1.ListLogResponse, error) {
	if _, err := s.duty.readScope(ctx, s.n.office.Code()); err != nil {
		return nil, err
	}
	if id := req.GetShiftId(); id != "" {
		if err := checkShiftID("shift_id", id); err != nil {
			return nil, err
		}
	}
	now := s.n.now().In(registry.CST)
	day, err := parseDay("day", req.GetDay(), time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, registry.CST))
	if err != nil {
		return nil, err
	}
	es, err := s.n.office.Cases().LogEntries(req.GetShiftId(), day.Format("20060102"))
	if err != nil {
		return nil, toStatus(err)
	}
	return &yizhanv1.ListLogResponse{Entries: es}, nil
}
