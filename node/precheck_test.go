package node_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A citizen's online filing waits at the village where it was filed; it
// reaches the township only after the agent there takes it up. Spam is
// turned down in bulk and never leaves; a flood from one address is held
// back.
func TestOnlineFilingTravelsOnlyAfterItsPrecheck(t *testing.T) {
	f := newCaseFed(t, 1)
	village, township := f.nodes["xicun-1"], f.nodes["chengguan-1"]
	anon := caseClient(t, dial(t, village))
	file := func(name string) (*yizhanv1.Case, error) {
		resp, err := anon.FileCase(dial(t, village).ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
			Applicant: &yizhanv1.Applicant{Name: name, IdNumber: applicantID, Phone: "13907710001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
		return resp.GetCase(), err
	}
	// Refused filings (a typo in the ID number) cost the address nothing.
	for range 6 {
		_, err := anon.FileCase(dial(t, village).ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
			Applicant: &yizhanv1.Applicant{Name: "黄志明", IdNumber: "450122198703154511", Phone: "13907710001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
		if status.Code(err) != codes.InvalidArgument {
			t.Fatalf("a filing with a wrong ID check digit: %v, want InvalidArgument", err)
		}
	}
	real, err := file("黄志明")
	if err != nil {
		t.Fatal(err)
	}
	if real.GetState() != yizhanv1.CaseState_CASE_STATE_PRECHECK {
		t.Fatalf("an online filing is %s, want PRECHECK", real.GetState())
	}
	var spam []string
	for i := range 4 {
		c, err := file(fmt.Sprintf("广告%d", i))
		if err != nil {
			t.Fatal(err)
		}
		spam = append(spam, c.GetNumber())
	}
	// Five filings from one address are let through; the sixth waits.
	if _, err := file("广告9"); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a sixth online filing from one address: %v, want ResourceExhausted", err)
	}
	if _, err := file("广告10"); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("a seventh online filing from one address: %v, want ResourceExhausted", err)
	}

	// Other mail from the village goes through meanwhile: the filings
	// stay behind.
	agent := dial(t, village).login("xicun", password)
	byAgent := fileTobacco(t, agent, "韦小宝")
	waitFor(t, "the agent's filing at the township", func() bool { _, ok := township.Office().Cases().Case(byAgent.GetNumber()); return ok }, 20*time.Second)
	for _, n := range append([]string{real.GetNumber()}, spam...) {
		if _, ok := township.Office().Cases().Case(n); ok {
			t.Fatalf("%s reached the township before its pre-check", n)
		}
	}

	cases := caseClient(t, agent)
	resp, err := cases.RejectPrechecks(agent.ctx(), &yizhanv1.RejectPrechecksRequest{Numbers: append(spam, byAgent.GetNumber()), Reason: "广告，无效申报"})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range resp.GetResults() {
		if want := i < len(spam); r.GetRejected() != want {
			t.Errorf("bulk rejection of %s: rejected %v (%s), want %v", r.GetNumber(), r.GetRejected(), r.GetError(), want)
		}
	}
	if _, err := cases.Precheck(agent.ctx(), &yizhanv1.CaseActionRequest{Number: real.GetNumber()}); err != nil {
		t.Fatalf("take the real filing up: %v", err)
	}
	waitFor(t, "the pre-checked filing at the township", func() bool { _, ok := township.Office().Cases().Case(real.GetNumber()); return ok }, 20*time.Second)
	// Nothing of the spam is, or ever was, on its way up: the village's
	// mail holds only what the real filing queued.
	for _, e := range village.Office().Cases().Outbox() {
		if slices.Contains(spam, e.GetCaseNumber()) {
			t.Errorf("the rejected %s is queued for %s", e.GetCaseNumber(), e.GetDestOffice())
		}
	}
	for _, n := range spam {
		if _, ok := township.Office().Cases().Case(n); ok {
			t.Errorf("the rejected %s reached the township", n)
		}
		if c, _ := village.Office().Cases().Case(n); c.GetState() != yizhanv1.CaseState_CASE_STATE_PRECHECK_REJECTED {
			t.Errorf("%s at the village is %s", n, c.GetState())
		}
	}
}
