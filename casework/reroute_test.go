package casework

import (
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
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
