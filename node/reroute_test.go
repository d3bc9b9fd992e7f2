package node_test

import (
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/node"
)

// A grant revoked under cases in flight (改派): the county delegates the
// tobacco licence's acceptance and review to the township; a village
// files two cases, the township accepts one, and the county revokes the
// grant. The township's leader reroutes each once (a REROUTED event with
// the reason): the one waiting for acceptance from the acceptance on,
// the accepted one from the review on (its acceptance stays the
// township's). Its mail carries both to the county, whose staff accept,
// review and decide them; the village that filed sees the new route.
func TestCasesInFlightAreReroutedAfterTheirGrantIsRevoked(t *testing.T) {
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) { c.RerouteSweepInterval = 100 * time.Millisecond })
	ctx := f.admin.ctx()
	g, err := f.admin.reg.CreateGrant(ctx, &yizhanv1.CreateGrantRequest{Grant: &yizhanv1.Grant{
		ItemCode: tobacco().Code, OfficeCode: township, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT, yizhanv1.Right_RIGHT_REVIEW}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.reg.CreateStaff(ctx, &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "town", Name: "李华",
		OfficeCode: township, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_REVIEWER}}, Password: password}); err != nil {
		t.Fatal(err)
	}
	agent, number := fileForTownship(t, f)
	townNode, countyNode := f.nodes["chengguan-1"], f.nodes["county-1"]
	accepted := fileTobacco(t, agent, "韦小梅").GetNumber()
	waitFor(t, "the township holds the second case", func() bool { return received(townNode, accepted) }, 20*time.Second)
	town := dial(t, townNode).login("town", password)
	if _, err := caseClient(t, town).Accept(town.ctx(), &yizhanv1.CaseActionRequest{Number: accepted}); err != nil {
		t.Fatalf("the township accepts: %v", err)
	}

	if _, err := f.admin.reg.RevokeGrant(ctx, &yizhanv1.RevokeGrantRequest{Id: g.GetGrant().GetId()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the county holds the case", func() bool { return received(countyNode, number) }, 20*time.Second)
	events := countyNode.Office().Cases().Events(number)
	if err := casework.VerifyChain(number, events); err != nil {
		t.Fatal(err)
	}
	var rerouted []*yizhanv1.CaseEvent
	for _, e := range events {
		if e.GetType() == yizhanv1.EventType_EVENT_TYPE_REROUTED {
			rerouted = append(rerouted, e)
		}
	}
	if len(rerouted) != 1 || rerouted[0].GetOfficeCode() != township || !strings.Contains(rerouted[0].GetReason(), "受理") {
		t.Fatalf("REROUTED events %v, want one by the township naming the lost right", rerouted)
	}
	c, _ := countyNode.Office().Cases().Case(number)
	if got := stepAt(c.GetRoute(), yizhanv1.Right_RIGHT_ACCEPT); got != county {
		t.Errorf("the county's copy routes acceptance to %q", got)
	}
	clerk := dial(t, countyNode).login("clerk", password)
	if _, err := caseClient(t, clerk).Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number}); err != nil {
		t.Fatalf("the county accepts the rerouted case: %v", err)
	}

	// The accepted one: rerouted from its review on, reviewed and
	// decided at the county.
	waitFor(t, "the county holds the accepted case", func() bool { return received(countyNode, accepted) }, 20*time.Second)
	c2, _ := countyNode.Office().Cases().Case(accepted)
	if stepAt(c2.GetRoute(), yizhanv1.Right_RIGHT_ACCEPT) != township || stepAt(c2.GetRoute(), yizhanv1.Right_RIGHT_REVIEW) != county {
		t.Errorf("the accepted case's route: %v", c2.GetRoute())
	}
	if n := eventsOfType(countyNode, accepted, yizhanv1.EventType_EVENT_TYPE_REROUTED); n != 1 {
		t.Errorf("the accepted case was rerouted %d times", n)
	}
	if _, err := caseClient(t, clerk).Review(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: accepted, Reason: "同意", Conclusion: yizhanv1.Conclusion_CONCLUSION_AGREE}); err != nil {
		t.Fatalf("the county reviews the rerouted case: %v", err)
	}
	approver := dial(t, countyNode).login("approver", password)
	if _, err := caseClient(t, approver).Decide(approver.ctx(), &yizhanv1.CaseActionRequest{Number: accepted, Approved: true, Reason: "符合条件"}); err != nil {
		t.Fatalf("the county decides the rerouted case: %v", err)
	}
	waitFor(t, "the village sees the new route and the acceptance", func() bool {
		list, err := caseClient(t, agent).ListCases(agent.ctx(), &yizhanv1.ListCasesRequest{History: true})
		for _, c := range list.GetCases() {
			if c.GetNumber() == number {
				return err == nil && c.GetState() == yizhanv1.CaseState_CASE_STATE_ACCEPTED &&
					stepAt(c.GetRoute(), yizhanv1.Right_RIGHT_ACCEPT) == county
			}
		}
		return false
	}, 20*time.Second)
}

