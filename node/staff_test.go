package node_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// reasonOf is the reason code of a gRPC error's ErrorInfo.
func reasonOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}

// A county admin manages staff through the API: bad input names its
// field; a change of roles shows at once; a disabled account's token
// stops working at every node as the registry reaches it, and works
// again when it is enabled; a reset password must be changed before the
// staff member signs in again, with it (the old token stops too), and the
// new one signs in at the staff member's own village.
func TestStaffManagementThroughTheAPI(t *testing.T) {
	f := newCaseFed(t, 1)
	ctx := f.admin.ctx()
	reg := f.admin.reg
	if _, err := reg.UpdateStaff(ctx, &yizhanv1.UpdateStaffRequest{Username: "nobody", Staff: &yizhanv1.StaffMember{Name: "无", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT}}}); status.Code(err) != codes.NotFound {
		t.Errorf("an unknown account: %v", err)
	}
	agent := &yizhanv1.StaffMember{Name: "黄秀英", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT}}
	for _, tt := range []struct {
		req   *yizhanv1.UpdateStaffRequest
		field string
	}{
		{&yizhanv1.UpdateStaffRequest{Username: "dongcun", Staff: agent, NewPassword: "short"}, "new_password"},
		{&yizhanv1.UpdateStaffRequest{Username: "dongcun", Staff: &yizhanv1.StaffMember{Name: "黄秀英", DepartmentCode: "nope", Roles: agent.Roles}}, "staff.department_code"},
		{&yizhanv1.UpdateStaffRequest{Username: "dongcun", Staff: &yizhanv1.StaffMember{Name: "黄秀英"}}, "staff.roles"},
		{&yizhanv1.UpdateStaffRequest{Username: "dongcun", Staff: &yizhanv1.StaffMember{Name: "黄秀英", OfficeCode: county, Roles: agent.Roles}}, "staff.office_code"},
	} {
		if _, err := reg.UpdateStaff(ctx, tt.req); status.Code(err) != codes.InvalidArgument {
			t.Errorf("%v: %v", tt.req, err)
		} else if _, field := fieldOf(err); field != tt.field {
			t.Errorf("%v names %q, want %s", tt.req, field, tt.field)
		}
	}

	village, countyNode := f.nodes["dongcun-1"], f.nodes["county-1"]
	atVillage := dial(t, village).login("dongcun", password)
	atCounty := dial(t, countyNode)
	atCounty.token = atVillage.token
	whoami := func(c *client) error {
		_, err := yizhanv1.NewAuthServiceClient(c.conn).WhoAmI(c.ctx(), &yizhanv1.WhoAmIRequest{})
		return err
	}
	waitAll := func(what string, ok func(error) bool) {
		t.Helper()
		for _, c := range []*client{atVillage, atCounty} {
			waitFor(t, what, func() bool { return ok(whoami(c)) }, 20*time.Second)
		}
	}
	update := func(req *yizhanv1.UpdateStaffRequest) *yizhanv1.StaffWriteResponse {
		t.Helper()
		resp, err := reg.UpdateStaff(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	// A new role shows at the village.
	got := update(&yizhanv1.UpdateStaffRequest{Username: "dongcun", Staff: &yizhanv1.StaffMember{Name: "黄秀英",
		Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT, yizhanv1.Role_ROLE_DUTY_OFFICER}}})
	if got.GetStaff().GetOfficeCode() != dongcun || len(got.GetStaff().GetRoles()) != 2 {
		t.Errorf("the changed staff member: %v", got.GetStaff())
	}
	waitFor(t, "the new role at the village", func() bool {
		me, err := yizhanv1.NewAuthServiceClient(atVillage.conn).WhoAmI(atVillage.ctx(), &yizhanv1.WhoAmIRequest{})
		return err == nil && len(me.GetStaff().GetRoles()) == 2
	}, 20*time.Second)

	// Disabled: the token stops at every node; enabled: it works again.
	update(&yizhanv1.UpdateStaffRequest{Username: "dongcun", Staff: &yizhanv1.StaffMember{Name: "黄秀英", Roles: agent.Roles, Disabled: true}})
	waitAll("the disabled token refused", func(err error) bool { return status.Code(err) == codes.Unauthenticated })
	update(&yizhanv1.UpdateStaffRequest{Username: "dongcun", Staff: agent})
	waitAll("the token working again", func(err error) bool { return err == nil })

	// A reset: no sign-in, no token, until the staff member changes it.
	update(&yizhanv1.UpdateStaffRequest{Username: "dongcun", Staff: agent, NewPassword: "reset-by-admin"})
	waitAll("the old token refused after the reset", func(err error) bool { return reasonOf(err) == "PASSWORD_CHANGE_REQUIRED" })
	lctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	auth := yizhanv1.NewAuthServiceClient(dial(t, village).conn)
	if _, err := auth.Login(lctx, &yizhanv1.LoginRequest{Username: "dongcun", Password: "reset-by-admin"}); reasonOf(err) != "PASSWORD_CHANGE_REQUIRED" {
		t.Errorf("signing in with the reset password: %v", err)
	}
	change := yizhanv1.NewRegistryServiceClient(dial(t, village).conn)
	if _, err := change.ChangePassword(lctx, &yizhanv1.ChangePasswordRequest{Username: "dongcun", OldPassword: "not-it-at-all", NewPassword: "mine-from-now-on"}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("a change with a wrong old password: %v", err)
	}
	if _, err := change.ChangePassword(lctx, &yizhanv1.ChangePasswordRequest{Username: "dongcun", OldPassword: "reset-by-admin", NewPassword: "reset-by-admin"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a change to the same password: %v", err)
	}
	changed, err := change.ChangePassword(lctx, &yizhanv1.ChangePasswordRequest{Username: "dongcun", OldPassword: "reset-by-admin", NewPassword: "mine-from-now-on"})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range f.nodes {
		waitFor(t, n.Name()+" has the new password", func() bool { return n.Registry().Index() >= changed.GetRegistryIndex() }, 20*time.Second)
	}
	if c := dial(t, village).login("dongcun", "mine-from-now-on"); whoami(c) != nil {
		t.Error("the new password's token does not work at the village")
	}
}

// A retired item (废止) takes no new filings, naming the field; a case
// filed before goes on; the catalogue leaves it out unless asked.
func TestRetiredItem(t *testing.T) {
	f := newCaseFed(t, 1)
	clerk := dial(t, f.countyLeader()).login("clerk", password)
	cases := caseClient(t, clerk)
	file := func() (*yizhanv1.CaseResponse, error) {
		return cases.FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
			Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
	}
	before, err := file()
	if err != nil {
		t.Fatal(err)
	}
	abolished := tobacco()
	abolished.Code, abolished.Type = "450122-FX-001", yizhanv1.ItemType_ITEM_TYPE_NON_LICENCE
	if _, err := f.admin.reg.CreateItem(f.admin.ctx(), &yizhanv1.CreateItemRequest{Item: abolished}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("an item of a type abolished in 2015: %v", err)
	} else if _, field := fieldOf(err); field != "item.type" {
		t.Errorf("an item of a type abolished in 2015 names %q", field)
	}
	if _, err := f.admin.reg.UpdateItem(f.admin.ctx(), &yizhanv1.UpdateItemRequest{Item: &yizhanv1.Item{Code: tobacco().Code, Retired: true},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"retired"}}}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a retirement without its reason: %v", err)
	} else if _, field := fieldOf(err); field != "item.change_note" {
		t.Errorf("a retirement without its reason names %q", field)
	}
	retired, err := f.admin.reg.UpdateItem(f.admin.ctx(), &yizhanv1.UpdateItemRequest{Item: &yizhanv1.Item{Code: tobacco().Code, Retired: true, ChangeNote: "依据县政府第 12 号文废止"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"retired"}}})
	if err != nil || !retired.GetItem().GetRetired() {
		t.Fatalf("retire: %v %v", retired, err)
	}
	waitFor(t, "the county holds the retirement", func() bool { return f.countyLeader().Registry().Index() >= retired.GetRegistryIndex() }, 10*time.Second)
	if _, err := file(); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a filing of a retired item: %v", err)
	} else if _, field := fieldOf(err); field != "item_code" {
		t.Errorf("a filing of a retired item names %q", field)
	}
	if _, err := cases.Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: before.GetCase().GetNumber()}); err != nil {
		t.Errorf("a case filed before the retirement: %v", err)
	}
	list, err := f.admin.reg.ListItems(f.admin.ctx(), &yizhanv1.ListItemsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range list.GetItems() {
		if it.GetCode() == tobacco().Code {
			t.Error("the catalogue lists a retired item")
		}
	}
	all, err := f.admin.reg.ListItems(f.admin.ctx(), &yizhanv1.ListItemsRequest{IncludeRetired: true})
	if err != nil || len(all.GetItems()) != len(list.GetItems())+1 {
		t.Errorf("with the retired: %d items, without %d (%v)", len(all.GetItems()), len(list.GetItems()), err)
	}
}

