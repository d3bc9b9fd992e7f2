package supervision_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// A step of the item's procedure (办理流程) that ends after its own limit
// earns the 环节超时 card from the office that ended it, at the end of the
// limit's last day: the review (审核, 2 working days from the acceptance)
// done on its third working day does; the acceptance (受理, 1 working day
// from the materials handed in again after a correction notice, not from
// the filing) done the next day does not; a step without a limit is not
// watched; the days a step stood still, suspended for a special
// procedure outside the time limit, are not its time.
func TestAStepOverItsOwnLimit(t *testing.T) {
	reg := registry.New(registry.Options{})
	apply := func(cmd *peerv1.RegistryCommand) {
		t.Helper()
		cmd.AtUnixNano = at(3, 1, 9).UnixNano()
		if _, err := reg.Apply(reg.Index()+1, cmd); err != nil {
			t.Fatal(err)
		}
	}
	apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateOffice{CreateOffice: &peerv1.CreateOffice{Office: &yizhanv1.Office{Code: "450122000000", Name: "县政务服务中心"}}}})
	apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateDepartment{CreateDepartment: &peerv1.CreateDepartment{Department: &yizhanv1.Department{Code: "yc", Name: "县烟草专卖局"}}}})
	apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateItem{CreateItem: &peerv1.CreateItem{Item: &yizhanv1.Item{
		Code: "YC-1", Name: "烟草专卖零售许可证核发", Type: yizhanv1.ItemType_ITEM_TYPE_LICENCE, DepartmentCode: "yc",
		Materials:          []*yizhanv1.Material{{Name: "申请表", Required: true}},
		StatutoryLimitDays: 20, PromisedLimitDays: 10, CaseKind: yizhanv1.CaseKind_CASE_KIND_PROMISED, ExerciseTier: yizhanv1.Tier_TIER_COUNTY,
		SpecialProcedures: []*yizhanv1.SpecialProcedure{{Name: "现场勘查", LimitDays: 5}},
		Steps:             []*yizhanv1.ProcedureStep{{Name: "窗口受理", LimitDays: 1}, {Name: "部门审核", LimitDays: 2}, {Name: "审批"}, {Name: "送达", LimitDays: 1}},
	}}}})
	it, err := reg.Item("YC-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	ev := func(seq uint32, typ yizhanv1.EventType, when time.Time) *yizhanv1.CaseEvent {
		return &yizhanv1.CaseEvent{Seq: seq, Type: typ, At: timestamppb.New(when), OfficeCode: "450122000000", Actor: "clerk", Approved: true}
	}
	filing := ev(1, yizhanv1.EventType_EVENT_TYPE_FILED, at(3, 2, 9)) // Monday 2 March 2026
	filing.Filing = &yizhanv1.CaseFiling{Number: "450122000000-20260302-0001", ItemCode: "YC-1", ItemVersion: it.GetVersion(),
		StatutoryLimitDays: 20, PromisedLimitDays: 10, DepartmentCode: "yc"}
	c := &yizhanv1.Case{Number: filing.GetFiling().GetNumber(), OwnerOffice: "450122000000", State: yizhanv1.CaseState_CASE_STATE_ACCEPTED}
	cardOf := func(events ...*yizhanv1.CaseEvent) *yizhanv1.Card {
		for _, card := range supervision.OnEvent(c, append([]*yizhanv1.CaseEvent{filing}, events...), reg) {
			if card.GetRule() == yizhanv1.CardRule_CARD_RULE_STEP_LATE {
				return card
			}
		}
		return nil
	}
	correction := ev(2, yizhanv1.EventType_EVENT_TYPE_CORRECTION_REQUESTED, at(3, 2, 10))
	resubmitted := ev(3, yizhanv1.EventType_EVENT_TYPE_RESUBMITTED, at(3, 5, 15))
	accepted := ev(4, yizhanv1.EventType_EVENT_TYPE_ACCEPTED, at(3, 6, 10)) // the working day after the resubmission
	if card := cardOf(correction, resubmitted, accepted); card != nil {
		t.Errorf("accepted the working day after the materials came again: %v", card)
	}
	if card := cardOf(ev(2, yizhanv1.EventType_EVENT_TYPE_ACCEPTED, at(3, 4, 10))); card == nil || !strings.Contains(card.GetDetail(), "窗口受理环节用时 2 个工作日") {
		t.Errorf("accepted two working days after the filing, against a limit of 1: %v", card)
	}
	// Reviewed on Thursday 12 March: its 2 working days from Friday 6
	// March ended on Tuesday 10 March.
	reviewed := ev(5, yizhanv1.EventType_EVENT_TYPE_REVIEWED, at(3, 12, 10))
	card := cardOf(correction, resubmitted, accepted, reviewed)
	if card == nil || card.GetColour() != yizhanv1.CardColour_CARD_COLOUR_YELLOW || card.GetOfficeCode() != "450122000000" ||
		!card.GetAt().AsTime().Equal(reg.AddWorkingDays(at(3, 6, 10), 2)) || !strings.Contains(card.GetDetail(), "部门审核环节用时 4 个工作日，超过其 2 个工作日时限") {
		t.Errorf("reviewed on its fourth working day: %v", card)
	}
	if card := cardOf(correction, resubmitted, accepted, ev(5, yizhanv1.EventType_EVENT_TYPE_REVIEWED, at(3, 10, 17))); card != nil {
		t.Errorf("reviewed on its second working day: %v", card)
	}
	// Suspended for an inspection during the review: not the step's time.
	// Four working days suspended (10 to 13 March) move its end to Monday
	// 16 March.
	inspection := func(seq uint32, from, to time.Time) []*yizhanv1.CaseEvent {
		s := ev(seq, yizhanv1.EventType_EVENT_TYPE_SUSPENDED, from)
		s.SpecialProcedure = "现场勘查"
		return []*yizhanv1.CaseEvent{s, ev(seq+1, yizhanv1.EventType_EVENT_TYPE_RESUMED, to)}
	}
	if card := cardOf(append(append([]*yizhanv1.CaseEvent{correction, resubmitted, accepted}, inspection(5, at(3, 9, 10), at(3, 13, 10))...),
		ev(7, yizhanv1.EventType_EVENT_TYPE_REVIEWED, at(3, 16, 10)))...); card != nil {
		t.Errorf("a review with four days suspended in it, done on the last day of its limit so moved: %v", card)
	}
	// One working day suspended (10 March) moves it to Wednesday 11
	// March: done on Monday 16, five working days of its own, it is late.
	card = cardOf(append(append([]*yizhanv1.CaseEvent{correction, resubmitted, accepted}, inspection(5, at(3, 9, 10), at(3, 10, 10))...),
		ev(7, yizhanv1.EventType_EVENT_TYPE_REVIEWED, at(3, 16, 10)))...)
	if card == nil || !card.GetAt().AsTime().Equal(reg.AddWorkingDays(at(3, 6, 10), 3)) ||
		!strings.Contains(card.GetDetail(), "部门审核环节用时 5 个工作日，超过其 2 个工作日时限（已扣除中止 1 个工作日）") {
		t.Errorf("a review late after its day suspended is taken off: %v", card)
	}
	// 审批 has no limit of its own.
	if card := cardOf(correction, resubmitted, accepted, ev(5, yizhanv1.EventType_EVENT_TYPE_REVIEWED, at(3, 10, 10)),
		ev(6, yizhanv1.EventType_EVENT_TYPE_DECIDED, at(3, 30, 10))); card != nil {
		t.Errorf("a decision, its step without a limit: %v", card)
	}
	// The sweep's reading (Due): the review still open is carded once its
	// 2 working days from Friday 6 March have passed (the end of Tuesday
	// 10 March), not while it was suspended during it, nor while the
	// filing waits for its materials after a correction notice.
	rule := yizhanv1.CardRule_CARD_RULE_STEP_LATE
	open := []*yizhanv1.CaseEvent{filing, correction, resubmitted, accepted}
	if card := supervision.Due(rule, c, open, reg, at(3, 10, 23), supervision.Policy{}); card != nil {
		t.Errorf("the review open on its limit's last day: %v", card)
	}
	card = supervision.Due(rule, c, open, reg, at(3, 11, 9), supervision.Policy{})
	if card == nil || !card.GetAt().AsTime().Equal(reg.AddWorkingDays(at(3, 6, 10), 2)) || !strings.Contains(card.GetDetail(), "部门审核环节已用") {
		t.Errorf("the review open the day after its limit: %v", card)
	}
	suspended := &yizhanv1.Case{Number: c.GetNumber(), OwnerOffice: c.GetOwnerOffice(), State: c.GetState(), Suspended: true}
	if card := supervision.Due(rule, suspended, append(open, ev(5, yizhanv1.EventType_EVENT_TYPE_SUSPENDED, at(3, 9, 10))), reg, at(3, 20, 9), supervision.Policy{}); card != nil {
		t.Errorf("a suspended review: %v", card)
	}
	// Resumed after a day: the review open is carded once the end of
	// Wednesday 11 March has passed, not before.
	resumed := append(append([]*yizhanv1.CaseEvent{}, open...), inspection(5, at(3, 9, 10), at(3, 10, 10))...)
	if card := supervision.Due(rule, c, resumed, reg, at(3, 11, 23), supervision.Policy{}); card != nil {
		t.Errorf("a review with a day suspended in it, open on its limit's last day so moved: %v", card)
	}
	card = supervision.Due(rule, c, resumed, reg, at(3, 12, 9), supervision.Policy{})
	if card == nil || !card.GetAt().AsTime().Equal(reg.AddWorkingDays(at(3, 6, 10), 3)) || !strings.Contains(card.GetDetail(), "部门审核环节已用 3 个工作日，超过其 2 个工作日时限仍未完成（已扣除中止 1 个工作日）") {
		t.Errorf("a review with a day suspended in it, open the day after its limit so moved: %v", card)
	}
	if s, ok := supervision.OpenStep(c, resumed, reg); !ok || s.Paused != 1 {
		t.Errorf("the open step: %+v, %v", s, ok)
	}
	// A proxy filing forwarded by a village cut off from its township
	// waits there for days: in transit, in no office's step; received,
	// its acceptance (1 working day) runs from the receipt.
	village := ev(1, yizhanv1.EventType_EVENT_TYPE_FILED, at(3, 2, 9))
	village.OfficeCode, village.Filing = "450122101203", filing.GetFiling()
	forwarded := ev(2, yizhanv1.EventType_EVENT_TYPE_FORWARDED, at(3, 2, 9))
	forwarded.OfficeCode, forwarded.ToOffice = "450122101203", "450122000000"
	filed := &yizhanv1.Case{Number: c.GetNumber(), OwnerOffice: "450122000000", State: yizhanv1.CaseState_CASE_STATE_FILED}
	if card := supervision.Due(rule, filed, []*yizhanv1.CaseEvent{village, forwarded}, reg, at(3, 12, 9), supervision.Policy{}); card != nil {
		t.Errorf("a filing in transit for ten days: %v", card)
	}
	received := []*yizhanv1.CaseEvent{village, forwarded, ev(3, yizhanv1.EventType_EVENT_TYPE_RECEIVED, at(3, 12, 10))}
	if card := supervision.Due(rule, filed, received, reg, at(3, 13, 17), supervision.Policy{}); card != nil {
		t.Errorf("received on 12 March, open on the last day of its acceptance's limit: %v", card)
	}
	if card := supervision.Due(rule, filed, received, reg, at(3, 16, 9), supervision.Policy{}); card == nil || !card.GetAt().AsTime().Equal(reg.AddWorkingDays(at(3, 12, 10), 1)) {
		t.Errorf("received on 12 March, still not accepted on 16 March: %v", card)
	}
	waiting := &yizhanv1.Case{Number: c.GetNumber(), OwnerOffice: c.GetOwnerOffice(), State: yizhanv1.CaseState_CASE_STATE_CORRECTION_REQUESTED}
	if card := supervision.Due(rule, waiting, []*yizhanv1.CaseEvent{filing, correction}, reg, at(3, 20, 9), supervision.Policy{}); card != nil {
		t.Errorf("a filing waiting for its materials: %v", card)
	}
	if supervision.RuleName(yizhanv1.CardRule_CARD_RULE_STEP_LATE) != "环节超时" || supervision.ColourOf(yizhanv1.CardRule_CARD_RULE_STEP_LATE) != yizhanv1.CardColour_CARD_COLOUR_YELLOW {
		t.Error("the rule's name or colour")
	}
}

