package casework

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	"github.com/yizhan-gov/yizhan/registry"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The lifecycle rules, shared by NewEvent (what staff may ask for),
// Permitted (what a receiving office accepts from another) and Book.Apply.
//
//	PRECHECK ─┬─ PRECHECKED ─ FILED (an online filing, checked where it was filed)
//	          └─ PRECHECK_REJECTED (final: it never left that office)
//	FILED ─┬─ CORRECTION_REQUESTED ─ RESUBMITTED ─┐ (back to FILED, any number of times)
//	       ├─ REFUSED ──────────────────────────────────────────────── DELIVERED ─ CLOSED
//	       └─ ACCEPTED ─ [REVIEWED] ─ DECIDED ─┬─ APPROVED ─ [CERTIFIED] ─ DELIVERED ─ CLOSED
//	                                           └─ DENIED ───────────────── DELIVERED ─ CLOSED
//	WITHDRAWN from any state before the decision; CLOSED, WITHDRAWN and
//	PRECHECK_REJECTED are final.
//
// Besides, and changing no state: COMPLAINED in any state (also CLOSED and
// WITHDRAWN), RATED once, after CLOSED. Both are the citizen's, appended by
// the office that owns the case.

// Short names for the states.
const (
	stFiled      = yizhanv1.CaseState_CASE_STATE_FILED
	stCorrection = yizhanv1.CaseState_CASE_STATE_CORRECTION_REQUESTED
	stAccepted   = yizhanv1.CaseState_CASE_STATE_ACCEPTED
	stReviewed   = yizhanv1.CaseState_CASE_STATE_REVIEWED
	stApproved   = yizhanv1.CaseState_CASE_STATE_APPROVED
	stDenied     = yizhanv1.CaseState_CASE_STATE_DENIED
	stCertified  = yizhanv1.CaseState_CASE_STATE_CERTIFIED
	stDelivered  = yizhanv1.CaseState_CASE_STATE_DELIVERED
	stClosed     = yizhanv1.CaseState_CASE_STATE_CLOSED
	stRefused    = yizhanv1.CaseState_CASE_STATE_REFUSED
	stWithdrawn  = yizhanv1.CaseState_CASE_STATE_WITHDRAWN

	stPrecheck         = yizhanv1.CaseState_CASE_STATE_PRECHECK
	stPrecheckRejected = yizhanv1.CaseState_CASE_STATE_PRECHECK_REJECTED
)

// unpaid reports whether c has a fee assessed and not paid.
func unpaid(c *yizhanv1.Case) bool { return c.GetFeeCents() > 0 && !c.GetFeePaid() }

// final reports whether nothing more can happen to a case in state s.
func final(s yizhanv1.CaseState) bool {
	return s == stClosed || s == stWithdrawn || s == stPrecheckRejected
}

// atPrecheck reports whether a case in state s has not left the office
// where it was filed online: waiting for, or turned down at, its pre-check.
func atPrecheck(s yizhanv1.CaseState) bool { return s == stPrecheck || s == stPrecheckRejected }

// knownRatings are the five levels of 好差评, best first.
var knownRatings = []yizhanv1.Rating{
	yizhanv1.Rating_RATING_VERY_SATISFIED, yizhanv1.Rating_RATING_SATISFIED, yizhanv1.Rating_RATING_BASICALLY_SATISFIED,
	yizhanv1.Rating_RATING_DISSATISFIED, yizhanv1.Rating_RATING_VERY_DISSATISFIED,
}

// knownRating reports whether r is one of the five levels.
func knownRating(r yizhanv1.Rating) bool { return slices.Contains(knownRatings, r) }

// badRating reports whether r is a bad rating (不满意, 非常不满意): one that
// must say what went wrong, to be followed up within 15 working days.
func badRating(r yizhanv1.Rating) bool {
	return r == yizhanv1.Rating_RATING_DISSATISFIED || r == yizhanv1.Rating_RATING_VERY_DISSATISFIED
}

// checkOwner fails with sentinel unless office holds c.
func checkOwner(c *yizhanv1.Case, office string, sentinel error) error {
	if c.GetOwnerOffice() != office {
		return fmt.Errorf("case %s is held by office %s, not %s: %w", c.GetNumber(), c.GetOwnerOffice(), office, sentinel)
	}
	return nil
}

