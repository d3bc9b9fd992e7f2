package node_test

import (
	"fmt"
	"testing"

	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A citizen whose online filing was made but whose answer was lost sends
// it again with its request ID: the office filed it already, and the
// retry must get that filing (its number and query code). When the
// address has used its burst of new filings (five; a village's shared
// connection), the retry was refused TOO_MANY_FILINGS: the limit was
// taken before the office was asked whether the filing is a replay.
func TestAnOnlineFilingRetryIsAnsweredWhenTheAllowanceIsSpent(t *testing.T) {
	f := newCaseFed(t, 1)
	citizen := dial(t, f.nodes["county-1"])
	cases := caseClient(t, citizen)
	req := &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "蓝丽", IdNumber: applicantID, Phone: "13907710009"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}}
	var last *yizhanv1.CaseResponse
	for i := range 5 {
		r := proto.CloneOf(req)
		r.RequestId = fmt.Sprintf("zz-online-%d", i)
		resp, err := cases.FileCase(citizen.ctx(), r)
		if err != nil {
			t.Fatalf("new online filing %d: %v", i+1, err)
		}
		last = resp
	}
	// The fifth's answer was lost: the citizen sends it again.
	r := proto.CloneOf(req)
	r.RequestId = "zz-online-4"
	again, err := cases.FileCase(citizen.ctx(), r)
	if err != nil {
		t.Fatalf("the fifth filing, retried with its request ID (the office filed it as %s): %v; want the first answer",
			last.GetCase().GetNumber(), err)
	}
	if again.GetCase().GetNumber() != last.GetCase().GetNumber() {
		t.Errorf("retry answered %s, first %s", again.GetCase().GetNumber(), last.GetCase().GetNumber())
	}
}
