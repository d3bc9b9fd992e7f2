package node_test

import (
	"net/http"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// At the county, rights are a department's (issue 13): through the API,
// for each step of a tobacco licence (烟草专卖局's item), staff of 民政局
// holding the role are refused (WRONG_ROLE, by the rule NOT_ITS_DEPARTMENT), and 烟草专卖局's
// staff act; the comprehensive window (综合窗口) files any item and
// accepts it only when the county's case policy says so, and never
// decides. The whole matrix of roles, departments and actions is
// casework's TestDepartmentMatrix; this shows the node builds each
// caller's department into the check, over gRPC and REST.
func TestDepartmentRightsThroughTheAPI(t *testing.T) {
	f := newCaseFed(t, 1)
	ctx := f.admin.ctx()
	if _, err := f.admin.reg.CreateDepartment(ctx, &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "mz", Name: "县民政局"}}); err != nil {
		t.Fatal(err)
	}
	var index uint64
	for _, s := range []*yizhanv1.StaffMember{
		{Username: "mz-clerk", Name: "李民政", OfficeCode: county, DepartmentCode: "mz", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_REVIEWER}},
		{Username: "mz-approver", Name: "张民政", OfficeCode: county, DepartmentCode: "mz", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_APPROVER}},
		{Username: "window", Name: "覃窗口", OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_WINDOW}},
	} {
		resp, err := f.admin.reg.CreateStaff(ctx, &yizhanv1.CreateStaffRequest{Staff: s, Password: password})
		if err != nil {
			t.Fatal(err)
		}
		index = resp.GetRegistryIndex()
	}
	leader := f.countyLeader()
	waitFor(t, "the county leader has the staff", func() bool { return leader.Registry().Index() >= index }, 20*time.Second)
	clerk, approver := dial(t, leader).login("clerk", password), dial(t, leader).login("approver", password)
	mzClerk, mzApprover := dial(t, leader).login("mz-clerk", password), dial(t, leader).login("mz-approver", password)
	window := dial(t, leader).login("window", password)

	refusedForDepartment := func(what string, err error) {
		t.Helper()
		st, _ := status.FromError(err)
		info := reason.Info(st)
		if st.Code() != codes.PermissionDenied || info.GetReason() != reason.WrongRole || info.GetMetadata()["rule"] != "NOT_ITS_DEPARTMENT" {
			t.Errorf("%s: %v (%v), want PermissionDenied WRONG_ROLE by the rule NOT_ITS_DEPARTMENT", what, err, info)
		}
	}
	file := func(as *client) string {
		t.Helper()
		resp, err := caseClient(t, as).FileCase(as.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
			Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
		if err != nil {
			t.Fatalf("filing a tobacco licence: %v", err)
		}
		return resp.GetCase().GetNumber()
	}
	act := func(as *client, a func(yizhanv1.CaseServiceClient, *client, *yizhanv1.CaseActionRequest) error, in *yizhanv1.CaseActionRequest) error {
		return a(caseClient(t, as), as, in)
	}
	accept := func(c yizhanv1.CaseServiceClient, as *client, in *yizhanv1.CaseActionRequest) error {
		_, err := c.Accept(as.ctx(), in)
		return err
	}
	review := func(c yizhanv1.CaseServiceClient, as *client, in *yizhanv1.CaseActionRequest) error {
		_, err := c.Review(as.ctx(), in)
		return err
	}
	decide := func(c yizhanv1.CaseServiceClient, as *client, in *yizhanv1.CaseActionRequest) error {
		_, err := c.Decide(as.ctx(), in)
		return err
	}

	// The window files any item; without the county's word it accepts none.
	n := file(window)
	if err := act(window, accept, &yizhanv1.CaseActionRequest{Number: n}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("the window accepts without the case policy: %v", err)
	}
	refusedForDepartment("民政局's clerk accepts", act(mzClerk, accept, &yizhanv1.CaseActionRequest{Number: n}))
	// Over REST too: 403 with the reason.
	code, body := restCall(t, "POST", "http://"+leader.HTTPAddr()+"/v1/cases/"+n+":accept", mzClerk.token, "{}")
	if details, _ := body["details"].([]any); code != http.StatusForbidden || !hasRule(details, "NOT_ITS_DEPARTMENT") {
		t.Errorf("REST accept by 民政局's clerk: %d %v", code, body)
	}
	if err := act(clerk, accept, &yizhanv1.CaseActionRequest{Number: n}); err != nil {
		t.Fatalf("烟草专卖局's clerk accepts: %v", err)
	}
	refusedForDepartment("民政局's reviewer reviews", act(mzClerk, review, &yizhanv1.CaseActionRequest{Number: n, Reason: "同意", Conclusion: yizhanv1.Conclusion_CONCLUSION_AGREE}))
	if err := act(clerk, review, &yizhanv1.CaseActionRequest{Number: n, Reason: "同意", Conclusion: yizhanv1.Conclusion_CONCLUSION_AGREE}); err != nil {
		t.Fatalf("烟草专卖局's reviewer reviews: %v", err)
	}
	refusedForDepartment("民政局's approver decides", act(mzApprover, decide, &yizhanv1.CaseActionRequest{Number: n, Approved: true, Reason: "符合条件"}))
	if err := act(window, decide, &yizhanv1.CaseActionRequest{Number: n, Approved: true, Reason: "符合条件"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("the window decides: %v", err)
	}
	if err := act(approver, decide, &yizhanv1.CaseActionRequest{Number: n, Approved: true, Reason: "符合条件"}); err != nil {
		t.Fatalf("烟草专卖局's approver decides: %v", err)
	}

	// The county lets the comprehensive window accept: it accepts any item.
	put, err := f.admin.reg.PutCasePolicy(ctx, &yizhanv1.PutCasePolicyRequest{Policy: &yizhanv1.CasePolicy{ComprehensiveWindowAccepts: true}})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the county leader has the case policy", func() bool { return leader.Registry().Index() >= put.GetRegistryIndex() }, 20*time.Second)
	m := file(window)
	refusedForDepartment("民政局's clerk accepts, the window allowed", act(mzClerk, accept, &yizhanv1.CaseActionRequest{Number: m}))
	if err := act(window, accept, &yizhanv1.CaseActionRequest{Number: m}); err != nil {
		t.Errorf("the window accepts with the case policy: %v", err)
	}
}

// hasRule reports whether a REST error's details hold an ErrorInfo
// whose metadata names the case rule r.
func hasRule(details []any, r string) bool {
	for _, d := range details {
		if m, ok := d.(map[string]any); ok {
			if meta, _ := m["metadata"].(map[string]any); meta["rule"] == r {
				return true
			}
		}
	}
	return false
}
