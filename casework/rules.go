package casework

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// The lifecycle rules are the rule table's (table.go), which NewEvent and
// AllowedActions (what staff and the citizen may ask for), Permitted (what
// a receiving office accepts from another), Book.Apply and Pending read.
//
// The state diagram, rendered from the rule table (table.go) by TestDiagram:
//
//	PRECHECK             precheck            → FILED
//	                     rejectPrecheck      → PRECHECK_REJECTED
//	                     withdraw            → WITHDRAWN         if asked by staff of the item's department, the comprehensive window or an agent (at the county) (asked)
//	FILED                accept              → ACCEPTED          if asked by staff of the item's department, or the comprehensive window (at the county) (asked)
//	                                                             and every required material handed in (asked)
//	                     requestCorrection   → CORRECTION_REQUESTED if asked by staff of the item's department, or the comprehensive window (at the county) (asked)
//	                                                             and no correction notice before (one-time notice) (asked)
//	                     refuse              → REFUSED           if asked by staff of the item's department, or the comprehensive window (at the county) (asked)
//	                     withdraw            → WITHDRAWN         if asked by staff of the item's department, the comprehensive window or an agent (at the county) (asked)
//	CORRECTION_REQUESTED resubmit            → FILED             if asked by staff of the item's department, or the comprehensive window (at the county) (asked)
//	                     withdraw            → WITHDRAWN         if asked by staff of the item's department, the comprehensive window or an agent (at the county) (asked)
//	ACCEPTED             review              → REVIEWED          if not suspended
//	                                                             and asked by staff of the item's department (at the county) (asked)
//	                     decide              → APPROVED | DENIED if not suspended
//	                                                             and no opinion pending
//	                                                             and no REVIEW step on the route
//	                                                             and asked by staff of the item's department (at the county) (asked)
//	                                                             and asked by another person than who accepted and reviewed it (asked)
//	                                                             and no co-department's 不同意 standing (to approve) (asked)
//	                     withdraw            → WITHDRAWN         if asked by staff of the item's department, the comprehensive window or an agent (at the county) (asked)
//	REVIEWED             decide              → APPROVED | DENIED if not suspended
//	                                                             and no opinion pending
//	                                                             and asked by staff of the item's department (at the county) (asked)
//	                                                             and asked by another person than who accepted and reviewed it (asked)
//	                                                             and no co-department's 不同意 standing (to approve) (asked)
//	                     withdraw            → WITHDRAWN         if asked by staff of the item's department, the comprehensive window or an agent (at the county) (asked)
//	APPROVED             certify             → CERTIFIED         if asked by staff of the item's department (at the county) (asked)
//	                     deliver             → DELIVERED         if no CERTIFY step on the route
//	                                                             and no fee unpaid
//	                                                             and asked by staff of the item's department, the comprehensive window or an agent (at the county) (asked)
//	DENIED               deliver             → DELIVERED         if no fee unpaid
//	                                                             and asked by staff of the item's department, the comprehensive window or an agent (at the county) (asked)
//	CERTIFIED            deliver             → DELIVERED         if no fee unpaid
//	                                                             and asked by staff of the item's department, the comprehensive window or an agent (at the county) (asked)
//	REFUSED              deliver             → DELIVERED         if no fee unpaid
//	                                                             and asked by staff of the item's department, the comprehensive window or an agent (at the county) (asked)
//	DELIVERED            close (by itself)   → CLOSED
//	CLOSED, WITHDRAWN, PRECHECK_REJECTED: final.
//	The state stays:
//	  resume              in any open state
//	                      if suspended
//	                      and asked by staff of the item's department (at the county) (asked)
//	  giveOpinion         in ACCEPTED, REVIEWED
//	                      if not suspended
//	                      and the department's opinion pending (or its 不同意 to revise)
//	  pay                 in any open state
//	                      if a fee due (assessed; not refused or denied)
//	                      and the fee not paid yet
//	  assessFee           in ACCEPTED, REVIEWED, APPROVED, CERTIFIED
//	                      if the fee not paid yet
//	                      and asked by staff of the item's department (at the county) (asked)
//	                      and the item has a fee standard (asked)
//	                      and no fee assessed before (asked)
//	  correctFee          in ACCEPTED, REVIEWED, APPROVED, CERTIFIED
//	                      if a fee due (assessed; not refused or denied)
//	                      and the fee not paid yet
//	                      and asked by staff of the item's department (at the county) (asked)
//	  suspend             in ACCEPTED, REVIEWED
//	                      if not suspended
//	                      and asked by staff of the item's department (at the county) (asked)
//	  extend              in ACCEPTED, REVIEWED
//	                      if not suspended
//	                      and asked by staff of the item's department (at the county) (asked)
//	                      and not extended before (§42: once) (asked)
//	                      and asked within the statutory limit (§42) (asked)
//	  rate                in CLOSED, final or not
//	                      if not rated yet
//	  complain            in any state, final or not
//	  reissueQueryCode    in any state, final or not
//	                      if asked by staff of the office where the case was filed (asked)
//	  forward (by itself) in any open state
//	                      if to a neighbour on the path
//	                      by itself only when not suspended
//	                      and no fee unpaid
//	  receive (by itself) in any open state
//	  reroute (by itself) in any open state
//
// A case handed on (FORWARDED) is RECEIVED before anything else happens
// to it: a rule of the log (Follows), not of the table.

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
// (none is after a refusal or a denial: feeDue).
func unpaid(c *yizhanv1.Case) bool { return feeDue(c) && !c.GetFeePaid() }

