package node_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// The county's case policy through the API: bad input names its field;
// set, it reaches every office; a refused case carries the appeal notice
// with the bodies it names, over gRPC and REST; a second correction
// notice and a decision by who reviewed the case are refused with their
// reasons; the policy's single-handed office lets one person decide.
func TestCasePolicyAndTheLawsRulesThroughTheAPI(t *testing.T) {
	f := newCaseFed(t, 1)
	ctx := f.admin.ctx()
	if _, err := f.admin.reg.PutCasePolicy(ctx, &yizhanv1.PutCasePolicyRequest{Policy: &yizhanv1.CasePolicy{SingleHandedOffices: []string{"450122199999"}}}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("an office that does not exist: %v", err)
	} else if _, field := fieldOf(err); field != "policy.single_handed_offices[0]" {
		t.Errorf("an office that does not exist names %q", field)
	}
	put, err := f.admin.reg.PutCasePolicy(ctx, &yizhanv1.PutCasePolicyRequest{Policy: &yizhanv1.CasePolicy{ReconsiderationBody: "青山县人民政府", Court: "青山县人民法院"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range f.nodes {
		waitFor(t, n.Name()+" has the case policy", func() bool { return n.Registry().Index() >= put.GetRegistryIndex() }, 20*time.Second)
	}

	clerk := dial(t, f.countyLeader()).login("clerk", password) // clerk and reviewer
	approver := dial(t, f.countyLeader()).login("approver", password)
	cases := caseClient(t, clerk)
	file := func() string {
		resp, err := cases.FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
			Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetCase().GetNumber()
	}

	refused := file()
	if _, err := cases.Refuse(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: refused, Reason: "不属于本机关职权", LegalBasis: "《行政许可法》第三十二条"}); err != nil {
		t.Fatal(err)
	}
	got, err := cases.GetCase(clerk.ctx(), &yizhanv1.GetCaseRequest{Number: refused})
	if notice := got.GetCase().GetAppealNotice(); err != nil || !strings.Contains(notice, "六十日内向青山县人民政府申请行政复议") || !strings.Contains(notice, "六个月内向青山县人民法院提起行政诉讼") {
		t.Errorf("the refusal's appeal notice: %q (%v)", notice, err)
	}
	st, body := restCall(t, "GET", "http://"+f.countyLeader().HTTPAddr()+"/v1/cases/"+refused, clerk.token, "")
	if c, _ := body["case"].(map[string]any); st != 200 || !strings.Contains(c["appeal_notice"].(string), "行政复议") {
		t.Errorf("REST GET: %d %v", st, body)
	}

	n := file()
	if _, err := cases.Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: n}); err != nil {
		t.Fatal(err)
	}
	if _, err := cases.Review(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: n, Reason: "同意"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a review without a conclusion: %v", err)
	} else if _, field := fieldOf(err); field != "conclusion" {
		t.Errorf("a review without a conclusion names %q", field)
	}
	// A reviewer who is an approver too reviews it, and may not decide it.
	if _, err := f.admin.reg.CreateStaff(ctx, &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "shenhe", Name: "覃审核", OfficeCode: county, DepartmentCode: "yc",
		Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_REVIEWER, yizhanv1.Role_ROLE_APPROVER}}, Password: password}); err != nil {
		t.Fatal(err)
	}
	both := dial(t, f.countyLeader()).login("shenhe", password)
	if _, err := caseClient(t, both).Review(both.ctx(), &yizhanv1.CaseActionRequest{Number: n, Reason: "同意", Conclusion: yizhanv1.Conclusion_CONCLUSION_AGREE}); err != nil {
		t.Fatal(err)
	}
	_, err = caseClient(t, both).Decide(both.ctx(), &yizhanv1.CaseActionRequest{Number: n, Approved: true, Reason: "符合条件"})
	if st := status.Convert(err); st.Code() != codes.PermissionDenied || !strings.Contains(st.Message(), "another person") {
		t.Errorf("the reviewer decides: %v", err)
	}
	if _, err := caseClient(t, approver).Decide(approver.ctx(), &yizhanv1.CaseActionRequest{Number: n, Approved: false, Reason: "不符合布局要求"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a denial without its legal basis: %v", err)
	} else if _, field := fieldOf(err); field != "legal_basis" {
		t.Errorf("a denial without its legal basis names %q", field)
	}
	denied, err := caseClient(t, approver).Decide(approver.ctx(), &yizhanv1.CaseActionRequest{Number: n, Approved: false, Reason: "不符合布局要求", LegalBasis: "《烟草专卖法实施条例》第十条"})
	if err != nil {
		t.Fatal(err)
	}
	if c := denied.GetCase(); c.GetReview().GetBy() != "shenhe" || !c.GetReview().GetAgrees() || !strings.Contains(c.GetAppealNotice(), "对本不予行政许可决定不服") {
		t.Errorf("the denied case: review %v, appeal notice %q", c.GetReview(), c.GetAppealNotice())
	}
}

