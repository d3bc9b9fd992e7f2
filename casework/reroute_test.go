package casework

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// A grant revoked under cases in flight (改派): the township loses the
// township item. A case waiting at the township for its acceptance, and
// one accepted there waiting for its review, are each rerouted once,
// recorded with the reason, and go on to the county, which holds the
// rights; the accepted one keeps its ACCEPT step (behind it). A case
// whose step's office still holds its right is not rerouted.
func TestRerouteAfterARevokedGrant(t *testing.T) {
	w := newWorld(t)
	waiting := w.file(village, townItem, eastAgent, "农村宅基地和建房申请表", "户口簿")
	accepted := w.file(village, townItem, eastAgent, "农村宅基地和建房申请表", "户口簿")
	w.settle()
	w.mustDo(township, accepted, ActionAccept, nil, townClerk)
	tobaccoCase := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
	w.settle()

	var grant string
	for _, g := range w.reg.Grants(grantFilter(townItem, township)) {
		grant = g.GetId()
	}
	w.now = w.now.Add(time.Hour)
	w.reg.revoke(grant, w.now)
	w.now = w.now.Add(time.Minute)

	for _, tt := range []struct {
		number string
		want   []*yizhanv1.RouteStep
	}{
		{waiting, steps(right.accept, county, right.review, county, right.approve, county, right.deliver, village)},
		{accepted, steps(right.accept, township, right.review, county, right.approve, county, right.deliver, village)},
	} {
		c, _ := w.books[township].Case(tt.number)
		route, why, ok := Reroute(c, w.books[township].Events(tt.number), w.reg, w.now)
		if !ok || why == "" || routeString(route) == nil || !equalRoutes(route, tt.want) {
			t.Fatalf("%s: reroute %v (%q, %v), want %v", tt.number, routeString(route), why, ok, routeString(tt.want))
		}
		c, err := w.appendEvent(township, NewRerouteEvent(c, route, why, township, w.now), tt.number)
		if err != nil {
			t.Fatalf("%s: %v", tt.number, err)
		}
		if !equalRoutes(c.GetRoute(), tt.want) {
			t.Errorf("%s: folded route %v", tt.number, routeString(c.GetRoute()))
		}
		if _, _, again := Reroute(c, w.books[township].Events(tt.number), w.reg, w.now); again {
			t.Errorf("%s: rerouted twice", tt.number)
		}
	}
	if c, ok := w.books[county].Case(tobaccoCase); ok {
		if _, _, moved := Reroute(c, w.books[county].Events(tobaccoCase), w.reg, w.now); moved {
			t.Error("a case whose step's office holds its right was rerouted")
		}
	}
	// The two go on to the county by themselves, which accepts the
	// waiting one and reviews the accepted one.
	w.settle()
	for _, n := range []string{waiting, accepted} {
		if c, _ := w.books[county].Case(n); c.GetOwnerOffice() != county {
			t.Fatalf("%s: owner %s after the reroute", n, c.GetOwnerOffice())
		}
	}
	countyZrzy := Actor{Username: "zrzy.reviewer", Office: county, Department: "zrzy", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_REVIEWER}}
	w.mustDo(county, waiting, ActionAccept, nil, countyZrzy)
	w.mustDo(county, accepted, ActionReview, &req{Agrees: true, Reason: "同意"}, countyZrzy)
}

func equalRoutes(a, b []*yizhanv1.RouteStep) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].GetRight() != b[i].GetRight() || a[i].GetOfficeCode() != b[i].GetOfficeCode() {
			return false
		}
	}
	return true
}

