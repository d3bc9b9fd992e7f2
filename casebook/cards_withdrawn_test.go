package casebook

import (
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// A red card issued by the county from a stale mirror (the township had
// suspended the case in time) is withdrawn when the suspension arrives.
// The case is then resumed and really runs past its (moved) due time, and
// is finally decided late. The county must card it OVERDUE now: the
// withdrawn card "no longer counts", so it cannot stand for the real one
// (its key blocked every later card of the rule on the case: the county
// counted 0 red cards for the township, the township's own book 1).
func TestAWithdrawnCardGivesWayToTheRealOne(t *testing.T) {
	reg := townshipRunsRegistry(t)
	c, tw := newOffice(t, county, reg), newOffice(t, township, reg)
	tw.index = 500
	offices := map[string]*office{county: c, township: tw}
	tw.now, c.now = day(3, 2, 9), day(3, 2, 9)
	n := tw.file(licence, 1, Request{}) // promised 10: due 16 March
	tw.act(n, casework.ActionAccept, nil)
	tw.act(n, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
	settle(t, offices)
	// 13 March: suspended (现场勘查, not counted in the limit, 5 days at most); link down.
	tw.now = day(3, 13, 9)
	tw.act(n, casework.ActionSuspend, &yizhanv1.CaseActionRequest{SpecialProcedure: "现场勘查", Reason: "需现场核实经营场所"})
	c.now = day(3, 17, 10)
	c.sweep()
	rule := n + " " + yizhanv1.CardRule_CARD_RULE_OVERDUE.String()
	if cs := c.cards(CardQuery{CaseNumber: n}); cs[rule] == nil {
		t.Fatalf("precondition: the stale mirror earned no red card: %v", cs)
	}
	// 18 March: resumed (3 working days paused: due 19 March); the link is back.
	tw.now = day(3, 18, 9)
	tw.act(n, casework.ActionResume, &yizhanv1.CaseActionRequest{Reason: "勘查完毕"})
	c.now = day(3, 18, 12)
	settle(t, offices)
	if card := c.cards(CardQuery{CaseNumber: n})[rule]; card == nil || !card.GetWithdrawn() {
		t.Fatalf("precondition: the stale red card is not withdrawn: %v", card)
	}
	// 25 March: nobody decided it; both sweep; then it is decided, late.
	tw.now, c.now = day(3, 25, 9), day(3, 25, 9)
	tw.sweep()
	c.sweep()
	tw.act(n, casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "符合条件"})
	settle(t, offices)
	county, own := marchFigures(t, c.book, township), marchFigures(t, tw.book, township)
	if own.GetOverdueDecided() != 1 || own.GetRedCards() != 1 {
		t.Fatalf("precondition: the township's own figures: %d decided overdue, %d red cards", own.GetOverdueDecided(), own.GetRedCards())
	}
	if county.GetRedCards() != own.GetRedCards() {
		t.Errorf("decided on 25 March, past its due time of 19 March: the county counts %d red cards for the township (its only OVERDUE card is the withdrawn stale one), the township %d; county overdue_decided=%d",
			county.GetRedCards(), own.GetRedCards(), county.GetOverdueDecided())
	}
}
