package node_test

import (
	"fmt"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/node"
)

// A first report signed at a village while its township is down does not
// wait for the township: once the township has been out of reach for a
// while (UrgentPastAfter) the village sends it past, to the county (越级
// 报告), which holds it once and in time. A case filed meanwhile waits
// for the township, whose work it is. When the township is back it gets
// the report too and carries it up as ever: the county still holds it
// once.
func TestAnUrgentReportGoesPastATownshipOutOfReach(t *testing.T) {
	f := dutyFed(t, func(_ string, c *node.Config) { c.UrgentPastAfter = time.Second })
	village, countyNode := f.nodes["dongcun-1"], f.nodes["county-1"]
	officer := dial(t, village).login("dc-duty", password)
	leader := dial(t, village).login("dc-leader", password)
	agent := dial(t, village).login("dongcun", password)

	f.stop("chengguan-1")
	w, err := yizhanv1.NewDutyServiceClient(officer.conn).WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: firstReport(time.Now().Add(-10 * time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	id := w.GetReport().GetId()
	if _, err := yizhanv1.NewDutyServiceClient(leader.conn).SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	c := fileTobacco(t, agent, "韦小宝")
	waitFor(t, "the report at the county past the township", func() bool { _, ok := countyNode.Office().Cases().Report(id); return ok }, 30*time.Second)
	if h, _ := countyNode.Office().Cases().Report(id); h.GetLate() || h.GetReport().GetSignature() == nil {
		t.Errorf("at the county: late %v, signed %v; want in time, signed", h.GetLate(), h.GetReport().GetSignature() != nil)
	}
	if _, ok := countyNode.Office().Cases().Case(c.GetNumber()); ok {
		t.Errorf("case %s went past the township: cases wait for it", c.GetNumber())
	}

	township := f.restart("chengguan-1")
	waitFor(t, "the report at the township once it is back", func() bool { _, ok := township.Office().Cases().Report(id); return ok }, 30*time.Second)
	waitFor(t, "the case at the county through the township", func() bool { _, ok := countyNode.Office().Cases().Case(c.GetNumber()); return ok }, 30*time.Second)
	cduty := dial(t, countyNode).login("county-duty", password)
	un, err := yizhanv1.NewDutyServiceClient(cduty.conn).ListReports(cduty.ctx(), &yizhanv1.ListReportsRequest{Unacknowledged: true})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, h := range un.GetReports() {
		if h.GetReport().GetId() == id {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the county lists report %s %d times among those to acknowledge, want once", id, n)
	}
	f.checkBook("county-1", countyNode)
}

// A first report goes past a township that is down though 64 cases with
// scans wait for it too (their files cannot go up either): a call to the
// township that carries nothing, every case waiting for its files, is no
// sign the township is back, so its out-of-reach time runs on.
func TestAnUrgentReportGoesPastATownshipDownBehindCasesWithScans(t *testing.T) {
	f := dutyFed(t, func(_ string, c *node.Config) { c.UrgentPastAfter = time.Second })
	village, countyNode := f.nodes["dongcun-1"], f.nodes["county-1"]
	agent := dial(t, village).login("dongcun", password)
	f.stop("chengguan-1")
	for i := range 64 {
		a := upload(t, agent, scan(1<<10, uint64(5000+i)), casework.TypePDF, fmt.Sprintf("身份证%d.pdf", i))
		if _, err := fileWithScan(t, agent, "覃海燕", a); err != nil {
			t.Fatalf("file case %d: %v", i, err)
		}
	}
	officer := dial(t, village).login("dc-duty", password)
	leader := dial(t, village).login("dc-leader", password)
	w, err := yizhanv1.NewDutyServiceClient(officer.conn).WriteReport(officer.ctx(), &yizhanv1.WriteReportRequest{Report: firstReport(time.Now().Add(-10 * time.Minute))})
	if err != nil {
		t.Fatal(err)
	}
	id := w.GetReport().GetId()
	if _, err := yizhanv1.NewDutyServiceClient(leader.conn).SignReport(leader.ctx(), &yizhanv1.SignReportRequest{Id: id}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the report at the county past the township, 64 cases with scans waiting for it too",
		func() bool { _, ok := countyNode.Office().Cases().Report(id); return ok }, 30*time.Second)
}
