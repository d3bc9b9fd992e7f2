// Package supervision is electronic supervision (电子监察): the rules that
// issue yellow and red cards on cases, and the figures counties report,
// computed from the case book's counters. It holds no state: the cards
// live in each office's case book (casebook), issued in the raft log's
// order so that every node of an office holds the same ones; the figures
// are arithmetic over counters. See DESIGN.md and docs/SUPERVISION.md.
package supervision

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// DefaultWarningDays is how many working days before its promised due
// date a running case earns a yellow card (预警).
const DefaultWarningDays = 2

// AcceptanceDays is the working days an office has to accept, refuse or
// send a correction notice on a filing (行政许可法 §32).
const AcceptanceDays = casework.AcceptanceDays

// ColourOf is the colour of rule r's cards.
func ColourOf(r yizhanv1.CardRule) yizhanv1.CardColour {
	if r == yizhanv1.CardRule_CARD_RULE_OVERDUE || r == yizhanv1.CardRule_CARD_RULE_ORDER_LATE {
		return yizhanv1.CardColour_CARD_COLOUR_RED
	}
	return yizhanv1.CardColour_CARD_COLOUR_YELLOW
}

// ruleNames are the rules in Chinese.
var ruleNames = map[yizhanv1.CardRule]string{
	yizhanv1.CardRule_CARD_RULE_DUE_SOON:              "即将超期预警",
	yizhanv1.CardRule_CARD_RULE_OVERDUE:               "超期",
	yizhanv1.CardRule_CARD_RULE_SECOND_CORRECTION:     "违反一次性告知",
	yizhanv1.CardRule_CARD_RULE_FEE_NOT_STANDARD:      "收费不规范",
	yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME:  "逾期未受理",
	yizhanv1.CardRule_CARD_RULE_FOLLOW_UP_LATE:        "投诉差评未按时答复",
	yizhanv1.CardRule_CARD_RULE_ORDER_LATE:            "督办逾期未答复",
	yizhanv1.CardRule_CARD_RULE_NOT_DELIVERED_IN_TIME: "逾期未送达",
	yizhanv1.CardRule_CARD_RULE_SUSPENSION_OVER_LIMIT: "中止超过特别程序时限",
	yizhanv1.CardRule_CARD_RULE_STEP_LATE:             "环节超时",
}

// RuleName is rule r in Chinese.
func RuleName(r yizhanv1.CardRule) string { return ruleNames[r] }

// Policy is what a county chooses of the rules.
type Policy struct {
	WarningDays int // 0: DefaultWarningDays
}

func (p Policy) warningDays() int {
	if p.WarningDays <= 0 {
		return DefaultWarningDays
	}
	return p.WarningDays
}

