package node_test

import (
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A staff write whose request ID is sent again with another password is
// another request: it must be refused (ABORTED, the request ID was used),
// not answered with the first write as if nothing differed. The request
// hash left the password out, so the second password was dropped
// silently: the admin was told the account was made, and the password it
// gave did not work. The hash holds an argon2id digest of it now.
func TestCreateStaffUnderAUsedIDWithAnotherPasswordIsRefused(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.nodes["county-1"]).login("admin", password)
	staff := &yizhanv1.StaffMember{Username: "lilei", Name: "李雷", OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}
	if _, err := admin.reg.CreateStaff(admin.ctx(), &yizhanv1.CreateStaffRequest{RequestId: "staff-lilei-1", Password: "First-Passw0rd-2027", Staff: staff}); err != nil {
		t.Fatal(err)
	}
	// Sent again as it was: the first answer.
	if again, err := admin.reg.CreateStaff(admin.ctx(), &yizhanv1.CreateStaffRequest{RequestId: "staff-lilei-1", Password: "First-Passw0rd-2027", Staff: staff}); err != nil ||
		again.GetStaff().GetUsername() != "lilei" {
		t.Errorf("CreateStaff sent again as it was: %v, %v", again, err)
	}
	_, err := admin.reg.CreateStaff(admin.ctx(), &yizhanv1.CreateStaffRequest{RequestId: "staff-lilei-1", Password: "Second-Passw0rd-2027", Staff: staff})
	if status.Code(err) != codes.Aborted {
		t.Errorf("CreateStaff under a used request ID with another password: %v, want ABORTED (request ID used for another request)", err)
	}
	if err == nil {
		anon := dial(t, f.nodes["county-1"])
		if _, lerr := anon.auth.Login(anon.ctx(), &yizhanv1.LoginRequest{Username: "lilei", Password: "Second-Passw0rd-2027"}); lerr != nil {
			t.Errorf("the admin was told the account was made with the second password, and it does not sign in: %v", lerr)
		}
	}
}

// The same for an admin's UpdateStaff: a change without a password reset
// and one with a reset under the same request ID are two requests.
func TestUpdateStaffUnderAUsedIDAddingAPasswordResetIsRefused(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.nodes["county-1"]).login("admin", password)
	staff := &yizhanv1.StaffMember{Username: "hanmei", Name: "韩梅", OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}
	if _, err := admin.reg.CreateStaff(admin.ctx(), &yizhanv1.CreateStaffRequest{Password: password, Staff: staff}); err != nil {
		t.Fatal(err)
	}
	upd := &yizhanv1.UpdateStaffRequest{RequestId: "upd-hanmei-1", Username: "hanmei",
		Staff: &yizhanv1.StaffMember{Username: "hanmei", Name: "韩梅梅", OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}}
	if _, err := admin.reg.UpdateStaff(admin.ctx(), upd); err != nil {
		t.Fatal(err)
	}
	upd.NewPassword = "Reset-Passw0rd-2027"
	_, err := admin.reg.UpdateStaff(admin.ctx(), upd)
	if status.Code(err) != codes.Aborted {
		t.Errorf("UpdateStaff under a used request ID, now with a password reset: %v, want ABORTED", err)
	}
	if err == nil {
		anon := dial(t, f.nodes["county-1"])
		if _, lerr := anon.auth.Login(anon.ctx(), &yizhanv1.LoginRequest{Username: "hanmei", Password: "Reset-Passw0rd-2027"}); status.Code(lerr) == codes.Unauthenticated {
			t.Errorf("the reset was answered OK, yet the reset password does not sign in: %v", lerr)
		}
	}
}