// checkState reports whether c's state allows e, appended by its owner
// e.office_code (ErrFailedPrecondition naming the state otherwise). It
// does not look at who appended e, nor at its input fields beyond those
// the state depends on (to_office, department_code).
func checkState(c *yizhanv1.Case, e *yizhanv1.CaseEvent) error {
	s := c.GetState()
	fail := func(format string, args ...any) error {
		return fmt.Errorf("case is %s: %s: %w", s, fmt.Sprintf(format, args...), ErrFailedPrecondition)
	}
	// The citizen's say comes after the final states too.
	switch e.GetType() {
	case yizhanv1.EventType_EVENT_TYPE_COMPLAINED:
		return nil
	case yizhanv1.EventType_EVENT_TYPE_RATED:
		switch {
		case s != stClosed:
			return fail("only a closed case can be rated")
		case c.GetRating() != yizhanv1.Rating_RATING_UNSPECIFIED:
			return fail("it was rated already (%s)", c.GetRating())
		}
		return nil
	}
	failSuspended := func() error {
		return fmt.Errorf("case is %s and suspended: resume it first: %w", s, ErrFailedPrecondition)
	}
	switch s {
	case stClosed:
		return fail("it is closed: nothing more can happen")
	case stWithdrawn:
		return fail("it was withdrawn: nothing more can happen")
	case stPrecheckRejected:
		return fail("it was turned down at the pre-check: nothing more can happen")
	}
	switch t := e.GetType(); {
	case t == yizhanv1.EventType_EVENT_TYPE_PRECHECKED || t == yizhanv1.EventType_EVENT_TYPE_PRECHECK_REJECTED:
		if s != stPrecheck {
			return fail("only an online filing waiting for its pre-check can be taken up or turned down")
		}
		return nil
	case s == stPrecheck && t != yizhanv1.EventType_EVENT_TYPE_WITHDRAWN && t != yizhanv1.EventType_EVENT_TYPE_WITHDRAWAL_REQUESTED:
		return fail("an online filing is pre-checked first (precheck or rejectPrecheck)")
	}
	decidedHint := func() error {
		switch s {
		case stFiled:
			return fail("accept it first")
		case stCorrection:
			return fail("wait for the resubmission, then accept it")
		case stRefused:
			return fail("it was refused")
		default:
			return fail("it was decided already")
		}
	}
	switch t := e.GetType(); t {
	case yizhanv1.EventType_EVENT_TYPE_FILED:
		return fail("it was filed already")

	case yizhanv1.EventType_EVENT_TYPE_ACCEPTED, yizhanv1.EventType_EVENT_TYPE_REFUSED, yizhanv1.EventType_EVENT_TYPE_CORRECTION_REQUESTED:
		switch s {
		case stFiled:
			return nil
		case stCorrection:
			return fail("the correction notice is open: wait for the resubmission")
		case stAccepted, stReviewed:
			return fail("it was accepted already")
		default:
			return fail("only a filed case can be accepted, refused or sent a correction notice")
		}

	case yizhanv1.EventType_EVENT_TYPE_RESUBMITTED:
		if s != stCorrection {
			return fail("no correction notice is open")
		}
		return nil

	case yizhanv1.EventType_EVENT_TYPE_REVIEWED:
		switch {
		case s == stReviewed:
			return fail("it was reviewed already")
		case s != stAccepted:
			return decidedHint()
		case c.GetSuspended():
			return failSuspended()
		}
		return nil

	case yizhanv1.EventType_EVENT_TYPE_DECIDED:
		switch {
		case s != stAccepted && s != stReviewed:
			return decidedHint()
		case c.GetSuspended():
			return failSuspended()
		case len(c.GetOpinionsPending()) > 0:
			return fail("the opinions of %v are pending", c.GetOpinionsPending())
		case s == stAccepted && stepOffice(c.GetRoute(), yizhanv1.Right_RIGHT_REVIEW) != "":
			return fail("review it first")
		}
		return nil

	case yizhanv1.EventType_EVENT_TYPE_CERTIFIED:
		switch s {
		case stApproved:
			return nil
		case stCertified:
			return fail("it was certified already")
		case stDenied:
			return fail("a denied case gets no certificate")
		case stAccepted, stReviewed:
			return fail("decide it first")
		default:
			return fail("only an approved case gets a certificate")
		}

	case yizhanv1.EventType_EVENT_TYPE_FEE_ASSESSED:
		switch s {
		case stAccepted, stReviewed, stApproved, stDenied, stCertified:
		case stFiled, stCorrection:
			return fail("accept it first")
		case stRefused:
			return fail("a refused case pays no fee")
		default:
			return fail("it was delivered already")
		}
		if c.GetFeePaid() && c.GetFeeCents() > 0 {
			return fail("the fee of %d fen is paid already", c.GetFeeCents())
		}
		return nil

	case yizhanv1.EventType_EVENT_TYPE_FEE_PAID:
		switch {
		case c.GetFeeCents() <= 0:
			return fail("no fee is assessed")
		case c.GetFeePaid():
			return fail("the fee of %d fen is paid already", c.GetFeeCents())
		}
		return nil

	case yizhanv1.EventType_EVENT_TYPE_DELIVERED:
		switch s {
		case stCertified, stDenied, stRefused:
		case stApproved:
			if stepOffice(c.GetRoute(), yizhanv1.Right_RIGHT_CERTIFY) != "" {
				return fail("certify it first")
			}
		case stDelivered:
			return fail("it was delivered already")
		case stAccepted, stReviewed:
			return fail("decide it first")
		default:
			return fail("accept or refuse it first")
		}
		if unpaid(c) {
			return fail("fee of %d fen unpaid", c.GetFeeCents())
		}
		return nil

	case yizhanv1.EventType_EVENT_TYPE_CLOSED:
		if s != stDelivered {
			return fail("deliver it first")
		}
		return nil

	case yizhanv1.EventType_EVENT_TYPE_WITHDRAWN, yizhanv1.EventType_EVENT_TYPE_WITHDRAWAL_REQUESTED:
		switch s {
		case stPrecheck, stFiled, stCorrection, stAccepted, stReviewed:
			return nil
		}
		return fail("it was decided already: too late to withdraw")

	case yizhanv1.EventType_EVENT_TYPE_SUSPENDED, yizhanv1.EventType_EVENT_TYPE_EXTENDED:
		switch {
		case s != stAccepted && s != stReviewed:
			if s == stFiled || s == stCorrection {
				return fail("accept it first: the clock has not started")
			}
			return fail("the clock has stopped")
		case c.GetSuspended():
			return failSuspended()
		}
		return nil

	case yizhanv1.EventType_EVENT_TYPE_RESUMED:
		if !c.GetSuspended() {
			return fail("it is not suspended")
		}
		return nil

	case yizhanv1.EventType_EVENT_TYPE_OPINION_GIVEN:
		switch {
		case s != stAccepted && s != stReviewed:
			return decidedHint()
		case c.GetSuspended():
			return failSuspended()
		case e.GetDepartmentCode() != "" && !slices.Contains(c.GetOpinionsPending(), e.GetDepartmentCode()):
			return fail("department %q has no opinion pending (pending: %v)", e.GetDepartmentCode(), c.GetOpinionsPending())
		}
		return nil

	case yizhanv1.EventType_EVENT_TYPE_FORWARDED:
		from, to := e.GetOfficeCode(), e.GetToOffice()
		path := PathUp(c.GetOriginOffice())
		if to == "" || to == from || !slices.Contains(path, to) || (registry.ParentCode(from) != to && registry.ParentCode(to) != from) {
			return fail("cannot forward from %s to %q: the next office must be a neighbour on the path %v", from, to, path)
		}
		return nil

	case yizhanv1.EventType_EVENT_TYPE_RECEIVED:
		return nil // whether it follows a FORWARDED is a rule of the log: see Follows

	default:
		return fail("event type %s is not known", t)
	}
}

