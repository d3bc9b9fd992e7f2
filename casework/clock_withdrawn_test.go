package casework

import (
	"testing"
)

// A case left past its time limit and then withdrawn was late: the
// withdrawal ends the clock (days left are counted to it, "so they show
// how early or late it was"), it does not make the lateness disappear.
// DESIGN: acceptance_due is "overdue when answered later or not yet";
// overdue is "decided after the promised due date, or undecided past it".
// The ledger of the supervision export (超期 column) and the case page
// read these flags: a late case withdrawn at the citizen's written
// request dropped out of the overdue count. One withdrawn in time stays
// in time.
func TestAWithdrawalKeepsTheLateness(t *testing.T) {
	t.Run("§32: filed, not answered for three weeks, withdrawn", func(t *testing.T) {
		w := newWorld(t)
		n := w.file(county, tobacco, countyClerk, tobaccoMaterials[:4]...) // Monday 3 March 2025
		due := AcceptanceDue(w.books[county].Events(n), w.reg)
		w.now = cst(2025, 3, 24, 10) // 15 working days later, no answer
		c := w.mustDo(county, n, ActionWithdraw, &req{Reason: "等不及了，撤回", Materials: submitted(WithdrawalRequest)}, countyClerk)
		d := Clocks(c, w.books[county].Events(n), w.reg, cst(2025, 3, 25, 10))
		if !d.GetAcceptanceOverdue() {
			t.Errorf("acceptance due %s, the filing was never answered and withdrawn on 24 March: acceptance_overdue false",
				due.Format("2006-01-02"))
		}
	})
	t.Run("promised limit: accepted, left past it, withdrawn", func(t *testing.T) {
		w, n := caseIn(t, "accepted") // promised 10 working days: due 17 March
		w.now = cst(2025, 4, 1, 10)   // two weeks past it
		c := w.mustDo(county, n, ActionWithdraw, &req{Reason: "申请人要求撤回", Materials: submitted(WithdrawalRequest)}, countyClerk)
		d := Clocks(c, w.books[county].Events(n), w.reg, cst(2025, 4, 2, 10))
		if d.GetPromisedDaysLeft() >= 0 {
			t.Fatalf("days left %d: the test's setup is not late", d.GetPromisedDaysLeft())
		}
		if !d.GetOverdue() {
			t.Errorf("withdrawn %d working days after its promised due %s: overdue false",
				-d.GetPromisedDaysLeft(), d.GetPromisedDue().AsTime().Format("2006-01-02"))
		}
	})
	t.Run("withdrawn in time", func(t *testing.T) {
		w, n := caseIn(t, "accepted")
		w.now = cst(2025, 3, 12, 10) // before its promised due, 17 March
		c := w.mustDo(county, n, ActionWithdraw, &req{Reason: "申请人要求撤回", Materials: submitted(WithdrawalRequest)}, countyClerk)
		if d := Clocks(c, w.books[county].Events(n), w.reg, cst(2025, 4, 2, 10)); d.GetOverdue() || d.GetAcceptanceOverdue() {
			t.Errorf("withdrawn before its due time: overdue %v, acceptance overdue %v", d.GetOverdue(), d.GetAcceptanceOverdue())
		}
	})
}
