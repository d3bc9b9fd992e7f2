package casework

import (
	"errors"
	"testing"
)

// At the county centre each department sits at its own windows (DOMAIN:
// "a window per department"; DESIGN: "staff act only on their
// department's items"). The fee of a tobacco licence is the tobacco
// bureau's to assess and to waive (更正收费 / 免收: "a fee assessed or
// corrected is handling the item"), and its licence is the bureau's to
// hand over, and a withdrawal of it the bureau's to take. A clerk of the
// civil-affairs window (民政, mz) may not assess, waive, withdraw or
// deliver it (these four had no department check).
func TestAnotherDepartmentsClerkDoesNotHandleTheCase(t *testing.T) {
	notHis := func(t *testing.T, what string, err error) {
		t.Helper()
		var re *RuleError
		if err == nil {
			t.Errorf("%s: the civil-affairs clerk (department mz) did it on a tobacco case (department yc)", what)
			return
		}
		if !errors.Is(err, ErrPermissionDenied) || !errors.As(err, &re) {
			t.Errorf("%s: %v, want NOT_ITS_DEPARTMENT (permission denied)", what, err)
		}
	}

	t.Run("assess the fee", func(t *testing.T) {
		w, n := caseIn(t, "accepted")
		_, err := w.do(county, n, ActionAssessFee, nil, mzClerk)
		notHis(t, "assessFee", err)
	})
	t.Run("waive the fee (免收)", func(t *testing.T) {
		w, n := caseIn(t, "accepted")
		w.mustDo(county, n, ActionAssessFee, nil, countyClerk) // 25 yuan by the tobacco window
		c, err := w.do(county, n, ActionCorrectFee, &req{Reason: "依法免收"}, mzClerk)
		notHis(t, "correctFee to none", err)
		if err == nil && c.GetFeeCents() != 0 {
			t.Errorf("fee %d", c.GetFeeCents())
		}
	})
	t.Run("withdraw the case", func(t *testing.T) {
		w, n := caseIn(t, "accepted")
		_, err := w.do(county, n, ActionWithdraw, &req{Reason: "申请人要求撤回", Materials: submitted(WithdrawalRequest)}, mzClerk)
		notHis(t, "withdraw", err)
	})
	t.Run("deliver the licence", func(t *testing.T) {
		w, n := caseIn(t, "certified")
		_, err := w.do(county, n, ActionDeliver, nil, mzClerk)
		notHis(t, "deliver", err)
	})
}