// fileForTownship waits until every node holds the registry as the county
// has it now, files a tobacco case at the village with the agent, checks
// that its acceptance is routed to the township, and waits until the
// township holds it.
func fileForTownship(t *testing.T, f *caseFed) (agent *client, number string) {
	t.Helper()
	idx := f.nodes["county-1"].Registry().Index()
	for _, n := range f.nodes {
		waitFor(t, n.Name()+" has the registry", func() bool { return n.Registry().Index() >= idx }, 20*time.Second)
	}
	agent = dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	filed := fileTobacco(t, agent, "李四")
	if got := stepAt(filed.GetRoute(), yizhanv1.Right_RIGHT_ACCEPT); got != township {
		t.Fatalf("filed with its acceptance at %q, want the township", got)
	}
	town := f.nodes["chengguan-1"]
	waitFor(t, "the township holds the case", func() bool { return received(town, filed.GetNumber()) }, 20*time.Second)
	return agent, filed.GetNumber()
}

// eventsOfType is how many events of type typ node n holds of the case.
func eventsOfType(n *node.Node, number string, typ yizhanv1.EventType) int {
	k := 0
	for _, e := range n.Office().Cases().Events(number) {
		if e.GetType() == typ {
			k++
		}
	}
	return k
}

// stepAt is the office of the route's step with the right, or "".
func stepAt(route []*yizhanv1.RouteStep, right yizhanv1.Right) string {
	for _, s := range route {
		if s.GetRight() == right {
			return s.GetOfficeCode()
		}
	}
	return ""
}