// Due evaluates the time-driven rule r on case c (its events, the
// registry's calendar) at now: the card it earns, or nil.
//
//   - DUE_SOON: running, not past its promised due time, and at most the
//     policy's warning days left, fewer than it had when accepted (an
//     immediate item, or a promise within the warning days, is not
//     warned at its acceptance);
//   - OVERDUE: accepted, undecided and past its promised due time,
//     suspended or not (casework.Clocks' overdue; a case decided late
//     earns it by its DECIDED event: see OnEvent);
//   - NOT_ACCEPTED_IN_TIME: filed (or waiting for its precheck) and
//     neither accepted, refused nor sent a correction notice by the end of
//     the fifth working day after it was filed;
//   - NOT_DELIVERED_IN_TIME: decided (or refused) and not delivered by the
//     end of the tenth working day after (§44: casework.Clocks'
//     delivery_overdue; one delivered late earns it by its DELIVERED
//     event);
//   - SUSPENSION_OVER_LIMIT: accepted, undecided and still suspended past
//     its special procedure's own limit (casework.LastSuspension; one
//     resumed late earns it by its RESUMED event);
//   - STEP_LATE: in a step of the item's procedure with a limit of its own
//     (OpenStep) past that limit, the step not ended yet (one ended late
//     earns it by the event that ends it: stepLate).
func Due(r yizhanv1.CardRule, c *yizhanv1.Case, events []*yizhanv1.CaseEvent, reg casework.Registry, now time.Time, p Policy) *yizhanv1.Card {
	if len(events) == 0 || events[0].GetFiling() == nil {
		return nil
	}
	switch r {
	case yizhanv1.CardRule_CARD_RULE_DUE_SOON, yizhanv1.CardRule_CARD_RULE_OVERDUE:
		d := casework.Clocks(c, events, reg, now)
		due := d.GetPromisedDue().AsTime()
		if r == yizhanv1.CardRule_CARD_RULE_OVERDUE {
			// Past due while undecided, suspended or not (a suspension
			// that counts inside the limit does not stop the clock).
			if s := c.GetState(); !d.GetOverdue() || (s != yizhanv1.CaseState_CASE_STATE_ACCEPTED && s != yizhanv1.CaseState_CASE_STATE_REVIEWED) {
				return nil
			}
			return newCard(r, c, events, c.GetOwnerOffice(), due,
				fmt.Sprintf("超过承诺期限 %d 个工作日仍未办结", max(-d.GetPromisedDaysLeft(), 1)))
		}
		// A warning needs a working day of the promise used: an
		// immediate item (即办, due the day it is accepted) or one whose
		// whole promise is within the warning days is not warned the
		// moment it is accepted.
		left := int(d.GetPromisedDaysLeft())
		if !d.GetRunning() || now.After(due) || left > p.warningDays() ||
			left >= reg.WorkingDaysBetween(d.GetAcceptedAt().AsTime(), due) {
			return nil
		}
		return newCard(r, c, events, c.GetOwnerOffice(), now,
			fmt.Sprintf("距承诺期限还剩 %d 个工作日", left))
	case yizhanv1.CardRule_CARD_RULE_NOT_DELIVERED_IN_TIME:
		if !awaitsDelivery(c.GetState()) {
			return nil
		}
		d := casework.Clocks(c, events, reg, now)
		if !d.GetDeliveryOverdue() {
			return nil
		}
		return newCard(r, c, events, c.GetOwnerOffice(), d.GetDeliveryDue().AsTime(),
			fmt.Sprintf("决定后 %d 个工作日内未送达", casework.DeliveryDays))
	case yizhanv1.CardRule_CARD_RULE_SUSPENSION_OVER_LIMIT:
		if s := c.GetState(); !c.GetSuspended() || (s != yizhanv1.CaseState_CASE_STATE_ACCEPTED && s != yizhanv1.CaseState_CASE_STATE_REVIEWED) {
			return nil
		}
		sp, ok := casework.LastSuspension(events, reg)
		if !ok || !sp.Ended.IsZero() || !sp.Over(now) {
			return nil
		}
		return newCard(r, c, events, c.GetOwnerOffice(), sp.Due,
			fmt.Sprintf("%s超过其 %d 个工作日时限仍未恢复办理", sp.Procedure, sp.LimitDays))
	case yizhanv1.CardRule_CARD_RULE_STEP_LATE:
		s, ok := OpenStep(c, events, reg)
		if !ok || !now.After(s.Due) {
			return nil
		}
		return newCard(r, c, events, c.GetOwnerOffice(), s.Due,
			fmt.Sprintf("%s环节已用 %d 个工作日，超过其 %d 个工作日时限仍未完成", s.Name, reg.WorkingDaysBetween(s.Start, now)-s.Paused, s.LimitDays)+pauseNote(s.Paused))
	case yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME:
		switch c.GetState() {
		case yizhanv1.CaseState_CASE_STATE_FILED, yizhanv1.CaseState_CASE_STATE_PRECHECK:
		default:
			return nil
		}
		d := casework.Clocks(c, events, reg, now)
		if !d.GetAcceptanceOverdue() {
			return nil
		}
		return newCard(r, c, events, c.GetOwnerOffice(), d.GetAcceptanceDue().AsTime(), acceptanceLate(events))
	}
	return nil
}

// AcceptanceDeadline is the end of the fifth working day after the case
// was filed, or after the materials were last handed in again after a
// correction notice (§32: casework.AcceptanceDue).
func AcceptanceDeadline(events []*yizhanv1.CaseEvent, reg casework.Registry) time.Time {
	return casework.AcceptanceDue(events, reg)
}

