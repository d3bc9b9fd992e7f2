package casebook

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/registry"
)

// stepped is an item whose procedure (办理流程) gives its steps limits of
// their own: 窗口受理 1 working day, 部门审核 2, 审批 none.
const stepped = "YC-BG"

// withSteppedItem adds the item stepped to reg, every right at the county.
func withSteppedItem(t *testing.T, reg *registry.Registry) {
	t.Helper()
	withCountyItem(t, reg, &yizhanv1.Item{
		Code: stepped, Name: "烟草专卖零售许可证变更", Type: yizhanv1.ItemType_ITEM_TYPE_LICENCE, DepartmentCode: "yc",
		LegalBasis: "《烟草专卖法》第十六条", Materials: []*yizhanv1.Material{{Name: "变更申请表", Required: true}},
		StatutoryLimitDays: 20, PromisedLimitDays: 10, CaseKind: yizhanv1.CaseKind_CASE_KIND_PROMISED, ExerciseTier: yizhanv1.Tier_TIER_COUNTY,
		Steps:             []*yizhanv1.ProcedureStep{{Name: "窗口受理", LimitDays: 1}, {Name: "部门审核", LimitDays: 2}, {Name: "审批"}},
		SpecialProcedures: []*yizhanv1.SpecialProcedure{{Name: "现场勘查", LimitDays: 5}},
	})
}

