package registry

import (
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// audited applies cmd as the office's state machine does and returns the
// audit trail's record of it.
func audited(t *testing.T, r *Registry, cmd *peerv1.RegistryCommand) *yizhanv1.RegistryChange {
	t.Helper()
	before := r.Before(cmd)
	after := mustApply(t, r, cmd)
	return Describe(r.Index(), cmd, before, after)
}

// changesOf is a record's field changes as "field: before → after" lines.
func changesOf(c *yizhanv1.RegistryChange) string {
	var lines []string
	for _, fc := range c.GetChanges() {
		lines = append(lines, fc.GetField()+": "+fc.GetBefore()+" → "+fc.GetAfter())
	}
	return strings.Join(lines, "\n")
}

// The audit trail says who did what to which entry, and which fields
// changed, in words a county admin reads; never a password hash or a key.
func TestDescribe(t *testing.T) {
	r := newCounty(t)
	for _, tt := range []struct {
		name                    string
		cmd                     *peerv1.RegistryCommand
		kind, op, target, actor string
		changes                 string
	}{
		{"a new account", createStaff(validStaff("lina", county), cred("lina")),
			"staff", "create", "lina", "admin", "username:  → lina\nname:  → 张三\noffice_code:  → 450122000000\nroles:  → ROLE_CLERK"},
		{"disabled", updateStaffCmd(&yizhanv1.StaffMember{Username: "lina", Name: "张三", OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}, Disabled: true}, nil, false),
			"staff", "disable", "lina", "admin", "disabled:  → true"},
		{"enabled with new roles and a reset password", updateStaffCmd(&yizhanv1.StaffMember{Username: "lina", Name: "张三", OfficeCode: county,
			Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_APPROVER}}, cred("lina"), false),
			"staff", "reset_password", "lina", "admin", "roles: ROLE_CLERK → ROLE_CLERK、ROLE_APPROVER\ndisabled: true → \npassword:  → 重置"},
		{"the staff member's own password", updateStaffCmd(&yizhanv1.StaffMember{Username: "lina", OfficeCode: county}, cred("lina"), true),
			"staff", "change_password", "lina", "admin", ""},
		{"an office renamed", updateOfficeCmd(&yizhanv1.Office{Code: village, Name: "东村便民服务站（新址）", Phone: "0771-1"}),
			"office", "update", village, "admin", "name: 东村便民服务站 → 东村便民服务站（新址）\nphone:  → 0771-1"},
		{"a query-code key", &peerv1.RegistryCommand{Actor: "node:county-1", Op: &peerv1.RegistryCommand_PutQueryCodeKey{
			PutQueryCodeKey: &peerv1.PutQueryCodeKey{Key: &peerv1.QueryCodeKey{Id: 1, Key: []byte("0123456789abcdef0123456789abcdef")}}}},
			"query_code_key", "put", "1", "node:county-1", ""},
	} {
		c := audited(t, r, tt.cmd)
		if c.GetKind() != tt.kind || c.GetOp() != tt.op || c.GetTarget() != tt.target || c.GetActor() != tt.actor || c.GetIndex() != r.Index() {
			t.Errorf("%s: %s/%s/%s by %s at %d, want %s/%s/%s by %s at %d", tt.name, c.GetKind(), c.GetOp(), c.GetTarget(), c.GetActor(), c.GetIndex(),
				tt.kind, tt.op, tt.target, tt.actor, r.Index())
		}
		if got := changesOf(c); got != tt.changes {
			t.Errorf("%s: changes\n%s\nwant\n%s", tt.name, got, tt.changes)
		}
		if text := prototext.Format(c); strings.Contains(text, testHash) || strings.Contains(text, "0123456789abcdef") {
			t.Errorf("%s: a secret in the audit trail: %s", tt.name, text)
		}
	}

	// An item's new version: the fields changed, the note; a retirement.
	mustApply(t, r, createItem(validItem("ITEM-1")))
	it := validItem("ITEM-1")
	it.PromisedLimitDays, it.ChangeNote = 5, "压缩承诺时限"
	it.Materials = append(it.Materials, &yizhanv1.Material{Name: "营业执照", Required: true})
	c := audited(t, r, updateItem(it, 1))
	if c.GetOp() != "update" || c.GetNote() != "压缩承诺时限" || c.GetTargetName() != it.GetName() || c.GetActor() != "editor" ||
		changesOf(c) != "materials: "+itemMaterials(t, r, 1)+" → "+itemMaterials(t, r, 2)+"\npromised_limit_days: 10 → 5" {
		t.Errorf("an item edit: %v\n%s", c, changesOf(c))
	}
	retired := proto.CloneOf(it)
	retired.Retired, retired.ChangeNote = true, "依文件废止"
	if c := audited(t, r, updateItem(retired, 2)); c.GetOp() != "retire" || changesOf(c) != "retired:  → true" || c.GetNote() != "依文件废止" {
		t.Errorf("a retirement: %v", c)
	}

	// A grant made and revoked.
	g := audited(t, r, createGrant(&yizhanv1.Grant{ItemCode: "ITEM-1", OfficeCode: township, Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_ACCEPT}}))
	if g.GetKind() != "grant" || g.GetOp() != "create" || g.GetTargetName() != "ITEM-1" || !strings.Contains(changesOf(g), "rights:  → RIGHT_ACCEPT") {
		t.Errorf("a grant: %v\n%s", g, changesOf(g))
	}
	if c := audited(t, r, revokeGrant(g.GetTarget())); c.GetOp() != "revoke" || c.GetTarget() != g.GetTarget() || changesOf(c) != "revoked:  → true" {
		t.Errorf("a revocation: %v\n%s", c, changesOf(c))
	}
}

func itemMaterials(t *testing.T, r *Registry, version uint32) string {
	t.Helper()
	it, err := r.Item("ITEM-1", version)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%d 项", len(it.GetMaterials()))
}

func updateStaffCmd(m *yizhanv1.StaffMember, c *peerv1.StaffCredential, passwordOnly bool) *peerv1.RegistryCommand {
	cmd := command("admin")
	cmd.Op = &peerv1.RegistryCommand_UpdateStaff{UpdateStaff: &peerv1.UpdateStaff{Staff: m, Credential: c, PasswordOnly: passwordOnly}}
	return cmd
}

func updateOfficeCmd(o *yizhanv1.Office) *peerv1.RegistryCommand {
	cmd := command("admin")
	cmd.Op = &peerv1.RegistryCommand_UpdateOffice{UpdateOffice: &peerv1.UpdateOffice{Office: o}}
	return cmd
}
