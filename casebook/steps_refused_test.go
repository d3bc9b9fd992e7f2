package casebook

import (
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/registry"
)

// withDelivery is an item whose procedure gives its delivery step (送达) a
// limit of its own: 2 working days from the step before.
const withDelivery = "YC-SD"

// withDeliveryStep adds the item withDelivery to reg, every right at the
// county.
func withDeliveryStep(t *testing.T, reg *registry.Registry) {
	t.Helper()
	withCountyItem(t, reg, &yizhanv1.Item{
		Code: withDelivery, Name: "烟草专卖零售许可证延续", Type: yizhanv1.ItemType_ITEM_TYPE_LICENCE, DepartmentCode: "yc",
		LegalBasis: "《烟草专卖法》第十六条", Materials: []*yizhanv1.Material{{Name: "延续申请表", Required: true}},
		StatutoryLimitDays: 20, PromisedLimitDays: 10, CaseKind: yizhanv1.CaseKind_CASE_KIND_PROMISED, ExerciseTier: yizhanv1.Tier_TIER_COUNTY,
		Steps: []*yizhanv1.ProcedureStep{{Name: "窗口受理"}, {Name: "审批"}, {Name: "结果送达", LimitDays: 2}},
	})
}

// The delivery step (结果送达, 2 working days) of a refused filing is
// counted from the refusal that it follows, not from the filing: a filing
// of Monday 2 March refused on Thursday 5 March (within §32's 5 working
// days) and delivered on Friday 6 March, one working day after the
// refusal, earned a 环节超时 yellow card, and the sweep carded it the
// moment it was refused. A denied case delivered as fast earns none
// (its step starts at the decision), and so does the refused one now:
// its step starts at the refusal (OpenStep and stepLate walked back past
// it to the filing).
func TestADeliveryStepOfARefusalStartsAtTheRefusal(t *testing.T) {
	reg := newRegistry(t)
	withDeliveryStep(t, reg)
	o := newOffice(t, county, reg)
	o.now = day(3, 2, 9)
	refused, denied := o.file(withDelivery, 1, Request{}), o.file(withDelivery, 2, Request{})
	o.act(denied, casework.ActionAccept, nil)
	o.act(denied, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
	o.now = day(3, 5, 9)
	o.act(refused, casework.ActionRefuse, &yizhanv1.CaseActionRequest{Reason: "不属于本机关职权", LegalBasis: "《行政许可法》第三十二条"})
	o.act(denied, casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: false, Reason: "不符合条件", LegalBasis: "《烟草专卖法》第十六条"})
	o.now = day(3, 5, 12)
	o.sweep() // three hours after the refusal
	o.now = day(3, 6, 9)
	o.act(refused, casework.ActionDeliver, nil)
	o.act(denied, casework.ActionDeliver, nil)
	rule := yizhanv1.CardRule_CARD_RULE_STEP_LATE
	got := o.cards(CardQuery{Rule: rule})
	if len(got) != 0 {
		for k, c := range got {
			t.Errorf("card %s: %s, at %v (refused 5 March, delivered 6 March: 1 working day of 2)", k, c.GetDetail(), c.GetAt().AsTime().In(registry.CST))
		}
	}
	f := marchFigures(t, o.book, county)
	if f.GetYellowCards() != 0 {
		t.Errorf("March's yellow cards: %d, want 0", f.GetYellowCards())
	}
}

// The same without any sweep: the DELIVERED event itself earned the card
// (stepLate measured the 送达 step of a refused filing from the filing).
func TestADeliveryOfARefusalIsNotLateByItsFilingDay(t *testing.T) {
	reg := newRegistry(t)
	withDeliveryStep(t, reg)
	o := newOffice(t, county, reg)
	o.now = day(3, 2, 9)
	refused := o.file(withDelivery, 1, Request{})
	o.now = day(3, 5, 9)
	o.act(refused, casework.ActionRefuse, &yizhanv1.CaseActionRequest{Reason: "不属于本机关职权", LegalBasis: "《行政许可法》第三十二条"})
	o.now = day(3, 6, 9)
	o.act(refused, casework.ActionDeliver, nil)
	for k, c := range o.cards(CardQuery{Rule: yizhanv1.CardRule_CARD_RULE_STEP_LATE}) {
		t.Errorf("card %s: %s (refused 5 March, delivered 6 March)", k, c.GetDetail())
	}
}
