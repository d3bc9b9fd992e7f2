package registry

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

var (
	accept  = yizhanv1.Right_RIGHT_ACCEPT
	review  = yizhanv1.Right_RIGHT_REVIEW
	approve = yizhanv1.Right_RIGHT_APPROVE
	deliver = yizhanv1.Right_RIGHT_DELIVER
	proxy   = yizhanv1.Right_RIGHT_PROXY_FILE
)

// newCountyWithItem is newCounty with item YC.
func newCountyWithItem(t *testing.T) *Registry {
	t.Helper()
	r := newCounty(t)
	mustApply(t, r, createItem(validItem("YC")))
	return r
}

func TestCreateGrant(t *testing.T) {
	r := newCountyWithItem(t)
	in := &yizhanv1.Grant{
		Id: "mine", Revoked: true, // output only: ignored
		ItemCode: "YC", OfficeCode: village, Rights: []yizhanv1.Right{proxy, deliver}, Note: "代办",
	}
	index := r.Index() + 7 // gaps are allowed
	out, err := r.Apply(index, createGrant(in))
	if err != nil {
		t.Fatal(err)
	}
	g := out.(*yizhanv1.Grant)
	if g.GetId() != "g"+strconv.FormatUint(index, 10) {
		t.Errorf("id = %q, want g%d", g.GetId(), index)
	}
	if g.GetRevoked() || g.GetRevokedAt() != nil {
		t.Errorf("a new grant is revoked: %v", g)
	}
	if !g.GetValidFrom().AsTime().Equal(t0) || g.GetValidUntil() != nil {
		t.Errorf("validity = [%v, %v), want from the command time, no end", g.GetValidFrom(), g.GetValidUntil())
	}
	if !g.GetCreatedAt().AsTime().Equal(t0) || g.GetCreatedBy() != "admin" || g.GetRegistryIndex() != index {
		t.Errorf("created = %v by %q at index %d", g.GetCreatedAt(), g.GetCreatedBy(), g.GetRegistryIndex())
	}
	stored, err := r.Grant(g.GetId())
	if err != nil || stored.GetNote() != "代办" {
		t.Errorf("Grant(%s) = %v, %v", g.GetId(), stored, err)
	}
	if _, err := r.Grant("g999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Grant(g999) = %v, want ErrNotFound", err)
	}

	// A given valid_from is kept.
	from := t0.AddDate(0, 0, 10)
	out = mustApply(t, r, createGrant(&yizhanv1.Grant{ItemCode: "YC", Tier: yizhanv1.Tier_TIER_TOWNSHIP, Rights: []yizhanv1.Right{accept}, ValidFrom: ts(from)}))
	if got := out.(*yizhanv1.Grant).GetValidFrom().AsTime(); !got.Equal(from) {
		t.Errorf("valid_from = %v, want %v", got, from)
	}
}

func TestCreateGrantRejected(t *testing.T) {
	ok := func(f func(g *yizhanv1.Grant)) *yizhanv1.Grant {
		g := &yizhanv1.Grant{ItemCode: "YC", OfficeCode: village, Rights: []yizhanv1.Right{accept}}
		f(g)
		return g
	}
	tests := []struct {
		name  string
		grant *yizhanv1.Grant
		field string
	}{
		{name: "no grant", grant: nil, field: "grant"},
		{name: "item missing", grant: ok(func(g *yizhanv1.Grant) { g.ItemCode = "" }), field: "grant.item_code"},
		{name: "item unknown", grant: ok(func(g *yizhanv1.Grant) { g.ItemCode = "NOPE" }), field: "grant.item_code"},
		{name: "neither office nor tier", grant: ok(func(g *yizhanv1.Grant) { g.OfficeCode = "" }), field: "grant.office_code"},
		{name: "both office and tier", grant: ok(func(g *yizhanv1.Grant) { g.Tier = yizhanv1.Tier_TIER_VILLAGE }), field: "grant.tier"},
		{name: "office unknown", grant: ok(func(g *yizhanv1.Grant) { g.OfficeCode = "450122101299" }), field: "grant.office_code"},
		{name: "tier unknown", grant: ok(func(g *yizhanv1.Grant) { g.OfficeCode = ""; g.Tier = 7 }), field: "grant.tier"},
		{name: "no rights", grant: ok(func(g *yizhanv1.Grant) { g.Rights = nil }), field: "grant.rights"},
		{name: "right unspecified", grant: ok(func(g *yizhanv1.Grant) { g.Rights = []yizhanv1.Right{accept, 0} }), field: "grant.rights[1]"},
		{name: "right unknown", grant: ok(func(g *yizhanv1.Grant) { g.Rights = []yizhanv1.Right{99} }), field: "grant.rights[0]"},
		{name: "right repeated", grant: ok(func(g *yizhanv1.Grant) { g.Rights = []yizhanv1.Right{accept, review, accept} }), field: "grant.rights[2]"},
		{name: "until before from", grant: ok(func(g *yizhanv1.Grant) {
			g.ValidFrom, g.ValidUntil = ts(t0.AddDate(0, 1, 0)), ts(t0)
		}), field: "grant.valid_until"},
		{name: "until equal to from", grant: ok(func(g *yizhanv1.Grant) { g.ValidFrom, g.ValidUntil = ts(t0), ts(t0) }), field: "grant.valid_until"},
		{name: "until before the command time", grant: ok(func(g *yizhanv1.Grant) { g.ValidUntil = ts(t0.Add(-time.Hour)) }), field: "grant.valid_until"},
		{name: "from out of range", grant: ok(func(g *yizhanv1.Grant) { g.ValidFrom = ts(t0); g.ValidFrom.Nanos = -1 }), field: "grant.valid_from"},
		{name: "until out of range", grant: ok(func(g *yizhanv1.Grant) { g.ValidUntil = ts(t0); g.ValidUntil.Seconds = 1 << 62 }), field: "grant.valid_until"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCountyWithItem(t)
			wantViolation(t, rejected(t, r, createGrant(tt.grant)), tt.field)
		})
	}
}

