package node_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A citizen complains at the village while the county holds their case:
// the complaint is made at the county, and its answer is lost on the way
// back. By the time the citizen sends it again (the same request ID), the
// case has been decided and handed back down to the village, whose memory
// of requests never held it. The retry is answered as the first was, and
// the case holds one complaint, not two (the request goes with the case,
// in its event). The same request ID with another complaint is refused.
func TestACitizensRetryAfterTheCaseMovedOnIsDoneOnce(t *testing.T) {
	f := newCaseFed(t, 1)
	village, countyNode := f.nodes["dongcun-1"], f.nodes["county-1"]
	agent := dial(t, village).login("dongcun", password)
	filed := fileTobacco(t, agent, "蒙小燕")
	number := filed.GetNumber()
	waitFor(t, "county owns the case", func() bool { return received(countyNode, number) }, 20*time.Second)

	citizen := dial(t, village)
	complaint := &yizhanv1.CaseActionRequest{Number: number, QueryCode: filed.GetQueryCode(), Reason: "窗口让我跑了三趟", RequestId: "complaint-7f3a9c"}
	first, err := caseClient(t, citizen).Complain(citizen.ctx(), complaint)
	if err != nil {
		t.Fatalf("the complaint: %v", err)
	}
	if first.GetCase().GetComplaints() != 1 {
		t.Fatalf("after the complaint: %d complaints", first.GetCase().GetComplaints())
	}

	clerk := dial(t, countyNode).login("clerk", password)
	approver := dial(t, countyNode).login("approver", password)
	cc, ac := caseClient(t, clerk), caseClient(t, approver)
	for _, step := range []func() error{
		func() error {
			_, err := cc.Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number})
			return err
		},
		func() error {
			_, err := cc.Review(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number, Reason: "材料齐全", Agrees: true})
			return err
		},
		func() error {
			_, err := ac.Decide(approver.ctx(), &yizhanv1.CaseActionRequest{Number: number, Approved: true, Reason: "符合条件"})
			return err
		},
		func() error {
			_, err := cc.Certify(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number, CertificateNumber: "4501220007"})
			return err
		},
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the village owns the case again", func() bool {
		c, ok := village.Office().Cases().Case(number)
		return ok && c.GetOwnerOffice() == dongcun && received(village, number)
	}, 20*time.Second)

	again, err := caseClient(t, citizen).Complain(citizen.ctx(), complaint)
	if err != nil {
		t.Fatalf("the complaint sent again: %v", err)
	}
	if got := again.GetCase(); got.GetComplaints() != 1 || got.GetState() != yizhanv1.CaseState_CASE_STATE_FILED {
		t.Errorf("the retry's answer: %d complaints, %s; want the first answer (1, FILED)", got.GetComplaints(), got.GetState())
	}
	other := &yizhanv1.CaseActionRequest{Number: number, QueryCode: filed.GetQueryCode(), Reason: "另一件事", RequestId: complaint.GetRequestId()}
	if _, err := caseClient(t, citizen).Complain(citizen.ctx(), other); status.Code(err) == codes.OK {
		t.Error("another complaint under the same request ID was taken")
	}
	complaints := 0
	for _, e := range village.Office().Cases().Events(number) {
		if e.GetType() == yizhanv1.EventType_EVENT_TYPE_COMPLAINED {
			complaints++
		}
	}
	if complaints != 1 {
		t.Errorf("the village holds %d complaints, one made", complaints)
	}
}