// awaitsDelivery reports whether a case in state s is decided (or
// refused) and not delivered yet.
func awaitsDelivery(s yizhanv1.CaseState) bool {
	switch s {
	case yizhanv1.CaseState_CASE_STATE_APPROVED, yizhanv1.CaseState_CASE_STATE_DENIED,
		yizhanv1.CaseState_CASE_STATE_CERTIFIED, yizhanv1.CaseState_CASE_STATE_REFUSED:
		return true
	}
	return false
}

// OnEvent evaluates the rules that an event breaks when it happens: the
// last of events, just stored, on case c as it is after it.
//
//   - DECIDED after the promised due time: OVERDUE (red);
//   - a second CORRECTION_REQUESTED: SECOND_CORRECTION;
//   - FEE_ASSESSED or FEE_CORRECTED of an amount other than the item
//     version's standard for its units:
//     FEE_NOT_STANDARD;
//   - the filing's first answer (ACCEPTED, REFUSED, CORRECTION_REQUESTED)
//     after the §32 deadline: NOT_ACCEPTED_IN_TIME;
//   - DELIVERED after §44's ten working days: NOT_DELIVERED_IN_TIME;
//   - RESUMED after the special procedure's own limit:
//     SUSPENSION_OVER_LIMIT;
//   - the event that ends a step of the item's procedure with a limit of
//     its own (stepLate), after that limit: STEP_LATE.
func OnEvent(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, reg casework.Registry) []*yizhanv1.Card {
	if len(events) < 2 || events[0].GetFiling() == nil {
		return nil
	}
	e := events[len(events)-1]
	at := e.GetAt().AsTime()
	var out []*yizhanv1.Card
	switch e.GetType() {
	case yizhanv1.EventType_EVENT_TYPE_DELIVERED:
		if d := casework.Clocks(c, events, reg, at); d.GetDeliveryOverdue() {
			out = append(out, newCard(yizhanv1.CardRule_CARD_RULE_NOT_DELIVERED_IN_TIME, c, events, e.GetOfficeCode(), d.GetDeliveryDue().AsTime(),
				fmt.Sprintf("决定后 %d 个工作日内未送达", casework.DeliveryDays)))
		}
	case yizhanv1.EventType_EVENT_TYPE_DECIDED:
		if d := casework.Clocks(c, events, reg, at); d.GetOverdue() {
			out = append(out, newCard(yizhanv1.CardRule_CARD_RULE_OVERDUE, c, events, e.GetOfficeCode(), at,
				fmt.Sprintf("超过承诺期限 %d 个工作日办结", max(-d.GetPromisedDaysLeft(), 1))))
		}
	case yizhanv1.EventType_EVENT_TYPE_RESUMED:
		if sp, ok := casework.LastSuspension(events, reg); ok && sp.Over(at) {
			out = append(out, newCard(yizhanv1.CardRule_CARD_RULE_SUSPENSION_OVER_LIMIT, c, events, e.GetOfficeCode(), sp.Due,
				fmt.Sprintf("%s超过其 %d 个工作日时限后才恢复办理", sp.Procedure, sp.LimitDays)))
		}
	case yizhanv1.EventType_EVENT_TYPE_FEE_ASSESSED, yizhanv1.EventType_EVENT_TYPE_FEE_CORRECTED:
		f := events[0].GetFiling()
		item, err := reg.Item(f.GetItemCode(), f.GetItemVersion())
		units := int64(e.GetFeeUnits())
		if units == 0 && e.GetType() == yizhanv1.EventType_EVENT_TYPE_FEE_ASSESSED {
			units = 1 // an assessment of a release before fee units
		}
		if want := item.GetFeeCents() * units; err == nil && e.GetFeeCents() != want {
			out = append(out, newCard(yizhanv1.CardRule_CARD_RULE_FEE_NOT_STANDARD, c, events, e.GetOfficeCode(), at,
				fmt.Sprintf("核定收费 %s，收费标准 %s", yuan(e.GetFeeCents()), yuan(want))))
		}
	}
	if card := stepLate(c, events, reg); card != nil {
		out = append(out, card)
	}
	switch e.GetType() {
	case yizhanv1.EventType_EVENT_TYPE_CORRECTION_REQUESTED:
		if n := countType(events, yizhanv1.EventType_EVENT_TYPE_CORRECTION_REQUESTED); n == 2 {
			out = append(out, newCard(yizhanv1.CardRule_CARD_RULE_SECOND_CORRECTION, c, events, e.GetOfficeCode(), at,
				"同一办件第二次要求补正，违反一次性告知"))
		}
		fallthrough
	case yizhanv1.EventType_EVENT_TYPE_ACCEPTED, yizhanv1.EventType_EVENT_TYPE_REFUSED:
		// The answer that ended a wait (the filing's, or the materials'
		// handed in again) after its deadline.
		if waiting(events[:len(events)-1]) {
			if deadline := AcceptanceDeadline(events, reg); at.After(deadline) {
				out = append(out, newCard(yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME, c, events, e.GetOfficeCode(), deadline, acceptanceLate(events)))
			}
		}
	}
	return out
}

