package casework

import (
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/registry"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A one-time correction notice (一次性告知) is given on 3 March under the
// county's policy of then (the default 30 days): the printed notice
// (print_correction.html, Deadlines.correction_due) tells the citizen to
// hand the materials in by 2 April, or the filing counts as withdrawn. A
// week later the county shortens the wait to 10 days. The office holding
// the case, once its feed brought the change (and every office above it
// at once), computed the notice's due date as 13 March and let staff
// close the case as 逾期未补正 on 14 March, without the citizen's written
// request, 19 days before the date the citizen was given; offices that
// held the change and offices that did not yet showed two due dates for
// the same notice. The notice's event keeps its days now.
func TestACorrectionNoticeKeepsTheDueDateItWasGivenWith(t *testing.T) {
	day := func(ts interface{ AsTime() time.Time }) string {
		return ts.AsTime().In(registry.CST).Format(time.DateOnly)
	}
	w := newWorld(t)
	stale := newReg(t) // an office below that has not heard of the change yet
	w.now = cst(2025, 3, 3, 10)
	m := w.file(county, tobacco, countyClerk, tobaccoMaterials[:3]...)
	c := w.mustDo(county, m, ActionRequestCorrection, &req{}, countyClerk)
	given := Clocks(c, w.books[county].Events(m), w.reg, w.now).GetCorrectionDue()
	if day(given) != "2025-04-02" {
		t.Fatalf("precondition: the notice is due %s, want 2025-04-02 (30 days)", day(given))
	}

	w.reg.apply(&peerv1.RegistryCommand{AtUnixNano: cst(2025, 3, 10, 9).UnixNano(), Op: &peerv1.RegistryCommand_PutCasePolicy{PutCasePolicy: &peerv1.PutCasePolicy{
		Policy: &yizhanv1.CasePolicy{CorrectionWaitDays: 10}}}})
	now := cst(2025, 3, 14, 10)
	atCounty := Clocks(c, w.books[county].Events(m), w.reg, now).GetCorrectionDue()
	below := Clocks(c, w.books[county].Events(m), stale, now).GetCorrectionDue()
	if day(atCounty) != day(given) || day(below) != day(given) {
		t.Errorf("the notice given due %s is now due %s at an office that holds the new policy, %s at one that does not",
			day(given), day(atCounty), day(below))
	}
	w.now = now
	if c, err := w.do(county, m, ActionWithdraw, &req{Reason: "逾期未补正，视为撤回申请"}, countyClerk); err == nil {
		t.Errorf("closed as 逾期未补正 on 14 March (state %s, correction_lapsed %v), though the citizen was told 2 April",
			c.GetState(), w.books[county].Events(m)[len(w.books[county].Events(m))-1].GetCorrectionLapsed())
	}
}
