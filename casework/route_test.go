package casework

import (
	"slices"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

func TestPathUp(t *testing.T) {
	tests := []struct {
		name   string
		office string
		want   []string
	}{
		{name: "village", office: village, want: []string{village, township, county}},
		{name: "township", office: township, want: []string{township, county}},
		{name: "county", office: county, want: []string{county}},
		{name: "not a code", office: "4501", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PathUp(tt.office); !slices.Equal(got, tt.want) {
				t.Errorf("PathUp(%s) = %v, want %v", tt.office, got, tt.want)
			}
		})
	}
}

func TestNextHop(t *testing.T) {
	const otherTown = "450122102000"
	tests := []struct {
		name, from, to, want string
	}{
		{name: "village up to county", from: village, to: county, want: township},
		{name: "township up to county", from: township, to: county, want: county},
		{name: "county down to village", from: county, to: village, want: township},
		{name: "township down to village", from: township, to: village, want: village},
		{name: "village to its neighbour", from: village, to: village2, want: township},
		{name: "across townships", from: township, to: "450122102001", want: county},
		{name: "county down another branch", from: county, to: otherTown, want: otherTown},
		{name: "same office", from: village, to: village, want: ""},
		{name: "county to another county", from: county, to: "450123000000", want: ""},
		{name: "not a code", from: village, to: "x", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NextHop(tt.from, tt.to); got != tt.want {
				t.Errorf("NextHop(%s, %s) = %q, want %q", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

func steps(pairs ...any) []*yizhanv1.RouteStep {
	var out []*yizhanv1.RouteStep
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, &yizhanv1.RouteStep{Right: pairs[i].(yizhanv1.Right), OfficeCode: pairs[i+1].(string)})
	}
	return out
}

func routeString(r []*yizhanv1.RouteStep) []string {
	var out []string
	for _, s := range r {
		out = append(out, s.GetRight().String()+"@"+s.GetOfficeCode())
	}
	return out
}

func TestRoute(t *testing.T) {
	reg := newReg(t)
	// The township may accept tobacco licences from 1 April 2025 (初审下放).
	townAccept := reg.grant(&yizhanv1.Grant{ItemCode: tobacco, OfficeCode: township, Rights: []yizhanv1.Right{right.accept, right.review}, ValidFrom: ts(cst(2025, 4, 1, 0))})
	// 西村 decides tobacco licences itself from 1 May 2025 (村级直办).
	direct := reg.grant(&yizhanv1.Grant{ItemCode: tobacco, OfficeCode: village2, Rights: []yizhanv1.Right{right.accept, right.approve}, ValidFrom: ts(cst(2025, 5, 1, 0))})
	countyGrants := reg.Grants(grantFilter(tobacco, county))
	villageGrants := reg.Grants(grantFilter(tobacco, village))
	townGrants := reg.Grants(grantFilter(townItem, township))
	if len(countyGrants) != 1 || len(villageGrants) != 1 || len(townGrants) != 1 {
		t.Fatalf("grants: county %d, village %d, township %d", len(countyGrants), len(villageGrants), len(townGrants))
	}
	tests := []struct {
		name      string
		item      string
		origin    string
		at        time.Time
		want      []*yizhanv1.RouteStep
		wantGrant []string
	}{
		{
			name: "village-filed county item: county accepts and approves, the village delivers", item: tobacco, origin: village, at: t0,
			want:      steps(right.accept, county, right.review, county, right.approve, county, right.certify, county, right.deliver, village),
			wantGrant: sorted(countyGrants[0].GetId(), villageGrants[0].GetId()),
		},
		{
			name: "once the township may accept, it accepts and reviews", item: tobacco, origin: village, at: cst(2025, 4, 2, 9),
			want:      steps(right.accept, township, right.review, township, right.approve, county, right.certify, county, right.deliver, village),
			wantGrant: sorted(countyGrants[0].GetId(), villageGrants[0].GetId(), townAccept.GetId()),
		},
		{
			name: "decided at the village: the county's review is not on the way, its certificate is", item: tobacco, origin: village2, at: cst(2025, 5, 6, 9),
			want:      steps(right.accept, village2, right.approve, village2, right.certify, county, right.deliver, village2),
			wantGrant: sorted(countyGrants[0].GetId(), villageGrants[0].GetId(), direct.GetId()),
		},
		{
			name: "filed at the county, all at the county", item: tobacco, origin: county, at: t0,
			want:      steps(right.accept, county, right.review, county, right.approve, county, right.certify, county, right.deliver, county),
			wantGrant: []string{countyGrants[0].GetId()},
		},
		{
			name: "township item: no certify step", item: townItem, origin: village, at: t0,
			want:      steps(right.accept, township, right.review, township, right.approve, township, right.deliver, village),
			wantGrant: sorted(townGrants[0].GetId(), reg.Grants(grantFilter(townItem, village))[0].GetId()),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			route, grants, err := Route(reg, reg.item(tt.item), tt.origin, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(routeString(route), routeString(tt.want)) {
				t.Errorf("route %v, want %v", routeString(route), routeString(tt.want))
			}
			if !slices.Equal(grants, tt.wantGrant) {
				t.Errorf("grants %v, want %v", grants, tt.wantGrant)
			}
		})
	}
}

func TestRouteNeedsAcceptApproveDeliver(t *testing.T) {
	reg := newReg(t)
	// An item only the villages hold rights on: nobody approves it.
	it := reg.item(tobacco)
	it.Code = "NOBODY"
	reg.apply(createItemCmd(it))
	reg.grant(&yizhanv1.Grant{ItemCode: "NOBODY", Tier: yizhanv1.Tier_TIER_VILLAGE, Rights: []yizhanv1.Right{right.proxy, right.deliver}})
	_, _, err := Route(reg, reg.item("NOBODY"), village, t0)
	wantErr(t, err, ErrNoRoute, "RIGHT_ACCEPT", "NOBODY")

	// Once the county may accept but not approve, APPROVE is missing.
	reg.grant(&yizhanv1.Grant{ItemCode: "NOBODY", OfficeCode: county, Rights: []yizhanv1.Right{right.accept}})
	_, _, err = Route(reg, reg.item("NOBODY"), village, t0)
	wantErr(t, err, ErrNoRoute, "RIGHT_APPROVE", "NOBODY")

	// Filed at the county, nobody delivers there.
	reg.grant(&yizhanv1.Grant{ItemCode: "NOBODY", OfficeCode: county, Rights: []yizhanv1.Right{right.approve}})
	_, _, err = Route(reg, reg.item("NOBODY"), county, t0)
	wantErr(t, err, ErrNoRoute, "RIGHT_DELIVER")

	// From the village, optional steps are left out.
	route, _, err := Route(reg, reg.item("NOBODY"), village, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got := routeString(route); !slices.Equal(got, routeString(steps(right.accept, county, right.approve, county, right.deliver, village))) {
		t.Errorf("route %v", got)
	}
}

// An immediate item is accepted where it is decided: an office that may
// accept it but not decide it passes the case up; with no office that
// does both, there is no route (the approval is missing).
func TestRouteOfAnImmediateItem(t *testing.T) {
	reg := newReg(t)
	reg.grant(&yizhanv1.Grant{ItemCode: immediate, OfficeCode: township, Rights: []yizhanv1.Right{right.accept}})
	route, _, err := Route(reg, reg.item(immediate), village, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := routeString(route), routeString(steps(right.accept, county, right.review, county, right.approve, county, right.certify, county, right.deliver, village)); !slices.Equal(got, want) {
		t.Errorf("route %v, want %v", got, want)
	}
	it := reg.item(immediate)
	it.Code = "JB-NOBODY"
	reg.apply(createItemCmd(it))
	reg.grant(&yizhanv1.Grant{ItemCode: "JB-NOBODY", OfficeCode: township, Rights: []yizhanv1.Right{right.accept, right.deliver}})
	reg.grant(&yizhanv1.Grant{ItemCode: "JB-NOBODY", OfficeCode: county, Rights: []yizhanv1.Right{right.accept}})
	_, _, err = Route(reg, reg.item("JB-NOBODY"), township, t0)
	wantErr(t, err, ErrNoRoute, "RIGHT_APPROVE", "JB-NOBODY")
}