// waiting reports whether the filing waits for an answer after events:
// not yet accepted, refused or sent a correction notice since it was
// filed or its materials were last handed in again.
func waiting(events []*yizhanv1.CaseEvent) bool {
	wait := true
	for _, e := range events[1:] {
		switch e.GetType() {
		case yizhanv1.EventType_EVENT_TYPE_RESUBMITTED:
			wait = true
		case yizhanv1.EventType_EVENT_TYPE_ACCEPTED, yizhanv1.EventType_EVENT_TYPE_REFUSED,
			yizhanv1.EventType_EVENT_TYPE_CORRECTION_REQUESTED:
			wait = false
		}
	}
	return wait
}

// acceptanceLate is the NOT_ACCEPTED_IN_TIME card's detail: after the
// filing, or after the materials handed in again.
func acceptanceLate(events []*yizhanv1.CaseEvent) string {
	if countType(events, yizhanv1.EventType_EVENT_TYPE_RESUBMITTED) > 0 {
		return fmt.Sprintf("补正材料提交后 %d 个工作日内未受理、不予受理或再次告知补正", AcceptanceDays)
	}
	return fmt.Sprintf("申请后 %d 个工作日内未受理、不予受理或一次性告知补正", AcceptanceDays)
}

// stepEnds is the event that ends a step of an item's procedure (办理流程),
// by words of the step's name, tried in this order: 受理 the acceptance,
// 审核 or 审查 the review, 审批, 决定 or 批准 the decision, 制证 or 发证
// the certificate, 送达 the delivery. A step named otherwise has no event
// of its own: its limit is not watched.
var stepEnds = []stepEnd{
	{[]string{"受理"}, yizhanv1.EventType_EVENT_TYPE_ACCEPTED},
	{[]string{"审核", "审查"}, yizhanv1.EventType_EVENT_TYPE_REVIEWED},
	{[]string{"审批", "决定", "批准"}, yizhanv1.EventType_EVENT_TYPE_DECIDED},
	{[]string{"制证", "发证"}, yizhanv1.EventType_EVENT_TYPE_CERTIFIED},
	{[]string{"送达"}, yizhanv1.EventType_EVENT_TYPE_DELIVERED},
}

// stepEnd is a kind of step: the words of its name and its event.
type stepEnd struct {
	words []string
	ends  yizhanv1.EventType
}

// stepStarts are the events a step starts after: the last of them before
// the step's end (the filing, its receipt at the office, the materials
// handed in again after a correction notice, the step before; a refusal
// to accept for the delivery of its notice).
var stepStarts = []yizhanv1.EventType{
	yizhanv1.EventType_EVENT_TYPE_FILED, yizhanv1.EventType_EVENT_TYPE_RECEIVED, yizhanv1.EventType_EVENT_TYPE_RESUBMITTED,
	yizhanv1.EventType_EVENT_TYPE_ACCEPTED, yizhanv1.EventType_EVENT_TYPE_REVIEWED, yizhanv1.EventType_EVENT_TYPE_DECIDED,
	yizhanv1.EventType_EVENT_TYPE_CERTIFIED, yizhanv1.EventType_EVENT_TYPE_REFUSED,
}