// §32 after a correction notice: the materials handed in again wait for
// an answer (受理, 不予受理 or another notice) within 5 working days, as
// the filing did; the sweep cards a resubmission left waiting past them,
// and an acceptance after them earns the card by itself.
func TestMaterialsHandedInAgainWaitFiveWorkingDays(t *testing.T) {
	reg := registry.New(registry.Options{})
	if _, err := reg.Apply(1, &peerv1.RegistryCommand{AtUnixNano: at(3, 1, 9).UnixNano(), Op: &peerv1.RegistryCommand_CreateOffice{
		CreateOffice: &peerv1.CreateOffice{Office: &yizhanv1.Office{Code: "450122000000", Name: "县政务服务中心"}}}}); err != nil {
		t.Fatal(err)
	}
	ev := func(seq uint32, typ yizhanv1.EventType, when time.Time) *yizhanv1.CaseEvent {
		return &yizhanv1.CaseEvent{Seq: seq, Type: typ, At: timestamppb.New(when), OfficeCode: "450122000000", Actor: "clerk"}
	}
	filing := ev(1, yizhanv1.EventType_EVENT_TYPE_FILED, at(3, 2, 9)) // Monday 2 March 2026
	filing.Filing = &yizhanv1.CaseFiling{Number: "450122000000-20260302-0001", ItemCode: "X", StatutoryLimitDays: 20, PromisedLimitDays: 10, DepartmentCode: "yc"}
	notice := ev(2, yizhanv1.EventType_EVENT_TYPE_CORRECTION_REQUESTED, at(3, 3, 10))
	// Handed in again on Monday 16 March: answered by the end of Monday
	// 23 March (17, 18, 19, 20, 23 March).
	again := ev(3, yizhanv1.EventType_EVENT_TYPE_RESUBMITTED, at(3, 16, 10))
	log := []*yizhanv1.CaseEvent{filing, notice, again}
	filed := &yizhanv1.Case{Number: filing.GetFiling().GetNumber(), OwnerOffice: "450122000000", State: yizhanv1.CaseState_CASE_STATE_FILED}
	rule := yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME
	if card := supervision.Due(rule, filed, log, reg, at(3, 23, 17), supervision.Policy{}); card != nil {
		t.Errorf("waiting on the 5th working day after the materials came again: %v", card)
	}
	card := supervision.Due(rule, filed, log, reg, at(3, 24, 9), supervision.Policy{})
	if card == nil || !card.GetAt().AsTime().Equal(reg.AddWorkingDays(at(3, 16, 10), 5)) || !strings.Contains(card.GetDetail(), "补正材料提交后") {
		t.Errorf("still waiting on the 6th: %v", card)
	}
	accepted := &yizhanv1.Case{Number: filed.GetNumber(), OwnerOffice: filed.GetOwnerOffice(), State: yizhanv1.CaseState_CASE_STATE_ACCEPTED}
	lateCard := func(events ...*yizhanv1.CaseEvent) *yizhanv1.Card {
		for _, c := range supervision.OnEvent(accepted, append(append([]*yizhanv1.CaseEvent{}, log...), events...), reg) {
			if c.GetRule() == rule {
				return c
			}
		}
		return nil
	}
	if c := lateCard(ev(4, yizhanv1.EventType_EVENT_TYPE_ACCEPTED, at(3, 23, 16))); c != nil {
		t.Errorf("accepted on the 5th working day: %v", c)
	}
	if c := lateCard(ev(4, yizhanv1.EventType_EVENT_TYPE_ACCEPTED, at(3, 24, 9))); c == nil {
		t.Error("accepted on the 6th working day after the materials came again: no card")
	}
	// The filing's own first answer came in time (the notice, the next
	// day): the card is the resubmission's alone.
	if card := supervision.Due(rule, filed, log[:1], reg, at(3, 2, 17), supervision.Policy{}); card != nil {
		t.Errorf("a filing of today: %v", card)
	}
}
