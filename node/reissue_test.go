package node_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A citizen who lost the query code goes back to the village where the
// case was filed: the agent checks their identity and reissues a code
// (补发查询码), relayed to the county that holds the case. The new code
// works, the old one no longer does, the case records who reissued it and
// how they checked; staff elsewhere may not, and a retry gives the same
// code.
func TestQueryCodeReissuedAtTheFilingVillage(t *testing.T) {
	f := newCaseFed(t, 1)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	filed := fileTobacco(t, agent, "覃丽")
	number, old := filed.GetNumber(), filed.GetQueryCode()
	countyNode := f.nodes["county-1"]
	waitFor(t, "the county holds the case", func() bool { return received(countyNode, number) }, 20*time.Second)

	cases := caseClient(t, agent)
	if _, err := cases.ReissueQueryCode(agent.ctx(), &yizhanv1.CaseActionRequest{Number: number}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a reissue without saying how the identity was checked: %v", err)
	}
	req := &yizhanv1.CaseActionRequest{Number: number, Reason: "核验申请人身份证原件", RequestId: "reissue-1"}
	resp, err := cases.ReissueQueryCode(agent.ctx(), req)
	if err != nil {
		t.Fatalf("reissue: %v", err)
	}
	code := resp.GetCase().GetQueryCode()
	if code == "" || code == old {
		t.Fatalf("the new code %q (the old %q)", code, old)
	}
	again, err := cases.ReissueQueryCode(agent.ctx(), req)
	if err != nil || again.GetCase().GetQueryCode() != code {
		t.Errorf("the retry answered %q, %v; want the same code %q", again.GetCase().GetQueryCode(), err, code)
	}
	// The request ID is no authority of its own: a colleague at the
	// village who may not reissue a code does not get it by sending the
	// same request.
	if _, err := f.admin.reg.CreateStaff(f.admin.ctx(), &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "dc-duty",
		Name: "黄值班", OfficeCode: dongcun, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_OFFICER}}, Password: password}); err != nil {
		t.Fatal(err)
	}
	idx := countyNode.Registry().Index()
	waitFor(t, "the village has dc-duty", func() bool { return f.nodes["dongcun-1"].Registry().Index() >= idx }, 20*time.Second)
	duty := dial(t, f.nodes["dongcun-1"]).login("dc-duty", password)
	if got, err := caseClient(t, duty).ReissueQueryCode(duty.ctx(), req); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a duty officer replaying the reissue: %q, %v; want PermissionDenied", got.GetCase().GetQueryCode(), err)
	}

	// At once, at the county and at the village, whose copy has not had
	// the reissue by mail yet: the village asks the county.
	for _, n := range []string{"county-1", "dongcun-1"} {
		citizen := dial(t, f.nodes[n])
		if _, err := caseClient(t, citizen).GetCase(citizen.ctx(), &yizhanv1.GetCaseRequest{Number: number, QueryCode: old}); status.Code(err) != codes.NotFound {
			t.Errorf("%s: the old code still works: %v", n, err)
		}
		if _, err := caseClient(t, citizen).GetCase(citizen.ctx(), &yizhanv1.GetCaseRequest{Number: number, QueryCode: code}); err != nil {
			t.Errorf("%s: the new code: %v", n, err)
		}
		if _, err := caseClient(t, citizen).ListCaseEvents(citizen.ctx(), &yizhanv1.ListCaseEventsRequest{Number: number, QueryCode: code}); err != nil {
			t.Errorf("%s: the events by the new code: %v", n, err)
		}
	}
	n := 0
	for _, e := range countyNode.Office().Cases().Events(number) {
		if e.GetType() == yizhanv1.EventType_EVENT_TYPE_QUERY_CODE_REISSUED {
			n++
			if e.GetActor() != "dongcun" || e.GetReason() != "核验申请人身份证原件" {
				t.Errorf("the reissue recorded as by %q: %q", e.GetActor(), e.GetReason())
			}
		}
	}
	if n != 1 {
		t.Errorf("%d reissues recorded, want 1", n)
	}
	clerk := dial(t, countyNode).login("clerk", password)
	if _, err := caseClient(t, clerk).ReissueQueryCode(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number, Reason: "核验"}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("the county, not where it was filed, reissued: %v", err)
	}
}

// The village's copy may lag a hop behind: the township took the case and
// handed it on to the county, but its word of that has not reached the
// village yet. A reissue at the village goes to the township, the office
// the village's copy names, which relays it on to the county; once the
// township's mail reaches the village, its copy checks the new code.
func TestReissueRelayedOnWhenTheVillageCopyLags(t *testing.T) {
	f := newCaseFed(t, 1)
	// The township's mail down to the village stops; the village's way up
	// stays open.
	villageAddr := f.cfgs["dongcun-1"].PeerAddr
	f.links["chengguan-1"].Block(villageAddr)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	filed := fileTobacco(t, agent, "蒙小燕")
	number, old := filed.GetNumber(), filed.GetQueryCode()
	countyNode, village := f.nodes["county-1"], f.nodes["dongcun-1"]
	waitFor(t, "the county holds the case", func() bool { return received(countyNode, number) }, 20*time.Second)
	if c, _ := village.Office().Cases().Case(number); c.GetOwnerOffice() != township {
		t.Fatalf("the village's copy names %q as the owner, want the township %q (a hop behind)", c.GetOwnerOffice(), township)
	}

	resp, err := caseClient(t, agent).ReissueQueryCode(agent.ctx(), &yizhanv1.CaseActionRequest{Number: number, Reason: "核验申请人身份证原件", RequestId: "reissue-lag"})
	if err != nil {
		t.Fatalf("reissue at the village while its copy lags: %v", err)
	}
	code := resp.GetCase().GetQueryCode()
	if code == "" || code == old {
		t.Fatalf("the new code %q (the old %q)", code, old)
	}
	if got := resp.GetCase().GetOwnerOffice(); got != county {
		t.Errorf("the answer came from a copy owned by %q, want the county", got)
	}
	if n := eventsOfType(countyNode, number, yizhanv1.EventType_EVENT_TYPE_QUERY_CODE_REISSUED); n != 1 {
		t.Errorf("the county recorded %d reissues, want 1", n)
	}

	f.links["chengguan-1"].Unblock(villageAddr)
	last := resp.GetCase().GetLastSeq()
	waitFor(t, "the village's copy takes the reissue", func() bool {
		c, ok := village.Office().Cases().Case(number)
		return ok && c.GetLastSeq() >= last
	}, 20*time.Second)
	citizen := dial(t, village)
	if _, err := caseClient(t, citizen).GetCase(citizen.ctx(), &yizhanv1.GetCaseRequest{Number: number, QueryCode: old}); status.Code(err) != codes.NotFound {
		t.Errorf("the village takes the old code: %v", err)
	}
	if _, err := caseClient(t, citizen).GetCase(citizen.ctx(), &yizhanv1.GetCaseRequest{Number: number, QueryCode: code}); err != nil {
		t.Errorf("the village refuses the new code: %v", err)
	}
}