// stepLate is the STEP_LATE card the log's last event earns when it ends
// a step of the item version's procedure (stepEnds) after the step's own
// limit_days, counted in working days from the event the step started
// after (stepStarts) to the end of the limit's last day, and as many
// working days more as the case's clock stood still in the step
// (stepPause); nil otherwise.
func stepLate(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, reg casework.Registry) *yizhanv1.Card {
	e := events[len(events)-1]
	if !slices.ContainsFunc(stepEnds, func(s stepEnd) bool { return s.ends == e.GetType() }) {
		return nil // ends no step: the item (a copy from the registry) is not read
	}
	f := events[0].GetFiling()
	item, err := reg.Item(f.GetItemCode(), f.GetItemVersion())
	if err != nil {
		return nil
	}
	for _, step := range item.GetSteps() {
		if step.GetLimitDays() <= 0 || stepEndOf(step.GetName()) != e.GetType() {
			continue
		}
		start := -1
		for i := len(events) - 2; i >= 0 && start < 0; i-- {
			if slices.Contains(stepStarts, events[i].GetType()) {
				start = i
			}
		}
		if start < 0 {
			return nil
		}
		from, at := events[start].GetAt().AsTime(), e.GetAt().AsTime()
		paused := stepPause(c, events[:len(events)-1], start, reg)
		due := reg.AddWorkingDays(from, int(step.GetLimitDays())+paused)
		if !at.After(due) {
			return nil
		}
		used := reg.WorkingDaysBetween(from, at) - paused
		return newCard(yizhanv1.CardRule_CARD_RULE_STEP_LATE, c, events, e.GetOfficeCode(), due,
			fmt.Sprintf("%s环节用时 %d 个工作日，超过其 %d 个工作日时限", step.GetName(), used, step.GetLimitDays())+pauseNote(paused))
	}
	return nil
}

// stepPause is the working days the case's clock stood still between
// events[start], where a step started, and the last of events: the
// paused days casework.Clocks counts (a suspension for a special
// procedure outside the time limit, up to that procedure's own limit;
// one that counts inside the limit pauses nothing), so that a step's
// time is counted as the case's is. 0 when the case was not suspended
// after start (Clocks is not run).
func stepPause(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, start int, reg casework.Registry) int {
	if !slices.ContainsFunc(events[start+1:], func(e *yizhanv1.CaseEvent) bool {
		return e.GetType() == yizhanv1.EventType_EVENT_TYPE_SUSPENDED
	}) {
		return 0
	}
	last := events[len(events)-1].GetAt().AsTime()
	was := casework.Clocks(c, events[:start+1], reg, events[start].GetAt().AsTime()).GetPausedDays()
	return max(int(casework.Clocks(c, events, reg, last).GetPausedDays()-was), 0)
}

// pauseNote tells, in a card's words, the days a step stood still.
func pauseNote(paused int) string {
	if paused <= 0 {
		return ""
	}
	return fmt.Sprintf("（已扣除中止 %d 个工作日）", paused)
}

// Step is the step of an item's procedure a case is in (OpenStep): its
// name and limit, the event it started after, and the end of its limit's
// last day.
type Step struct {
	Name       string
	LimitDays  int
	Start, Due time.Time
	Paused     int // working days the case stood still in it (stepPause)
}

// nextEnds are the events that may end the step a case in a state is in,
// in the order the procedure goes: an accepted case is reviewed if its
// item has a review step, decided if not; an approved one certified if
// its item has a certificate step, delivered if not.
var nextEnds = map[yizhanv1.CaseState][]yizhanv1.EventType{
	yizhanv1.CaseState_CASE_STATE_FILED:     {yizhanv1.EventType_EVENT_TYPE_ACCEPTED},
	yizhanv1.CaseState_CASE_STATE_PRECHECK:  {yizhanv1.EventType_EVENT_TYPE_ACCEPTED},
	yizhanv1.CaseState_CASE_STATE_ACCEPTED:  {yizhanv1.EventType_EVENT_TYPE_REVIEWED, yizhanv1.EventType_EVENT_TYPE_DECIDED},
	yizhanv1.CaseState_CASE_STATE_REVIEWED:  {yizhanv1.EventType_EVENT_TYPE_DECIDED},
	yizhanv1.CaseState_CASE_STATE_APPROVED:  {yizhanv1.EventType_EVENT_TYPE_CERTIFIED, yizhanv1.EventType_EVENT_TYPE_DELIVERED},
	yizhanv1.CaseState_CASE_STATE_CERTIFIED: {yizhanv1.EventType_EVENT_TYPE_DELIVERED},
	yizhanv1.CaseState_CASE_STATE_DENIED:    {yizhanv1.EventType_EVENT_TYPE_DELIVERED},
	yizhanv1.CaseState_CASE_STATE_REFUSED:   {yizhanv1.EventType_EVENT_TYPE_DELIVERED},
}

