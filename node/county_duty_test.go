package node_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// countyDuty starts a one-node county with a duty officer (county-duty)
// and a leader on duty (county-leader), and signs in its admin. With
// onShift, the two are on a shift that began ten minutes ago, which the
// officer has taken over, and the officer is signed in too (else nil).
func countyDuty(t *testing.T, onShift bool) (f *fed, admin, officer *client) {
	t.Helper()
	f = newFed(t)
	f.startCounty(1)
	admin = dial(t, f.countyLeader()).login("admin", password)
	for _, s := range []*yizhanv1.StaffMember{
		{Username: "county-duty", Name: "陈值班", OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_OFFICER}},
		{Username: "county-leader", Name: "陈带班", OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_LEADER}},
	} {
		if _, err := admin.reg.CreateStaff(admin.ctx(), &yizhanv1.CreateStaffRequest{Staff: s, Password: password}); err != nil {
			t.Fatal(err)
		}
	}
	if !onShift {
		return f, admin, nil
	}
	start := time.Now().Truncate(time.Minute).Add(-10 * time.Minute)
	pub, err := yizhanv1.NewDutyRosterServiceClient(admin.conn).PublishShifts(admin.ctx(), &yizhanv1.PublishShiftsRequest{Shifts: []*yizhanv1.DutyShift{{
		Start: timestamppb.New(start), End: timestamppb.New(start.Add(12 * time.Hour)), Leader: "county-leader", Officers: []string{"county-duty"}}}})
	if err != nil {
		t.Fatal(err)
	}
	officer = dial(t, f.countyLeader()).login("county-duty", password)
	if _, err := yizhanv1.NewDutyRosterServiceClient(officer.conn).TakeOverShift(officer.ctx(), &yizhanv1.TakeOverShiftRequest{Id: pub.GetShifts()[0].GetId()}); err != nil {
		t.Fatal(err)
	}
	return f, admin, officer
}
