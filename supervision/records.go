package supervision

import (
	"fmt"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// FollowUpDays is the working days the responsible office has to rectify
// and reply to a complaint or a bad rating (the time the UI promises the
// citizen).
const FollowUpDays = 15

// Answer days of a supervision order: the default and the most a
// supervisor may give.
const (
	DefaultAnswerDays = 5
	MaxAnswerDays     = 30
)

// The kinds of FollowUpEntry.
const (
	EntryReply    = "reply"
	EntryRevisit  = "revisit"
	EntryIssued   = "issued"
	EntryAnswered = "answered"
	EntryClosed   = "closed"
	EntryReturned = "returned"
)

// Answer kinds of an order (the entry's text starts with one).
var AnswerKinds = []string{"说明情况", "整改情况"}

// OpensFollowUp is the follow-up that the last of events opens, or nil:
// a complaint, or a rating of 不满意 or 非常不满意. It is assigned to the
// office that made the last step by staff before the event (for a rating,
// the office that decided), due at the end of the 15th working day.
func OpensFollowUp(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, reg casework.Registry) *yizhanv1.FollowUp {
	if len(events) < 2 || events[0].GetFiling() == nil {
		return nil
	}
	e := events[len(events)-1]
	switch e.GetType() {
	case yizhanv1.EventType_EVENT_TYPE_COMPLAINED:
	case yizhanv1.EventType_EVENT_TYPE_RATED:
		if r := e.GetRating(); r != yizhanv1.Rating_RATING_DISSATISFIED && r != yizhanv1.Rating_RATING_VERY_DISSATISFIED {
			return nil
		}
	default:
		return nil
	}
	office := JudgedOffice(c, events)
	at := e.GetAt().AsTime()
	f := events[0].GetFiling()
	return &yizhanv1.FollowUp{
		Id: FollowUpID(c.GetNumber(), e.GetSeq()), CaseNumber: c.GetNumber(), EventSeq: e.GetSeq(),
		Cause: e.GetType(), Rating: e.GetRating(), Text: e.GetReason(),
		OfficeCode: office, DepartmentCode: f.GetDepartmentCode(), ItemName: f.GetItemName(),
		OpenedAt: e.GetAt(), Due: timestamppb.New(reg.AddWorkingDays(at, FollowUpDays)),
		State: yizhanv1.FollowUpState_FOLLOW_UP_STATE_OPEN,
	}
}

// JudgedOffice is the office a complaint or a rating, the last of events,
// judges: the office that made the last step by staff before it (for a
// rating, the office that decided: the rating judges the handling, not
// the delivery), else the case's owner. Its follow-up is assigned there,
// and a rating counts there (casebook's rated_ counters), so an office's
// 满意率 and its 差评 to rectify are of the same ratings.
func JudgedOffice(c *yizhanv1.Case, events []*yizhanv1.CaseEvent) string {
	e := events[len(events)-1]
	for i := len(events) - 2; i >= 0; i-- {
		x := events[i]
		if e.GetType() == yizhanv1.EventType_EVENT_TYPE_RATED && x.GetType() != yizhanv1.EventType_EVENT_TYPE_DECIDED {
			continue
		}
		if x.GetType() == yizhanv1.EventType_EVENT_TYPE_QUERY_CODE_REISSUED {
			continue // a service to the citizen, not the handling complained of
		}
		if a := x.GetActor(); a != "" && a != casework.CitizenActor && a != casework.SystemActor {
			return x.GetOfficeCode()
		}
	}
	return c.GetOwnerOffice()
}

// FollowUpID names the follow-up of a case's event.
func FollowUpID(number string, seq uint32) string { return fmt.Sprintf("%s.%d", number, seq) }

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{casework.ErrFailedPrecondition}, args...)...)
}

// Reply records the responsible office's reply: an open follow-up waits
// for the citizen's return visit then.
func Reply(f *yizhanv1.FollowUp, e *yizhanv1.FollowUpEntry) error {
	if f.GetState() != yizhanv1.FollowUpState_FOLLOW_UP_STATE_OPEN {
		return refuse("follow-up %s is %s: only an open one is replied to", f.GetId(), f.GetState())
	}
	e.Kind = EntryReply
	if e.GetAt().AsTime().After(f.GetDue().AsTime()) {
		f.RepliedLate = true
	}
	f.History = append(f.History, e)
	f.State = yizhanv1.FollowUpState_FOLLOW_UP_STATE_REPLIED
	return nil
}

