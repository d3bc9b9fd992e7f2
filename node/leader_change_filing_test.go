package node_test

import (
	"fmt"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
)

// A village of three hands its leadership on, again and again, and an
// agent files at the node that has just come to lead, the moment it
// leads: each filing is taken. The new leader is still applying what its
// predecessor committed for a moment; the filing waits for it, as one
// sent to a node that does not lead waits for the election, rather than
// being refused as if the office were down.
func TestAFilingAtANodeThatHasJustComeToLeadIsTaken(t *testing.T) {
	f := newCaseFed(t, 1)
	joinDongcunTwoAndThree(t, f)
	names := []string{"dongcun-1", "dongcun-2", "dongcun-3"}
	agents := map[string]*client{}
	for _, name := range names {
		agents[name] = dial(t, f.nodes[name]).login("dongcun", password)
	}
	leader := func() *node.Node {
		for _, name := range names {
			if n := f.nodes[name]; n.Office().Group().IsLeader() {
				return n
			}
		}
		return nil
	}
	waitFor(t, "a village leader", func() bool { return leader() != nil }, 20*time.Second)
	for round := range 5 {
		old := leader()
		if err := old.Office().Group().TransferLeadership(); err != nil {
			t.Fatalf("round %d: leadership transfer: %v", round, err)
		}
		var now *node.Node
		for deadline := time.Now().Add(20 * time.Second); now == nil || now == old; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("round %d: no new village leader after %s", round, old.Name())
			}
			now = leader()
		}
		agent := agents[now.Name()]
		req := &yizhanv1.FileCaseRequest{RequestId: fmt.Sprintf("round-%d", round), ItemCode: tobacco().Code,
			Applicant: &yizhanv1.Applicant{Name: "张三", IdNumber: applicantID, Phone: "13907710001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}}
		if _, err := sendUntilKnown(func() (*yizhanv1.CaseResponse, error) { return caseClient(t, agent).FileCase(agent.ctx(), req) }); err != nil {
			t.Errorf("round %d: a filing at %s, which has just come to lead: %v", round, now.Name(), err)
		}
	}
}