// OpenStep is the step of the item version's procedure that case c is in
// at the end of its log, when that step has a limit of its own and is
// watched: the first of the item's steps that the next event expected in
// the case's state would end (nextEnds), counted, as stepLate counts it
// once ended, from the last event a step starts after (stepStarts), its
// end moved by the days the case stood still in it (stepPause). A case
// suspended now, waiting for materials after a correction notice, or
// closed, is in no watched step; neither is one whose next step has no
// limit, nor one in transit between offices (forwarded, not received
// yet: a village cut off holds a proxy filing for days, and the office
// it goes to starts the step at its receipt).
func OpenStep(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, reg casework.Registry) (Step, bool) {
	ends := nextEnds[c.GetState()]
	if len(ends) == 0 || c.GetSuspended() || len(events) == 0 || events[0].GetFiling() == nil ||
		events[len(events)-1].GetType() == yizhanv1.EventType_EVENT_TYPE_FORWARDED {
		return Step{}, false
	}
	f := events[0].GetFiling()
	item, err := casework.ItemView(reg, f.GetItemCode(), f.GetItemVersion()) // read only: no copy, at every event
	if err != nil || len(item.GetSteps()) == 0 {
		return Step{}, false
	}
	for _, end := range ends {
		i := slices.IndexFunc(item.GetSteps(), func(s *yizhanv1.ProcedureStep) bool { return stepEndOf(s.GetName()) == end })
		if i < 0 {
			continue // the item has no such step: the next one it may have
		}
		step := item.GetSteps()[i]
		if step.GetLimitDays() <= 0 {
			return Step{}, false
		}
		for j := len(events) - 1; j >= 0; j-- {
			if slices.Contains(stepStarts, events[j].GetType()) {
				from, paused := events[j].GetAt().AsTime(), stepPause(c, events, j, reg)
				return Step{Name: step.GetName(), LimitDays: int(step.GetLimitDays()), Start: from, Paused: paused,
					Due: reg.AddWorkingDays(from, int(step.GetLimitDays())+paused)}, true
			}
		}
		return Step{}, false
	}
	return Step{}, false
}

// StepEndedLate reports whether the last of events ends a step of the
// item's procedure after its own limit (the STEP_LATE card OnEvent gives
// for it).
func StepEndedLate(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, reg casework.Registry) bool {
	return len(events) > 1 && events[0].GetFiling() != nil && stepLate(c, events, reg) != nil
}

// stepEndOf is the event that ends the step named name (stepEnds), or
// EVENT_TYPE_UNSPECIFIED.
func stepEndOf(name string) yizhanv1.EventType {
	for _, s := range stepEnds {
		for _, w := range s.words {
			if strings.Contains(name, w) {
				return s.ends
			}
		}
	}
	return yizhanv1.EventType_EVENT_TYPE_UNSPECIFIED
}

func countType(events []*yizhanv1.CaseEvent, t yizhanv1.EventType) int {
	n := 0
	for _, e := range events {
		if e.GetType() == t {
			n++
		}
	}
	return n
}

// newCard is rule r's card on case c, the responsibility of office at
// time at: the staff responsible is who made the case's last step there.
func newCard(r yizhanv1.CardRule, c *yizhanv1.Case, events []*yizhanv1.CaseEvent, office string, at time.Time, detail string) *yizhanv1.Card {
	f := events[0].GetFiling()
	staff := ""
	for i := len(events) - 1; i >= 0; i-- {
		if e := events[i]; e.GetOfficeCode() == office && e.GetActor() != casework.CitizenActor && e.GetActor() != casework.SystemActor && e.GetActor() != "" {
			staff = e.GetActor()
			break
		}
	}
	return &yizhanv1.Card{
		CaseNumber: c.GetNumber(), Rule: r, Colour: ColourOf(r),
		OfficeCode: office, DepartmentCode: f.GetDepartmentCode(), Staff: staff,
		At: timestamppb.New(at), ItemCode: f.GetItemCode(), ItemName: f.GetItemName(), Detail: detail,
	}
}

// yuan formats fen as 元.
func yuan(fen int64) string {
	return fmt.Sprintf("%d.%02d 元", fen/100, abs(fen%100))
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
