package web

import (
	"context"
	"net/url"
	"strings"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// refusingStaff is a registry that refuses every staff change: a name
// left empty.
type refusingStaff struct{ *fakeRegistry }

func (refusingStaff) ListStaff(context.Context, *yizhanv1.ListStaffRequest) (*yizhanv1.ListStaffResponse, error) {
	return &yizhanv1.ListStaffResponse{Staff: []*yizhanv1.StaffMember{{Username: "chenjing", Name: "陈静", OfficeCode: county, DepartmentCode: "yc",
		Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}}}, nil
}

func (refusingStaff) UpdateStaff(context.Context, *yizhanv1.UpdateStaffRequest) (*yizhanv1.StaffWriteResponse, error) {
	return nil, badRequest(reason.Violation{Field: "staff.name", Description: "is required", Reason: registry.ReasonRequired})
}

// An admin clears a staff member's name and saves: the registry refuses
// it, and the form comes back as it was sent, the name empty and named as
// the problem, not showing the old name again as if it had been kept.
func TestARefusedStaffEditComesBackAsTyped(t *testing.T) {
	f := newFixture(t, func(cfg *Config) { cfg.Registry = refusingStaff{cfg.Registry.(*fakeRegistry)} })
	_, page := f.do(t, "GET", "/admin/items", nil, session(adminToken))
	form := url.Values{"csrf": {csrfOf(t, page)}, "name": {""}, "department_code": {"yc"},
		"roles": {"1"}}
	resp, body := f.do(t, "POST", "/admin/staff/chenjing", form, session(adminToken))
	if resp.StatusCode != 400 {
		t.Fatalf("a refused staff edit: %s\n%s", resp.Status, body)
	}
	i := strings.Index(body, `id="f-name"`)
	if i < 0 {
		t.Fatalf("no name input on the refused form:\n%s", body)
	}
	input := body[strings.LastIndex(body[:i], "<input"):]
	input = input[:strings.Index(input, ">")+1]
	if !strings.Contains(input, `value=""`) {
		t.Errorf("the name input after the refusal: %s (want it as typed: empty)", input)
	}
}
