package node_test

import (
	"testing"

	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// An action retried with its request ID after the case moved on is
// answered with the case as that action left it: the first answer. The
// remembered case was presented with the log as it is now (its clocks,
// its appeal notice): the replay of an acceptance showed the appeal
// notice of a denial made after it, and the clocks of a decided case, on
// a case that said ACCEPTED.
func TestAnActionReplayedAfterTheCaseMovedOnAnswersAsTheFirst(t *testing.T) {
	f := newCaseFed(t, 1)
	countyNode := f.nodes["county-1"]
	clerk := dial(t, countyNode).login("clerk", password)
	approver := dial(t, countyNode).login("approver", password)
	cc, ac := caseClient(t, clerk), caseClient(t, approver)
	filed, err := cc.FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	number := filed.GetCase().GetNumber()
	accept := &yizhanv1.CaseActionRequest{RequestId: "zz-accept-1", Number: number}
	first, err := cc.Accept(clerk.ctx(), proto.CloneOf(accept))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Review(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number, Reason: "材料不全", Conclusion: yizhanv1.Conclusion_CONCLUSION_DISAGREE}); err != nil {
		t.Fatalf("review: %v", err)
	}
	if _, err := ac.Decide(approver.ctx(), &yizhanv1.CaseActionRequest{Number: number, Approved: false, Reason: "不符合条件", LegalBasis: "《中华人民共和国行政许可法》第三十八条"}); err != nil {
		t.Fatalf("decide: %v", err)
	}
	again, err := cc.Accept(clerk.ctx(), proto.CloneOf(accept))
	if err != nil {
		t.Fatalf("the acceptance retried with its request ID: %v", err)
	}
	if again.GetCase().GetState() != first.GetCase().GetState() {
		t.Fatalf("replay state %s, first %s", again.GetCase().GetState(), first.GetCase().GetState())
	}
	if got := again.GetCase().GetAppealNotice(); got != first.GetCase().GetAppealNotice() {
		t.Errorf("the replayed acceptance (state %s) carries the appeal notice %q; the first answer had %q",
			again.GetCase().GetState(), got, first.GetCase().GetAppealNotice())
	}
	if !proto.Equal(first.GetCase().GetDeadlines(), again.GetCase().GetDeadlines()) {
		t.Errorf("the replayed acceptance's clocks are the later case's:\n got %v\nfirst %v", again.GetCase().GetDeadlines(), first.GetCase().GetDeadlines())
	}
}