func TestGrantTiers(t *testing.T) {
	for _, tier := range []yizhanv1.Tier{yizhanv1.Tier_TIER_COUNTY, yizhanv1.Tier_TIER_TOWNSHIP, yizhanv1.Tier_TIER_VILLAGE} {
		t.Run(tier.String(), func(t *testing.T) {
			r := newCountyWithItem(t)
			mustApply(t, r, createGrant(&yizhanv1.Grant{ItemCode: "YC", Tier: tier, Rights: []yizhanv1.Right{accept}}))
		})
	}
}

func TestRevokeGrant(t *testing.T) {
	r := newCountyWithItem(t)
	g := mustApply(t, r, createGrant(&yizhanv1.Grant{ItemCode: "YC", OfficeCode: village, Rights: []yizhanv1.Right{accept}})).(*yizhanv1.Grant)
	cmd := revokeGrant(g.GetId())
	later := t0.AddDate(0, 2, 0)
	cmd.AtUnixNano = later.UnixNano()
	out := mustApply(t, r, cmd)
	rg := out.(*yizhanv1.Grant)
	if !rg.GetRevoked() || !rg.GetRevokedAt().AsTime().Equal(later) || rg.GetRegistryIndex() != r.Index() {
		t.Errorf("revoked grant = %v", rg)
	}
	if rg.GetCreatedAt().AsTime() != g.GetCreatedAt().AsTime() || rg.GetId() != g.GetId() {
		t.Errorf("revocation changed the grant's identity: %v", rg)
	}

	tests := []struct {
		name     string
		id       string
		field    string
		sentinel error
	}{
		{name: "id missing", id: "", field: "id"},
		{name: "unknown", id: "g12345", sentinel: ErrNotFound},
		{name: "already revoked", id: g.GetId(), sentinel: ErrFailedPrecondition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, rejected(t, r, revokeGrant(tt.id)), tt.field, tt.sentinel)
		})
	}
}

func TestGrantActive(t *testing.T) {
	from, until, revokedAt := t0, t0.AddDate(0, 6, 0), t0.AddDate(0, 3, 0)
	window := &yizhanv1.Grant{ValidFrom: ts(from), ValidUntil: ts(until)}
	open := &yizhanv1.Grant{ValidFrom: ts(from)}
	revoked := &yizhanv1.Grant{ValidFrom: ts(from), Revoked: true, RevokedAt: ts(revokedAt)}
	tests := []struct {
		name  string
		grant *yizhanv1.Grant
		at    time.Time
		want  bool
	}{
		{name: "before valid_from", grant: window, at: from.Add(-time.Nanosecond), want: false},
		{name: "at valid_from", grant: window, at: from, want: true},
		{name: "inside", grant: window, at: from.AddDate(0, 1, 0), want: true},
		{name: "at valid_until (exclusive)", grant: window, at: until, want: false},
		{name: "after valid_until", grant: window, at: until.AddDate(1, 0, 0), want: false},
		{name: "no end", grant: open, at: from.AddDate(50, 0, 0), want: true},
		{name: "before revocation", grant: revoked, at: revokedAt.Add(-time.Second), want: true},
		{name: "at revocation", grant: revoked, at: revokedAt, want: false},
		{name: "after revocation", grant: revoked, at: revokedAt.AddDate(0, 0, 1), want: false},
		{name: "zero time: not revoked", grant: window, at: time.Time{}, want: true},
		{name: "zero time: revoked", grant: revoked, at: time.Time{}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := GrantActive(tt.grant, tt.at); got != tt.want {
				t.Errorf("GrantActive at %v = %v, want %v", tt.at, got, tt.want)
			}
		})
	}
}

