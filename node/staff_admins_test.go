package node_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The county's only admin disables their own account (or takes the admin
// role from it): refused (FailedPrecondition), for the registry took it,
// and from then on no one could sign in as a county admin, so no office,
// item, grant, staff account or password reset could ever be written
// again (the bootstrap password only creates a missing "admin"). With a
// second county admin, the change is taken.
func TestTheCountysLastAdminIsKept(t *testing.T) {
	for _, tc := range []struct {
		name  string
		staff *yizhanv1.StaffMember
	}{
		{"disable self", &yizhanv1.StaffMember{Name: "系统管理员", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_ADMIN}, Disabled: true}},
		{"drop own admin role", &yizhanv1.StaffMember{Name: "系统管理员", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_SUPERVISOR}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFed(t)
			f.startCounty(1)
			admin := dial(t, f.countyLeader()).login("admin", password)
			_, err := admin.reg.UpdateStaff(admin.ctx(), &yizhanv1.UpdateStaffRequest{Username: "admin", Staff: tc.staff})
			if status.Code(err) != codes.FailedPrecondition {
				t.Errorf("the county's only admin asked to %s: %v, want FailedPrecondition", tc.name, err)
			}
			// Can anyone still change the registry?
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			again := dial(t, f.countyLeader())
			resp, err := again.auth.Login(ctx, &yizhanv1.LoginRequest{Username: "admin", Password: password})
			if err != nil {
				t.Fatalf("after %s the county admin can no longer sign in (%v): the registry has no writer left", tc.name, err)
			}
			again.token = resp.GetToken()
			if _, err := again.reg.CreateDepartment(again.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "mz", Name: "县民政局"}}); err != nil {
				t.Fatalf("after %s no one may write the registry: %v", tc.name, err)
			}
			// A second county admin, then the change is taken.
			second, err := again.reg.CreateStaff(again.ctx(), &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "admin2", Name: "第二管理员",
				OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_ADMIN}}, Password: password})
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the leader holds the second admin", func() bool { return f.countyLeader().Registry().Index() >= second.GetRegistryIndex() }, 10*time.Second)
			if _, err := again.reg.UpdateStaff(again.ctx(), &yizhanv1.UpdateStaffRequest{Username: "admin", Staff: tc.staff}); err != nil {
				t.Errorf("with a second county admin, %s: %v", tc.name, err)
			}
		})
	}
}

// Two county admins disable each other at the same moment: the rule is
// checked against the registry as applied, the staff changes proposed one
// at a time (federation.Office.ProposeRegistry), so one is refused and the
// county keeps an enabled admin (both passed the check, and both applied).
func TestTwoAdminsDisablingEachOtherLeaveOne(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.countyLeader()).login("admin", password)
	second, err := admin.reg.CreateStaff(admin.ctx(), &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "admin2", Name: "第二管理员",
		OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_ADMIN}}, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the leader holds the second admin", func() bool { return f.countyLeader().Registry().Index() >= second.GetRegistryIndex() }, 10*time.Second)
	admin2 := dial(t, f.countyLeader()).login("admin2", password)
	for round := range 5 {
		errs := make(chan error, 2)
		for _, c := range []struct {
			by     *client
			target string
		}{{admin, "admin2"}, {admin2, "admin"}} {
			go func() {
				_, err := c.by.reg.UpdateStaff(c.by.ctx(), &yizhanv1.UpdateStaffRequest{Username: c.target,
					Staff: &yizhanv1.StaffMember{Name: "管理员", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_ADMIN}, Disabled: true}})
				errs <- err
			}()
		}
		refused := 0
		for range 2 {
			if err := <-errs; status.Code(err) == codes.FailedPrecondition {
				refused++
			} else if err != nil && status.Code(err) != codes.Unauthenticated {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		enabled := 0
		for _, u := range []string{"admin", "admin2"} {
			if m, err := f.countyLeader().Registry().Staff(u); err == nil && !m.GetDisabled() {
				enabled++
			}
		}
		if enabled != 1 {
			t.Fatalf("round %d: %d county admins enabled after they disabled each other at once (%d refused)", round, enabled, refused)
		}
		// The one left enables the other again, for the next round.
		var keeper *client
		var other string
		if m, _ := f.countyLeader().Registry().Staff("admin"); !m.GetDisabled() {
			keeper, other = dial(t, f.countyLeader()).login("admin", password), "admin2"
		} else {
			keeper, other = dial(t, f.countyLeader()).login("admin2", password), "admin"
		}
		if _, err := keeper.reg.UpdateStaff(keeper.ctx(), &yizhanv1.UpdateStaffRequest{Username: other,
			Staff: &yizhanv1.StaffMember{Name: "管理员", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_ADMIN}}}); err != nil {
			t.Fatal(err)
		}
		admin = dial(t, f.countyLeader()).login("admin", password)
		admin2 = dial(t, f.countyLeader()).login("admin2", password)
	}
}