// A case whose next step no office may do any more (the county's own
// grant of the item revoked, none below it) waits where it is: the
// reroute sweep counts it (yizhan_cases_stranded) and logs it for the
// admin, and rerouting it resumes once an office holds the right again.
func TestACaseNoOfficeMayTakeOnIsCounted(t *testing.T) {
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) { c.RerouteSweepInterval = 100 * time.Millisecond })
	ctx := f.admin.ctx()
	countyNode := f.nodes["county-1"]
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	number := fileTobacco(t, agent, "李四").GetNumber()
	waitFor(t, "the county holds the case", func() bool { return received(countyNode, number) }, 20*time.Second)
	waitFor(t, "a sweep finding nothing stranded", func() bool { return metricValue(t, countyNode, "yizhan_cases_stranded") == "0" }, 20*time.Second)
	grants, err := f.admin.reg.ListGrants(ctx, &yizhanv1.ListGrantsRequest{ItemCode: tobacco().Code, OfficeCode: county})
	if err != nil {
		t.Fatal(err)
	}
	var revoked []*yizhanv1.Grant
	for _, g := range grants.GetGrants() {
		atCounty := g.GetOfficeCode() == county || g.GetTier() == yizhanv1.Tier_TIER_COUNTY
		if atCounty && slices.Contains(g.GetRights(), yizhanv1.Right_RIGHT_ACCEPT) {
			if _, err := f.admin.reg.RevokeGrant(ctx, &yizhanv1.RevokeGrantRequest{Id: g.GetId()}); err != nil {
				t.Fatal(err)
			}
			revoked = append(revoked, g)
		}
	}
	if len(revoked) == 0 {
		t.Fatal("the county holds no grant to accept the item")
	}
	waitFor(t, "the sweep to count the case", func() bool { return metricValue(t, countyNode, "yizhan_cases_stranded") == "1" }, 20*time.Second)
	if c, _ := countyNode.Office().Cases().Case(number); stepAt(c.GetRoute(), yizhanv1.Right_RIGHT_ACCEPT) != county {
		t.Errorf("a case with nowhere to go was rerouted: %v", c.GetRoute())
	}
	for _, g := range revoked {
		g = proto.CloneOf(g)
		g.Id = ""
		if _, err := f.admin.reg.CreateGrant(ctx, &yizhanv1.CreateGrantRequest{Grant: g}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the count to clear once the county may accept again", func() bool {
		return metricValue(t, countyNode, "yizhan_cases_stranded") == "0"
	}, 20*time.Second)
}

// The reroute sweep walks the office's cases only when a right may have
// been lost: a grant's end passing with the time reroutes a case at the
// township without any registry change, while between such moments the
// sweep, run every 50 ms, leaves the queue unread
// (yizhan_reroute_walks_total).
func TestTheRerouteSweepWalksWhenARightMayBeLost(t *testing.T) {
	var skew atomic.Int64
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) {
		c.RerouteSweepInterval = 50 * time.Millisecond
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	ctx := f.admin.ctx()
	until := time.Now().Add(10 * time.Minute)
	if _, err := f.admin.reg.CreateGrant(ctx, &yizhanv1.CreateGrantRequest{Grant: &yizhanv1.Grant{
		ItemCode: tobacco().Code, OfficeCode: township, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT},
		ValidUntil: timestamppb.New(until)}}); err != nil {
		t.Fatal(err)
	}
	idx := f.nodes["county-1"].Registry().Index()
	_, number := fileForTownship(t, f)
	townNode := f.nodes["chengguan-1"]

	walks := func() int {
		v, err := strconv.Atoi(metricValue(t, townNode, "yizhan_reroute_walks_total"))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// The case came in by mail: one walk for it, then quiet.
	var before int
	waitFor(t, "the sweep's walks to settle", func() bool {
		w := walks()
		time.Sleep(300 * time.Millisecond)
		before = walks()
		return w > 0 && before == w
	}, 20*time.Second)
	time.Sleep(time.Second) // twenty sweeps
	if after := walks(); after > before+2 {
		t.Errorf("the sweep walked the queue %d times in twenty sweeps with nothing changed", after-before)
	}
	if c, _ := townNode.Office().Cases().Case(number); stepAt(c.GetRoute(), yizhanv1.Right_RIGHT_ACCEPT) != township {
		t.Fatalf("rerouted before the grant ended: %v", c.GetRoute())
	}

	// Twenty minutes on, the grant has ended: the township reroutes the
	// case to the county, the registry unchanged.
	skew.Store(int64(20 * time.Minute))
	countyNode := f.nodes["county-1"]
	waitFor(t, "the county holds the case", func() bool { return received(countyNode, number) }, 20*time.Second)
	if got := countyNode.Registry().Index(); got != idx {
		t.Errorf("the registry moved from %d to %d: the test meant the time alone to end the grant", idx, got)
	}
	if n := eventsOfType(countyNode, number, yizhanv1.EventType_EVENT_TYPE_REROUTED); n != 1 {
		t.Errorf("the case was rerouted %d times, want once", n)
	}
}
