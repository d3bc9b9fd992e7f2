package node_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/reason"
)

// dutyFed is a case federation with duty staff: at 东村 a duty officer
// and a leader on duty, at the county a duty officer.
func dutyFed(t *testing.T, tune func(string, *node.Config)) *caseFed {
	t.Helper()
	f := newTunedCaseFed(t, 1, tune)
	for _, s := range []*yizhanv1.StaffMember{
		{Username: "dc-duty", Name: "黄值班", OfficeCode: dongcun, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_OFFICER}},
		{Username: "dc-leader", Name: "黄带班", OfficeCode: dongcun, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_LEADER}},
		{Username: "county-duty", Name: "陈值班", OfficeCode: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DUTY_OFFICER}},
	} {
		if _, err := f.admin.reg.CreateStaff(f.admin.ctx(), &yizhanv1.CreateStaffRequest{Staff: s, Password: password}); err != nil {
			t.Fatal(err)
		}
	}
	idx := f.nodes["county-1"].Registry().Index()
	for _, n := range f.nodes {
		waitFor(t, n.Name()+" has the duty staff", func() bool { return n.Registry().Index() >= idx }, 20*time.Second)
	}
	return f
}

func firstReport(occurred time.Time) *yizhanv1.UrgentReport {
	return &yizhanv1.UrgentReport{Kind: yizhanv1.ReportKind_REPORT_KIND_FIRST, Category: yizhanv1.IncidentCategory_INCIDENT_CATEGORY_NATURAL_DISASTER,
		Level: yizhanv1.IncidentLevel_INCIDENT_LEVEL_IV, Title: "东村后山滑坡", Place: "东村后山三组",
		OccurredAt: timestamppb.New(occurred), KnownAt: timestamppb.New(occurred.Add(10 * time.Minute)),
		Injured: 1, Details: "暴雨引发山体滑坡，冲毁农房一间", Measures: "已疏散三户村民", Contact: "13907710003"}
}

