package node_test

import (
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// addDutyStaff adds staff at the county and waits until every node of
// the federation has them.
func addDutyStaff(t *testing.T, f *caseFed, staff ...*yizhanv1.StaffMember) {
	t.Helper()
	for _, s := range staff {
		if _, err := f.admin.reg.CreateStaff(f.admin.ctx(), &yizhanv1.CreateStaffRequest{Staff: s, Password: password}); err != nil {
			t.Fatal(err)
		}
	}
	idx := f.nodes["county-1"].Registry().Index()
	for _, n := range f.nodes {
		waitFor(t, n.Name()+" has the new staff", func() bool { return n.Registry().Index() >= idx }, 20*time.Second)
	}
}