// A county admin corrects an office's and a department's name and phone
// (and an office's authority, in whose name its documents are issued);
// every office reads them; unknown codes and blank names are refused.
func TestUpdateOfficeAndDepartment(t *testing.T) {
	f := newCaseFed(t, 1)
	ctx, reg := f.admin.ctx(), f.admin.reg
	if _, err := reg.UpdateOffice(ctx, &yizhanv1.UpdateOfficeRequest{Code: "450122199999", Office: &yizhanv1.Office{Name: "无"}}); status.Code(err) != codes.NotFound {
		t.Errorf("an unknown office: %v", err)
	}
	if _, err := reg.UpdateOffice(ctx, &yizhanv1.UpdateOfficeRequest{Code: dongcun, Office: &yizhanv1.Office{Name: " "}}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a blank name: %v", err)
	} else if _, field := fieldOf(err); field != "office.name" {
		t.Errorf("a blank name names %q", field)
	}
	o, err := reg.UpdateOffice(ctx, &yizhanv1.UpdateOfficeRequest{Code: dongcun, Office: &yizhanv1.Office{Name: "东村便民服务站（新址）", Address: "东村新街 8 号", Phone: "0771-6201234", Authority: "城关镇东村村民委员会"}})
	if err != nil || o.GetOffice().GetTier() != yizhanv1.Tier_TIER_VILLAGE || o.GetOffice().GetParentCode() == "" {
		t.Fatalf("update the office: %v %v", o, err)
	}
	d, err := reg.UpdateDepartment(ctx, &yizhanv1.UpdateDepartmentRequest{Code: "yc", Department: &yizhanv1.Department{Name: "县烟草专卖局（营销部）", Phone: "0771-6200000"}})
	if err != nil {
		t.Fatal(err)
	}
	village := f.nodes["dongcun-1"]
	waitFor(t, "the village reads both", func() bool { return village.Registry().Index() >= d.GetRegistryIndex() }, 20*time.Second)
	if got, err := village.Registry().Office(dongcun); err != nil || got.GetPhone() != "0771-6201234" || got.GetName() != "东村便民服务站（新址）" || got.GetAuthority() != "城关镇东村村民委员会" {
		t.Errorf("the village's office: %v %v", got, err)
	}
	if _, err := reg.UpdateDepartment(ctx, &yizhanv1.UpdateDepartmentRequest{Code: "nope", Department: &yizhanv1.Department{Name: "无"}}); status.Code(err) != codes.NotFound {
		t.Errorf("an unknown department: %v", err)
	}
}
