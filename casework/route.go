package casework

import (
	"fmt"
	"slices"
	"time"

	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Routes. A case travels along the division tree only: up from where it
// was filed towards the county, and back down to deliver.

// routeRights are the steps of a route, in procedure order.
var routeRights = []yizhanv1.Right{
	yizhanv1.Right_RIGHT_ACCEPT,
	yizhanv1.Right_RIGHT_REVIEW,
	yizhanv1.Right_RIGHT_APPROVE,
	yizhanv1.Right_RIGHT_CERTIFY,
	yizhanv1.Right_RIGHT_DELIVER,
}

// requiredRight reports whether every route needs an office for right.
func requiredRight(right yizhanv1.Right) bool {
	switch right {
	case yizhanv1.Right_RIGHT_ACCEPT, yizhanv1.Right_RIGHT_APPROVE, yizhanv1.Right_RIGHT_DELIVER:
		return true
	}
	return false
}

// PathUp returns office, its parent, and so on up to the county. It is
// nil when office is not a division code.
func PathUp(office string) []string {
	if registry.ValidCode(office) != nil {
		return nil
	}
	var path []string
	for c := office; c != ""; c = registry.ParentCode(c) {
		path = append(path, c)
	}
	return path
}

// NextHop returns the neighbouring office on the tree path from → to: the
// parent of from when to is not below from, otherwise the child of from on
// the way down to to. It returns "" when from == to, when either is not a
// division code, or when from is the county and to is not below it.
func NextHop(from, to string) string {
	if from == to || registry.ValidCode(from) != nil || registry.ValidCode(to) != nil {
		return ""
	}
	if !registry.IsAncestorOrSelf(from, to) {
		return registry.ParentCode(from)
	}
	for c := to; c != ""; c = registry.ParentCode(c) {
		if registry.ParentCode(c) == from {
			return c
		}
	}
	return ""
}

// Route finds who does each step of a case of item filed at origin at
// at, walking PathUp(origin) and taking the lowest office that holds the
// step's right for the item at at:
//   - ACCEPT: from origin up;
//   - APPROVE: from the accepting office up (a case never goes down to be
//     decided);
//   - REVIEW: between the accepting and the approving office, inclusive (a
//     township reviewing for the county: 乡镇初审);
//   - CERTIFY: from the approving office up;
//   - DELIVER: from origin up, so the result comes back where the citizen
//     filed when that office may deliver.
//
// An immediate item (即办) is accepted and approved by one office: the
// lowest that holds both rights (an office that may accept but not decide
// it passes the case up: it is not accepted where nobody may decide it).
//
// ACCEPT, APPROVE and DELIVER are required (an error wrapping ErrNoRoute
// names the right and the item); REVIEW and CERTIFY are left out when no
// office holds them in their stretch. grantIDs are the ids of the active
// grants that gave the chosen offices their rights, sorted and unique.
func Route(reg Registry, item *yizhanv1.Item, origin string, at time.Time) (route []*yizhanv1.RouteStep, grantIDs []string, err error) {
	path := PathUp(origin)
	if path == nil {
		return nil, nil, fmt.Errorf("route from %q: not a division code: %w", origin, ErrNoRoute)
	}
	code := item.GetCode()
	rights := make([][]yizhanv1.Right, len(path))
	for i, o := range path {
		rights[i] = reg.Rights(code, o, at)
	}
	// lowest returns the index on path of the lowest office in [from, to]
	// holding right, or -1.
	lowest := func(right yizhanv1.Right, from, to int) int {
		for i := from; i <= to && i < len(path); i++ {
			if slices.Contains(rights[i], right) {
				return i
			}
		}
		return -1
	}
	top := len(path) - 1
	accept := lowest(yizhanv1.Right_RIGHT_ACCEPT, 0, top)
	approve := -1
	if accept >= 0 {
		approve = lowest(yizhanv1.Right_RIGHT_APPROVE, accept, top)
	}
	if item.GetCaseKind() == yizhanv1.CaseKind_CASE_KIND_IMMEDIATE {
		// An immediate item (即办) is decided on the spot: accepted by
		// the lowest office that may also decide it, never accepted
		// where nobody may.
		both := slices.IndexFunc(rights, func(r []yizhanv1.Right) bool {
			return slices.Contains(r, yizhanv1.Right_RIGHT_ACCEPT) && slices.Contains(r, yizhanv1.Right_RIGHT_APPROVE)
		})
		if both >= 0 {
			accept = both
		}
		approve = both // none: APPROVE is what is missing
	}
	chosen := map[yizhanv1.Right]int{
		yizhanv1.Right_RIGHT_ACCEPT:  accept,
		yizhanv1.Right_RIGHT_APPROVE: approve,
		yizhanv1.Right_RIGHT_DELIVER: lowest(yizhanv1.Right_RIGHT_DELIVER, 0, top),
		yizhanv1.Right_RIGHT_REVIEW:  -1,
		yizhanv1.Right_RIGHT_CERTIFY: -1,
	}
	if approve >= 0 {
		chosen[yizhanv1.Right_RIGHT_REVIEW] = lowest(yizhanv1.Right_RIGHT_REVIEW, accept, approve)
		chosen[yizhanv1.Right_RIGHT_CERTIFY] = lowest(yizhanv1.Right_RIGHT_CERTIFY, approve, top)
	}
	for _, right := range routeRights {
		i := chosen[right]
		if i < 0 {
			if requiredRight(right) {
				return nil, nil, reason.Errorf(reason.NoRoute, reason.Meta{"origin": origin, "item": code, "right": right.String()},
					"no office on the path from %s to the county holds %s for item %s (%s) at %s: %w",
					origin, right, code, item.GetName(), at.In(registry.CST).Format(time.DateTime), ErrNoRoute)
			}
			continue
		}
		office := path[i]
		route = append(route, &yizhanv1.RouteStep{Right: right, OfficeCode: office})
		for _, g := range grantsView(reg, registry.GrantFilter{ItemCode: code, OfficeCode: office, At: at}) {
			if slices.Contains(g.GetRights(), right) {
				grantIDs = append(grantIDs, g.GetId())
			}
		}
	}
	slices.Sort(grantIDs)
	return route, slices.Compact(grantIDs), nil
}

// stepOffice returns the office of the route's step for right, or "".
func stepOffice(route []*yizhanv1.RouteStep, right yizhanv1.Right) string {
	for _, s := range route {
		if s.GetRight() == right {
			return s.GetOfficeCode()
		}
	}
	return ""
}
