package node_test

import (
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// A query code reissued twice (the citizen lost the new one too): the
// first reissue sent again under its request ID is refused,
// QUERY_CODE_SUPERSEDED (FAILED_PRECONDITION), not answered with its
// code, which the second reissue replaced and which opens nothing; the
// second's retry still gives its code, which works. A filing sent again
// after its code was reissued is answered with its case, replayed, and
// no code: the one it was filed with no longer opens the case.
func TestARetryOfASupersededReissueHandsOutNoDeadCode(t *testing.T) {
	f := newCaseFed(t, 1)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	filed, _, err := fileTobaccoOnce(t, agent, "filing-1")
	if err != nil {
		t.Fatal(err)
	}
	number := filed.GetNumber()
	countyNode := f.nodes["county-1"]
	waitFor(t, "the county holds the case", func() bool { return received(countyNode, number) }, 20*time.Second)

	cases := caseClient(t, agent)
	reissue := func(id string) (string, metadata.MD, error) {
		var header metadata.MD
		resp, err := cases.ReissueQueryCode(agent.ctx(), &yizhanv1.CaseActionRequest{Number: number, Reason: "核验申请人身份证原件", RequestId: id}, grpc.Header(&header))
		return resp.GetCase().GetQueryCode(), header, err
	}
	first, _, err := reissue("reissue-1")
	if err != nil {
		t.Fatal(err)
	}
	second, _, err := reissue("reissue-2")
	if err != nil {
		t.Fatal(err)
	}
	if second == "" || second == first {
		t.Fatalf("the second reissue's code %q (the first's %q)", second, first)
	}

	got, _, err := reissue("reissue-1")
	if status.Code(err) != codes.FailedPrecondition || reasonOf(err) != reason.QueryCodeSuperseded {
		t.Errorf("the first reissue sent again after the second: code %q, %v (%s); want FAILED_PRECONDITION, %s", got, err, reasonOf(err), reason.QueryCodeSuperseded)
	}
	got, header, err := reissue("reissue-2")
	if err != nil || got != second || len(header.Get("x-yizhan-replayed")) == 0 {
		t.Errorf("the second reissue sent again: code %q, %v, replayed %v; want %q, replayed", got, err, header.Get("x-yizhan-replayed"), second)
	}
	citizen := dial(t, countyNode)
	if _, err := caseClient(t, citizen).GetCase(citizen.ctx(), &yizhanv1.GetCaseRequest{Number: number, QueryCode: second}); err != nil {
		t.Errorf("the second reissue's code: %v", err)
	}

	again, header, err := fileTobaccoOnce(t, agent, "filing-1")
	if err != nil || again.GetNumber() != number || len(header.Get("x-yizhan-replayed")) == 0 {
		t.Fatalf("the filing sent again: %s, %v, replayed %v; want %s, replayed", again.GetNumber(), err, header.Get("x-yizhan-replayed"), number)
	}
	if again.GetQueryCode() != "" {
		t.Errorf("the filing sent again after its code was reissued answered the code %q, which opens nothing; want none", again.GetQueryCode())
	}
}