// The steps after review follow the grants too: a township's grant that
// expires (valid_until) under a case reviewed there sends its decision to
// the county; a village that loses its right to deliver has the result
// delivered by the county instead; and a step no office may do any more
// (the county's certify on the tobacco item, which nobody else holds)
// leaves the case where it is, its right lost (the sweep counts it).
func TestRerouteOfTheLaterSteps(t *testing.T) {
	w := newWorld(t)
	var original string
	for _, g := range w.reg.Grants(grantFilter(townItem, township)) {
		original = g.GetId()
	}
	w.reg.revoke(original, w.now)
	until := w.now.Add(24 * time.Hour)
	w.reg.grant(&yizhanv1.Grant{ItemCode: townItem, OfficeCode: township, Rights: []yizhanv1.Right{right.accept, right.review, right.approve},
		ValidUntil: timestamppb.New(until), Note: "下放乡镇一年试点"})
	w.now = w.now.Add(time.Minute)

	reviewed := w.file(village, townItem, eastAgent, "农村宅基地和建房申请表", "户口簿")
	decided := w.file(village, townItem, eastAgent, "农村宅基地和建房申请表", "户口簿")
	w.settle()
	for _, n := range []string{reviewed, decided} {
		w.mustDo(township, n, ActionAccept, nil, townClerk)
		w.mustDo(township, n, ActionReview, &req{Agrees: true, Reason: "同意"}, townReviewer)
	}
	w.mustDo(township, decided, ActionDecide, &req{Approved: true, Reason: "符合规划"}, townApprover)
	w.settle()

	// The grant expires: nobody revoked anything.
	w.now = until.Add(time.Minute)
	c, _ := w.books[township].Case(reviewed)
	route, why, ok := Reroute(c, w.books[township].Events(reviewed), w.reg, w.now)
	want := steps(right.accept, township, right.review, township, right.approve, county, right.deliver, village)
	if !ok || !equalRoutes(route, want) || !contains(why, "审批") {
		t.Errorf("the reviewed case after the grant expired: %v (%q, %v), want %v", routeString(route), why, ok, routeString(want))
	}

	// The village loses its right to deliver the item.
	for _, g := range w.reg.Grants(registry.GrantFilter{ItemCode: townItem, OfficeCode: village, At: w.now}) {
		if g.GetTier() == yizhanv1.Tier_TIER_VILLAGE {
			w.reg.revoke(g.GetId(), w.now)
		}
	}
	w.now = w.now.Add(time.Minute)
	owner := ""
	for _, o := range []string{village, township, county} {
		if c, ok := w.books[o].Case(decided); ok && c.GetOwnerOffice() == o {
			owner = o
		}
	}
	c, _ = w.books[owner].Case(decided)
	route, why, ok = Reroute(c, w.books[owner].Events(decided), w.reg, w.now)
	if !ok || stepOffice(route, right.deliver) != county || stepOffice(route, right.approve) != township || !contains(why, "送达") {
		t.Errorf("the decided case (held by %s) after the village lost delivery: %v (%q, %v), want its delivery at the county", owner, routeString(route), why, ok)
	}

	// The county loses the tobacco item's certify, which no other holds.
	tobaccoCase := w.file(county, tobacco, countyClerk, tobaccoMaterials[:4]...)
	w.mustDo(county, tobaccoCase, ActionAccept, nil, countyClerk)
	w.mustDo(county, tobaccoCase, ActionReview, &req{Agrees: true, Reason: "同意"}, countyReview)
	c = w.mustDo(county, tobaccoCase, ActionDecide, &req{Approved: true, Reason: "符合条件"}, countyApprove)
	if stepOffice(c.GetRoute(), right.certify) != county {
		t.Fatalf("the tobacco case is certified at %q", stepOffice(c.GetRoute(), right.certify))
	}
	for _, g := range w.reg.Grants(registry.GrantFilter{ItemCode: tobacco, OfficeCode: county, At: w.now}) {
		if g.GetOfficeCode() == county {
			w.reg.revoke(g.GetId(), w.now)
		}
	}
	w.now = w.now.Add(time.Minute)
	c, _ = w.books[county].Case(tobaccoCase)
	if _, _, ok := Reroute(c, w.books[county].Events(tobaccoCase), w.reg, w.now); ok || !StepRightLost(c, w.reg, w.now) {
		t.Errorf("a case whose certify no office may do: rerouted %v, its right lost %v; want it to wait, its right lost", ok, StepRightLost(c, w.reg, w.now))
	}
}