// A first report written and signed at a village while its link is cut
// reaches the county exactly once after the link returns, signed, with
// its times; it is late at the county if it arrived after the hour, on
// time at the village where it was signed within it. The county
// acknowledges it, and the village sees the acknowledgement.
func TestUrgentReportTravelsUpThroughACutLink(t *testing.T) {
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	f := dutyFed(t, func(_ string, c *node.Config) { c.Now = now })
	village, countyNode := f.nodes["dongcun-1"], f.nodes["county-1"]
	officer := dial(t, village).login("dc-duty", password)
	leader := dial(t, village).login("dc-leader", password)
	vduty := yizhanv1.NewDutyServiceClient(officer.conn)
	lduty := yizhanv1.NewDutyServiceClient(leader.conn)

	f.links["dongcun-1"].Cut()
	// Bad input names its field.
	bad := firstReport(time.Now())
	bad.Title = ""
	if _, err := vduty.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: bad}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("a report without a title: %v", err)
	} else if _, field := fieldOf(err); field != "report.title" {
		t.Errorf("a report without a title names %q", field)
	}
	_, gerr := vduty.GetReport(officer.ctx(), &yizhanv1.GetReportRequest{Id: "BG-abc-20200101-ZZZZZZ"})
	if code, field := fieldOf(gerr); code != codes.InvalidArgument || field != "id" {
		t.Errorf("a report's id with no office in it: %v", gerr)
	}
	w, err := vduty.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: firstReport(time.Now().Add(-30 * time.Minute)), RequestId: "report-1"})
	if err != nil {
		t.Fatal(err)
	}
	id := w.GetReport().GetId()
	for field, call := range map[string]func() error{
		"report": func() error {
			_, err := vduty.UpdateReport(officer.ctx(), &yizhanv1.UpdateReportRequest{Id: id})
			return err
		},
		"first_id": func() error {
			_, err := vduty.ListReports(officer.ctx(), &yizhanv1.ListReportsRequest{FirstId: strings.Repeat("B", 100_000)})
			return err
		},
		"id": func() error {
			_, err := vduty.AcknowledgeReport(officer.ctx(), &yizhanv1.AcknowledgeReportRequest{Id: "BG-\x00"})
			return err
		},
	} {
		if code, got := fieldOf(call()); code != codes.InvalidArgument || got != field {
			t.Errorf("%s: %v naming %q", field, code, got)
		}
	}
	if _, err := vduty.SignReport(officer.ctx(), &yizhanv1.SignReportRequest{Id: id}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a duty officer signed: %v", err)
	}
	changed := firstReport(time.Now().Add(-30 * time.Minute))
	changed.Measures = "已疏散三户村民，镇国土所已到场"
	if _, err := vduty.UpdateReport(officer.ctx(), &yizhanv1.UpdateReportRequest{Id: id, Report: changed}); err != nil {
		t.Fatalf("change the draft: %v", err)
	}
	signed, err := lduty.SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: id, RequestId: "sign-1"})
	if err != nil {
		t.Fatal(err)
	}
	if r := signed.GetReport(); r.GetState() != yizhanv1.ReportState_REPORT_STATE_SIGNED || r.GetSignedBy() != "dc-leader" || signed.GetLate() {
		t.Errorf("signed at the village: %v (late %v)", r, signed.GetLate())
	}
	if _, err := vduty.UpdateReport(officer.ctx(), &yizhanv1.UpdateReportRequest{Id: id, Report: changed}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("a signed report changed: %v", err)
	}
	// A village leader cannot sign at the county.
	atCounty := dial(t, countyNode)
	atCounty.token = leader.token
	if _, err := yizhanv1.NewDutyServiceClient(atCounty.conn).SignReport(atCounty.ctx(), &yizhanv1.SignReportRequest{Id: id}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a village leader signed at the county: %v", err)
	}
	if _, ok := countyNode.Office().Cases().Report(id); ok {
		t.Fatal("the report crossed a cut link")
	}

	// Two hours on, the link is back: the report arrives late at the county.
	skew.Store(int64(2 * time.Hour))
	f.links["dongcun-1"].Restore()
	waitFor(t, "the report at the county", func() bool { _, ok := countyNode.Office().Cases().Report(id); return ok }, 20*time.Second)
	held, _ := countyNode.Office().Cases().Report(id)
	if !held.GetLate() || held.GetReport().GetSignature() == nil || !held.GetReport().GetOccurredAt().AsTime().Equal(changed.GetOccurredAt().AsTime()) ||
		held.GetReport().GetMeasures() != changed.GetMeasures() {
		t.Errorf("at the county: late %v, %v", held.GetLate(), held.GetReport())
	}
	if h, _ := village.Office().Cases().Report(id); h.GetLate() {
		t.Error("late at the village, where it was signed within the hour")
	}

	// A report with the link up arrives in time.
	w2, err := vduty.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: firstReport(now().Add(-10 * time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lduty.SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: w2.GetReport().GetId()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second report at the county", func() bool { _, ok := countyNode.Office().Cases().Report(w2.GetReport().GetId()); return ok }, 20*time.Second)
	if h, _ := countyNode.Office().Cases().Report(w2.GetReport().GetId()); h.GetLate() {
		t.Error("a report that arrived within the hour is late at the county")
	}

	// The county acknowledges; the village sees it.
	cduty := dial(t, countyNode).login("county-duty", password)
	ksv := yizhanv1.NewDutyServiceClient(cduty.conn)
	un, err := ksv.ListReports(cduty.ctx(), &yizhanv1.ListReportsRequest{Unacknowledged: true})
	if err != nil || len(un.GetReports()) != 2 {
		t.Fatalf("unacknowledged at the county: %v, %v", un, err)
	}
	// Whose reports (scope): the county's own, none yet; those from
	// below, the village's two; at the village, its own are those two.
	for _, tc := range []struct {
		name  string
		c     yizhanv1.DutyServiceClient
		ctx   context.Context
		scope yizhanv1.ReportScope
		want  int
	}{
		{"the county's own", ksv, cduty.ctx(), yizhanv1.ReportScope_REPORT_SCOPE_OWN, 0},
		{"the county's from below", ksv, cduty.ctx(), yizhanv1.ReportScope_REPORT_SCOPE_BELOW, 2},
		{"the county's and from below", ksv, cduty.ctx(), yizhanv1.ReportScope_REPORT_SCOPE_UNSPECIFIED, 2},
		{"the village's own", vduty, officer.ctx(), yizhanv1.ReportScope_REPORT_SCOPE_OWN, 2},
		{"the village's from below", vduty, officer.ctx(), yizhanv1.ReportScope_REPORT_SCOPE_BELOW, 0},
	} {
		if rs, err := tc.c.ListReports(tc.ctx, &yizhanv1.ListReportsRequest{Scope: tc.scope}); err != nil || len(rs.GetReports()) != tc.want {
			t.Errorf("%s: %d reports (%v), want %d", tc.name, len(rs.GetReports()), err, tc.want)
		}
	}
	_, err = ksv.ListReports(cduty.ctx(), &yizhanv1.ListReportsRequest{Unacknowledged: true, Scope: yizhanv1.ReportScope_REPORT_SCOPE_OWN})
	if code, field := fieldOf(err); code != codes.InvalidArgument || field != "scope" {
		t.Errorf("the county's own reports waiting for its acknowledgement: %v, want INVALID_ARGUMENT naming scope", err)
	}
	// The county's list holds every office's reports below it: not for a
	// village's staff, though they may sign in at the county.
	atCounty.token = officer.token
	if un, err := yizhanv1.NewDutyServiceClient(atCounty.conn).ListReports(atCounty.ctx(), &yizhanv1.ListReportsRequest{Unacknowledged: true}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a village's duty officer read the county's unacknowledged reports: %d, %v", len(un.GetReports()), err)
	}
	if _, err := ksv.AcknowledgeReport(cduty.ctx(), &yizhanv1.AcknowledgeReportRequest{Id: id, Request: "请续报人员伤亡情况"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ksv.AcknowledgeReport(cduty.ctx(), &yizhanv1.AcknowledgeReportRequest{Id: id}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("acknowledged twice: %v", err)
	}
	if _, err := vduty.AcknowledgeReport(officer.ctx(), &yizhanv1.AcknowledgeReportRequest{Id: id}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("the village acknowledged its own report: %v", err)
	}
	got, err := vduty.GetReport(officer.ctx(), &yizhanv1.GetReportRequest{Id: id})
	if err != nil || !hasAck(got, county) {
		t.Errorf("the village sees acknowledgements %v (%v), want the county's", got.GetAcks(), err)
	}
	// And on the second page of its reports, the first it wrote: the
	// county pages its copy of them by the village's token.
	page, err := vduty.ListReports(officer.ctx(), &yizhanv1.ListReportsRequest{PageSize: 1})
	if err != nil || page.GetNextPageToken() == "" {
		t.Fatalf("the village's first page of one report: %v, %v", page, err)
	}
	page, err = vduty.ListReports(officer.ctx(), &yizhanv1.ListReportsRequest{PageSize: 1, PageToken: page.GetNextPageToken()})
	if err != nil || len(page.GetReports()) != 1 || page.GetReports()[0].GetReport().GetId() != id || !hasAck(page.GetReports()[0], county) {
		t.Errorf("the village's second page: %v (%v), want report %s with the county's acknowledgement", page.GetReports(), err, id)
	}

	// A follow-up and the final report close the matter; nothing follows a final.
	for _, kind := range []yizhanv1.ReportKind{yizhanv1.ReportKind_REPORT_KIND_FOLLOW_UP, yizhanv1.ReportKind_REPORT_KIND_FINAL} {
		r := firstReport(time.Now().Add(-30 * time.Minute))
		r.Kind, r.FirstId = kind, id
		w, err := vduty.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: r})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := lduty.SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: w.GetReport().GetId()}); err != nil {
			t.Fatal(err)
		}
	}
	// A follow-up of a report the village does not hold is named (refused
	// before it is proposed: where it is applied, the refusal names no
	// field).
	stray := firstReport(time.Now())
	stray.Kind, stray.FirstId = yizhanv1.ReportKind_REPORT_KIND_FOLLOW_UP, "BG-"+dongcun+"-20200101-ZZZZZZ"
	_, err = vduty.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: stray})
	if code, field := fieldOf(err); code != codes.InvalidArgument || field != "report.first_id" || fieldReason(err) != reason.RecordNotFound {
		t.Errorf("a follow-up of a report not held: %v", err)
	}
	late := firstReport(time.Now())
	late.Kind, late.FirstId = yizhanv1.ReportKind_REPORT_KIND_FOLLOW_UP, id
	if _, err := vduty.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: late}); status.Code(err) != codes.FailedPrecondition {
		t.Errorf("a follow-up after the final report: %v", err)
	}
	waitFor(t, "the matter closed at the county", func() bool {
		rs, _, err := countyNode.Office().Cases().Reports(casebook.ReportQuery{FirstID: id})
		return err == nil && len(rs) == 3 && rs[0].GetClosed()
	}, 20*time.Second)
	for _, name := range []string{"county-1", "chengguan-1", "dongcun-1"} {
		f.checkBook(name, f.nodes[name])
	}
}

func hasAck(h *yizhanv1.HeldReport, office string) bool {
	for _, a := range h.GetAcks() {
		if a.GetOfficeCode() == office {
			return true
		}
	}
	return false
}
