package node_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/duty"
	"github.com/yizhan-gov/yizhan/node"
)

// A first report left unsigned past its hour at a village is flagged by
// the village's sweep; the county lists and counts it (逾时未审签) before
// the report comes; signed at last, it arrives and counts as late
// instead. The county exports the period for its upper office: a
// workbook, and JSON whose signatures check (the export's by the
// county's node, the report's by the village's).
func TestUnsignedReportFlaggedAndExported(t *testing.T) {
	var skew atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	f := dutyFed(t, func(_ string, c *node.Config) {
		c.Now = now
		c.DutySweepInterval = 50 * time.Millisecond
	})
	village, countyNode := f.nodes["dongcun-1"], f.nodes["county-1"]
	officer := dial(t, village).login("dc-duty", password)
	leader := dial(t, village).login("dc-leader", password)
	cduty := dial(t, countyNode).login("county-duty", password)
	vd, cd := yizhanv1.NewDutyServiceClient(officer.conn), yizhanv1.NewDutyServiceClient(cduty.conn)

	w, err := vd.WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: firstReport(now().Add(-50 * time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	id := w.GetReport().GetId()
	unsigned := func() []*yizhanv1.UnsignedReportFlag {
		l, err := cd.ListUnsignedReports(cduty.ctx(), &yizhanv1.ListUnsignedReportsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		return l.GetFlags()
	}
	time.Sleep(300 * time.Millisecond) // sweeps, before the deadline
	if fl := unsigned(); len(fl) != 0 {
		t.Fatalf("flagged before its deadline: %v", fl)
	}
	skew.Store(int64(20 * time.Minute)) // ten minutes past the hour
	waitFor(t, "the flag at the county", func() bool { return len(unsigned()) == 1 }, 20*time.Second)
	if fl := unsigned()[0]; fl.GetReportId() != id || fl.GetTitle() != "东村后山滑坡" || fl.GetOfficeCode() != dongcun {
		t.Errorf("the county's flag: %v", fl)
	}
	if h, err := vd.GetReport(officer.ctx(), &yizhanv1.GetReportRequest{Id: id}); err != nil || h.GetFlaggedUnsignedAt() == nil {
		t.Errorf("the village's draft does not show its flag: %v %v", h, err)
	}
	today := now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	assess := func() *yizhanv1.OfficeAssessment {
		a, err := cd.GetAssessment(cduty.ctx(), &yizhanv1.GetAssessmentRequest{From: today, To: today})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range a.GetOffices() {
			if o.GetOfficeCode() == dongcun {
				return o
			}
		}
		t.Fatal("no row for 东村")
		return nil
	}
	if a := assess(); a.GetUnsignedReports() != 1 || a.GetLateReports() != 0 || a.GetFirstReports() != 0 {
		t.Errorf("东村 before the signing: %v", a)
	}

	if _, err := yizhanv1.NewDutyServiceClient(leader.conn).SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the signed report at the county", func() bool { return len(unsigned()) == 0 }, 20*time.Second)
	if a := assess(); a.GetUnsignedReports() != 0 || a.GetLateReports() != 1 || a.GetFirstReports() != 1 {
		t.Errorf("东村 after the signing: %v", a)
	}

	// The export: bad input names its field; the workbook; the JSON.
	if _, err := cd.ExportReports(cduty.ctx(), &yizhanv1.ExportReportsRequest{Format: "pdf"}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("format pdf: %v", err)
	} else if _, field := fieldOf(err); field != "format" {
		t.Errorf("format pdf names %q", field)
	}
	body, err := cd.ExportReports(cduty.ctx(), &yizhanv1.ExportReportsRequest{From: today, To: today})
	if err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(bytes.NewReader(body.GetData()))
	if err != nil {
		t.Fatalf("the workbook does not open: %v", err)
	}
	defer x.Close()
	rows, err := x.GetRows("紧急信息报告")
	if err != nil || len(rows) != 4 || rows[3][0] != id || !strings.Contains(rows[3][2], "东村") || rows[3][3] != "首报" {
		t.Fatalf("the reports sheet: %q (%v)", rows, err)
	}
	if late := rows[3][21]; late != "是" {
		t.Errorf("the report is not marked late in the workbook: %q", rows[3])
	}

	req, _ := http.NewRequest("GET", "http://"+countyNode.HTTPAddr()+"/v1/duty/reports:export?format=json&from="+today, nil)
	req.Header.Set("Authorization", "Bearer "+cduty.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET …:export?format=json: %d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), data)
	}
	exp := &yizhanv1.ReportExport{}
	if err := protojson.Unmarshal(data, exp); err != nil {
		t.Fatal(err)
	}
	if len(exp.GetReports()) != 1 || exp.GetReports()[0].GetId() != id {
		t.Fatalf("the JSON export holds %d reports", len(exp.GetReports()))
	}
	off := countyNode.Office()
	if err := off.VerifyRecordSignature(county, "export", duty.Hash(exp), exp.GetSignature(), exp.GetSignerChain()); err != nil {
		t.Errorf("the export's signature: %v", err)
	}
	r := exp.GetReports()[0]
	if err := off.VerifyRecordSignature(dongcun, "report", duty.Hash(r), r.GetSignature(), r.GetSignerChain()); err != nil {
		t.Errorf("the report's signature: %v", err)
	}
	exp.Reports[0].Deaths = 9
	if err := off.VerifyRecordSignature(county, "export", duty.Hash(exp), exp.GetSignature(), exp.GetSignerChain()); err == nil {
		t.Error("a changed export verifies")
	}
	for _, name := range []string{"county-1", "chengguan-1", "dongcun-1"} {
		f.checkBook(name, f.nodes[name])
	}
}