// Revisit records the citizen's return visit on a reply: resolved, the
// follow-up is over; not, it opens again for FollowUpDays more.
func Revisit(f *yizhanv1.FollowUp, e *yizhanv1.FollowUpEntry, reg casework.Registry) error {
	if f.GetState() != yizhanv1.FollowUpState_FOLLOW_UP_STATE_REPLIED {
		return refuse("follow-up %s is %s: the citizen answers a reply", f.GetId(), f.GetState())
	}
	e.Kind = EntryRevisit
	f.History = append(f.History, e)
	if e.GetResolved() {
		f.State = yizhanv1.FollowUpState_FOLLOW_UP_STATE_RESOLVED
		return nil
	}
	f.State = yizhanv1.FollowUpState_FOLLOW_UP_STATE_OPEN
	f.Due = timestamppb.New(reg.AddWorkingDays(e.GetAt().AsTime(), FollowUpDays))
	return nil
}

// Issue sets up a new order issued at at: open, due answer_days working
// days on (DefaultAnswerDays when 0).
func Issue(o *yizhanv1.SupervisionOrder, at time.Time, actor, actorName string, reg casework.Registry) {
	if o.GetAnswerDays() <= 0 {
		o.AnswerDays = DefaultAnswerDays
	}
	o.IssuedAt = timestamppb.New(at)
	o.Due = timestamppb.New(reg.AddWorkingDays(at, int(o.GetAnswerDays())))
	o.State = yizhanv1.OrderState_ORDER_STATE_OPEN
	o.History = []*yizhanv1.FollowUpEntry{{Kind: EntryIssued, At: o.GetIssuedAt(), Actor: actor, ActorName: actorName, Text: o.GetInstruction()}}
}

// AnswerOrder records the responsible office's answer to an open order.
func AnswerOrder(o *yizhanv1.SupervisionOrder, e *yizhanv1.FollowUpEntry) error {
	if o.GetState() != yizhanv1.OrderState_ORDER_STATE_OPEN {
		return refuse("order %s is %s: only an open one is answered", o.GetId(), o.GetState())
	}
	e.Kind = EntryAnswered
	if e.GetAt().AsTime().After(o.GetDue().AsTime()) {
		o.AnsweredLate = true
	}
	o.History = append(o.History, e)
	o.State = yizhanv1.OrderState_ORDER_STATE_ANSWERED
	return nil
}

// DecideOrder closes an answered order, or sends it back: open again, due
// its answer days on.
func DecideOrder(o *yizhanv1.SupervisionOrder, close bool, e *yizhanv1.FollowUpEntry, reg casework.Registry) error {
	if o.GetState() != yizhanv1.OrderState_ORDER_STATE_ANSWERED {
		return refuse("order %s is %s: the supervisor closes or sends back an answered one", o.GetId(), o.GetState())
	}
	if close {
		e.Kind = EntryClosed
		o.State = yizhanv1.OrderState_ORDER_STATE_CLOSED
	} else {
		e.Kind = EntryReturned
		o.State = yizhanv1.OrderState_ORDER_STATE_OPEN
		o.Due = timestamppb.New(reg.AddWorkingDays(e.GetAt().AsTime(), int(o.GetAnswerDays())))
	}
	o.History = append(o.History, e)
	return nil
}

// LateCard is the card an open follow-up or order past its due time
// earns: FOLLOW_UP_LATE (yellow) or ORDER_LATE (red), on its case.
func LateCard(r yizhanv1.CardRule, number, office, dept, itemCode, itemName string, due time.Time, detail string) *yizhanv1.Card {
	return &yizhanv1.Card{CaseNumber: number, Rule: r, Colour: ColourOf(r), OfficeCode: office, DepartmentCode: dept,
		At: timestamppb.New(due), ItemCode: itemCode, ItemName: itemName, Detail: detail}
}
