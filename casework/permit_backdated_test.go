package casework

import (
	"testing"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A township whose ACCEPT grant ended on 10 March receives a case on 12
// March and sends the county an ACCEPTED dated 1 March: before the case
// was filed (3 March), before the township received it. Permitted
// checked the grants at the time the event claims, so the county took an
// acceptance made by an office that, while it held the case, had no right
// to accept it: the grants are checked at the case's last event when the
// event is dated before it.
func TestAnEventDatedBeforeItsPredecessorCannotUseAnExpiredGrant(t *testing.T) {
	w := newWorld(t)
	w.reg.grant(&yizhanv1.Grant{ItemCode: tobacco, OfficeCode: township, Rights: []yizhanv1.Right{right.accept}, ValidUntil: ts(cst(2025, 3, 10, 0))})
	n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
	w.autos()   // the village forwards it to the township (3 March)
	w.deliver() // the township holds it in transit
	w.now = cst(2025, 3, 12, 9)
	w.autos() // the township receives it on 12 March, its grant ended
	w.deliver()
	log := w.books[township].Events(n)
	last := log[len(log)-1]
	if last.GetType() != yizhanv1.EventType_EVENT_TYPE_RECEIVED || last.GetOfficeCode() != township {
		t.Fatalf("the township's last event is %s by %s", last.GetType(), last.GetOfficeCode())
	}
	// Dated at the time it held the case: refused, as it should be.
	wantRefusedNoTrace(t, w.books[county], w.reg, &peerv1.CaseMessage{CaseNumber: n, Events: forge(log,
		&yizhanv1.CaseEvent{Type: tAccepted, At: ts(cst(2025, 3, 12, 10)), Actor: "town.clerk", OfficeCode: township}), FromOffice: township}, "RIGHT_ACCEPT")
	// Backdated to before the case existed.
	forged := forge(log, &yizhanv1.CaseEvent{Type: tAccepted, At: ts(cst(2025, 3, 1, 9)), Actor: "town.clerk", OfficeCode: township})
	r := receive(t, w.books[county], w.reg, &peerv1.CaseMessage{CaseNumber: n, Events: forged, FromOffice: township})
	if r.GetRefused() == "" {
		c, _ := w.books[county].Case(n)
		t.Errorf("the county took an ACCEPTED dated %s, before the case was filed (%s) and before the township received it (%s): case now %s",
			forged[len(forged)-1].GetAt().AsTime(), log[0].GetAt().AsTime(), last.GetAt().AsTime(), c.GetState())
	}
}
