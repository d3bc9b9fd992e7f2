package node_test

import (
	"testing"

	"google.golang.org/grpc/codes"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// ListGrants' page_token is "next_page_token of the page before" (a
// grant's id). A token it never gave out, or an office_code that is no
// division code, is refused naming its field (INVALID_FORMAT, PAGE_TOKEN /
// DIVISION_CODE), as ListItems and ListItemVersions refuse them: it was
// answered with an empty last page, and the list looked finished.
func TestListGrantsRefusesAForgedTokenAndABadOffice(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.nodes["county-1"]).login("admin", password)
	ctx := admin.ctx()
	if _, err := admin.reg.CreateDepartment(ctx, &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "yc", Name: "县烟草专卖局"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.reg.CreateItem(ctx, &yizhanv1.CreateItemRequest{Item: tobacco()}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.reg.CreateGrant(ctx, &yizhanv1.CreateGrantRequest{Grant: &yizhanv1.Grant{ItemCode: tobacco().Code, OfficeCode: county, Rights: allRights}}); err != nil {
		t.Fatal(err)
	}
	all, err := admin.reg.ListGrants(ctx, &yizhanv1.ListGrantsRequest{})
	if err != nil || len(all.GetGrants()) != 1 {
		t.Fatalf("the grants: %v, %v", all, err)
	}
	// The same forged token on the neighbouring listing is refused.
	if _, err := admin.reg.ListItemVersions(ctx, &yizhanv1.ListItemVersionsRequest{Code: tobacco().Code, PageToken: "not-a-token"}); func() bool {
		c, fl := fieldOf(err)
		return c != codes.InvalidArgument || fl != "page_token"
	}() {
		t.Fatalf("ListItemVersions took a forged token: %v", err)
	}
	for name, req := range map[string]*yizhanv1.ListGrantsRequest{
		"page_token":  {PageToken: "not-a-token"},
		"office_code": {OfficeCode: "no-such-office"},
	} {
		resp, err := admin.reg.ListGrants(ctx, req)
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != name {
			t.Errorf("ListGrants with a bad %s: %v, %d grants, next %q (want INVALID_ARGUMENT naming %s)", name, code, len(resp.GetGrants()), resp.GetNextPageToken(), name)
		}
	}
}