// grantFixture makes grants on YC:
//
//	g(a) village:   PROXY_FILE, DELIVER          from t0
//	g(b) villages:  ACCEPT                       from t0+1 month until t0+2 months
//	g(c) townships: REVIEW                        from t0
//	g(d) county:    APPROVE                       from t0
//	g(e) village:   REVIEW (revoked at t0+1 month)
//	g(f) village2:  ACCEPT
func grantFixture(t *testing.T) (*Registry, []string) {
	r := newCountyWithItem(t)
	var ids []string
	add := func(g *yizhanv1.Grant) {
		g.ItemCode = "YC"
		ids = append(ids, mustApply(t, r, createGrant(g)).(*yizhanv1.Grant).GetId())
	}
	add(&yizhanv1.Grant{OfficeCode: village, Rights: []yizhanv1.Right{proxy, deliver}})
	add(&yizhanv1.Grant{Tier: yizhanv1.Tier_TIER_VILLAGE, Rights: []yizhanv1.Right{accept}, ValidFrom: ts(t0.AddDate(0, 1, 0)), ValidUntil: ts(t0.AddDate(0, 2, 0))})
	add(&yizhanv1.Grant{Tier: yizhanv1.Tier_TIER_TOWNSHIP, Rights: []yizhanv1.Right{review}})
	add(&yizhanv1.Grant{OfficeCode: county, Rights: []yizhanv1.Right{approve}})
	add(&yizhanv1.Grant{OfficeCode: village, Rights: []yizhanv1.Right{review, deliver}})
	cmd := revokeGrant(ids[4])
	cmd.AtUnixNano = t0.AddDate(0, 1, 0).UnixNano()
	mustApply(t, r, cmd)
	add(&yizhanv1.Grant{OfficeCode: village2, Rights: []yizhanv1.Right{accept}})
	// A grant on another item must never show up.
	mustApply(t, r, createItem(validItem("OTHER")))
	mustApply(t, r, createGrant(&yizhanv1.Grant{ItemCode: "OTHER", OfficeCode: village, Rights: []yizhanv1.Right{approve}}))
	return r, ids
}

