package node_test

import (
	"fmt"
	"net/http"
	"slices"
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

// Every list filter of an enum is refused a value its enum does not
// declare, naming the filter, over gRPC (OUT_OF_RANGE) and REST (400):
// the reports' state and scope, the cards' colour and rule, the
// follow-ups' and orders' state, the figures' grouping (the export's
// too), and a citizen's follow-ups read with a query code, whose state
// was not looked at.
func TestEveryListFilterRefusesAnUndeclaredEnumValue(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	n := f.countyLeader()
	admin := dial(t, n).login("admin", password)
	duty := yizhanv1.NewDutyServiceClient(admin.conn)
	sup := yizhanv1.NewSupervisionServiceClient(admin.conn)
	citizen := dial(t, n)
	citizenSup := yizhanv1.NewSupervisionServiceClient(citizen.conn)
	for _, tc := range []struct {
		name, field string
		call        func() error
	}{
		{"reports of state 99", "state", func() error {
			_, err := duty.ListReports(admin.ctx(), &yizhanv1.ListReportsRequest{State: 99})
			return err
		}},
		{"reports of scope 99", "scope", func() error {
			_, err := duty.ListReports(admin.ctx(), &yizhanv1.ListReportsRequest{Scope: 99})
			return err
		}},
		{"cards of colour 99", "colour", func() error {
			_, err := sup.ListCards(admin.ctx(), &yizhanv1.ListCardsRequest{Colour: 99})
			return err
		}},
		{"cards of rule 99", "rule", func() error {
			_, err := sup.ListCards(admin.ctx(), &yizhanv1.ListCardsRequest{Rule: 99})
			return err
		}},
		{"follow-ups of state 99", "state", func() error {
			_, err := sup.ListFollowUps(admin.ctx(), &yizhanv1.ListFollowUpsRequest{State: 99})
			return err
		}},
		{"a citizen's follow-ups of state 99", "state", func() error {
			_, err := citizenSup.ListFollowUps(citizen.ctx(), &yizhanv1.ListFollowUpsRequest{State: 99, CaseNumber: "450122-20260301-000001", QueryCode: "AAAAAAAAAAAA"})
			return err
		}},
		{"orders of state 99", "state", func() error {
			_, err := sup.ListOrders(admin.ctx(), &yizhanv1.ListOrdersRequest{State: 99})
			return err
		}},
		{"figures grouped by 99", "group_by", func() error {
			_, err := sup.GetStatistics(admin.ctx(), &yizhanv1.GetStatisticsRequest{GroupBy: 99})
			return err
		}},
		{"the export grouped by 99", "group_by", func() error {
			_, err := sup.ExportStatistics(admin.ctx(), &yizhanv1.GetStatisticsRequest{GroupBy: 99})
			return err
		}},
	} {
		err := tc.call()
		if code, field := fieldOf(err); code != codes.InvalidArgument || field != tc.field || fieldReason(err) != registry.ReasonOutOfRange {
			t.Errorf("%s: %v naming %q (%s); want INVALID_ARGUMENT naming %s (%s)", tc.name, code, field, fieldReason(err), tc.field, registry.ReasonOutOfRange)
		}
	}
	base := "http://" + n.HTTPAddr()
	for _, tc := range []struct{ path, field string }{
		{"/v1/duty/reports?state=99", "state"},
		{"/v1/duty/reports?scope=99", "scope"},
		{"/v1/cards?colour=99", "colour"},
		{"/v1/cards?rule=99", "rule"},
		{"/v1/followups?state=99", "state"},
		{"/v1/orders?state=99", "state"},
		{"/v1/statistics?group_by=99", "group_by"},
		{"/v1/cases?state=99", "state"},
		{"/v1/offices?tier=99", "tier"},
		{"/v1/items?exercise_tier=99", "exercise_tier"},
		{"/v1/duty/reports?state=REPORT_STATE_LOST", "state"},
	} {
		code, body := restCall(t, "GET", base+tc.path, admin.token, "")
		if code != http.StatusBadRequest || !slices.Equal(violatedFields(body), []string{tc.field}) {
			t.Errorf("GET %s: %d naming %v; want 400 naming %s (%s)", tc.path, code, violatedFields(body), tc.field, fmt.Sprint(body["message"]))
		}
	}
	// Each filter left out, or given a value there is, lists.
	for name, call := range map[string]func() error{
		"reports signed": func() error {
			_, err := duty.ListReports(admin.ctx(), &yizhanv1.ListReportsRequest{State: yizhanv1.ReportState_REPORT_STATE_SIGNED, Scope: yizhanv1.ReportScope_REPORT_SCOPE_BELOW})
			return err
		},
		"red cards": func() error {
			_, err := sup.ListCards(admin.ctx(), &yizhanv1.ListCardsRequest{Colour: yizhanv1.CardColour_CARD_COLOUR_RED})
			return err
		},
		"open follow-ups": func() error {
			_, err := sup.ListFollowUps(admin.ctx(), &yizhanv1.ListFollowUpsRequest{State: yizhanv1.FollowUpState_FOLLOW_UP_STATE_OPEN})
			return err
		},
		"orders": func() error {
			_, err := sup.ListOrders(admin.ctx(), &yizhanv1.ListOrdersRequest{})
			return err
		},
	} {
		if err := call(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