// final reports whether nothing more can happen to a case in state s
// (the state table's Final).
func final(s yizhanv1.CaseState) bool { st := stateOf[s]; return st != nil && st.Final }

// atPrecheck reports whether a case in state s has not left the office
// where it was filed online: waiting for, or turned down at, its pre-check
// (the state table's Local).
func atPrecheck(s yizhanv1.CaseState) bool { st := stateOf[s]; return st != nil && st.Local }

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

// checkOwner fails with sentinel unless office holds c: for an action
// asked for (ErrFailedPrecondition), reason CASE_HELD_ELSEWHERE naming
// the owner.
func checkOwner(c *yizhanv1.Case, office string, sentinel error) error {
	if c.GetOwnerOffice() != office {
		if sentinel == ErrFailedPrecondition {
			return reason.Errorf(reason.CaseHeldElsewhere, reason.Meta{"number": c.GetNumber(), "owner": c.GetOwnerOffice(), "office": office},
				"case %s is held by office %s, not %s: %w", c.GetNumber(), c.GetOwnerOffice(), office, sentinel)
		}
		return fmt.Errorf("case %s is held by office %s, not %s: %w", c.GetNumber(), c.GetOwnerOffice(), office, sentinel)
	}
	return nil
}

// checkState reports whether c's state allows e, appended by its owner
// e.office_code, by the rule table: the rule of e's type lists the state
// in From and its guards hold (a *RuleError wrapping ErrFailedPrecondition
// naming the state otherwise, "case is CASE_STATE_FILED: accept it
// first"). It does not look at who appended e, nor at its input fields
// beyond those the guards read (to_office, department_code).
func checkState(c *yizhanv1.Case, e *yizhanv1.CaseEvent) error {
	s := c.GetState()
	r := ruleOfEvent[e.GetType()]
	if r != nil && slices.Contains(r.From, s) {
		for _, g := range r.Guards {
			if g.checkedIn(s) && g.fails(c, e) {
				return precondition(g.Name, c, e.GetType(), func() string { return g.say(c, e) })
			}
		}
		return nil
	}
	if st := stateOf[s]; st != nil && st.Note != "" && (r == nil || !r.Besides) {
		return precondition(st.Rule, c, e.GetType(), func() string { return caseIs(c, "%s", st.Note) })
	}
	if r == nil {
		return precondition("UNKNOWN_EVENT", c, e.GetType(), func() string { return caseIs(c, "event type %s is not known", e.GetType()) })
	}
	for _, h := range r.Hints {
		if slices.Contains(h.In, s) {
			return precondition("STATE", c, e.GetType(), func() string { return caseIs(c, "%s", h.Say) })
		}
	}
	if r.Else != "" {
		return precondition("STATE", c, e.GetType(), func() string { return caseIs(c, "%s", r.Else) })
	}
	return precondition("STATE", c, e.GetType(), func() string { return caseIs(c, "%s cannot happen in this state", e.GetType()) })
}

// eventRight is the right an office needs to append an event of type t
// (the rule table's Need and Right); onPath is true when being on the
// case's path is enough (relaying, closing, fees, withdrawal, the pre-check,
// the citizen's rating and complaints), known false for FILED (see
// permitFiling) and an unknown type.
func eventRight(t yizhanv1.EventType) (right yizhanv1.Right, onPath, known bool) {
	r := ruleOfEvent[t]
	switch {
	case r == nil || r.Need == needNothing:
		return yizhanv1.Right_RIGHT_UNSPECIFIED, false, false
	case r.Need == needRight:
		return r.Right, false, true
	}
	return yizhanv1.Right_RIGHT_UNSPECIFIED, true, true
}

// Follows checks the rules of the log between two consecutive events of
// a case, prev (nil: e is the first, of case number) and e: seq is one
// more, prev_hash is prev's hash (the genesis hash first), hash is right,
// at is set (ErrConflict otherwise); and a case handed on is received
// before anything else happens to it: after FORWARDED comes RECEIVED by
// the to_office, and RECEIVED comes only after FORWARDED
// (ErrFailedPrecondition).
func Follows(number string, prev, e *yizhanv1.CaseEvent) error {
	return follows(number, prev, e, true)
}

// follows is Follows; without checkHash, e's hash is known to be right
// (HashesMatch) and is not computed again.
func follows(number string, prev, e *yizhanv1.CaseEvent, checkHash bool) error {
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
	case checkHash && !hashOK(e):
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

// Final reports whether a case in state s is over: nothing but ratings and
// complaints may follow (the state table's Final).
func Final(s yizhanv1.CaseState) bool { return final(s) }
