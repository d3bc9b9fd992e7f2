package casebook

import (
	"testing"

	"github.com/dgraph-io/badger/v4"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// onlineAt is a citizen filing online at office: the filing waits for
// its pre-check there.
func onlineAt(office string) casework.Actor {
	a := citizen
	a.Office = office
	return a
}

// A village's 收件 read at the village and read at the county (its row
// there, from the mirrors) are one number: an online filing is received
// when its pre-check takes it up, and one turned down at the pre-check
// (spam, never sent up) is in neither.
func TestAnOnlineFilingIsReceivedWhenItsPrecheckTakesItUp(t *testing.T) {
	reg := newRegistry(t)
	v, tw, co := newOffice(t, village, reg), newOffice(t, township, reg), newOffice(t, county, reg)
	for _, o := range []*office{v, tw, co} {
		o.now = day(3, 2, 9)
	}
	v.fileAs(villageAgent, service, 1, Request{}) // an agent's proxy filing
	spam := v.fileAs(onlineAt(village), service, 2, Request{})
	taken := v.fileAs(onlineAt(village), service, 3, Request{})
	if got := marchFigures(t, v.book, village).GetReceived(); got != 1 {
		t.Fatalf("收件 at the village before any pre-check: %d, want 1 (the proxy filing; the online ones wait)", got)
	}
	v.actAs(villageAgent, spam, casework.ActionRejectPrecheck, &yizhanv1.CaseActionRequest{Reason: "材料与事项无关"})
	v.actAs(villageAgent, taken, casework.ActionPrecheck, nil)
	deliver(t, v, tw)
	deliver(t, tw, co)

	if _, held := co.book.Case(spam); held {
		t.Errorf("the county holds %s, turned down at the village's pre-check in time", spam)
	}
	atVillage, atCounty := marchFigures(t, v.book, village), marchFigures(t, co.book, village)
	if atVillage.GetReceived() != 2 || atCounty.GetReceived() != 2 {
		t.Errorf("收件 of village %s: %d read at the village, %d read at the county; want 2 at both (the proxy filing and the one taken up)",
			village, atVillage.GetReceived(), atCounty.GetReceived())
	}
}

// An online filing left waiting at the village's pre-check past §32's
// five working days is carded 逾期未受理 at the village and goes up with
// its card: the county's supervision sees it too, and what happens to it
// after (turned down late) follows it up.
func TestAnOnlineFilingLeftWaitingGoesUpWithItsCard(t *testing.T) {
	reg := newRegistry(t)
	v, tw, co := newOffice(t, village, reg), newOffice(t, township, reg), newOffice(t, county, reg)
	set := func(at int) {
		for _, o := range []*office{v, tw, co} {
			o.now = day(3, at, 9)
		}
	}
	set(2)
	late := v.fileAs(onlineAt(village), service, 2, Request{})
	deliver(t, v, tw)
	if _, held := tw.book.Case(late); held {
		t.Fatalf("the township holds %s while it waits for the village's pre-check in time", late)
	}

	set(10)
	v.sweep()
	deliver(t, v, tw)
	deliver(t, tw, co)
	co.sweep()
	key := late + " " + yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME.String()
	for _, o := range []*office{v, co} {
		c := o.cards(CardQuery{})[key]
		if c == nil {
			t.Fatalf("office %s holds no 逾期未受理 card for %s, left waiting at the village's pre-check since 2 March", o.code, late)
		}
		if c.GetOfficeCode() != village {
			t.Errorf("office %s: the card is %s's, want the village's", o.code, c.GetOfficeCode())
		}
	}
	atVillage, atCounty := marchFigures(t, v.book, village), marchFigures(t, co.book, village)
	if atVillage.GetYellowCards()+atVillage.GetRedCards() == 0 ||
		atVillage.GetYellowCards() != atCounty.GetYellowCards() || atVillage.GetRedCards() != atCounty.GetRedCards() {
		t.Errorf("village %s's cards: 黄牌 %d 红牌 %d read at the village, 黄牌 %d 红牌 %d read at the county",
			village, atVillage.GetYellowCards(), atVillage.GetRedCards(), atCounty.GetYellowCards(), atCounty.GetRedCards())
	}
	if atVillage.GetReceived() != 0 || atCounty.GetReceived() != 0 {
		t.Errorf("收件 of a filing not taken up: %d at the village, %d at the county; want 0", atVillage.GetReceived(), atCounty.GetReceived())
	}

	set(11)
	v.actAs(villageAgent, late, casework.ActionRejectPrecheck, &yizhanv1.CaseActionRequest{Reason: "材料与事项无关"})
	deliver(t, v, tw)
	deliver(t, tw, co)
	if c, _ := co.book.Case(late); c.GetState() != yizhanv1.CaseState_CASE_STATE_PRECHECK_REJECTED {
		t.Errorf("the county's copy of %s is %v after the village turned it down, want PRECHECK_REJECTED", late, c.GetState())
	}
}

// An online filing carded 逾期未受理 by a release before stats format 12
// stayed at the village (that release sent nothing up until the
// pre-check took it up): the upgrade queues it for the township, so the
// offices above see it without waiting for its next event.
func TestTheUpgradeSendsUpAFilingCardedLateBefore(t *testing.T) {
	reg := newRegistry(t)
	v := newOffice(t, village, reg)
	v.now = day(3, 2, 9)
	late := v.fileAs(onlineAt(village), service, 2, Request{})
	v.now = day(3, 10, 9)
	v.sweep()
	// What the previous release left: the card, no mail, format 11.
	if err := v.book.db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(outboxKey(township, late)); err != nil {
			return err
		}
		if err := txn.Set(keyOutboxLen, be64(0)); err != nil {
			return err
		}
		return txn.Set(keyStatsFormat, be64(11))
	}); err != nil {
		t.Fatal(err)
	}
	if !v.reopen() {
		t.Fatal("setup: the book of format 11 is not stale")
	}
	out := v.book.Outbox()
	if len(out) != 1 || out[0].GetDestOffice() != township || out[0].GetCaseNumber() != late || v.book.OutboxLen() != 1 {
		t.Errorf("after the upgrade the outbox holds %v (length %d); want %s queued for the township", out, v.book.OutboxLen(), late)
	}
}
