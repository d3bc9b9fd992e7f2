package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// refusingGroups is a registry that refuses the staff forms' roles and
// the grant form's rights, as the API does when none is chosen.
type refusingGroups struct{ refusingStaff }

func (refusingGroups) CreateStaff(context.Context, *yizhanv1.CreateStaffRequest) (*yizhanv1.StaffWriteResponse, error) {
	return nil, badRequest(reason.Violation{Field: "staff.roles", Description: "at least one role is required", Reason: reason.Required})
}

func (refusingGroups) UpdateStaff(context.Context, *yizhanv1.UpdateStaffRequest) (*yizhanv1.StaffWriteResponse, error) {
	return nil, badRequest(reason.Violation{Field: "staff.roles", Description: "at least one role is required", Reason: reason.Required})
}

func (refusingGroups) CreateGrant(context.Context, *yizhanv1.CreateGrantRequest) (*yizhanv1.GrantWriteResponse, error) {
	return nil, badRequest(reason.Violation{Field: "grant.rights", Description: "at least one right is required", Reason: reason.Required})
}

// A form refused for its checkbox group (人员管理's roles, the grant's
// rights) links from the error summary to the group: the link reaches
// the fieldset that holds the boxes.
func TestTheErrorSummaryReachesCheckboxGroups(t *testing.T) {
	for _, tc := range []struct {
		name, path, group string
		form              url.Values
	}{
		{name: "new staff member", path: "/admin/staff", group: "roles",
			form: url.Values{"username": {"huangli"}, "name": {"黄丽"}, "office_code": {county}, "password": {"long-enough-password"}}},
		{name: "staff edit", path: "/admin/staff/chenjing", group: "roles", form: url.Values{"name": {"陈静"}}},
		{name: "grant", path: "/admin/grants", group: "rights", form: url.Values{"item_code": {"450122-YC-001"}, "target": {"tier:3"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(cfg *Config) { cfg.Registry = refusingGroups{refusingStaff{cfg.Registry.(*fakeRegistry)}} })
			_, page := f.do(t, "GET", "/admin/items", nil, session(adminToken))
			tc.form.Set("csrf", csrfOf(t, page))
			resp, page := f.do(t, "POST", tc.path, tc.form, session(adminToken))
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("refused for its %s: %s\n%s", tc.group, resp.Status, page)
			}
			if !strings.Contains(errsumLinkRE.FindString(page), `href="#f-`+tc.group+`"`) {
				t.Fatalf("the error summary does not link to the %s:\n%s", tc.group, errsumLinkRE.FindString(page))
			}
			if b := brokenSummaryLinks(page); len(b) > 0 {
				t.Errorf("error summary links reach no element: %v", b)
			}
			i := strings.Index(page, `id="f-`+tc.group+`"`)
			if i < 0 {
				return
			}
			open := page[strings.LastIndex(page[:i], "<"):]
			group := open[:strings.Index(open, "</fieldset>")+1]
			if !strings.HasPrefix(open, "<fieldset") || !strings.Contains(group, `type="checkbox" name="`+tc.group+`"`) {
				t.Errorf("#f-%s is not the fieldset of the boxes:\n%.600s", tc.group, open)
			}
		})
	}
}
