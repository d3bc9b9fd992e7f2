package node_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A citizen on the township's site applies online for an item only the
// county takes in: the filing goes to the county, as if made on its site
// (its number, its pre-check). An office that is not above the one asked
// is refused.
func TestOnlineFilingGoesToTheOfficeAboveThatTakesTheItem(t *testing.T) {
	f := newCaseFed(t, 1)
	citizen := dial(t, f.nodes["chengguan-1"])
	req := &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code, OfficeCode: county,
		Applicant: &yizhanv1.Applicant{Name: "蓝丽", IdNumber: applicantID, Phone: "13907710009"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}}
	resp, err := caseClient(t, citizen).FileCase(citizen.ctx(), req)
	if err != nil {
		t.Fatalf("file online at the township for the county: %v", err)
	}
	c := resp.GetCase()
	if !strings.HasPrefix(c.GetNumber(), county+"-") || c.GetOriginOffice() != county || c.GetState() != yizhanv1.CaseState_CASE_STATE_PRECHECK || c.GetQueryCode() == "" {
		t.Errorf("filed as %s at %s in %s (code %q)", c.GetNumber(), c.GetOriginOffice(), c.GetState(), c.GetQueryCode())
	}
	if _, ok := f.nodes["county-1"].Office().Cases().Case(c.GetNumber()); !ok {
		t.Error("the county does not hold the case")
	}
	req.OfficeCode = xicun // a village below, not above
	if _, err := caseClient(t, citizen).FileCase(citizen.ctx(), req); status.Code(err) != codes.InvalidArgument {
		t.Errorf("filing for an office not above: %v", err)
	}
}
