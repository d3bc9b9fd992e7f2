package node_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A request ID is no authority of its own. The office remembers a write
// by its ID and its body, not by who sent it, and answered a retry before
// the checks of who may ask: an approver, who may not file, sending a
// clerk's filing again under its ID got the case with the citizen's query
// code; sending the clerk's acceptance again, "accepted". A replay goes
// only to a caller who may do the write it answers; the clerk's own
// retries are answered as the first.
func TestAReplayGoesOnlyToACallerWhoMayDoTheWrite(t *testing.T) {
	f := newCaseFed(t, 1)
	countyNode := f.nodes["county-1"]
	clerk := dial(t, countyNode).login("clerk", password)
	approver := dial(t, countyNode).login("approver", password)
	filing := &yizhanv1.FileCaseRequest{RequestId: "filing-1", ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}}
	first, err := caseClient(t, clerk).FileCase(clerk.ctx(), proto.CloneOf(filing))
	if err != nil {
		t.Fatal(err)
	}
	number := first.GetCase().GetNumber()

	got, err := caseClient(t, approver).FileCase(approver.ctx(), proto.CloneOf(filing))
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("an approver sending the clerk's filing under its request ID: %v (query code %q), want PERMISSION_DENIED", err, got.GetCase().GetQueryCode())
	}
	again, err := caseClient(t, clerk).FileCase(clerk.ctx(), proto.CloneOf(filing))
	if err != nil || again.GetCase().GetNumber() != number || again.GetCase().GetQueryCode() != first.GetCase().GetQueryCode() {
		t.Errorf("the clerk's filing retried: %v, %v; want case %s with its query code", again.GetCase(), err, number)
	}

	accept := &yizhanv1.CaseActionRequest{RequestId: "accept-1", Number: number}
	if _, err := caseClient(t, clerk).Accept(clerk.ctx(), proto.CloneOf(accept)); err != nil {
		t.Fatal(err)
	}
	if _, err := caseClient(t, approver).Accept(approver.ctx(), proto.CloneOf(accept)); status.Code(err) != codes.PermissionDenied {
		t.Errorf("an approver sending the clerk's acceptance under its request ID: %v, want PERMISSION_DENIED", err)
	}
	if resp, err := caseClient(t, clerk).Accept(clerk.ctx(), proto.CloneOf(accept)); err != nil || resp.GetCase().GetState() != yizhanv1.CaseState_CASE_STATE_ACCEPTED {
		t.Errorf("the clerk's acceptance retried: %v, %v; want the case accepted", resp.GetCase().GetState(), err)
	}
}
