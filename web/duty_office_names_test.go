package web

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
)

const belowDutyToken = "tok-county-duty"

// belowDutyAuth knows, besides the fixture's people, a duty officer of the
// county (值班员).
type belowDutyAuth struct{ *fakeAuth }

func (a belowDutyAuth) WhoAmI(ctx context.Context, req *yizhanv1.WhoAmIRequest) (*yizhanv1.WhoAmIResponse, error) {
	if auth.BearerToken(ctx) == belowDutyToken {
		return &yizhanv1.WhoAmIResponse{Staff: &yizhanv1.StaffMember{Username: "zhiban", Name: "韦值班", OfficeCode: county,
			Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_OFFICER}}}, nil
	}
	return a.fakeAuth.WhoAmI(ctx, req)
}

// belowDuty is a duty service at the county holding a first report from the
// village point 东村便民服务站 (450122101203): not yet acknowledged here,
// and another of its first reports left unsigned past its deadline.
type belowDuty struct {
	yizhanv1.UnimplementedDutyServiceServer
}

func (belowDuty) report() *yizhanv1.HeldReport {
	at := now.Add(-30 * time.Minute)
	return &yizhanv1.HeldReport{Report: &yizhanv1.UrgentReport{Id: "r-1", OfficeCode: village, Kind: yizhanv1.ReportKind_REPORT_KIND_FIRST,
		Category: yizhanv1.IncidentCategory_INCIDENT_CATEGORY_NATURAL_DISASTER, Level: yizhanv1.IncidentLevel_INCIDENT_LEVEL_IV,
		Title: "东村后山滑坡", Place: "东村后山", Details: "一处民房受损", OccurredAt: timestamppb.New(at),
		State: yizhanv1.ReportState_REPORT_STATE_SIGNED, SignedByName: "覃带班", SignedAt: timestamppb.New(at.Add(10 * time.Minute))},
		ReceivedAt: timestamppb.New(at.Add(12 * time.Minute))}
}

func (z belowDuty) ListReports(_ context.Context, req *yizhanv1.ListReportsRequest) (*yizhanv1.ListReportsResponse, error) {
	return &yizhanv1.ListReportsResponse{Reports: []*yizhanv1.HeldReport{z.report()}}, nil
}

func (belowDuty) ListZeroReports(context.Context, *yizhanv1.ListZeroReportsRequest) (*yizhanv1.ListZeroReportsResponse, error) {
	return &yizhanv1.ListZeroReportsResponse{Due: timestamppb.New(now.Add(6 * time.Hour)), Offices: []*yizhanv1.ZeroReportStatus{
		{OfficeCode: county, OfficeName: "青山县政务服务中心"}, {OfficeCode: village, OfficeName: "东村便民服务站"}}}, nil
}

func (belowDuty) GetAssessment(context.Context, *yizhanv1.GetAssessmentRequest) (*yizhanv1.Assessment, error) {
	return &yizhanv1.Assessment{Offices: []*yizhanv1.OfficeAssessment{{OfficeCode: village, OfficeName: "东村便民服务站"}}}, nil
}

func (belowDuty) ListUnsignedReports(context.Context, *yizhanv1.ListUnsignedReportsRequest) (*yizhanv1.ListUnsignedReportsResponse, error) {
	return &yizhanv1.ListUnsignedReportsResponse{Flags: []*yizhanv1.UnsignedReportFlag{{Id: "u-1", ReportId: "r-2", OfficeCode: village,
		Category: yizhanv1.IncidentCategory_INCIDENT_CATEGORY_ACCIDENT, Title: "村道货车侧翻", OccurredAt: timestamppb.New(now.Add(-3 * time.Hour)),
		Due: timestamppb.New(now.Add(-2 * time.Hour)), ReporterName: "黄秀英", Contact: "13800000000"}}}, nil
}

// The county's duty officer reads the reports that came up from the
// offices below: 下级报告, 待签收的下级报告 and 逾时未审签的下级报告.
// Each names the office that reported, as the board and the assessment
// do (东村便民服务站), not its 12-digit division code, which no one on
// duty reads at a glance when an urgent report arrives.
func TestDutyReportsFromBelowNameTheirOffice(t *testing.T) {
	f := newFixture(t, func(cfg *Config) {
		cfg.Auth = belowDutyAuth{cfg.Auth.(*fakeAuth)}
		cfg.Duty = belowDuty{}
	})
	resp, page := f.do(t, "GET", "/duty", nil, session(belowDutyToken))
	if resp.StatusCode != 200 {
		t.Fatalf("the duty page: %s\n%s", resp.Status, page)
	}
	for _, sec := range []struct{ name, start string }{
		{"逾时未审签的下级报告", `id="unsigned"`},
		{"待签收的下级报告", `aria-label="待签收的下级报告"`},
		{"下级报告", `aria-label="下级报告"`},
	} {
		i := strings.Index(page, sec.start)
		if i < 0 {
			t.Errorf("no section %s on the page (the test's setup is wrong):\n%s", sec.name, page)
			continue
		}
		part := page[i:]
		if j := strings.Index(part, "</section>"); j >= 0 {
			part = part[:j]
		}
		if !strings.Contains(part, "东村便民服务站") || regexp.MustCompile(`>\s*`+village).MatchString(part) {
			t.Errorf("%s names the reporting office by its code %s, not as 东村便民服务站:\n%s", sec.name, village, part)
		}
	}
}
