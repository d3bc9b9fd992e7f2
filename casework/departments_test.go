package casework

import (
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Who of a case's handling offices sees its scans, as far as departments
// go: at the county, the item's lead and co-departments and the
// comprehensive window; below it, any of the office's staff.
func TestDepartmentSees(t *testing.T) {
	f := &yizhanv1.CaseFiling{DepartmentCode: "scjg", CoDepartmentCodes: []string{"sw", "xf"}}
	staff := func(office, dept string, roles ...yizhanv1.Role) Actor {
		return Actor{Username: "s", Office: office, Department: dept, Roles: roles}
	}
	for _, tc := range []struct {
		name string
		a    Actor
		want bool
	}{
		{"the lead department at the county", staff(county, "scjg", yizhanv1.Role_ROLE_CLERK), true},
		{"a co-department at the county", staff(county, "xf", yizhanv1.Role_ROLE_REVIEWER), true},
		{"another department at the county", staff(county, "mz", yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_APPROVER), false},
		{"county staff of no department", staff(county, "", yizhanv1.Role_ROLE_ADMIN), false},
		{"the comprehensive window", staff(county, "", yizhanv1.Role_ROLE_WINDOW), true},
		{"a township clerk", staff(township, "", yizhanv1.Role_ROLE_CLERK), true},
		{"a village agent", staff(village, "", yizhanv1.Role_ROLE_AGENT), true},
	} {
		if got := DepartmentSees(tc.a, f); got != tc.want {
			t.Errorf("%s: sees %v, want %v", tc.name, got, tc.want)
		}
	}
}
