package node_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// An enum field left unset is REQUIRED (a choice to make); one given a
// value its enum does not declare (99: a client of a later release, or a
// mistyped number) is OUT_OF_RANGE, as docs/ERRORS.md says and the
// registry's and the cases' enums answer: a report's kind, category and
// level and a log entry's kind answered 99 as REQUIRED (必填, of a field
// the client had filled), and a consultation's channel answered unset as
// OUT_OF_RANGE.
func TestAnEnumUnsetIsRequiredAndUndeclaredOutOfRange(t *testing.T) {
	_, admin, officer := countyDuty(t, true)
	roster := yizhanv1.NewDutyRosterServiceClient(officer.conn)
	duty := yizhanv1.NewDutyServiceClient(officer.conn)
	report := func(change func(*yizhanv1.UrgentReport)) func() error {
		return func() error {
			r := firstReport(time.Now().Add(-30 * time.Minute))
			change(r)
			_, err := duty.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: r})
			return err
		}
	}
	logEntry := func(kind yizhanv1.LogKind) func() error {
		return func() error {
			_, err := roster.WriteLogEntry(officer.ctx(), &yizhanv1.WriteLogEntryRequest{Entry: &yizhanv1.DutyLogEntry{Kind: kind, Unit: "镇政府办", Matter: "通知明早开会"}})
			return err
		}
	}
	sup := yizhanv1.NewSupervisionServiceClient(admin.conn)
	consultation := func(channel yizhanv1.ConsultationChannel) func() error {
		return func() error {
			_, err := sup.RecordConsultation(admin.ctx(), &yizhanv1.RecordConsultationRequest{Channel: channel, Question: "社保哪天办?", Answer: "每周二。"})
			return err
		}
	}
	for _, tc := range []struct {
		name, field, why string
		call             func() error
	}{
		{"a report's kind 99", "report.kind", registry.ReasonOutOfRange, report(func(r *yizhanv1.UrgentReport) { r.Kind = 99 })},
		{"a report's kind unset", "report.kind", registry.ReasonRequired, report(func(r *yizhanv1.UrgentReport) { r.Kind = 0 })},
		{"a report's category 99", "report.category", registry.ReasonOutOfRange, report(func(r *yizhanv1.UrgentReport) { r.Category = 99 })},
		{"a report's category unset", "report.category", registry.ReasonRequired, report(func(r *yizhanv1.UrgentReport) { r.Category = 0 })},
		{"a report's level 99", "report.level", registry.ReasonOutOfRange, report(func(r *yizhanv1.UrgentReport) { r.Level = 99 })},
		{"a report's level unset", "report.level", registry.ReasonRequired, report(func(r *yizhanv1.UrgentReport) { r.Level = 0 })},
		{"a log entry's kind 99", "entry.kind", registry.ReasonOutOfRange, logEntry(99)},
		{"a log entry's kind unset", "entry.kind", registry.ReasonRequired, logEntry(0)},
		{"a consultation's channel 99", "channel", registry.ReasonOutOfRange, consultation(99)},
		{"a consultation's channel unset", "channel", registry.ReasonRequired, consultation(0)},
		{"a consultation's channel online (AskQuestion's)", "channel", registry.ReasonOutOfRange, consultation(yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_ONLINE)},
	} {
		err := tc.call()
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != tc.field || fieldReason(err) != tc.why {
			t.Errorf("%s: %v naming %q (%s); want INVALID_ARGUMENT naming %s (%s)", tc.name, code, field, fieldReason(err), tc.field, tc.why)
		}
		// What the web shows by the field: a choice to make, or one that
		// is not on offer.
		want := map[string]string{registry.ReasonRequired: "请选择", registry.ReasonOutOfRange: "不是有效的选项"}[tc.why]
		if got := firstViolation(err).GetLocalizedMessage().GetMessage(); got != want {
			t.Errorf("%s: the field's text %q, want %q", tc.name, got, want)
		}
	}
	for name, call := range map[string]func() error{
		"a report":     report(func(*yizhanv1.UrgentReport) {}),
		"a log entry":  logEntry(yizhanv1.LogKind_LOG_KIND_NOTICE),
		"a phone call": consultation(yizhanv1.ConsultationChannel_CONSULTATION_CHANNEL_PHONE),
	} {
		if err := call(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// firstViolation is the first field violation of err's BadRequest, or nil.
func firstViolation(err error) *errdetails.BadRequest_FieldViolation {
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok && len(br.GetFieldViolations()) > 0 {
			return br.GetFieldViolations()[0]
		}
	}
	return nil
}

// A list's filter given a value its enum does not declare is OUT_OF_RANGE,
// naming the filter: offices of tier 99 and items exercised at tier 99
// listed nothing, which read as "there are none" to a client whose
// number was mistyped or of a later release. Left unset, the filter is
// no filter.
func TestAListFilterOfAnUndeclaredEnumValueIsOutOfRange(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.countyLeader()).login("admin", password)
	for _, tc := range []struct {
		name, field string
		call        func() error
	}{
		{"offices of tier 99", "tier", func() error {
			_, err := admin.reg.ListOffices(admin.ctx(), &yizhanv1.ListOfficesRequest{Tier: 99})
			return err
		}},
		{"items exercised at tier 99", "exercise_tier", func() error {
			_, err := admin.reg.ListItems(admin.ctx(), &yizhanv1.ListItemsRequest{ExerciseTier: 99})
			return err
		}},
	} {
		err := tc.call()
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != tc.field || fieldReason(err) != registry.ReasonOutOfRange {
			t.Errorf("%s: %v naming %q (%s); want INVALID_ARGUMENT naming %s (%s)", tc.name, code, field, fieldReason(err), tc.field, registry.ReasonOutOfRange)
		}
		// The message says what there is, once.
		if msg := firstViolation(err).GetDescription(); !strings.Contains(msg, "TIER_COUNTY, TIER_TOWNSHIP, TIER_VILLAGE") || strings.Count(msg, "not a known") != 1 {
			t.Errorf("%s: %q does not list the tiers there are", tc.name, msg)
		}
	}
	offices, err := admin.reg.ListOffices(admin.ctx(), &yizhanv1.ListOfficesRequest{})
	if err != nil || len(offices.GetOffices()) == 0 {
		t.Fatalf("offices with no tier given: %v, %v; want the county's offices", offices.GetOffices(), err)
	}
	counties, err := admin.reg.ListOffices(admin.ctx(), &yizhanv1.ListOfficesRequest{Tier: yizhanv1.Tier_TIER_COUNTY})
	if err != nil || len(counties.GetOffices()) != 1 {
		t.Errorf("offices of the county tier: %v, %v; want the county", counties.GetOffices(), err)
	}
	if _, err := admin.reg.ListItems(admin.ctx(), &yizhanv1.ListItemsRequest{ExerciseTier: yizhanv1.Tier_TIER_TOWNSHIP}); err != nil {
		t.Errorf("items exercised at townships: %v", err)
	}
}
