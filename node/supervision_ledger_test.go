package node_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The county's workbook (an admin's, the whole county: the 监察 page's
// 导出) counts in 统计 a case filed and accepted at a village, which
// never passed through the county office: its 办件台账 lists it, so 合计
// 收件 and the ledger reconcile. With office_only, figures and ledger
// are the county office's own (none). A county clerk, who reads the
// county office's records only, gets the office's own ledger, and the
// sheet says so.
func TestCountyWorkbookLedgerListsTheCasesItsFiguresCount(t *testing.T) {
	f := newTunedCaseFed(t, 1, nil)
	n, filed := villageCaseAtTheCounty(t, f, "450122-YC-178")
	workbook := func(c *client, req *yizhanv1.GetStatisticsRequest) (received string, ledger [][]string, notice string) {
		t.Helper()
		body, err := yizhanv1.NewSupervisionServiceClient(c.conn).ExportStatistics(c.ctx(), req)
		if err != nil {
			t.Fatal(err)
		}
		x, err := excelize.OpenReader(bytes.NewReader(body.GetData()))
		if err != nil {
			t.Fatal(err)
		}
		defer x.Close()
		all, err := x.GetRows("统计")
		if err != nil || len(all) < 4 {
			t.Fatalf("统计: %q %v", all, err)
		}
		if len(all[1]) > 0 {
			notice = all[1][0]
		}
		header, total := all[2], all[len(all)-1] // 合计 last
		if i := slices.Index(header, "收件"); total[0] == "合计" && i >= 0 && i < len(total) {
			received = total[i]
		}
		ledger, _ = x.GetRows("办件台账")
		return received, ledger[1:], notice
	}
	admin := dial(t, f.countyLeader()).login("admin", password)
	received, ledger, _ := workbook(admin, &yizhanv1.GetStatisticsRequest{From: filed, To: filed})
	if received != "1" || len(ledger) != 1 || ledger[0][0] != n {
		t.Errorf("the county's workbook: 合计 收件 %s, 办件台账 %q; want 1 and the village's case %s", received, ledger, n)
	}
	received, ledger, _ = workbook(admin, &yizhanv1.GetStatisticsRequest{From: filed, To: filed, OfficeOnly: true})
	if received != "0" || len(ledger) != 0 {
		t.Errorf("the county office's own workbook: 合计 收件 %s, 办件台账 %q; want 0 and none", received, ledger)
	}
	countyClerk := dial(t, f.countyLeader()).login("clerk", password)
	received, ledger, notice := workbook(countyClerk, &yizhanv1.GetStatisticsRequest{From: filed, To: filed})
	if received != "1" || len(ledger) != 0 || !strings.Contains(notice, "办件台账仅列本单位经手的办件") {
		t.Errorf("a county clerk's workbook: 合计 收件 %s, 办件台账 %q, notice %q; want 1, the office's own (none), and a notice saying so", received, ledger, notice)
	}
}
