package registry

import (
	"slices"
	"strings"
	"testing"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

func TestCreateStaff(t *testing.T) {
	r := newCounty(t)
	m := validStaff("wang.li", village)
	m.DepartmentCode = "scjg"
	m.Roles = []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT, yizhanv1.Role_ROLE_CLERK}
	out := mustApply(t, r, createStaff(m, cred("wang.li")))
	got := out.(*yizhanv1.StaffMember)
	if got.GetRegistryIndex() != r.Index() || !got.GetCreatedAt().AsTime().Equal(t0) || got.GetOfficeCode() != village {
		t.Errorf("staff = %v", got)
	}
	if h, ok := r.Credential("wang.li"); !ok || h != testHash+"-wang.li" {
		t.Errorf("Credential = %q, %v", h, ok)
	}
	if _, ok := r.Credential("nobody"); ok {
		t.Errorf("Credential(nobody) found")
	}
	mustApply(t, r, createStaff(validStaff("admin", county), cred("admin")))
	mustApply(t, r, createStaff(validStaff("agent-2", village), cred("agent-2")))

	names := func(ms []*yizhanv1.StaffMember) []string {
		var out []string
		for _, m := range ms {
			out = append(out, m.GetUsername())
		}
		return out
	}
	if got, want := names(r.StaffList(village)), []string{"agent-2", "wang.li"}; !slices.Equal(got, want) {
		t.Errorf("StaffList(village) = %v, want %v", got, want)
	}
	if got, want := names(r.StaffList("")), []string{"admin", "agent-2", "wang.li"}; !slices.Equal(got, want) {
		t.Errorf("StaffList(\"\") = %v, want %v", got, want)
	}
	if s, err := r.Staff("admin"); err != nil || s.GetOfficeCode() != county {
		t.Errorf("Staff(admin) = %v, %v", s, err)
	}
}

func TestCreateStaffRejected(t *testing.T) {
	with := func(f func(m *yizhanv1.StaffMember)) *yizhanv1.StaffMember {
		m := validStaff("li.si", township)
		f(m)
		return m
	}
	tests := []struct {
		name     string
		staff    *yizhanv1.StaffMember
		cred     *peerv1.StaffCredential
		field    string
		sentinel error
	}{
		{name: "no staff", staff: nil, cred: cred("li.si"), field: "staff"},
		{name: "username missing", staff: with(func(m *yizhanv1.StaffMember) { m.Username = "" }), cred: cred(""), field: "staff.username"},
		{name: "username too short", staff: with(func(m *yizhanv1.StaffMember) { m.Username = "li" }), cred: cred("li"), field: "staff.username"},
		{name: "username too long", staff: with(func(m *yizhanv1.StaffMember) { m.Username = strings.Repeat("a", 33) }), cred: cred(strings.Repeat("a", 33)), field: "staff.username"},
		{name: "username upper case", staff: with(func(m *yizhanv1.StaffMember) { m.Username = "LiSi" }), cred: cred("LiSi"), field: "staff.username"},
		{name: "username starts with a dot", staff: with(func(m *yizhanv1.StaffMember) { m.Username = ".lisi" }), cred: cred(".lisi"), field: "staff.username"},
		{name: "username with space", staff: with(func(m *yizhanv1.StaffMember) { m.Username = "li si" }), cred: cred("li si"), field: "staff.username"},
		{name: "username taken", staff: with(func(m *yizhanv1.StaffMember) { m.Username = "taken" }), cred: cred("taken"), sentinel: ErrAlreadyExists},
		{name: "name missing", staff: with(func(m *yizhanv1.StaffMember) { m.Name = "" }), cred: cred("li.si"), field: "staff.name"},
		{name: "office missing", staff: with(func(m *yizhanv1.StaffMember) { m.OfficeCode = "" }), cred: cred("li.si"), field: "staff.office_code"},
		{name: "office unknown", staff: with(func(m *yizhanv1.StaffMember) { m.OfficeCode = "450122109000" }), cred: cred("li.si"), field: "staff.office_code"},
		{name: "department unknown", staff: with(func(m *yizhanv1.StaffMember) { m.DepartmentCode = "gaj" }), cred: cred("li.si"), field: "staff.department_code"},
		{name: "no roles", staff: with(func(m *yizhanv1.StaffMember) { m.Roles = nil }), cred: cred("li.si"), field: "staff.roles"},
		{name: "role unspecified", staff: with(func(m *yizhanv1.StaffMember) { m.Roles = []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK, 0} }), cred: cred("li.si"), field: "staff.roles[1]"},
		{name: "role unknown", staff: with(func(m *yizhanv1.StaffMember) { m.Roles = []yizhanv1.Role{77} }), cred: cred("li.si"), field: "staff.roles[0]"},
		{name: "role repeated", staff: with(func(m *yizhanv1.StaffMember) {
			m.Roles = []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_CLERK}
		}), cred: cred("li.si"), field: "staff.roles[1]"},
		{name: "no credential", staff: validStaff("li.si", township), cred: nil, field: "credential"},
		{name: "empty hash", staff: validStaff("li.si", township), cred: &peerv1.StaffCredential{Username: "li.si"}, field: "credential.password_hash"},
		{name: "credential of someone else", staff: validStaff("li.si", township), cred: cred("taken"), field: "credential.username"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCounty(t)
			mustApply(t, r, createStaff(validStaff("taken", county), cred("taken")))
			wantError(t, rejected(t, r, createStaff(tt.staff, tt.cred)), tt.field, tt.sentinel)
		})
	}
}

