package node_test

import (
	"bytes"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
)

// A citizen's action carries its request in its event
// (office.carriedAnswer). A first version kept a plain SHA-256 of the
// request, query code included, shown to staff of every office the case
// is mirrored to: anyone who read the log could test query-code guesses
// offline, with no attempt counted (the 2^60 code losing the protection
// of the county's key and of the per-case and per-address limits). The
// event keeps an HMAC under the case's key, and readers see neither.
func TestACitizensEventDoesNotOfferAnOfflineTestOfTheQueryCode(t *testing.T) {
	f := newCaseFed(t, 1)
	countyNode := f.nodes["county-1"]
	clerk := dial(t, countyNode).login("clerk", password)
	cc := caseClient(t, clerk)
	filed, err := cc.FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	number, code := filed.GetCase().GetNumber(), filed.GetCase().GetQueryCode()
	if code == "" {
		t.Fatal("the filing's answer gave no query code")
	}
	citizen := dial(t, countyNode)
	complaint := &yizhanv1.CaseActionRequest{Number: number, QueryCode: code, Reason: "窗口让我跑了三趟", RequestId: "complaint-9b2e"}
	if _, err := caseClient(t, citizen).Complain(citizen.ctx(), complaint); err != nil {
		t.Fatalf("complain: %v", err)
	}

	// A member of staff reads the log.
	resp, err := cc.ListCaseEvents(clerk.ctx(), &yizhanv1.ListCaseEventsRequest{Number: number})
	if err != nil {
		t.Fatal(err)
	}
	var seen []byte
	for _, e := range resp.GetEvents() {
		if e.GetType() == yizhanv1.EventType_EVENT_TYPE_COMPLAINED {
			seen = e.GetRequestHash()
		}
	}
	guess := func(c string) []byte {
		r, err := raftgroup.NewRequest("complaint-9b2e", "action:"+casework.ActionComplain.String(),
			&yizhanv1.CaseActionRequest{Number: number, QueryCode: c, Reason: complaint.GetReason(), RequestId: "complaint-9b2e"})
		if err != nil {
			t.Fatal(err)
		}
		return r.Hash
	}
	right, wrong := bytes.Equal(seen, guess(code)), bytes.Equal(seen, guess("ABCDEFGHJKLM"))
	if len(seen) > 0 && right && !wrong {
		t.Errorf("staff reading case %s's log get its complaint's request_hash %x, a plain SHA-256 that confirms the query code offline (the right code matches, a wrong one does not)", number, seen)
	}
	if len(seen) > 0 {
		t.Errorf("a reader of the log sees the complaint's request_hash %x", seen)
	}
	// Nor does the log the offices keep (and a backup holds) carry it.
	for _, e := range countyNode.Office().Cases().Events(number) {
		if e.GetType() != yizhanv1.EventType_EVENT_TYPE_COMPLAINED {
			continue
		}
		if len(e.GetRequestHash()) == 0 {
			t.Error("the complaint's event keeps nothing of its request: a retry at another office would be done again")
		}
		if bytes.Equal(e.GetRequestHash(), guess(code)) {
			t.Errorf("the complaint's event keeps the request's plain SHA-256 %x", e.GetRequestHash())
		}
	}
}
