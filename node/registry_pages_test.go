package node_test

import (
	"slices"
	"testing"

	"google.golang.org/grpc/codes"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A county's grants (an item for each office or tier: thousands) and an
// item's versions are listed a page at a time, as the cases and the items
// are. The pages together are the whole list, each once: a grant revoked
// while a client pages stays where it was, a grant created comes last.
// A page size or token the API did not give is refused, naming it.
func TestGrantsAndItemVersionsAreListedAPageAtATime(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.countyLeader()).login("admin", password)
	ctx := admin.ctx()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(admin.reg.CreateDepartment(ctx, &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "yc", Name: "县烟草专卖局"}}))
	second := tobacco()
	second.Code, second.Name = second.Code+"-2", second.Name+"（变更）"
	for _, it := range []*yizhanv1.Item{tobacco(), second} {
		must(admin.reg.CreateItem(ctx, &yizhanv1.CreateItemRequest{Item: it}))
		must(admin.reg.CreateGrant(ctx, &yizhanv1.CreateGrantRequest{Grant: &yizhanv1.Grant{ItemCode: it.Code, OfficeCode: county, Rights: allRights}}))
		for _, tier := range []yizhanv1.Tier{yizhanv1.Tier_TIER_TOWNSHIP, yizhanv1.Tier_TIER_VILLAGE} {
			must(admin.reg.CreateGrant(ctx, &yizhanv1.CreateGrantRequest{Grant: &yizhanv1.Grant{ItemCode: it.Code, Tier: tier,
				Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_PROXY_FILE, yizhanv1.Right_RIGHT_DELIVER}}}))
		}
	}
	whole, err := admin.reg.ListGrants(ctx, &yizhanv1.ListGrantsRequest{IncludeInactive: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(whole.GetGrants()); n != 6 || whole.GetNextPageToken() != "" {
		t.Fatalf("the whole list: %d grants, next page %q; want the 6 created, one page", n, whole.GetNextPageToken())
	}
	ids := func(gs []*yizhanv1.Grant) []string {
		var out []string
		for _, g := range gs {
			out = append(out, g.GetId())
		}
		return out
	}

	// Two at a time; after the first page, its first grant is revoked and
	// a new one created.
	var paged []string
	req := &yizhanv1.ListGrantsRequest{IncludeInactive: true, PageSize: 2}
	var created string
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("the pages do not end")
		}
		resp, err := admin.reg.ListGrants(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.GetGrants()) > 2 {
			t.Fatalf("a page of 2 holds %d grants", len(resp.GetGrants()))
		}
		paged = append(paged, ids(resp.GetGrants())...)
		if pages == 0 {
			must(admin.reg.RevokeGrant(ctx, &yizhanv1.RevokeGrantRequest{Id: resp.GetGrants()[0].GetId()}))
			g, err := admin.reg.CreateGrant(ctx, &yizhanv1.CreateGrantRequest{Grant: &yizhanv1.Grant{ItemCode: tobacco().Code, Tier: yizhanv1.Tier_TIER_COUNTY,
				Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_PROXY_FILE}}})
			if err != nil {
				t.Fatal(err)
			}
			created = g.GetGrant().GetId()
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		req.PageToken = resp.GetNextPageToken()
	}
	if want := append(ids(whole.GetGrants()), created); !slices.Equal(paged, want) {
		t.Errorf("the pages listed %v; want each grant once, oldest first, the new one last: %v", paged, want)
	}
	// Without the inactive ones, the revoked grant is left out of every page.
	active, err := admin.reg.ListGrants(ctx, &yizhanv1.ListGrantsRequest{PageSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(active.GetGrants()); slices.Contains(got, paged[0]) || len(got) != 6 {
		t.Errorf("the grants in force: %v; want the 6 but the revoked %s", got, paged[0])
	}

	// An item's versions: the first and three changes, two a page.
	for _, days := range []int32{15, 12, 10} {
		must(admin.reg.UpdateItem(ctx, &yizhanv1.UpdateItemRequest{Item: &yizhanv1.Item{Code: tobacco().Code, PromisedLimitDays: days, ChangeNote: "压缩承诺时限"}}))
	}
	var versions []uint32
	vreq := &yizhanv1.ListItemVersionsRequest{Code: tobacco().Code, PageSize: 2}
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("the versions' pages do not end")
		}
		resp, err := admin.reg.ListItemVersions(ctx, vreq)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range resp.GetVersions() {
			versions = append(versions, v.GetVersion())
		}
		if resp.GetNextPageToken() == "" {
			break
		}
		vreq.PageToken = resp.GetNextPageToken()
	}
	if !slices.Equal(versions, []uint32{1, 2, 3, 4}) {
		t.Errorf("the versions listed %v, want 1 to 4, oldest first", versions)
	}

	for _, tc := range []struct {
		name  string
		call  func() error
		field string
	}{
		{"grants, a negative page size", func() error {
			_, err := admin.reg.ListGrants(ctx, &yizhanv1.ListGrantsRequest{PageSize: -1})
			return err
		}, "page_size"},
		{"versions, a negative page size", func() error {
			_, err := admin.reg.ListItemVersions(ctx, &yizhanv1.ListItemVersionsRequest{Code: tobacco().Code, PageSize: -1})
			return err
		}, "page_size"},
		{"versions, a token not given", func() error {
			_, err := admin.reg.ListItemVersions(ctx, &yizhanv1.ListItemVersionsRequest{Code: tobacco().Code, PageToken: "第二页"})
			return err
		}, "page_token"},
	} {
		err := tc.call()
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != tc.field {
			t.Errorf("%s: %v; want InvalidArgument naming %s", tc.name, err, tc.field)
		}
	}
}