// Corrections are handed in where the citizen filed: the village agent
// records the resubmitted materials on its copy of a case the county
// holds; they go to the county, which takes the case up again. Staff of
// an office off the case's route cannot.
func TestCorrectionsHandedInAtTheVillage(t *testing.T) {
	f := newCaseFed(t, 1)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	resp, err := caseClient(t, agent).FileCase(agent.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"}})
	if err != nil {
		t.Fatal(err)
	}
	number := resp.GetCase().GetNumber()
	countyNode := f.countyLeader()
	waitFor(t, "the county owns the case", func() bool { return received(countyNode, number) }, 20*time.Second)
	clerk := dial(t, countyNode).login("clerk", password)
	notice, err := caseClient(t, clerk).RequestCorrection(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number})
	if err != nil || len(notice.GetCase().GetMissingMaterials()) != 1 {
		t.Fatalf("the one-time notice: %v %v", notice, err)
	}
	var mine *yizhanv1.Case
	waitFor(t, "the village sees the notice", func() bool {
		got, err := caseClient(t, agent).GetCase(agent.ctx(), &yizhanv1.GetCaseRequest{Number: number})
		mine = got.GetCase()
		return err == nil && mine.GetState() == yizhanv1.CaseState_CASE_STATE_CORRECTION_REQUESTED
	}, 20*time.Second)
	// Where it was filed: hand in the corrections, or reissue the code.
	if !slices.Equal(mine.GetAllowedActions(), []string{"resubmit", "reissueQueryCode"}) {
		t.Errorf("the village may %v, want resubmit and reissueQueryCode", mine.GetAllowedActions())
	}
	other := dial(t, f.nodes["xicun-1"]).login("xicun", password)
	if _, err := caseClient(t, other).Resubmit(other.ctx(), &yizhanv1.CaseActionRequest{Number: number,
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}}); err == nil {
		t.Error("西村, off the route, handed in the corrections")
	}
	// A scan handed in here goes to the county with the corrections,
	// once the county answers that it lacks it.
	form := upload(t, agent, scan(3000, 21), casework.TypePDF, "申请表.pdf")
	got, err := caseClient(t, agent).Resubmit(agent.ctx(), &yizhanv1.CaseActionRequest{Number: number,
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1, Files: []*yizhanv1.Attachment{form}}}})
	if err != nil {
		t.Fatal(err)
	}
	if c := got.GetCase(); c.GetState() != yizhanv1.CaseState_CASE_STATE_FILED || c.GetOwnerOffice() != county || len(c.GetMaterials()) != 1 {
		t.Errorf("after the resubmission at the village: %v", c)
	}
	if _, complete := countyNode.Office().Cases().AttachmentHeld(form.GetSha256()); !complete {
		t.Error("the county does not hold the scan handed in with the corrections")
	}
	// Corrections the county refuses (none are asked for now) take no
	// scan up with them.
	late := upload(t, agent, scan(3000, 22), casework.TypePDF, "申请表.pdf")
	if _, err := caseClient(t, agent).Resubmit(agent.ctx(), &yizhanv1.CaseActionRequest{Number: number,
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1, Files: []*yizhanv1.Attachment{late}}}}); err == nil {
		t.Error("corrections handed in with none asked for")
	}
	if held, _ := countyNode.Office().Cases().AttachmentHeld(late.GetSha256()); held.GetOffset() > 0 {
		t.Errorf("refused corrections took their scan up: the county holds %d bytes of it", held.GetOffset())
	}
	if _, err := caseClient(t, clerk).Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number}); err != nil {
		t.Errorf("the county accepts after the corrections: %v", err)
	}
}
