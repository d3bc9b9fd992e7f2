package supervision_test

import (
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

func at(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, registry.CST) }

// The time-driven rules on a case accepted Thursday 2 April 2026 with 3
// promised working days: 3 April is a Friday, 4–6 April the Qingming
// holiday, so it is due at the end of Wednesday 8 April. Days left count
// the working days after today's, as the case page shows them.
func TestDueRulesAcrossTheQingmingHoliday(t *testing.T) {
	reg := registry.New(registry.Options{})
	if _, err := reg.Apply(1, &peerv1.RegistryCommand{AtUnixNano: at(3, 1, 9).UnixNano(), Op: &peerv1.RegistryCommand_CreateOffice{
		CreateOffice: &peerv1.CreateOffice{Office: &yizhanv1.Office{Code: "450122000000", Name: "县政务服务中心"}}}}); err != nil {
		t.Fatal(err)
	}
	if reg.IsWorkingDay(at(4, 6, 9)) || !reg.IsWorkingDay(at(4, 7, 9)) {
		t.Fatal("the calendar does not know the 2026 Qingming holiday")
	}
	filing := &yizhanv1.CaseEvent{Seq: 1, Type: yizhanv1.EventType_EVENT_TYPE_FILED, At: timestamppb.New(at(4, 2, 9)), OfficeCode: "450122000000", Actor: "clerk",
		Filing: &yizhanv1.CaseFiling{Number: "450122000000-20260402-0001", ItemCode: "X", StatutoryLimitDays: 5, PromisedLimitDays: 3, DepartmentCode: "yc"}}
	accepted := &yizhanv1.CaseEvent{Seq: 2, Type: yizhanv1.EventType_EVENT_TYPE_ACCEPTED, At: timestamppb.New(at(4, 2, 10)), OfficeCode: "450122000000", Actor: "clerk"}
	running := &yizhanv1.Case{Number: filing.Filing.Number, OwnerOffice: "450122000000", State: yizhanv1.CaseState_CASE_STATE_ACCEPTED}
	filed := &yizhanv1.Case{Number: filing.Filing.Number, OwnerOffice: "450122000000", State: yizhanv1.CaseState_CASE_STATE_FILED}
	acc := []*yizhanv1.CaseEvent{filing, accepted}
	only := []*yizhanv1.CaseEvent{filing}
	for _, tt := range []struct {
		name   string
		rule   yizhanv1.CardRule
		c      *yizhanv1.Case
		events []*yizhanv1.CaseEvent
		now    time.Time
		card   bool
	}{
		{"3 working days left after 2 April (3, 7, 8 April)", yizhanv1.CardRule_CARD_RULE_DUE_SOON, running, acc, at(4, 2, 11), false},
		{"2 left after Friday 3 April: the holiday does not count", yizhanv1.CardRule_CARD_RULE_DUE_SOON, running, acc, at(4, 3, 9), true},
		{"not overdue on 8 April, its last day", yizhanv1.CardRule_CARD_RULE_OVERDUE, running, acc, at(4, 8, 17), false},
		{"overdue on 9 April", yizhanv1.CardRule_CARD_RULE_OVERDUE, running, acc, at(4, 9, 9), true},
		{"no warning once overdue", yizhanv1.CardRule_CARD_RULE_DUE_SOON, running, acc, at(4, 9, 9), false},
		// No pause in the log: a suspension that counts inside the limit.
		{"a suspended case past its due time is overdue all the same", yizhanv1.CardRule_CARD_RULE_OVERDUE, &yizhanv1.Case{Number: running.Number, OwnerOffice: running.OwnerOffice, State: running.State, Suspended: true}, acc, at(4, 9, 9), true},
		{"a warning for a case suspended in a procedure that counts inside the limit: its clock runs", yizhanv1.CardRule_CARD_RULE_DUE_SOON, &yizhanv1.Case{Number: running.Number, OwnerOffice: running.OwnerOffice, State: running.State, Suspended: true}, acc, at(4, 3, 9), true},
		// A procedure the registry does not know pauses the clock.
		{"no warning for a case whose suspension stops the clock", yizhanv1.CardRule_CARD_RULE_DUE_SOON, &yizhanv1.Case{Number: running.Number, OwnerOffice: running.OwnerOffice, State: running.State, Suspended: true},
			append(slices.Clone(acc), &yizhanv1.CaseEvent{Seq: 3, Type: yizhanv1.EventType_EVENT_TYPE_SUSPENDED, At: timestamppb.New(at(4, 2, 16)), OfficeCode: "450122000000", Actor: "clerk", SpecialProcedure: "现场勘查"}),
			at(4, 3, 9), false},
		// Filed 2 April: the 5 working days are 3, 7, 8, 9, 10 April.
		{"not accepted, 10 April", yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME, filed, only, at(4, 10, 17), false},
		{"not accepted, 13 April", yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME, filed, only, at(4, 13, 9), true},
		{"accepted cases are not waiting", yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME, running, acc, at(4, 13, 9), false},
	} {
		card := supervision.Due(tt.rule, tt.c, tt.events, reg, tt.now, supervision.Policy{})
		if (card != nil) != tt.card {
			t.Errorf("%s: card %v, want one: %v", tt.name, card, tt.card)
			continue
		}
		if card != nil && (card.GetColour() != supervision.ColourOf(tt.rule) || card.GetStaff() != "clerk" || card.GetDepartmentCode() != "yc") {
			t.Errorf("%s: %v", tt.name, card)
		}
	}
	// A warning needs a working day of the promise used: a county that
	// warns 3 days ahead does not warn this 3-day promise at its
	// acceptance (2 April), but on the next working day.
	if card := supervision.Due(yizhanv1.CardRule_CARD_RULE_DUE_SOON, running, acc, reg, at(4, 2, 11), supervision.Policy{WarningDays: 3}); card != nil {
		t.Errorf("a 3-day promise warned at its acceptance with a policy of 3: %v", card)
	}
	if supervision.Due(yizhanv1.CardRule_CARD_RULE_DUE_SOON, running, acc, reg, at(4, 3, 9), supervision.Policy{WarningDays: 3}) == nil {
		t.Error("no warning with 2 of its 3 working days left")
	}
	// A 5-day promise (3, 7, 8, 9, 10 April) is warned with 3 days left
	// (7 April) by a county that warns 3 days ahead, not by the default 2.
	five := proto.CloneOf(filing)
	five.Filing.PromisedLimitDays = 5
	long := []*yizhanv1.CaseEvent{five, accepted}
	if supervision.Due(yizhanv1.CardRule_CARD_RULE_DUE_SOON, running, long, reg, at(4, 7, 9), supervision.Policy{WarningDays: 3}) == nil {
		t.Error("no warning 3 working days ahead with a policy of 3")
	}
	if card := supervision.Due(yizhanv1.CardRule_CARD_RULE_DUE_SOON, running, long, reg, at(4, 7, 9), supervision.Policy{}); card != nil {
		t.Errorf("a warning 3 working days ahead with the default of 2: %v", card)
	}
	// An immediate item (即办, due the day it is accepted) is never
	// warned: it is decided on the spot.
	now := proto.CloneOf(filing)
	now.Filing.PromisedLimitDays, now.Filing.StatutoryLimitDays = 0, 0
	if card := supervision.Due(yizhanv1.CardRule_CARD_RULE_DUE_SOON, running, []*yizhanv1.CaseEvent{now, accepted}, reg, at(4, 2, 10).Add(10*time.Minute), supervision.Policy{}); card != nil {
		t.Errorf("an immediate item warned 10 minutes after its acceptance: %v", card)
	}
}