// A step of the procedure that runs past its own limit is carded by the
// sweep when the limit has passed, not only once the step ends: the
// review (部门审核, 2 working days from the acceptance on Monday 2 March,
// so to the end of Wednesday 4 March) still open on Thursday earns the
// 环节超时 card that day, at the limit's end, from the office holding the
// case; the review done later keeps it (one card), and a case reviewed in
// time, now in a step without a limit, earns none. The index the sweep
// reads agrees with the cases (Check).
func TestAStepPastItsLimitIsCardedBeforeItEnds(t *testing.T) {
	reg := newRegistry(t)
	withSteppedItem(t, reg)
	o := newOffice(t, county, reg)
	o.now = day(3, 2, 9)
	inTime, late := o.file(stepped, 1, Request{}), o.file(stepped, 2, Request{})
	for _, n := range []string{inTime, late} {
		o.act(n, casework.ActionAccept, nil)
	}
	o.now = day(3, 3, 15)
	o.act(inTime, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
	rule := yizhanv1.CardRule_CARD_RULE_STEP_LATE

	o.now = day(3, 4, 17) // the limit's last day
	o.sweep()
	if got := o.cards(CardQuery{Rule: rule}); len(got) != 0 {
		t.Errorf("cards on the limit's last day: %v", got)
	}
	o.now = day(3, 5, 9)
	o.sweep()
	got := o.cards(CardQuery{Rule: rule})
	card := got[late+" "+rule.String()]
	if card == nil || len(got) != 1 {
		t.Fatalf("cards the morning after the limit: %v, want %s's only", got, late)
	}
	if card.GetColour() != yizhanv1.CardColour_CARD_COLOUR_YELLOW || card.GetOfficeCode() != county ||
		!card.GetAt().AsTime().Equal(reg.AddWorkingDays(day(3, 2, 9), 2)) || !strings.Contains(card.GetDetail(), "部门审核环节已用") {
		t.Errorf("the card: %v", card)
	}
	o.check()

	o.now = day(3, 6, 10)
	o.act(late, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
	o.sweep()
	got = o.cards(CardQuery{Rule: rule})
	if c := got[late+" "+rule.String()]; c == nil || c.GetWithdrawn() || len(got) != 1 {
		t.Errorf("cards after the late review: %v, want the one card kept", got)
	}
	for _, n := range []string{inTime, late} {
		if hasStepKey(t, o.book, n) {
			t.Errorf("%s: in 审批, a step without a limit, and still among the steps by their end", n)
		}
	}
	o.check()
}

// A 环节超时 card the county's sweep gave from a mirror that had not heard
// of the step's end is withdrawn when the event comes and shows the step
// ended in time; the book's figures count it no more.
func TestAStepCardOfAStaleMirrorIsWithdrawn(t *testing.T) {
	reg := newRegistry(t)
	withSteppedItem(t, reg)
	o := newOffice(t, county, reg)
	o.now = day(3, 2, 9)
	n := o.file(stepped, 1, Request{})
	o.act(n, casework.ActionAccept, nil)
	rule := yizhanv1.CardRule_CARD_RULE_STEP_LATE
	o.now = day(3, 9, 9)
	o.sweep()
	if got := o.cards(CardQuery{Rule: rule}); len(got) != 1 {
		t.Fatalf("cards: %v", got)
	}
	at := o.now
	o.now = day(3, 3, 9) // reviewed on 3 March, heard of on 9 March
	o.act(n, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
	o.now = at.Add(time24h / 24)
	card := o.cards(CardQuery{Rule: rule})[n+" "+rule.String()]
	if card == nil || !card.GetWithdrawn() || card.GetWithdrawnReason() == "" {
		t.Fatalf("the card: %v", card)
	}
	o.check()
}

// A book counted by the previous release (statistics format 8) holds no
// index of open steps: the upgrade makes it, without counting a counter
// again (none changed), and the next sweep cards the step that ran past
// its limit while the node was on the older release.
func TestAnUpgradeIndexesTheOpenSteps(t *testing.T) {
	reg := newRegistry(t)
	withSteppedItem(t, reg)
	o := newOffice(t, county, reg)
	o.now = day(3, 2, 9)
	n := o.file(stepped, 1, Request{})
	o.act(n, casework.ActionAccept, nil)
	o.reopenAsStepsFormat(8)
	b := o.book
	if !hasStepKey(t, b, n) || b.StatsStale() {
		t.Fatalf("the upgrade did not index the open step (stale %v)", b.StatsStale())
	}
	if problems, err := b.Check(context.Background(), reg); err != nil || len(problems) > 0 {
		t.Fatalf("check: %v %v", problems, err)
	}
	o.now = day(3, 5, 9)
	o.sweep()
	if got := o.cards(CardQuery{Rule: yizhanv1.CardRule_CARD_RULE_STEP_LATE}); len(got) != 1 {
		t.Errorf("cards after the upgrade: %v", got)
	}
}

// A book of stats format 9 did not watch a step with a suspension in it:
// the upgrade indexes it, its end moved by the days suspended, without
// counting a counter again, and the sweep cards it once that end has
// passed. The review, 2 working days from Monday 2 March, suspended for
// an inspection on Tuesday and resumed on Wednesday, ends with Thursday.
func TestAnUpgradeIndexesAStepWithASuspensionInIt(t *testing.T) {
	reg := newRegistry(t)
	withSteppedItem(t, reg)
	o := newOffice(t, county, reg)
	o.now = day(3, 2, 9)
	n := o.file(stepped, 1, Request{})
	o.act(n, casework.ActionAccept, nil)
	o.now = day(3, 3, 9)
	o.act(n, casework.ActionSuspend, &yizhanv1.CaseActionRequest{SpecialProcedure: "现场勘查", Reason: "需现场核实经营场所"})
	o.now = day(3, 4, 9)
	o.act(n, casework.ActionResume, &yizhanv1.CaseActionRequest{Reason: "勘查完毕"})
	o.reopenAsStepsFormat(9)
	if !hasStepKey(t, o.book, n) || o.book.StatsStale() {
		t.Fatalf("the upgrade did not index the step with a suspension in it (stale %v)", o.book.StatsStale())
	}
	o.check()
	rule := yizhanv1.CardRule_CARD_RULE_STEP_LATE
	o.now = day(3, 5, 18)
	if o.sweep(); len(o.cards(CardQuery{Rule: rule})) != 0 {
		t.Errorf("carded on the last day of the step's limit, moved a day by the suspension: %v", o.cards(CardQuery{Rule: rule}))
	}
	o.now = day(3, 6, 9)
	o.sweep()
	card := o.cards(CardQuery{Rule: rule})[n+" "+rule.String()]
	if card == nil || !card.GetAt().AsTime().Equal(reg.AddWorkingDays(day(3, 2, 9), 3)) || !strings.Contains(card.GetDetail(), "已扣除中止 1 个工作日") {
		t.Errorf("the card the day after: %v", card)
	}
}

// reopenAsStepsFormat reopens o's book as a release of stats format
// format left it, without the open steps' index that release kept
// otherwise, and fails the test unless the upgrade indexes them, without
// counting a counter again from restepFrom on (upgradeSteps); a book of
// an older format has its counters counted again (format 11 moved the
// ratings), and that recount indexes the steps too.
func (o *office) reopenAsStepsFormat(format uint64) {
	o.t.Helper()
	db := o.book.db
	if err := db.DropPrefix([]byte(pStepDue), []byte(pStepKey)); err != nil {
		o.t.Fatal(err)
	}
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set(keyStatsFormat, be64(format)) }); err != nil {
		o.t.Fatal(err)
	}
	upgradeCaseMet = func(int) error {
		if format >= restepFrom {
			o.t.Errorf("the upgrade from format %d counted the statistics again", format)
		}
		return nil
	}
	defer func() { upgradeCaseMet = nil }()
	if !o.reopen() {
		o.t.Fatalf("a book of format %d is not upgraded", format)
	}
}

// hasStepKey reports whether case number is among the cases by their open
// step's end.
func hasStepKey(t *testing.T, b *Book, number string) bool {
	t.Helper()
	var held bool
	if err := b.db.View(func(txn *badger.Txn) error {
		held = hasKey(txn, key(pStepKey, number))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return held
}

const time24h = 24 * time.Hour
