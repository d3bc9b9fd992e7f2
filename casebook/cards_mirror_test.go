package casebook

import (
	"testing"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// townshipRunsRegistry is newRegistry with the township holding every right
// for both items: its cases run (accepted, decided) at the township, and
// the county holds them as mirrors.
func townshipRunsRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	r := newRegistry(t)
	for _, item := range []string{licence, service} {
		cmd := &peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateGrant{CreateGrant: &peerv1.CreateGrant{Grant: &yizhanv1.Grant{
			ItemCode: item, OfficeCode: township, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT, yizhanv1.Right_RIGHT_REVIEW,
				yizhanv1.Right_RIGHT_APPROVE, yizhanv1.Right_RIGHT_CERTIFY, yizhanv1.Right_RIGHT_DELIVER},
		}}}}
		cmd.AtUnixNano, cmd.Actor = t0.Add(-time.Hour).UnixNano(), "county.admin"
		if _, err := r.Apply(r.Index()+1, cmd); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// marchFigures are office's figures of March 2026 with its subtree, read in
// book b.
func marchFigures(t *testing.T, b *Book, office string) *yizhanv1.Figures {
	t.Helper()
	groups, err := b.SumStats(RangeQuery{From: day(3, 1, 0), To: day(3, 31, 0), Office: office, Subtree: true}, func(Stat) string { return "*" })
	if err != nil {
		t.Fatal(err)
	}
	return supervision.Compute(groups["*"], nil)
}

// A case accepted at the township and withdrawn by the citizen there
// before its promised due time was never overdue. The county's mirror,
// behind while the link was down, showed it running past its due time
// and the county's sweep issued an OVERDUE red card; when the withdrawal
// arrives (made before the due time), the red card is withdrawn and no
// longer counts: the county's figures for the township's subtree agree
// with the township's.
func TestARedCardOfAStaleMirrorIsWithdrawnAfterAWithdrawalInTime(t *testing.T) {
	reg := townshipRunsRegistry(t)
	c, tw := newOffice(t, county, reg), newOffice(t, township, reg)
	tw.index = 500
	offices := map[string]*office{county: c, township: tw}
	tw.now, c.now = day(3, 2, 9), day(3, 2, 9) // Monday 2 March
	n := tw.file(service, 1, Request{})        // promised 3 working days
	tw.act(n, casework.ActionAccept, nil)      // due: end of Thursday 5 March
	settle(t, offices)
	if got, ok := c.book.Case(n); !ok || got.GetOwnerOffice() != township || got.GetState() != yizhanv1.CaseState_CASE_STATE_ACCEPTED {
		t.Fatalf("the county's mirror of %s: %v", n, got)
	}
	// 4 March: the citizen withdraws at the township; the link to the
	// county is down.
	tw.now = day(3, 4, 9)
	tw.actAs(citizen, n, casework.ActionWithdraw, &yizhanv1.CaseActionRequest{Reason: "不办了"})
	// 9 March: the county sweeps its mirror, which still shows the case
	// running past 5 March.
	c.now = day(3, 9, 10)
	c.sweep()
	if cs := c.cards(CardQuery{CaseNumber: n}); cs[n+" "+yizhanv1.CardRule_CARD_RULE_OVERDUE.String()] == nil {
		t.Fatalf("precondition: the stale mirror earned no red card: %v", cs)
	}
	// The link is back: the withdrawal of 4 March arrives.
	settle(t, offices)
	if got, _ := c.book.Case(n); got.GetState() != yizhanv1.CaseState_CASE_STATE_WITHDRAWN {
		t.Fatalf("the county's mirror after the link is back: %v", got.GetState())
	}
	tw.sweep()
	county, own := marchFigures(t, c.book, township), marchFigures(t, tw.book, township)
	card := c.cards(CardQuery{CaseNumber: n})[n+" "+yizhanv1.CardRule_CARD_RULE_OVERDUE.String()]
	if county.GetRedCards() != own.GetRedCards() || (card != nil && !card.GetWithdrawn()) {
		t.Errorf("case withdrawn on 4 March, before its due time (5 March): the county counts %d red cards for the township, the township %d; the county's card: withdrawn=%v",
			county.GetRedCards(), own.GetRedCards(), card.GetWithdrawn())
	}
	if card == nil || card.GetWithdrawnReason() == "" {
		t.Errorf("the county's red card: %v, want it kept, withdrawn, with its reason", card)
	}
	// The counters agree with a recount of the cards.
	if problems, err := c.book.Check(t.Context(), reg); err != nil || len(problems) > 0 {
		t.Errorf("check: %q %v", problems, err)
	}
}

