package node_test

import (
	"bytes"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/registry"
)

// The workbook's 办件台账 shows, for each case, its acceptance, its
// promised due time and whether it is late (docs/SUPERVISION.md:
// "filing, acceptance, promised due, state, where it is, late"), from
// the case's log (the book keeps no clocks): a case accepted, then left
// past its promised 10 working days, shows all three.
func TestTheExportLedgerShowsAcceptanceDueAndLateness(t *testing.T) {
	var skew atomic.Int64
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	})
	n, filed := fileAnsweredLate(t, f.countyLeader(), &skew) // accepted now
	skew.Add(int64(30 * 24 * time.Hour))                     // well past its 10 promised working days
	admin := dial(t, f.countyLeader()).login("admin", password)
	sup := yizhanv1.NewSupervisionServiceClient(admin.conn)
	today := time.Now().Add(time.Duration(skew.Load())).In(registry.CST).Format("2006-01-02")
	body, err := sup.ExportStatistics(admin.ctx(), &yizhanv1.GetStatisticsRequest{From: filed, To: today})
	if err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(bytes.NewReader(body.GetData()))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	ledger, err := x.GetRows("办件台账")
	if err != nil {
		t.Fatal(err)
	}
	if len(ledger) != 2 || ledger[1][0] != n {
		t.Fatalf("the ledger: %q", ledger)
	}
	cell := func(i int) string {
		if i < len(ledger[1]) {
			return ledger[1][i]
		}
		return ""
	}
	// 受理时间 (5), 承诺期限 (6), 超期 (9).
	if cell(5) == "" || cell(6) == "" || cell(9) != "是" {
		t.Errorf("ledger row of %s, accepted and past its promised due: 受理时间 %q, 承诺期限 %q, 超期 %q (row %q)", n, cell(5), cell(6), cell(9), ledger[1])
	}
}

// A township's figures of its own office only (office_only), grouped by
// township, have one row, the township's: the same counters as the
// total. The row's 平均当日办结率 is the total's, read from the township's
// own daily series, not that of the township with its villages.
func TestTheTownshipRowOfOfficeOnlyFiguresAveragesItsOwnDays(t *testing.T) {
	twClerk, today := townshipDay(t, "450122-YC-077")
	sup := yizhanv1.NewSupervisionServiceClient(twClerk.conn)
	st, err := sup.GetStatistics(twClerk.ctx(), &yizhanv1.GetStatisticsRequest{From: today, To: today, OfficeOnly: true, GroupBy: yizhanv1.Grouping_GROUPING_TOWNSHIP})
	if err != nil {
		t.Fatal(err)
	}
	tot := st.GetTotal()
	if tot.GetAccepted() != 1 || tot.GetSameDayDecided() != 1 || len(st.GetRows()) != 1 {
		t.Fatalf("precondition: the township's own figures: %v, rows %v", tot, st.GetRows())
	}
	row := st.GetRows()[0].GetFigures()
	if math.Abs(row.GetAverageDailySameDayRate()-tot.GetAverageDailySameDayRate()) > 1e-9 {
		t.Errorf("office_only by township: row %s (accepted %d, same day %d) has 平均当日办结率 %.2f, the total (the same counters) %.2f",
			st.GetRows()[0].GetKey(), row.GetAccepted(), row.GetSameDayDecided(), row.GetAverageDailySameDayRate(), tot.GetAverageDailySameDayRate())
	}
}

// The workbook takes the statistics' parameters; with office_only its
// 统计 sheet counts the county's own cards (none here), and its 红黄牌
// sheet lists those alone: not a village's card.
func TestTheOfficeOnlyExportsCardsSheetMatchesItsFigures(t *testing.T) {
	var skew atomic.Int64
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		c.CardSweepInterval = 50 * time.Millisecond
	})
	n, filed := villageCaseAtTheCounty(t, f, "450122-YC-078")
	skew.Store(int64(20 * 24 * time.Hour)) // past its 2 promised working days
	admin := dial(t, f.countyLeader()).login("admin", password)
	sup := yizhanv1.NewSupervisionServiceClient(admin.conn)
	waitFor(t, "the county's red card for the village", func() bool {
		cs, err := sup.ListCards(admin.ctx(), &yizhanv1.ListCardsRequest{CaseNumber: n})
		return err == nil && len(cs.GetCards()) > 0
	}, 10*time.Second)
	today := time.Now().Add(time.Duration(skew.Load())).In(registry.CST).Format("2006-01-02")
	req := &yizhanv1.GetStatisticsRequest{From: filed, To: today, OfficeOnly: true}
	body, err := sup.ExportStatistics(admin.ctx(), req)
	if err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(bytes.NewReader(body.GetData()))
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	rows, _ := x.GetRows("统计")
	cards, _ := x.GetRows("红黄牌")
	st, err := sup.GetStatistics(admin.ctx(), req)
	if err != nil {
		t.Fatal(err)
	}
	tot := st.GetTotal()
	if listed := uint64(len(cards) - 1); listed != tot.GetRedCards()+tot.GetYellowCards() {
		t.Errorf("office_only workbook of the county: 统计 counts %d red and %d yellow cards, 红黄牌 lists %d: %q (figures %q)",
			tot.GetRedCards(), tot.GetYellowCards(), listed, cards[1:], rows[len(rows)-1])
	}
}