func TestReplayStaffWithRedactedCredential(t *testing.T) {
	tests := []struct {
		name string
		cred *peerv1.StaffCredential
		ok   bool
	}{
		{name: "redacted hash", cred: &peerv1.StaffCredential{Username: "li.si"}},
		{name: "no credential", cred: nil},
		{name: "full hash", cred: cred("li.si"), ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newCounty(t)
			cmd := createStaff(validStaff("li.si", township), tt.cred)
			if err := r.Check(cmd); (err == nil) != tt.ok {
				t.Errorf("Check = %v: Apply must insist on a hash", err)
			}
			e := &peerv1.ChangelogEntry{Index: r.Index() + 1, PrevIndex: r.Index(), Command: cmd}
			if err := r.Replay(e); err != nil {
				t.Fatalf("Replay: %v", err)
			}
			if _, err := r.Staff("li.si"); err != nil {
				t.Errorf("Staff: %v", err)
			}
			if _, ok := r.Credential("li.si"); ok != tt.ok {
				t.Errorf("Credential ok = %v, want %v", ok, tt.ok)
			}
		})
	}
}

func TestReplayStaffStillValidated(t *testing.T) {
	r := newCounty(t)
	// A redacted credential is fine in Replay, a mismatching username is not.
	cmd := createStaff(validStaff("li.si", township), &peerv1.StaffCredential{Username: "zhang"})
	before := r.Snapshot()
	err := r.Replay(&peerv1.ChangelogEntry{Index: r.Index() + 1, PrevIndex: r.Index(), Command: cmd})
	wantViolation(t, err, "credential.username")
	if r.Index() != before.GetIndex() {
		t.Errorf("a rejected replay moved the index")
	}
}

func updateStaff(m *yizhanv1.StaffMember, c *peerv1.StaffCredential) *peerv1.RegistryCommand {
	cmd := command("admin")
	cmd.Op = &peerv1.RegistryCommand_UpdateStaff{UpdateStaff: &peerv1.UpdateStaff{Staff: m, Credential: c}}
	return cmd
}

// A staff member changed: name, department, roles, disabled and
// must_change_password as given, the password when a hash comes, the
// office never; bad changes name their field; the feed sends the new
// hash only where the staff member may sign in.
func TestUpdateStaff(t *testing.T) {
	r := newCounty(t)
	mustApply(t, r, createStaff(validStaff("wang.li", village), cred("wang.li")))
	m := validStaff("wang.li", village)
	m.Name, m.DepartmentCode, m.Disabled, m.MustChangePassword = "王丽", "scjg", true, true
	m.Roles = []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT, yizhanv1.Role_ROLE_WINDOW}
	reset := &peerv1.StaffCredential{Username: "wang.li", PasswordHash: testHash + "-reset"}
	got := mustApply(t, r, updateStaff(m, reset)).(*yizhanv1.StaffMember)
	if got.GetName() != "王丽" || got.GetDepartmentCode() != "scjg" || !got.GetDisabled() || !got.GetMustChangePassword() ||
		len(got.GetRoles()) != 2 || got.GetOfficeCode() != village || !got.GetCreatedAt().AsTime().Equal(t0) || got.GetRegistryIndex() != r.Index() {
		t.Errorf("updated: %v", got)
	}
	if h, _ := r.Credential("wang.li"); h != testHash+"-reset" {
		t.Errorf("credential %q after the reset", h)
	}
	m.MustChangePassword = false
	mustApply(t, r, updateStaff(m, nil))
	if h, _ := r.Credential("wang.li"); h != testHash+"-reset" {
		t.Errorf("a change without a credential replaced it: %q", h)
	}

	with := func(f func(m *yizhanv1.StaffMember)) *yizhanv1.StaffMember {
		m := validStaff("wang.li", village)
		f(m)
		return m
	}
	for _, tt := range []struct {
		name     string
		staff    *yizhanv1.StaffMember
		cred     *peerv1.StaffCredential
		field    string
		sentinel error
	}{
		{name: "unknown", staff: validStaff("nobody", village), sentinel: ErrNotFound},
		{name: "another office", staff: with(func(m *yizhanv1.StaffMember) { m.OfficeCode = county }), field: "staff.office_code"},
		{name: "no name", staff: with(func(m *yizhanv1.StaffMember) { m.Name = " " }), field: "staff.name"},
		{name: "no roles", staff: with(func(m *yizhanv1.StaffMember) { m.Roles = nil }), field: "staff.roles"},
		{name: "unknown department", staff: with(func(m *yizhanv1.StaffMember) { m.DepartmentCode = "gaj" }), field: "staff.department_code"},
		{name: "someone else's credential", staff: validStaff("wang.li", village), cred: cred("taken"), field: "credential.username"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, rejected(t, r, updateStaff(tt.staff, tt.cred)), tt.field, tt.sentinel)
		})
	}

	// The feed: the village's own staff member's hash goes to the village,
	// not to another township's.
	e := &peerv1.ChangelogEntry{Index: 9, PrevIndex: 8, Command: updateStaff(validStaff("wang.li", village), reset)}
	if got := RedactEntry(e, village).GetCommand().GetUpdateStaff().GetCredential().GetPasswordHash(); got == "" {
		t.Error("the village lost its own staff member's new hash")
	}
	if got := RedactEntry(e, "450122102000").GetCommand().GetUpdateStaff().GetCredential().GetPasswordHash(); got != "" {
		t.Error("another township got the hash")
	}
}