// A case accepted at the township on 2 March (licence: promised 10
// working days, due 16 March) is suspended on 13 March for a 现场勘查,
// which does not count inside the limit; the county's mirror, behind,
// still shows it running, and the county's sweep of 17 March issues the
// OVERDUE red card. The township resumes it on 18 March (3 working days
// paused: due 19 March) and decides it that day, in time. When the
// mirror catches up the county counts the decision as in time and
// withdraws the red card: a case is not both in time and overdue.
func TestARedCardOfAStaleMirrorIsWithdrawnWhenTheSuspensionShowsItInTime(t *testing.T) {
	reg := townshipRunsRegistry(t)
	c, tw := newOffice(t, county, reg), newOffice(t, township, reg)
	tw.index = 500
	offices := map[string]*office{county: c, township: tw}
	tw.now, c.now = day(3, 2, 9), day(3, 2, 9)
	n := tw.file(licence, 1, Request{})
	tw.act(n, casework.ActionAccept, nil)
	tw.act(n, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
	settle(t, offices)
	// 13 March: suspended at the township; the link is down.
	tw.now = day(3, 13, 9)
	tw.act(n, casework.ActionSuspend, &yizhanv1.CaseActionRequest{SpecialProcedure: "现场勘查", Reason: "需现场核实经营场所"})
	// 17 March: the county's sweep of its stale mirror.
	c.now = day(3, 17, 10)
	c.sweep()
	if cs := c.cards(CardQuery{CaseNumber: n}); cs[n+" "+yizhanv1.CardRule_CARD_RULE_OVERDUE.String()] == nil {
		t.Fatalf("precondition: the stale mirror earned no red card: %v", cs)
	}
	// 18 March: resumed and decided at the township, in time.
	tw.now = day(3, 18, 9)
	tw.act(n, casework.ActionResume, &yizhanv1.CaseActionRequest{Reason: "勘查完毕"})
	tw.act(n, casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "符合条件"})
	c.now = day(3, 18, 12)
	settle(t, offices)
	county, own := marchFigures(t, c.book, township), marchFigures(t, tw.book, township)
	if own.GetInTimeDecided() != 1 || own.GetRedCards() != 0 {
		t.Fatalf("precondition: the township's own figures: %d decided in time, %d red cards", own.GetInTimeDecided(), own.GetRedCards())
	}
	if county.GetInTimeDecided() == 1 && county.GetRedCards() != 0 {
		t.Errorf("the county's figures for the township: the case is decided in time (%d) and carded overdue (%d red cards); the township's own: %d red cards",
			county.GetInTimeDecided(), county.GetRedCards(), own.GetRedCards())
	}
}

// The same for §32's yellow card: a filing at the township (Monday 2
// March) accepted there the next day, in time, while the link to the
// county is down; the county's sweep of 10 March, past the fifth working
// day (9 March), sees the mirror still FILED and cards the township
// NOT_ACCEPTED_IN_TIME. When the acceptance of 3 March arrives, the card
// is withdrawn: the township answered in time.
func TestASection32CardOfAStaleMirrorIsWithdrawnAfterAnAcceptanceInTime(t *testing.T) {
	reg := townshipRunsRegistry(t)
	c, tw := newOffice(t, county, reg), newOffice(t, township, reg)
	tw.index = 500
	offices := map[string]*office{county: c, township: tw}
	tw.now, c.now = day(3, 2, 9), day(3, 2, 9)
	n := tw.file(service, 1, Request{})
	settle(t, offices)
	tw.now = day(3, 3, 9)
	tw.act(n, casework.ActionAccept, nil)
	c.now = day(3, 10, 10)
	c.sweep()
	rule := n + " " + yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME.String()
	if cs := c.cards(CardQuery{CaseNumber: n}); cs[rule] == nil {
		t.Fatalf("precondition: the stale mirror earned no §32 card: %v", cs)
	}
	settle(t, offices)
	if got, _ := c.book.Case(n); got.GetState() != yizhanv1.CaseState_CASE_STATE_ACCEPTED {
		t.Fatalf("the county's mirror after the link is back: %v", got.GetState())
	}
	county, own := marchFigures(t, c.book, township), marchFigures(t, tw.book, township)
	card := c.cards(CardQuery{CaseNumber: n})[rule]
	if county.GetYellowCards() != own.GetYellowCards() || !card.GetWithdrawn() {
		t.Errorf("accepted on 3 March, within §32's 5 working days: the county counts %d yellow cards for the township, the township %d; the county's card: withdrawn=%v",
			county.GetYellowCards(), own.GetYellowCards(), card.GetWithdrawn())
	}
}

// A licence accepted on 2 March is due on 16 March (10 working days).
// The sweep of 17 March cards it OVERDUE (red). On 18 March the
// department head extends it by 10 working days (§42 allows an extension
// decided within the limit, not after it has run out), and it is decided
// that day: the figures count it decided late, as its red card says.
func TestAnExtensionAfterTheDueTimeLeavesTheCaseLate(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	o.now = day(3, 2, 9)
	n := o.file(licence, 1, Request{})
	o.act(n, casework.ActionAccept, nil)
	o.act(n, casework.ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"})
	o.now = day(3, 17, 10)
	o.sweep()
	if cs := o.cards(CardQuery{CaseNumber: n}); cs[n+" "+yizhanv1.CardRule_CARD_RULE_OVERDUE.String()] == nil {
		t.Fatalf("precondition: no red card on 17 March: %v", cs)
	}
	o.now = day(3, 18, 9)
	head := casework.Actor{Username: "head", Office: county, Department: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DEPARTMENT_HEAD}}
	if res := o.actAs(head, n, casework.ActionExtend, &yizhanv1.CaseActionRequest{ExtensionDays: 10, Reason: "情况复杂"}); res.Err != nil {
		t.Logf("the extension after the due time is refused: %v", res.Err)
	}
	o.act(n, casework.ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "符合条件"})
	f := marchFigures(t, o.book, county)
	if f.GetRedCards() > 0 && f.GetInTimeDecided() > 0 {
		t.Errorf("one case, decided on 18 March, 2 days past its due time of 16 March: %d red cards (overdue) and %d decided in time, %d overdue (in-time rate %.2f)",
			f.GetRedCards(), f.GetInTimeDecided(), f.GetOverdueDecided(), f.GetInTimeRate())
	}
}