// eventRight is the right an office needs to append an event of type t;
// onPath is true when being on the case's path is enough (relaying,
// closing, fees, withdrawal, the citizen's rating and complaints), known
// false for an unknown type.
func eventRight(t yizhanv1.EventType) (right yizhanv1.Right, onPath, known bool) {
	switch t {
	case yizhanv1.EventType_EVENT_TYPE_ACCEPTED, yizhanv1.EventType_EVENT_TYPE_REFUSED,
		yizhanv1.EventType_EVENT_TYPE_CORRECTION_REQUESTED, yizhanv1.EventType_EVENT_TYPE_RESUBMITTED:
		return yizhanv1.Right_RIGHT_ACCEPT, false, true
	case yizhanv1.EventType_EVENT_TYPE_REVIEWED:
		return yizhanv1.Right_RIGHT_REVIEW, false, true
	case yizhanv1.EventType_EVENT_TYPE_DECIDED, yizhanv1.EventType_EVENT_TYPE_SUSPENDED,
		yizhanv1.EventType_EVENT_TYPE_RESUMED, yizhanv1.EventType_EVENT_TYPE_EXTENDED,
		yizhanv1.EventType_EVENT_TYPE_OPINION_GIVEN:
		return yizhanv1.Right_RIGHT_APPROVE, false, true
	case yizhanv1.EventType_EVENT_TYPE_CERTIFIED:
		return yizhanv1.Right_RIGHT_CERTIFY, false, true
	case yizhanv1.EventType_EVENT_TYPE_DELIVERED:
		return yizhanv1.Right_RIGHT_DELIVER, false, true
	case yizhanv1.EventType_EVENT_TYPE_FORWARDED, yizhanv1.EventType_EVENT_TYPE_RECEIVED,
		yizhanv1.EventType_EVENT_TYPE_CLOSED, yizhanv1.EventType_EVENT_TYPE_WITHDRAWN,
		yizhanv1.EventType_EVENT_TYPE_WITHDRAWAL_REQUESTED,
		yizhanv1.EventType_EVENT_TYPE_FEE_ASSESSED, yizhanv1.EventType_EVENT_TYPE_FEE_PAID,
		yizhanv1.EventType_EVENT_TYPE_RATED, yizhanv1.EventType_EVENT_TYPE_COMPLAINED,
		yizhanv1.EventType_EVENT_TYPE_PRECHECKED, yizhanv1.EventType_EVENT_TYPE_PRECHECK_REJECTED:
		return yizhanv1.Right_RIGHT_UNSPECIFIED, true, true
	}
	return yizhanv1.Right_RIGHT_UNSPECIFIED, false, false
}

