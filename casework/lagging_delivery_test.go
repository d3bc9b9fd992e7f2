package casework

import (
	"testing"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A tobacco licence filed at 东村, decided and certified at the county, is
// handed down to 东村 for delivery (送达), as its route says. 东村's link
// then goes down. The county takes the villages' delegation (代办, 送达)
// back; 东村 does not hear of it, and its agent hands the certificate to
// the citizen: DELIVERED, then CLOSED. When the link was back, the
// township judged the village's log by its own registry (no DELIVER at
// the delivery's time) and refused it for good: the county's copy stayed
// "certified, at the village", §44's clock ran out there. The delivery
// names the registry the village had (registry_index): a revocation it
// had not heard of does not count against it (registry.RightsKnownAt).
func TestADeliveryByAVillageThatHadNotHeardOfTheRevocationReachesTheCounty(t *testing.T) {
	w := newWorld(t)
	stale := newReg(t) // 东村's replica: the same registry, before the revocation
	n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
	w.settle()
	w.mustDo(county, n, ActionAccept, nil, countyClerk)
	w.mustDo(county, n, ActionReview, &req{Agrees: true, Reason: "同意"}, countyReview)
	w.mustDo(county, n, ActionDecide, &req{Approved: true, Reason: "符合条件"}, countyApprove)
	w.mustDo(county, n, ActionCertify, &req{CertificateNumber: "C-1"}, countyClerk)
	w.settle()
	if c, _ := w.books[village].Case(n); c.GetOwnerOffice() != village {
		t.Fatalf("precondition: the case is at %s, want the village", c.GetOwnerOffice())
	}

	// The county revokes the villages' grant; 东村 is cut off.
	w.now = w.now.Add(time.Hour)
	for _, g := range w.reg.Grants(grantFilter(tobacco, village)) {
		if g.GetTier() == yizhanv1.Tier_TIER_VILLAGE {
			w.reg.revoke(g.GetId(), w.now)
		}
	}
	// An hour later the citizen collects the certificate at 东村.
	w.now = w.now.Add(time.Hour)
	vb := w.books[village]
	c, _ := vb.Case(n)
	e, err := NewEvent(c, vb.Events(n), ActionDeliver, nil, eastAgent, village, w.now, stale)
	if err != nil {
		t.Fatalf("the village, with its registry of before, delivers: %v", err)
	}
	evs := vb.Events(n)
	Seal(e, evs[len(evs)-1].GetHash())
	if _, err := vb.Apply(&peerv1.CaseCommand{Op: &peerv1.CaseCommand_Append{Append: &peerv1.AppendCaseEvents{CaseNumber: n, Events: []*yizhanv1.CaseEvent{e}}}}, stale); err != nil {
		t.Fatalf("the village applies its delivery: %v", err)
	}

	// The link is back: the village's mirror goes up to the township.
	for _, en := range vb.Outbox() {
		if en.GetCaseNumber() != n || en.GetDestOffice() != township {
			continue
		}
		m, _ := vb.Message(en)
		if r := receive(t, w.books[township], w.reg, m); r.GetRefused() != "" {
			t.Errorf("the township refuses the village's delivery of %s, and will refuse it for good: %s", n, r.GetRefused())
		}
	}
	if c, _ := w.books[township].Case(n); c.GetState() != yizhanv1.CaseState_CASE_STATE_DELIVERED {
		t.Errorf("the township's copy of %s after the link is back: %s, want DELIVERED (the citizen holds the certificate)", n, c.GetState())
	}
}
