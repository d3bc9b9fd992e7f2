package casework

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// What an office does by itself: receive a case handed to it, hand a case
// on towards the office of its next step, close a delivered case.

// nextStepOffice is the office of the route step the case waits for in
// its state, or "" when none: the first step, in the route's order, whose
// right a rule of the table needs to take the case on from its state
// (FILED: ACCEPT; ACCEPTED: REVIEW, else APPROVE; APPROVED: CERTIFY, else
// DELIVER; …).
func nextStepOffice(c *yizhanv1.Case) string {
	s := c.GetState()
	for _, right := range routeRights {
		o := stepOffice(c.GetRoute(), right)
		if o == "" {
			continue
		}
		for i := range table {
			if r := &table[i]; r.Need == needRight && r.Right == right && r.movesOn(s) {
				return o
			}
		}
	}
	return ""
}

// inTransit reports whether the log's last event hands the case on: the
// next must be its RECEIVED (Follows).
func inTransit(events []*yizhanv1.CaseEvent) bool {
	n := len(events)
	return n > 0 && events[n-1].GetType() == evForwarded
}

// Pending returns what office, holding c, must do by itself next, and
// for ActionForward the office to forward to:
//
//   - ActionReceive when the last event hands the case to office
//     (FORWARDED to it): it appends RECEIVED before anything else;
//   - the automatic action whose rule in the rule table takes the case on
//     from its state: ActionClose when the case is DELIVERED;
//   - ActionForward, to NextHop(office, target), when the office of the
//     step the case waits for (nextStepOffice: by state, FILED and
//     CORRECTION_REQUESTED the ACCEPT office; ACCEPTED the REVIEW office,
//     else APPROVE; REVIEWED the APPROVE office; APPROVED the CERTIFY
//     office, else DELIVER; CERTIFIED, DENIED and REFUSED the DELIVER
//     office) is another office, and the guards of the forward rule's
//     Waits hold: the case is neither suspended nor waiting for an
//     assessed fee to be paid.
//
// ok is false when office does not hold c, the case is final (CLOSED,
// WITHDRAWN), or its own staff act next. The citizen's RATED and
// COMPLAINED ask for nothing: a rated case stays where it is, and the
// outbox mirrors it up like any other change. events is c's log (only its last
// event is read): the Case alone cannot show that a case is in transit.
func Pending(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, office string) (action Action, to string, ok bool) {
	if c == nil || c.GetOwnerOffice() != office || final(c.GetState()) {
		return ActionUnspecified, "", false
	}
	if inTransit(events) {
		if events[len(events)-1].GetToOffice() == office {
			return ActionReceive, "", true
		}
		return ActionUnspecified, "", false
	}
	// An automatic rule that takes the case on from its state: close.
	for i := range table {
		if r := &table[i]; r.Auto && r.movesOn(c.GetState()) {
			return r.Action, "", true
		}
	}
	for _, g := range ruleOfAction[ActionForward].Waits {
		if g.checkedIn(c.GetState()) && g.fails(c, nil) {
			return ActionUnspecified, "", false
		}
	}
	target := nextStepOffice(c)
	if target == "" || target == office {
		return ActionUnspecified, "", false
	}
	if hop := NextHop(office, target); hop != "" {
		return ActionForward, hop, true
	}
	return ActionUnspecified, "", false
}

// NewAutoEvent makes the unsealed event of an automatic action (from
// Pending) of office on c at at: FORWARDED to to, RECEIVED, or CLOSED,
// with actor SystemActor. It returns nil for any other action. It checks
// nothing: Book.Apply does.
func NewAutoEvent(c *yizhanv1.Case, action Action, to string, office string, at time.Time) *yizhanv1.CaseEvent {
	if !action.Automatic() {
		return nil
	}
	e := &yizhanv1.CaseEvent{
		Seq:        c.GetLastSeq() + 1,
		Type:       action.EventType(),
		At:         timestamppb.New(at),
		Actor:      SystemActor,
		ActorName:  "系统",
		OfficeCode: office,
	}
	if action == ActionForward {
		e.ToOffice = to
	}
	return e
}
