package node_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// RejectPrechecks under a used request ID with another list of cases is
// another request: it must be refused (ABORTED), and the case the first
// bulk did not name must not be rejected. The bulk's own request was
// never remembered (each part gets an ID derived from the bulk's and the
// number, so a part the first call did not have was new, and applied):
// the office's leader remembers it now.
func TestRejectPrechecksUnderAUsedIDWithOtherCasesIsRefused(t *testing.T) {
	f := newCaseFed(t, 1)
	village := f.nodes["xicun-1"]
	anon := caseClient(t, dial(t, village))
	file := func(name string) *yizhanv1.Case {
		t.Helper()
		resp, err := anon.FileCase(dial(t, village).ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
			Applicant: &yizhanv1.Applicant{Name: name, IdNumber: applicantID, Phone: "13907710001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetCase()
	}
	a, b := file("广告甲"), file("真实申报人")
	agent := dial(t, village).login("xicun", password)
	cases := caseClient(t, agent)
	if _, err := cases.RejectPrechecks(agent.ctx(), &yizhanv1.RejectPrechecksRequest{RequestId: "zz-bulk-1",
		Numbers: []string{a.GetNumber()}, Reason: "广告，无效申报"}); err != nil {
		t.Fatal(err)
	}
	resp, err := cases.RejectPrechecks(agent.ctx(), &yizhanv1.RejectPrechecksRequest{RequestId: "zz-bulk-1",
		Numbers: []string{a.GetNumber(), b.GetNumber()}, Reason: "广告，无效申报"})
	if status.Code(err) != codes.Aborted {
		t.Errorf("RejectPrechecks under a used request ID naming another case: %v, %v; want ABORTED", resp, err)
	}
	if c, _ := village.Office().Cases().Case(b.GetNumber()); c.GetState() != yizhanv1.CaseState_CASE_STATE_PRECHECK {
		t.Errorf("case %s, not named by the first bulk, was applied under its reused request ID: now %s", b.GetNumber(), c.GetState())
	}
}
