package casework

import (
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The change that gave delivery and withdrawal a department check says
// (CHANGELOG, commit 6fe2e29) that "the comprehensive window, and an
// agent 帮办代办, may still deliver and withdraw for the citizen". Under
// the county's default case policy (comprehensive_window_accepts unset:
// the window files, the department accepts) the window's clerk could no
// longer do either (itsDepartmentWindowOrAgent let the window through
// only where the policy let it accept): it does, whatever the policy.
func TestTheComprehensiveWindowStillDeliversAndWithdraws(t *testing.T) {
	window := Actor{Username: "zh.window", Name: "综合窗口", Office: county,
		Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_WINDOW}}
	t.Run("deliver", func(t *testing.T) {
		w, n := caseIn(t, "certified")
		if _, err := w.do(county, n, ActionDeliver, nil, window); err != nil {
			t.Errorf("the comprehensive window delivers the licence: %v", err)
		}
	})
	t.Run("withdraw", func(t *testing.T) {
		w, n := caseIn(t, "accepted")
		if _, err := w.do(county, n, ActionWithdraw, &req{Reason: "申请人要求撤回", Materials: submitted(WithdrawalRequest)}, window); err != nil {
			t.Errorf("the comprehensive window withdraws the case for the citizen: %v", err)
		}
	})
}