func TestRights(t *testing.T) {
	r, _ := grantFixture(t)
	early, mid, late := t0.AddDate(0, 0, 1), t0.AddDate(0, 1, 15), t0.AddDate(0, 3, 0)
	tests := []struct {
		name   string
		item   string
		office string
		at     time.Time
		want   []yizhanv1.Right
	}{
		{name: "village early: own grants, revoked one still in force", item: "YC", office: village, at: early, want: []yizhanv1.Right{review, deliver, proxy}},
		{name: "village mid: tier grant joins, revoked one gone", item: "YC", office: village, at: mid, want: []yizhanv1.Right{accept, deliver, proxy}},
		{name: "village late: tier grant expired", item: "YC", office: village, at: late, want: []yizhanv1.Right{deliver, proxy}},
		{name: "other village mid: tier and own", item: "YC", office: village2, at: mid, want: []yizhanv1.Right{accept}},
		{name: "township: tier grant", item: "YC", office: township2, at: late, want: []yizhanv1.Right{review}},
		{name: "county", item: "YC", office: county, at: late, want: []yizhanv1.Right{approve}},
		{name: "before any grant", item: "YC", office: county, at: t0.Add(-time.Hour), want: nil},
		{name: "other item", item: "OTHER", office: village, at: late, want: []yizhanv1.Right{approve}},
		{name: "unknown item", item: "NOPE", office: village, at: late, want: nil},
		{name: "invalid office code", item: "YC", office: "x", at: late, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := r.Rights(tt.item, tt.office, tt.at); !slices.Equal(got, tt.want) {
				t.Errorf("Rights = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestGrantsFilter(t *testing.T) {
	r, ids := grantFixture(t)
	mid := t0.AddDate(0, 1, 15)
	tests := []struct {
		name   string
		filter GrantFilter
		want   []string
	}{
		{name: "item, all", filter: GrantFilter{ItemCode: "YC", IncludeInactive: true}, want: ids},
		{name: "item, active mid", filter: GrantFilter{ItemCode: "YC", At: mid}, want: []string{ids[0], ids[1], ids[2], ids[3], ids[5]}},
		{name: "village, active mid", filter: GrantFilter{ItemCode: "YC", OfficeCode: village, At: mid}, want: []string{ids[0], ids[1]}},
		{name: "village, all", filter: GrantFilter{ItemCode: "YC", OfficeCode: village, IncludeInactive: true}, want: []string{ids[0], ids[1], ids[4]}},
		{name: "village, zero time: not revoked", filter: GrantFilter{ItemCode: "YC", OfficeCode: village}, want: []string{ids[0], ids[1]}},
		{name: "township", filter: GrantFilter{OfficeCode: township, IncludeInactive: true}, want: []string{ids[2]}},
		{name: "every item, county", filter: GrantFilter{OfficeCode: county, At: mid}, want: []string{ids[3]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, g := range r.Grants(tt.filter) {
				got = append(got, g.GetId())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Grants = %v, want %v", got, tt.want)
			}
		})
	}
	// Ordered by creation even where string order differs (g9 < g10).
	all := r.Grants(GrantFilter{IncludeInactive: true})
	for i := 1; i < len(all); i++ {
		if !grantLess(all[i-1], all[i]) {
			t.Errorf("Grants not in creation order: %s before %s", all[i-1].GetId(), all[i].GetId())
		}
	}
}

// GrantsChangeBetween tells the reroute sweep when the time alone may
// have changed an office's rights: at a grant's start, end or revocation
// in (from, to], and at no other time.
func TestGrantsChangeBetween(t *testing.T) {
	r := newCountyWithItem(t)
	from, until := t0.AddDate(0, 0, 10), t0.AddDate(0, 0, 20)
	mustApply(t, r, createGrant(&yizhanv1.Grant{ItemCode: "YC", OfficeCode: village, Rights: []yizhanv1.Right{accept},
		ValidFrom: ts(from), ValidUntil: ts(until)}))
	revoked := mustApply(t, r, createGrant(&yizhanv1.Grant{ItemCode: "YC", Tier: yizhanv1.Tier_TIER_TOWNSHIP, Rights: []yizhanv1.Right{accept}})).(*yizhanv1.Grant)
	cmd := revokeGrant(revoked.GetId())
	revokedAt := t0.AddDate(0, 0, 30)
	cmd.AtUnixNano = revokedAt.UnixNano()
	mustApply(t, r, cmd)
	day := 24 * time.Hour
	for _, tc := range []struct {
		name     string
		from, to time.Time
		want     bool
	}{
		{"before any change (the first grant's start is t0, not after it)", t0, from.Add(-time.Second), false},
		{"over a start", from.Add(-day), from.Add(day), true},
		{"ending at a start", from.Add(-day), from, true},
		{"starting at a start", from, from.Add(day), false},
		{"between the start and the end", from.Add(time.Second), until.Add(-time.Second), false},
		{"over an end", until.Add(-time.Second), until, true},
		{"over a revocation", revokedAt.Add(-day), revokedAt.Add(day), true},
		{"after every change", revokedAt, revokedAt.Add(365 * day), false},
	} {
		if got := r.GrantsChangeBetween(tc.from, tc.to); got != tc.want {
			t.Errorf("%s: GrantsChangeBetween(%v, %v) = %v, want %v", tc.name, tc.from, tc.to, got, tc.want)
		}
	}
}

// An office that made an event with the registry writes up to some index
// applied (the event's registry_index) saw a grant revoked by a later
// write as held: RightsKnownAt counts it, within MaxRevocationLag of the
// revocation; not a grant it never held (created after that index), not
// once the lag is past, and not for an office that had heard of it.
func TestRightsKnownAtCountsARevocationUnheardOf(t *testing.T) {
	r := newCountyWithItem(t)
	g := mustApply(t, r, createGrant(&yizhanv1.Grant{ItemCode: "YC", OfficeCode: village, Rights: []yizhanv1.Right{accept}})).(*yizhanv1.Grant)
	heldAt := r.Index() // the village's replica stops here
	late := mustApply(t, r, createGrant(&yizhanv1.Grant{ItemCode: "YC", OfficeCode: village, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_DELIVER}})).(*yizhanv1.Grant)
	revokedAt := t0.AddDate(0, 1, 0)
	for _, id := range []string{g.GetId(), late.GetId()} {
		cmd := revokeGrant(id)
		cmd.AtUnixNano = revokedAt.UnixNano()
		mustApply(t, r, cmd)
	}
	week := revokedAt.AddDate(0, 0, 7)
	if got := r.Rights("YC", village, week); len(got) != 0 {
		t.Errorf("rights a week after the revocation: %v, want none", got)
	}
	if got := r.RightsKnownAt("YC", village, week, heldAt); !slices.Equal(got, []yizhanv1.Right{accept}) {
		t.Errorf("rights a week after, as the village that had not heard of it saw them: %v, want [accept] (not deliver, a grant it never held)", got)
	}
	if got := r.RightsKnownAt("YC", village, revokedAt.Add(MaxRevocationLag+time.Hour), heldAt); len(got) != 0 {
		t.Errorf("rights past the lag: %v, want none", got)
	}
	if got := r.RightsKnownAt("YC", village, week, r.Index()); len(got) != 0 {
		t.Errorf("rights as an office that had heard of the revocation: %v, want none", got)
	}
}
