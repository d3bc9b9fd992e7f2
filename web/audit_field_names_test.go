package web

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// policyChanges is a registry whose audit trail holds the county's
// policy writes, each field as registry/audit.go records it (the proto
// field's name).
type policyChanges struct{ *fakeRegistry }

func (policyChanges) ListRegistryChanges(context.Context, *yizhanv1.ListRegistryChangesRequest) (*yizhanv1.ListRegistryChangesResponse, error) {
	at := timestamppb.New(time.Date(2026, 12, 1, 9, 30, 0, 0, china))
	return &yizhanv1.ListRegistryChangesResponse{Changes: []*yizhanv1.RegistryChange{
		{Index: 50, At: at, Actor: "admin", Kind: "case_policy", Op: "put", Changes: []*yizhanv1.FieldChange{
			{Field: "correction_wait_days", Before: "30", After: "15"},
			{Field: "reconsideration_body", After: "青山县人民政府"},
			{Field: "court", After: "青山县人民法院"},
			{Field: "comprehensive_window_accepts", After: "true"}}},
		{Index: 49, At: at, Actor: "admin", Kind: "supervision_policy", Op: "put", Changes: []*yizhanv1.FieldChange{
			{Field: "warning_days", Before: "2", After: "3"}}},
		{Index: 48, At: at, Actor: "admin", Kind: "duty_policy", Op: "put", Changes: []*yizhanv1.FieldChange{
			{Field: "first_report_minutes", Before: "60", After: "30"}, {Field: "zero_report_hour", After: "16"}}},
	}}, nil
}

// The county admin reads 操作记录 to see who changed the 办件规则 (the
// 补正期限), the 监察 warning days or the 值班 first-report limit. Each
// field is named in the words of the page where it is set (补正期限,
// 行政复议机关, 预警天数, 首报时限 …), as the other records' fields are:
// today these show by their API names (correction_wait_days：30 → 15).
func TestAuditTrailNamesThePolicyFieldsInChinese(t *testing.T) {
	f := newFixture(t, func(cfg *Config) { cfg.Registry = policyChanges{cfg.Registry.(*fakeRegistry)} })
	resp, page := f.do(t, "GET", "/admin/changes", nil, session(adminToken))
	if resp.StatusCode != 200 || !strings.Contains(page, "办件规则") {
		t.Fatalf("%s (the test's setup is wrong):\n%s", resp.Status, page)
	}
	for _, api := range []string{"correction_wait_days", "reconsideration_body", "court", "comprehensive_window_accepts",
		"warning_days", "first_report_minutes", "zero_report_hour"} {
		if strings.Contains(page, api+"：") {
			t.Errorf("操作记录 names a field by its API name %q", api)
		}
	}
}

// Every field of what the registry keeps (the policies, staff, offices,
// departments, items, grants, nodes, the calendar, and what they hold)
// has a name in the audit trail's words, but the stamps the registry
// sets itself: a field added to the API and not named here would show by
// its API name.
func TestEveryRegistryFieldHasANameInTheAuditTrail(t *testing.T) {
	seen := map[protoreflect.FullName]bool{}
	var walk func(md protoreflect.MessageDescriptor)
	walk = func(md protoreflect.MessageDescriptor) {
		if seen[md.FullName()] || md.ParentFile().Package() != "yizhan.v1" {
			return
		}
		seen[md.FullName()] = true
		for i := range md.Fields().Len() {
			f := md.Fields().Get(i)
			if changeFieldNames[string(f.Name())] == "" && !slices.Contains(changeFieldsUnnamed, string(f.Name())) {
				t.Errorf("%s.%s has no name in the audit trail (changeFieldNames)", md.Name(), f.Name())
			}
			if f.Message() != nil {
				walk(f.Message())
			}
		}
	}
	for _, m := range []proto.Message{&yizhanv1.CasePolicy{}, &yizhanv1.SupervisionPolicy{}, &yizhanv1.DutyPolicy{}, &yizhanv1.StaffMember{},
		&yizhanv1.Office{}, &yizhanv1.Department{}, &yizhanv1.Item{}, &yizhanv1.Grant{}, &yizhanv1.NodeEntry{}, &yizhanv1.Calendar{}} {
		walk(m.ProtoReflect().Descriptor())
	}
}
