package node_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// A password reset by a county admin is what an admin does when an
// account is compromised: every token issued before it stops, for good,
// at every tier (StaffMember.password_changed_at). The old token was only
// suspended while must_change_password was set: once the staff member
// changed the reset password, every token issued before the reset (the
// thief's too) worked again and could file cases. Likewise a staff
// member's own password change ends the tokens issued before it (of an
// earlier second: tokens say their second); the token for the new
// password works at once, wherever it is issued.
func TestPasswordChangesEndTokensIssuedBefore(t *testing.T) {
	f := newCaseFed(t, 1)
	village, countyNode := f.nodes["dongcun-1"], f.nodes["county-1"]

	whoami := func(n string, token string) error {
		c := dial(t, f.nodes[n])
		c.token = token
		_, err := yizhanv1.NewAuthServiceClient(c.conn).WhoAmI(c.ctx(), &yizhanv1.WhoAmIRequest{})
		return err
	}
	waitIndex := func(idx uint64) {
		t.Helper()
		for _, n := range f.nodes {
			waitFor(t, n.Name()+" has the change", func() bool { return n.Registry().Index() >= idx }, 20*time.Second)
		}
	}
	changePassword := func(oldPW, newPW string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := yizhanv1.NewRegistryServiceClient(dial(t, village).conn).ChangePassword(ctx,
			&yizhanv1.ChangePasswordRequest{Username: "dongcun", OldPassword: oldPW, NewPassword: newPW})
		if err != nil {
			t.Fatalf("change password: %v", err)
		}
		waitIndex(resp.GetRegistryIndex())
	}

	// nextSecond waits into the next second: a token says the second it
	// was issued, and one of the second the password was set passes.
	nextSecond := func() {
		time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 20*time.Millisecond)))
	}
	t.Run("reset then change", func(t *testing.T) {
		stolen := dial(t, village).login("dongcun", password) // the token a thief holds
		nextSecond()                                          // tokens say their second: the reset comes in a later one
		resp, err := f.admin.reg.UpdateStaff(f.admin.ctx(), &yizhanv1.UpdateStaffRequest{Username: "dongcun",
			Staff: &yizhanv1.StaffMember{Name: "黄秀英", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT}}, NewPassword: "reset-by-admin"})
		if err != nil {
			t.Fatal(err)
		}
		waitIndex(resp.GetRegistryIndex())
		if err := whoami("dongcun-1", stolen.token); reasonOf(err) != "PASSWORD_CHANGE_REQUIRED" {
			t.Fatalf("the old token right after the reset: %v", err)
		}
		// The real staff member changes the reset password.
		changePassword("reset-by-admin", "mine-from-now-on")

		for _, n := range []string{"dongcun-1", "chengguan-1", "county-1"} {
			if err := whoami(n, stolen.token); status.Code(err) != codes.Unauthenticated {
				t.Errorf("at %s a token issued before the admin's reset works again after the new password was set: WhoAmI err = %v, want Unauthenticated", n, err)
			}
		}
		_, err = caseClient(t, stolen).FileCase(stolen.ctx(), &yizhanv1.FileCaseRequest{
			ItemCode:  tobacco().Code,
			Applicant: &yizhanv1.Applicant{Name: "李四", IdNumber: applicantID, Phone: "13907710001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}},
		})
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("the token issued before the reset files a case at the village: err = %v, want Unauthenticated", err)
		}
		_ = countyNode
		fresh := dial(t, village).login("dongcun", "mine-from-now-on")
		for _, n := range []string{"dongcun-1", "chengguan-1", "county-1"} {
			if err := whoami(n, fresh.token); err != nil {
				t.Errorf("at %s the token for the new password: %v", n, err)
			}
		}
	})

	t.Run("own change", func(t *testing.T) {
		before := dial(t, village).login("dongcun", "mine-from-now-on")
		nextSecond()
		changePassword("mine-from-now-on", "changed-again-1")
		for _, n := range []string{"dongcun-1", "county-1"} {
			if err := whoami(n, before.token); status.Code(err) != codes.Unauthenticated {
				t.Errorf("at %s a token issued before the staff member changed their password still works: WhoAmI err = %v, want Unauthenticated", n, err)
			}
		}
	})
}
