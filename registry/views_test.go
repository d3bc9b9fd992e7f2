package registry

import (
	"testing"

	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// ItemView, StaffView and GrantsView answer the registry's own records,
// not copies: the promise they rest on is that a change (an item's new
// version, a staff member changed, a grant revoked, a snapshot restored)
// never changes a record a caller holds. A view taken before each change
// still reads as it did.
func TestViewsStayAsTheyWereAfterAChange(t *testing.T) {
	r := newCounty(t)
	mustApply(t, r, createItem(validItem("YC")))
	mustApply(t, r, createStaff(validStaff("wang.li", village), cred("wang.li")))

	item, err := r.ItemView("YC", 0)
	if err != nil {
		t.Fatal(err)
	}
	staff, ok := r.StaffView("wang.li")
	if !ok {
		t.Fatal("no view of wang.li")
	}
	if got, _ := r.Item("YC", 0); !proto.Equal(got, item) {
		t.Errorf("ItemView %v, Item %v", item, got)
	}
	if got, _ := r.Staff("wang.li"); !proto.Equal(got, staff) {
		t.Errorf("StaffView %v, Staff %v", staff, got)
	}
	itemBefore, staffBefore := proto.CloneOf(item), proto.CloneOf(staff)
	g := mustApply(t, r, createGrant(&yizhanv1.Grant{ItemCode: "YC", OfficeCode: village, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT}})).(*yizhanv1.Grant)
	grants := r.GrantsView(GrantFilter{ItemCode: "YC", IncludeInactive: true})
	if want := r.Grants(GrantFilter{ItemCode: "YC", IncludeInactive: true}); len(grants) != 1 || len(want) != 1 || !proto.Equal(grants[0], want[0]) {
		t.Fatalf("GrantsView %v, Grants %v", grants, want)
	}
	grantBefore := proto.CloneOf(grants[0])
	mustApply(t, r, revokeGrant(g.GetId()))
	if !proto.Equal(grants[0], grantBefore) {
		t.Errorf("the grant held changed under its holder when it was revoked: %v, was %v", grants[0], grantBefore)
	}
	for name, got := range map[string][]*yizhanv1.Grant{
		"GrantsView": r.GrantsView(GrantFilter{ItemCode: "YC", IncludeInactive: true}),
		"Grants":     r.Grants(GrantFilter{ItemCode: "YC", IncludeInactive: true}),
	} {
		if len(got) != 1 || !got[0].GetRevoked() {
			t.Errorf("%s after the revocation: %v, want the grant revoked", name, got)
		}
	}
	if active := r.GrantsView(GrantFilter{ItemCode: "YC", OfficeCode: village}); len(active) != 0 {
		t.Errorf("GrantsView of the active grants after the revocation: %v", active)
	}
	if got, err := r.Grant(g.GetId()); err != nil || !got.GetRevoked() {
		t.Errorf("Grant after the revocation: %v, %v", got, err)
	}

	v2 := validItem("YC")
	v2.PromisedLimitDays = 3
	mustApply(t, r, updateItem(v2, 1))
	m := validStaff("wang.li", village)
	m.Name, m.Disabled = "王丽", true
	mustApply(t, r, updateStaff(m, nil))
	if err := r.Restore(r.Snapshot()); err != nil {
		t.Fatal(err)
	}

	if !proto.Equal(item, itemBefore) {
		t.Errorf("the item held changed under its holder: %v, was %v", item, itemBefore)
	}
	if !proto.Equal(staff, staffBefore) {
		t.Errorf("the staff record held changed under its holder: %v, was %v", staff, staffBefore)
	}
	if now, _ := r.ItemView("YC", 0); now.GetVersion() != 2 || now.GetPromisedLimitDays() != 3 {
		t.Errorf("ItemView after the change: %v", now)
	}
	if first, _ := r.ItemView("YC", 1); !proto.Equal(first, itemBefore) {
		t.Errorf("ItemView of version 1 after the change: %v", first)
	}
	if now, _ := r.StaffView("wang.li"); now.GetName() != "王丽" || !now.GetDisabled() {
		t.Errorf("StaffView after the change: %v", now)
	}
	if _, err := r.ItemView("nope", 0); err == nil {
		t.Error("ItemView of an unknown item: no error")
	}
	if _, ok := r.StaffView("nobody"); ok {
		t.Error("StaffView of an unknown account answered one")
	}
}
