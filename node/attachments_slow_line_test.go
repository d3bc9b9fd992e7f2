package node_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/node"
)

// A village back on a slow line after days offline has more than 64
// cases (a call's worth) waiting for their scans to go up. An urgent
// report signed now (a landslide) and a case filed now without scans
// reach the township at once: each case waiting for its files is held
// back on its own, and urgent reports go first.
func TestUrgentReportAndPlainCaseGoPastCasesWaitingForScans(t *testing.T) {
	f := dutyFed(t, nil)
	village, town := f.nodes["dongcun-1"], f.nodes["chengguan-1"]
	agent := dial(t, village).login("dongcun", password)

	f.links["dongcun-1"].Cut() // days offline: the cases queue
	const waiting = 70
	for i := range waiting {
		a := upload(t, agent, scan(24<<10, uint64(1000+i)), casework.TypePDF, fmt.Sprintf("身份证%d.pdf", i))
		if _, err := fileWithScan(t, agent, "覃海燕", a); err != nil {
			t.Fatalf("file case %d: %v", i, err)
		}
	}
	// The line is back, slow (64 kbit/s): the scans take minutes.
	f.links["dongcun-1"].Throttle(8 << 10)
	f.links["dongcun-1"].Restore()

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
	plain := fileTobacco(t, agent, "韦明").GetNumber()

	waitFor(t, "the urgent report at the township", func() bool { _, ok := town.Office().Cases().Report(id); return ok }, 20*time.Second)
	waitFor(t, "the case without scans at the township", func() bool { _, ok := town.Office().Cases().Case(plain); return ok }, 20*time.Second)
	if n := len(village.Office().Cases().Quarantined()); n != 0 {
		t.Errorf("the village set %d messages aside: waiting for scans on a slow line is no fault", n)
	}
}

// A village's line is too slow for a whole part of a scan to go up in
// the time a part has (a 512 KiB part in a minute: about 70 kbit/s; here
// the part has 2 s, as QuarantineAfter is 16 s, and the line carries
// 128 KiB a second). The scan goes up in smaller parts, and its case
// follows; nothing is set aside and no delivery error stays.
func TestScanOverALineTooSlowForWholePartsGoesUpInSmallerParts(t *testing.T) {
	f := newTunedCaseFed(t, 1, func(name string, c *node.Config) {
		if name == "dongcun-1" {
			c.QuarantineAfter = 16 * time.Second
		}
	})
	village, town := f.nodes["dongcun-1"], f.nodes["chengguan-1"]
	agent := dial(t, village).login("dongcun", password)
	a := upload(t, agent, scan(600<<10, 77), casework.TypePDF, "身份证正反面.pdf")
	f.links["dongcun-1"].Throttle(128 << 10)
	c, err := fileWithScan(t, agent, "覃海燕", a)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the case at the township", func() bool { _, ok := town.Office().Cases().Case(c.GetNumber()); return ok }, 25*time.Second)
	if held, complete := town.Office().Cases().AttachmentHeld(a.Sha256); !complete || held.GetSize() != a.Size {
		t.Fatalf("the township holds %d of the scan's %d bytes (whole: %v)", held.GetOffset(), a.Size, complete)
	}
	for _, q := range village.Office().Cases().Quarantined() {
		t.Errorf("the village set %s aside: %s", q.GetEntry().GetCaseNumber(), q.GetReason())
	}
	waitFor(t, "no delivery error at the village", func() bool { return len(village.Office().DeliveryErrors()) == 0 }, 5*time.Second)
}

// A village's line is too slow for even the smallest part of a scan
// (32 KiB) to go up in the time a part has (here 500 ms, as
// QuarantineAfter is 4 s; the line carries 32 KiB a second): the scan
// can never arrive. The operator sees it: the village's delivery error
// for the township (status page, yizhan_delivery_errors) names the file
// and its case, while a case without scans goes up meanwhile; after
// QuarantineAfter the case is set aside with an alarm naming the file,
// and the delivery error goes.
func TestCaseBehindAScanThatCannotGoUpIsReportedAndSetAside(t *testing.T) {
	f := newTunedCaseFed(t, 1, func(name string, c *node.Config) {
		if name == "dongcun-1" {
			c.QuarantineAfter = 4 * time.Second
		}
	})
	village, town := f.nodes["dongcun-1"], f.nodes["chengguan-1"]
	agent := dial(t, village).login("dongcun", password)
	a := upload(t, agent, scan(100<<10, 78), casework.TypePDF, "身份证正反面.pdf")
	f.links["dongcun-1"].Throttle(32 << 10)
	c, err := fileWithScan(t, agent, "覃海燕", a)
	if err != nil {
		t.Fatal(err)
	}
	number, short := c.GetNumber(), a.Sha256[:12]

	waitFor(t, "the village's delivery error naming the scan", func() bool {
		for _, e := range village.Office().DeliveryErrors() {
			if e.Dest == town.Office().Code() && strings.Contains(e.Err, "scanned file "+short) && strings.Contains(e.Err, number) {
				return true
			}
		}
		return false
	}, 15*time.Second)
	plain := fileTobacco(t, agent, "韦明").GetNumber()
	waitFor(t, "the case without scans at the township", func() bool { _, ok := town.Office().Cases().Case(plain); return ok }, 15*time.Second)

	var reason string
	waitFor(t, "the case set aside", func() bool {
		for _, q := range village.Office().Cases().Quarantined() {
			if q.GetEntry().GetCaseNumber() == number {
				reason = q.GetReason()
				return true
			}
		}
		return false
	}, 20*time.Second)
	if !strings.Contains(reason, "scanned file "+short) || !strings.Contains(reason, town.Office().Code()) {
		t.Errorf("set aside with the reason %q: want it to name the scan %s and the township", reason, short)
	}
	if _, ok := town.Office().Cases().Case(number); ok {
		t.Error("the case went up without its scan")
	}
	waitFor(t, "the delivery error gone once the case is set aside", func() bool { return len(village.Office().DeliveryErrors()) == 0 }, 10*time.Second)
}
