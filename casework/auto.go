package casework

import (
	"fmt"
	"slices"
	"time"

	"google.golang.org/protobuf/proto"
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
	o, _ := nextStep(c)
	return o
}

// WaitingStep is the route step case c waits for in its state: its
// office and right ("" and RIGHT_UNSPECIFIED when none: the case is
// over, or the step is not on the route).
func WaitingStep(c *yizhanv1.Case) (string, yizhanv1.Right) {
	if final(c.GetState()) {
		return "", yizhanv1.Right_RIGHT_UNSPECIFIED
	}
	return nextStep(c)
}

// nextStep is nextStepOffice with the right the step needs.
func nextStep(c *yizhanv1.Case) (string, yizhanv1.Right) {
	s := c.GetState()
	for _, right := range routeRights {
		o := stepOffice(c.GetRoute(), right)
		if o == "" {
			continue
		}
		for i := range table {
			if r := &table[i]; r.Need == needRight && r.Right == right && r.movesOn(s) {
				return o, right
			}
		}
	}
	return "", yizhanv1.Right_RIGHT_UNSPECIFIED
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
//     assessed fee to be paid (a case rerouted away while suspended goes
//     on suspended: the office that now holds the step resumes it).
//
// ok is false when office does not hold c, the case is final (CLOSED,
// WITHDRAWN), or its own staff act next. The citizen's RATED and
// COMPLAINED ask for nothing: a rated case stays where it is, and the
// outbox mirrors it up like any other change. events is c's log: the Case
// alone cannot show that a case is in transit (its last event), or was
// rerouted while suspended.
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
	target := nextStepOffice(c)
	for _, g := range ruleOfAction[ActionForward].Waits {
		if g.Name == notSuspended.Name && target != office && reroutedWhileSuspended(events) {
			// The step was taken from this office while the case was
			// suspended here (its right taken back): it may not resume it
			// any more, the office that now holds the step does.
			continue
		}
		if g.checkedIn(c.GetState()) && g.fails(c, nil) {
			return ActionUnspecified, "", false
		}
	}
	if target == "" || target == office {
		return ActionUnspecified, "", false
	}
	if hop := NextHop(office, target); hop != "" {
		return ActionForward, hop, true
	}
	return ActionUnspecified, "", false
}

// reroutedWhileSuspended reports whether the log was rerouted (改派)
// after its last suspension began.
func reroutedWhileSuspended(events []*yizhanv1.CaseEvent) bool {
	for i := len(events) - 1; i >= 0; i-- {
		switch events[i].GetType() {
		case yizhanv1.EventType_EVENT_TYPE_REROUTED:
			return true
		case yizhanv1.EventType_EVENT_TYPE_SUSPENDED, yizhanv1.EventType_EVENT_TYPE_RESUMED:
			return false
		}
	}
	return false
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

// Reroute says whether case c (its log events) must be rerouted at at,
// under the grants of reg (改派): the office of the step the case waits
// for no longer holds that step's right for the item (a grant revoked,
// expired, or moved). The new route keeps the steps already behind the
// case and takes the rest from Route under the grants in force; ok is
// false when nothing needs to change, or no office may do the step now
// (the case waits where it is: nothing better exists).
func Reroute(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, reg Registry, at time.Time) (route []*yizhanv1.RouteStep, why string, ok bool) {
	if c == nil || final(c.GetState()) || inTransit(events) || len(events) == 0 {
		return nil, "", false
	}
	if !StepRightLost(c, reg, at) {
		return nil, "", false
	}
	target, right := nextStep(c)
	item, err := reg.Item(c.GetItemCode(), c.GetItemVersion())
	if err != nil {
		return nil, "", false
	}
	fresh, _, err := Route(reg, item, c.GetOriginOffice(), at)
	if err != nil {
		return nil, "", false
	}
	waiting := slices.Index(routeRights, right)
	for _, r := range routeRights {
		o := stepOffice(c.GetRoute(), r)
		if slices.Index(routeRights, r) >= waiting {
			o = stepOffice(fresh, r)
		}
		if o != "" {
			route = append(route, &yizhanv1.RouteStep{Right: r, OfficeCode: o})
		}
	}
	if slices.EqualFunc(route, c.GetRoute(), func(a, b *yizhanv1.RouteStep) bool {
		return a.GetRight() == b.GetRight() && a.GetOfficeCode() == b.GetOfficeCode()
	}) {
		return nil, "", false
	}
	return route, fmt.Sprintf("%s已不再拥有该事项的%s权限（授权变更），改由%s%s",
		officeName(reg, target), rightZH[right], officeName(reg, stepOffice(route, right)), rightZH[right]), true
}

// rightZH names the steps of a route as the reason of a REROUTED event
// says them.
var rightZH = map[yizhanv1.Right]string{
	yizhanv1.Right_RIGHT_ACCEPT: "受理", yizhanv1.Right_RIGHT_REVIEW: "审核", yizhanv1.Right_RIGHT_APPROVE: "审批",
	yizhanv1.Right_RIGHT_CERTIFY: "制证", yizhanv1.Right_RIGHT_DELIVER: "送达",
}

// officeName is the office's name in the registry, else its code.
func officeName(reg Registry, code string) string {
	if o, err := reg.Office(code); err == nil && o.GetName() != "" {
		return o.GetName()
	}
	return code
}

// StepRightLost reports whether the office of the step open case c waits
// for no longer holds that step's right for the item at at: the cheap
// first test of Reroute, on the case alone.
func StepRightLost(c *yizhanv1.Case, reg Registry, at time.Time) bool {
	if final(c.GetState()) {
		return false
	}
	target, right := nextStep(c)
	return target != "" && !slices.Contains(reg.Rights(c.GetItemCode(), target, at), right)
}

// NewRerouteEvent makes the unsealed REROUTED event of office on c at at:
// the new route (Reroute) with its reason, actor SystemActor.
func NewRerouteEvent(c *yizhanv1.Case, route []*yizhanv1.RouteStep, why, office string, at time.Time) *yizhanv1.CaseEvent {
	return &yizhanv1.CaseEvent{
		Seq: c.GetLastSeq() + 1, Type: evRerouted, At: timestamppb.New(at),
		Actor: SystemActor, ActorName: "系统", OfficeCode: office, Reason: why, Route: cloneRoute(route),
	}
}

// cloneRoute is a deep copy of route.
func cloneRoute(route []*yizhanv1.RouteStep) []*yizhanv1.RouteStep {
	out := make([]*yizhanv1.RouteStep, 0, len(route))
	for _, s := range route {
		out = append(out, proto.CloneOf(s))
	}
	return out
}
