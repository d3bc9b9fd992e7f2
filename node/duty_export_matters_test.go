package node_test

import (
	"bytes"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"google.golang.org/protobuf/encoding/protojson"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
)

// Seed 第五篇: 对事件的进展缺乏跟踪处理，续报、终报意识不强; DOMAIN.md:
// "follow-up reports … and a final report (终报)". The county's export
// for its upper office (docs/DUTY.md, "The export for the upper office")
// holds every matter with a report signed in the period: a final report
// signed the day after its first report is in the export of its own day,
// with the first report it closes, so the upper office, taking each
// period's export once, receives the 终报.
func TestTheExportCarriesTheFinalReportOfAnEarlierMatter(t *testing.T) {
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	f := dutyFed(t, func(_ string, c *node.Config) { c.Now = now })
	village, countyNode := f.nodes["dongcun-1"], f.nodes["county-1"]
	// Ten minutes before midnight, China time.
	cst := time.FixedZone("CST", 8*3600)
	t0 := time.Now().In(cst)
	target := time.Date(t0.Year(), t0.Month(), t0.Day(), 23, 50, 0, 0, cst)
	if !target.After(t0.Add(time.Minute)) {
		target = target.AddDate(0, 0, 1)
	}
	skew.Store(int64(target.Sub(time.Now())))
	officer := dial(t, village).login("dc-duty", password)
	leader := dial(t, village).login("dc-leader", password)
	vd, ld := yizhanv1.NewDutyServiceClient(officer.conn), yizhanv1.NewDutyServiceClient(leader.conn)
	w, err := vd.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: firstReport(now().Add(-10 * time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	first := w.GetReport().GetId()
	if _, err := ld.SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: first}); err != nil {
		t.Fatal(err)
	}
	// Twenty minutes on, past midnight: the final report.
	skew.Add(int64(20 * time.Minute))
	officer = dial(t, village).login("dc-duty", password)
	leader = dial(t, village).login("dc-leader", password)
	vd, ld = yizhanv1.NewDutyServiceClient(officer.conn), yizhanv1.NewDutyServiceClient(leader.conn)
	fin := firstReport(now().Add(-30 * time.Minute))
	fin.Kind, fin.FirstId, fin.Details = yizhanv1.ReportKind_REPORT_KIND_FINAL, first, "险情已排除，受伤村民已出院"
	w, err = vd.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: fin})
	if err != nil {
		t.Fatal(err)
	}
	final := w.GetReport().GetId()
	if _, err := ld.SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: final}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the final report at the county", func() bool { _, ok := countyNode.Office().Cases().Report(final); return ok }, 20*time.Second)
	cduty := dial(t, countyNode).login("county-duty", password)
	day := now().In(cst).Format("2006-01-02")
	body, err := yizhanv1.NewDutyServiceClient(cduty.conn).ExportReports(cduty.ctx(), &yizhanv1.ExportReportsRequest{From: day, To: day, Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	x := &yizhanv1.ReportExport{}
	if err := protojson.Unmarshal(body.GetData(), x); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range x.GetReports() {
		ids = append(ids, r.GetId())
	}
	if !slices.Contains(ids, final) || !slices.Contains(ids, first) {
		t.Errorf("the county's export of %s, the day the final report %s was signed, holds %v: want the final report and the first report %s of the day before",
			day, final, ids, first)
	}
	yesterday := now().In(cst).AddDate(0, 0, -1).Format("2006-01-02")
	body, err = yizhanv1.NewDutyServiceClient(cduty.conn).ExportReports(cduty.ctx(), &yizhanv1.ExportReportsRequest{From: yesterday, To: yesterday, Format: "json"})
	if err != nil {
		t.Fatal(err)
	}
	x = &yizhanv1.ReportExport{}
	if err := protojson.Unmarshal(body.GetData(), x); err != nil {
		t.Fatal(err)
	}
	if len(x.GetReports()) == 0 || x.GetReports()[0].GetId() != first {
		t.Errorf("the export of %s, the day the first report was signed, holds %d reports, want its first report first", yesterday, len(x.GetReports()))
	}
}

// The workbook's heading says what its period selects: the matters with a
// report signed or received in it (it said 按首报签发日期, by the first
// report's signing date, which is no longer what the export holds).
func TestTheWorkbookSaysWhatThePeriodSelects(t *testing.T) {
	f := dutyFed(t, nil)
	village := f.nodes["dongcun-1"]
	officer := dial(t, village).login("dc-duty", password)
	leader := dial(t, village).login("dc-leader", password)
	vd, ld := yizhanv1.NewDutyServiceClient(officer.conn), yizhanv1.NewDutyServiceClient(leader.conn)
	signedFirst(t, vd, ld, officer, leader)
	body, err := vd.ExportReports(officer.ctx(), &yizhanv1.ExportReportsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(bytes.NewReader(body.GetData()))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	title, err := x.GetCellValue("紧急信息报告", "A1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(title, "（期内签发或收到报告的事项）") {
		t.Errorf("the workbook's heading %q does not say the period selects every matter with a report signed or received in it", title)
	}
}
