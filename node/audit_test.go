package node_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The county keeps every registry write in its audit trail (操作记录):
// who, when, what, which fields; the staff management of a county admin
// reads as it happened, at every county node, once each, after a
// restart too; no password hash is in it; only the county's admins and
// supervisors read it, at the county; bad filters name their field.
func TestRegistryAuditTrail(t *testing.T) {
	f := newCaseFed(t, 3)
	ctx, reg := f.admin.ctx(), f.admin.reg
	clerk := &yizhanv1.StaffMember{Name: "陈静", DepartmentCode: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_REVIEWER}}
	disabled := &yizhanv1.StaffMember{Name: clerk.Name, DepartmentCode: "yc", Roles: clerk.Roles, Disabled: true}
	if _, err := reg.UpdateStaff(ctx, &yizhanv1.UpdateStaffRequest{Username: "clerk", Staff: disabled}); err != nil {
		t.Fatal(err)
	}
	if _, err := reg.UpdateStaff(ctx, &yizhanv1.UpdateStaffRequest{Username: "clerk", Staff: clerk, NewPassword: "reset-by-admin"}); err != nil {
		t.Fatal(err)
	}
	last, err := reg.UpdateItem(ctx, &yizhanv1.UpdateItemRequest{Item: &yizhanv1.Item{Code: tobacco().Code, Retired: true, ChangeNote: "依据县政府第 12 号文废止"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"retired"}}})
	if err != nil {
		t.Fatal(err)
	}

	list := func(c *client, req *yizhanv1.ListRegistryChangesRequest) []*yizhanv1.RegistryChange {
		t.Helper()
		resp, err := c.reg.ListRegistryChanges(c.ctx(), req)
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetChanges()
	}
	// The clerk's account, newest first.
	staff := list(f.admin, &yizhanv1.ListRegistryChangesRequest{Kind: "staff", Target: "clerk"})
	var ops []string
	for _, c := range staff {
		ops = append(ops, c.GetOp())
		if c.GetActor() != "admin" || c.GetAt() == nil || c.GetTargetName() != "陈静" {
			t.Errorf("a change of the clerk's account: %v", c)
		}
		if text := prototext.Format(c); strings.Contains(text, "$") || strings.Contains(text, "reset-by-admin") {
			t.Errorf("the audit trail holds a password or its hash: %s", text)
		}
	}
	if strings.Join(ops, ",") != "reset_password,disable,create" {
		t.Errorf("the clerk's account: %v, want reset_password, disable, create", ops)
	}
	if len(staff) == 3 {
		if !hasChange(staff[0], "password", "", "重置") || !hasChange(staff[0], "disabled", "true", "") {
			t.Errorf("the reset (which enabled the account again): %v", staff[0].GetChanges())
		}
		if !hasChange(staff[1], "disabled", "", "true") || len(staff[1].GetChanges()) != 1 {
			t.Errorf("the disabling: %v", staff[1].GetChanges())
		}
		if !hasChange(staff[2], "roles", "", "ROLE_CLERK、ROLE_REVIEWER") || !hasChange(staff[2], "office_code", "", county) {
			t.Errorf("the creation: %v", staff[2].GetChanges())
		}
	}
	items := list(f.admin, &yizhanv1.ListRegistryChangesRequest{Kind: "item", Target: tobacco().Code})
	if len(items) != 2 || items[0].GetOp() != "retire" || items[0].GetNote() != "依据县政府第 12 号文废止" || !hasChange(items[0], "retired", "", "true") ||
		items[0].GetIndex() != last.GetRegistryIndex() || items[1].GetOp() != "create" {
		t.Errorf("the item's writes: %v", items)
	}

	// Page by page, the whole trail: every write once, newest first.
	all := func(c *client) []uint64 {
		var (
			out   []uint64
			token string
		)
		for range 100 {
			resp, err := c.reg.ListRegistryChanges(c.ctx(), &yizhanv1.ListRegistryChangesRequest{PageSize: 4, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range resp.GetChanges() {
				out = append(out, ch.GetIndex())
			}
			if token = resp.GetNextPageToken(); token == "" {
				return out
			}
		}
		t.Fatal("the pages do not end")
		return nil
	}
	leader := all(f.admin)
	if len(leader) < 15 || leader[0] != last.GetRegistryIndex() {
		t.Fatalf("the whole trail: %v (the last write at %d)", leader, last.GetRegistryIndex())
	}
	for i := 1; i < len(leader); i++ {
		if leader[i] >= leader[i-1] {
			t.Fatalf("not newest first, or twice: %v", leader)
		}
	}

	// Every county node holds the same trail, and a restart, which
	// applies the log again, does not write it twice.
	var follower string
	for _, name := range f.countyNames() {
		if n := f.nodes[name]; !n.Office().Group().IsLeader() {
			follower = name
		}
	}
	f.stop(follower)
	f.restart(follower)
	n := f.nodes[follower]
	// Ready (caught up with what its office had committed when it
	// started: it signs no one in before, CATCHING_UP) and holding the
	// trail.
	waitFor(t, follower+" applied the trail", func() bool {
		ready, _ := n.Office().CaughtUp()
		return ready && n.Office().Cases().Applied() >= last.GetRegistryIndex()
	}, 20*time.Second)
	at := dial(t, n)
	at.token = f.admin.token
	// The restarted node registers its addresses again (a "node put" in
	// the trail): the trail at both ends grows by that write, once.
	var got, now []uint64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got, now = all(at), all(f.admin)
		if equalIndexes(got, now) || time.Now().After(deadline) {
			break
		}
	}
	if !equalIndexes(got, now) || len(now) < len(leader) || !equalIndexes(now[len(now)-len(leader):], leader) {
		t.Errorf("the trail at %s after a restart: %v, at the leader %v (before the restart %v)", follower, got, now, leader)
	}

	// Only the county's admins and supervisors, only at the county.
	approver := dial(t, f.countyLeader()).login("approver", password)
	if _, err := approver.reg.ListRegistryChanges(approver.ctx(), &yizhanv1.ListRegistryChangesRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("an approver reads the trail: %v", err)
	}
	atTownship := dial(t, f.nodes["chengguan-1"])
	atTownship.token = f.admin.token
	if _, err := atTownship.reg.ListRegistryChanges(atTownship.ctx(), &yizhanv1.ListRegistryChangesRequest{}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("the trail at a township: %v", err)
	}
	for _, tt := range []struct {
		req   *yizhanv1.ListRegistryChangesRequest
		field string
	}{
		{&yizhanv1.ListRegistryChangesRequest{Kind: "password"}, "kind"},
		{&yizhanv1.ListRegistryChangesRequest{Target: "clerk"}, "kind"},
		{&yizhanv1.ListRegistryChangesRequest{PageSize: -1}, "page_size"},
		{&yizhanv1.ListRegistryChangesRequest{PageToken: "abc"}, "page_token"},
		{&yizhanv1.ListRegistryChangesRequest{Actor: "a\x00b"}, "actor"},
	} {
		if _, err := reg.ListRegistryChanges(ctx, tt.req); status.Code(err) != codes.InvalidArgument {
			t.Errorf("%v: %v", tt.req, err)
		} else if _, field := fieldOf(err); field != tt.field {
			t.Errorf("%v names %q, want %s", tt.req, field, tt.field)
		}
	}
}

func hasChange(c *yizhanv1.RegistryChange, field, before, after string) bool {
	for _, fc := range c.GetChanges() {
		if fc.GetField() == field {
			return fc.GetBefore() == before && fc.GetAfter() == after
		}
	}
	return false
}

func equalIndexes(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