// §44: a decision of Thursday 2 April 2026 is delivered by the end of
// Friday 17 April (ten working days, the Qingming holiday left out): a
// case still waiting on 20 April earns the yellow card by the sweep; one
// delivered that day earns it by the delivery.
func TestNotDeliveredInTime(t *testing.T) {
	reg := registry.New(registry.Options{})
	if _, err := reg.Apply(1, &peerv1.RegistryCommand{AtUnixNano: at(3, 1, 9).UnixNano(), Op: &peerv1.RegistryCommand_CreateOffice{
		CreateOffice: &peerv1.CreateOffice{Office: &yizhanv1.Office{Code: "450122000000", Name: "县政务服务中心"}}}}); err != nil {
		t.Fatal(err)
	}
	ev := func(seq uint32, typ yizhanv1.EventType, when time.Time) *yizhanv1.CaseEvent {
		return &yizhanv1.CaseEvent{Seq: seq, Type: typ, At: timestamppb.New(when), OfficeCode: "450122000000", Actor: "clerk", Approved: true}
	}
	filing := ev(1, yizhanv1.EventType_EVENT_TYPE_FILED, at(4, 1, 9))
	filing.Filing = &yizhanv1.CaseFiling{Number: "450122000000-20260401-0001", ItemCode: "X", StatutoryLimitDays: 5, PromisedLimitDays: 3, DepartmentCode: "yc"}
	events := []*yizhanv1.CaseEvent{filing, ev(2, yizhanv1.EventType_EVENT_TYPE_ACCEPTED, at(4, 1, 10)), ev(3, yizhanv1.EventType_EVENT_TYPE_DECIDED, at(4, 2, 15))}
	decided := &yizhanv1.Case{Number: filing.Filing.Number, OwnerOffice: "450122000000", State: yizhanv1.CaseState_CASE_STATE_APPROVED}
	rule := yizhanv1.CardRule_CARD_RULE_NOT_DELIVERED_IN_TIME
	if c := supervision.Due(rule, decided, events, reg, at(4, 17, 17), supervision.Policy{}); c != nil {
		t.Errorf("on its last day: %v", c)
	}
	c := supervision.Due(rule, decided, events, reg, at(4, 20, 9), supervision.Policy{})
	if c == nil || c.GetColour() != yizhanv1.CardColour_CARD_COLOUR_YELLOW || c.GetAt().AsTime().In(registry.CST).Day() != 17 {
		t.Errorf("on 20 April: %v", c)
	}
	delivered := &yizhanv1.Case{Number: decided.Number, OwnerOffice: decided.OwnerOffice, State: yizhanv1.CaseState_CASE_STATE_DELIVERED}
	if c := supervision.Due(rule, delivered, events, reg, at(4, 20, 9), supervision.Policy{}); c != nil {
		t.Errorf("a delivered case by the sweep: %v", c)
	}
	late := append(events, ev(4, yizhanv1.EventType_EVENT_TYPE_DELIVERED, at(4, 20, 10)))
	if cards := supervision.OnEvent(delivered, late, reg); len(cards) != 1 || cards[0].GetRule() != rule {
		t.Errorf("delivered on 20 April: %v", cards)
	}
	onTime := append(events[:3:3], ev(4, yizhanv1.EventType_EVENT_TYPE_DELIVERED, at(4, 17, 10)))
	if cards := supervision.OnEvent(delivered, onTime, reg); len(cards) != 0 {
		t.Errorf("delivered on 17 April: %v", cards)
	}
}
