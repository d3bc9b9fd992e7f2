package node_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The supervision records (here a complaint's follow-up) of an office are
// read by its own staff; those of the offices below only by admins and
// supervisors (docs/SUPERVISION.md: "GET /v1/followups (staff: their
// office's; admins and supervisors: those below theirs too)";
// supervisionService.scope). A township clerk, who is neither, is refused
// the village's follow-ups when naming the village, and does not get them
// in the township's own list either (the list took in the offices below:
// a citizen's complaint text read by any township account); the county's
// admin gets them in the township's list.
func TestATownshipClerkReadsOnlyTheTownshipsFollowUps(t *testing.T) {
	f := newCaseFed(t, 1)
	ctx := f.admin.ctx()
	if _, err := f.admin.reg.CreateStaff(ctx, &yizhanv1.CreateStaffRequest{Staff: &yizhanv1.StaffMember{Username: "cg-clerk", Name: "蓝镇员",
		OfficeCode: township, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}, Password: password}); err != nil {
		t.Fatal(err)
	}
	reg := f.nodes["county-1"].Registry()
	idx := reg.Index()
	waitFor(t, "chengguan has the new account", func() bool { return f.nodes["chengguan-1"].Registry().Index() >= idx }, 20*time.Second)

	// A case filed at the village, and the citizen's complaint about it:
	// a follow-up for the village (the office whose staff took the last step).
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	filed := fileTobacco(t, agent, "韦丽")
	citizen := dial(t, f.nodes["dongcun-1"])
	var lastErr error
	waitFor(t, "the complaint taken", func() bool {
		_, lastErr = caseClient(t, citizen).Complain(citizen.ctx(), &yizhanv1.CaseActionRequest{Number: filed.GetNumber(),
			QueryCode: filed.GetQueryCode(), Reason: "代办员态度生硬", RequestId: "audit-complaint-1"})
		return lastErr == nil
	}, 15*time.Second)
	adminSup := yizhanv1.NewSupervisionServiceClient(f.admin.conn)
	var village *yizhanv1.FollowUp
	waitFor(t, "the follow-up at the county", func() bool {
		r, err := adminSup.ListFollowUps(ctx, &yizhanv1.ListFollowUpsRequest{CaseNumber: filed.GetNumber()})
		if err != nil || len(r.GetFollowUps()) != 1 {
			return false
		}
		village = r.GetFollowUps()[0]
		return true
	}, 15*time.Second)
	if village.GetOfficeCode() != dongcun {
		t.Fatalf("the follow-up went to %s, not to the village whose agent filed the case", village.GetOfficeCode())
	}

	clerk := dial(t, f.nodes["chengguan-1"]).login("cg-clerk", password)
	sup := yizhanv1.NewSupervisionServiceClient(clerk.conn)
	// Naming the office below: refused, as documented.
	if _, err := sup.ListFollowUps(clerk.ctx(), &yizhanv1.ListFollowUpsRequest{OfficeCode: village.GetOfficeCode()}); status.Code(err) != codes.PermissionDenied {
		t.Fatalf("a township clerk naming village %s: %v, want PermissionDenied", village.GetOfficeCode(), err)
	}
	// Their own office's list: must hold the township's records only.
	r, err := sup.ListFollowUps(clerk.ctx(), &yizhanv1.ListFollowUpsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, fu := range r.GetFollowUps() {
		if fu.GetOfficeCode() != township {
			t.Errorf("a township clerk (no admin, no supervisor role) reads follow-up %s of office %s (case %s, complaint %q) through the township's own list",
				fu.GetId(), fu.GetOfficeCode(), fu.GetCaseNumber(), fu.GetText())
		}
	}
	// The county's admin, an overseer, reads the township's list with
	// the village's record in it.
	r, err = adminSup.ListFollowUps(ctx, &yizhanv1.ListFollowUpsRequest{OfficeCode: township})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.GetFollowUps()) != 1 || r.GetFollowUps()[0].GetId() != village.GetId() {
		t.Errorf("the admin's list of the township: %v, want the village's follow-up %s", r.GetFollowUps(), village.GetId())
	}
}