// Follows checks the rules of the log between two consecutive events of
// a case, prev (nil: e is the first, of case number) and e: seq is one
// more, prev_hash is prev's hash (the genesis hash first), hash is right,
// at is set (ErrConflict otherwise); and a case handed on is received
// before anything else happens to it: after FORWARDED comes RECEIVED by
// the to_office, and RECEIVED comes only after FORWARDED
// (ErrFailedPrecondition).
func Follows(number string, prev, e *yizhanv1.CaseEvent) error {
	wantSeq, wantPrev := uint32(1), GenesisHash(number)
	if prev != nil {
		wantSeq, wantPrev = prev.GetSeq()+1, prev.GetHash()
	}
	switch {
	case e == nil:
		return fmt.Errorf("case %s: event %d is missing: %w", number, wantSeq, ErrConflict)
	case e.GetSeq() != wantSeq:
		return fmt.Errorf("case %s: event has seq %d, the log is at %d: want seq %d: %w", number, e.GetSeq(), wantSeq-1, wantSeq, ErrConflict)
	case !bytes.Equal(e.GetPrevHash(), wantPrev):
		return fmt.Errorf("case %s: seq %d: prev_hash is not the hash of seq %d: %w", number, wantSeq, wantSeq-1, ErrConflict)
	case !hashOK(e):
		return fmt.Errorf("case %s: seq %d: hash does not match the event: %w", number, wantSeq, ErrConflict)
	case e.GetAt() == nil || e.GetAt().CheckValid() != nil:
		return fmt.Errorf("case %s: seq %d has no valid time: %w", number, wantSeq, ErrConflict)
	}
	if prev == nil {
		return nil
	}
	inTransit := prev.GetType() == yizhanv1.EventType_EVENT_TYPE_FORWARDED
	received := e.GetType() == yizhanv1.EventType_EVENT_TYPE_RECEIVED
	switch {
	case inTransit && (!received || e.GetOfficeCode() != prev.GetToOffice()):
		return fmt.Errorf("case %s is in transit to %s: it must be received there first, seq %d is %s by %s: %w",
			number, prev.GetToOffice(), wantSeq, e.GetType(), e.GetOfficeCode(), ErrFailedPrecondition)
	case received && !inTransit:
		return fmt.Errorf("case %s: seq %d receives a case that was not forwarded: %w", number, wantSeq, ErrFailedPrecondition)
	}
	return nil
}

// eventTime is e's time, the zero time when unset.
func eventTime(e *yizhanv1.CaseEvent) time.Time {
	if e.GetAt() == nil {
		return time.Time{}
	}
	return e.GetAt().AsTime()
}
