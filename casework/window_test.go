package casework

import (
	"fmt"
	"slices"
	"testing"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Department-scoped rights at the county centre, as a matrix of role ×
// department × action on a tobacco licence (烟草, department yc): staff
// act only on their department's items; the comprehensive window (综合窗口)
// accepts any item when the county's case policy says so and never
// decides; an extension is the head of the department's (§42). At the
// township every member of staff acts for its office.
func TestDepartmentMatrix(t *testing.T) {
	roles := map[string]yizhanv1.Role{"clerk": yizhanv1.Role_ROLE_CLERK, "reviewer": yizhanv1.Role_ROLE_REVIEWER, "approver": yizhanv1.Role_ROLE_APPROVER,
		"head": yizhanv1.Role_ROLE_DEPARTMENT_HEAD, "window": yizhanv1.Role_ROLE_WINDOW, "agent": yizhanv1.Role_ROLE_AGENT}
	actions := []struct {
		action Action
		state  string
		roles  []string // the roles the rule table lets ask for it
	}{
		{ActionAccept, "filed", []string{"clerk", "window", "agent"}},
		{ActionRequestCorrection, "filed", []string{"clerk", "window", "agent"}},
		{ActionReview, "accepted", []string{"reviewer"}},
		{ActionSuspend, "accepted", []string{"reviewer", "approver"}},
		{ActionExtend, "accepted", []string{"head"}},
		{ActionDecide, "reviewed", []string{"approver"}},
		{ActionCertify, "approved", []string{"clerk"}},
	}
	for _, windowAccepts := range []bool{false, true} {
		w := newWorld(t)
		if windowAccepts {
			w.reg.apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_PutCasePolicy{PutCasePolicy: &peerv1.PutCasePolicy{
				Policy: &yizhanv1.CasePolicy{ComprehensiveWindowAccepts: true}}}})
		}
		cases := map[string]string{}
		for _, a := range actions {
			if cases[a.state] == "" {
				_, cases[a.state] = caseInWorld(t, w, a.state)
			}
		}
		for _, a := range actions {
			n := cases[a.state]
			c, _ := w.books[county].Case(n)
			events := w.books[county].Events(n)
			for role, r := range roles {
				for _, dept := range []string{"yc", "scjg", ""} {
					actor := Actor{Username: "m-" + role + "-" + dept, Office: county, Department: dept, Roles: []yizhanv1.Role{r}}
					got := slices.Contains(AllowedActions(c, events, actor, county, w.now, w.reg), a.action)
					want := slices.Contains(a.roles, role) && (dept == "yc" ||
						(role == "window" && windowAccepts && (a.action == ActionAccept || a.action == ActionRequestCorrection)))
					name := fmt.Sprintf("window accepts %v: %s of %q may %s", windowAccepts, role, dept, a.action)
					if got != want {
						t.Errorf("%s: %v, want %v", name, got, want)
					}
					// NewEvent agrees, with a reason the input needs.
					_, err := NewEvent(c, nil, a.action, &req{Reason: "x", ExtensionDays: 3, Agrees: true, Approved: true, CertificateNumber: "C-9", SpecialProcedure: "听证", MissingMaterials: []string{"委托书"}}, actor, county, w.now, w.reg)
					if (err == nil) != want {
						t.Errorf("%s: NewEvent says %v", name, err)
					}
				}
			}
		}
	}

	// The township works as one window: its clerk, of no department,
	// accepts the township item.
	w := newWorld(t)
	n := w.file(village, townItem, eastAgent, "农村宅基地和建房申请表", "户口簿")
	w.settle()
	if c := w.mustDo(township, n, ActionAccept, nil, townClerk); c.GetState() != stAccepted {
		t.Errorf("the township's clerk: %s", c.GetState())
	}
}
