package casebook

import (
	"slices"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// BenchmarkPeriodicReads is what a node reads from its book on a timer,
// at a county's book of two years (benchCounty: YIZHAN_BENCH_STATS_CASES
// cases, 100,000), at the end of the second year. For its metrics, at
// most every 30 s (node/metrics.go, bookFigures): "overdue" the office's
// overdue cases counted through the queue by due time, a page of
// MaxPageSize at a time (yizhan_cases_overdue); "cards" its cards'
// counters summed by colour from 2000 on (yizhan_cards_held). On the
// leader, each minute a case was handed to the office (at a county, most
// minutes of a working day), else each hour: "queue" the office's whole
// queue read a page at a time, as the reroute sweep reads it
// (office.Service.SweepReroutes).
func BenchmarkPeriodicReads(b *testing.B) {
	n := benchCases(b, 100_000)
	book, reg, _ := benchCounty(b, n)
	now := time.Date(2026, 12, 31, 18, 0, 0, 0, registry.CST)
	b.Run("overdue", func(b *testing.B) {
		var count int
		for b.Loop() {
			count = 0
			q := QueueQuery{Office: county, OverdueAt: now, Registry: reg, PageSize: MaxPageSize}
			for {
				cases, next, err := book.Queue(q)
				if err != nil {
					b.Fatal(err)
				}
				count += len(cases)
				if next == "" {
					break
				}
				q.PageToken = next
			}
		}
		b.ReportMetric(float64(count), "overdue")
	})
	b.Run("queue", func(b *testing.B) {
		var count int
		for b.Loop() {
			count = 0
			q := QueueQuery{Office: county, PageSize: MaxPageSize}
			for {
				cases, next, err := book.Queue(q)
				if err != nil {
					b.Fatal(err)
				}
				count += len(cases)
				if next == "" {
					break
				}
				q.PageToken = next
			}
		}
		b.ReportMetric(float64(count), "open")
	})
	b.Run("cards", func(b *testing.B) {
		colour := map[string]string{}
		for r := range yizhanv1.CardRule_name {
			if rule := yizhanv1.CardRule(r); rule != yizhanv1.CardRule_CARD_RULE_UNSPECIFIED {
				colour[supervision.CardOutcome(rule)] = supervision.ColourOf(rule).String()
			}
		}
		since := time.Date(2000, 1, 1, 0, 0, 0, 0, registry.CST)
		var cards uint64
		for b.Loop() {
			sums, err := book.SumStats(RangeQuery{From: since, To: now, Office: county}, func(s Stat) string { return colour[s.Outcome] })
			if err != nil {
				b.Fatal(err)
			}
			cards = 0
			for _, c := range sums {
				for _, v := range c {
					cards += v
				}
			}
		}
		b.ReportMetric(float64(cards), "cards")
	})
}

// BenchmarkListARareState is one page of an office's history filtered
// by a state none of its cases is in (GET /v1/cases?history=true&state=
// WITHDRAWN: ListCases reads the history for a final state), at a county
// holding YIZHAN_BENCH_STATS_CASES cases it filed (100,000), on the
// county's badger options: the walk of the office's cases by filing
// time, each case read to filter it, until the page is full or the
// history ends: "bounded" as List reads since session 48 (maxListRead a
// page), "unbounded" as it read before.
func BenchmarkListARareState(b *testing.B) {
	n := benchCases(b, 100_000)
	db, err := badgerstore.OpenDB(b.TempDir(), badgerstore.DBOptions{County: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	o := &office{t: b, code: county, book: openBook(b, db, county), mem: casework.NewBook(county), reg: newRegistry(b),
		index: 100, seqs: map[string]uint32{}, now: t0, step: time.Minute, chain: signerChain(county)}
	began := time.Now()
	for i := range n {
		o.index++
		o.now = o.now.Add(o.step)
		_, cmd := o.filing(clerk, licence, i%100_000) // the applicant made from i: at most 100,000 of them
		if res := o.book.Apply([]Entry{{Index: o.index, At: o.now.UnixNano(), Cmd: cmd}}, o.index, o.reg)[0]; res.Err != nil {
			b.Fatal(res.Err)
		}
	}
	b.Logf("%d cases filed in %s", n, time.Since(began).Round(time.Millisecond))
	for _, way := range []struct {
		name string
		read int
	}{{"bounded", maxListRead}, {"unbounded", 1 << 62}} { // unbounded: as before session 48
		b.Run(way.name, func(b *testing.B) {
			defer func(n int) { maxListRead = n }(maxListRead)
			maxListRead = way.read
			var pages int
			var took []time.Duration
			for b.Loop() {
				pages = 0
				q := ListQuery{Office: county, State: yizhanv1.CaseState_CASE_STATE_WITHDRAWN, PageSize: 20}
				for {
					t := time.Now()
					cases, next, err := o.book.List(q)
					took = append(took, time.Since(t))
					if err != nil || len(cases) != 0 {
						b.Fatalf("%d cases, %v", len(cases), err)
					}
					pages++
					if next == "" {
						break
					}
					q.PageToken = next
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(pages), "pages")
			b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "slowest-page-ms")
		})
	}
}

// BenchmarkQueueARareState is one page of an office's queue filtered by
// a state none of its open cases is in (GET /v1/cases?state=…, the
// clerks' queue page's state filter: the queue by due time, each entry's
// state in its value, no case read), and by an item none of them is of
// (item_code: each case read), at a county's book of two years
// (benchCounty: YIZHAN_BENCH_STATS_CASES cases, 100,000; a fifth of them
// open): "bounded" as Queue reads since session 48 (maxListRead cases,
// maxQueueSkipped entries left out, a page), "unbounded" as before.
func BenchmarkQueueARareState(b *testing.B) {
	n := benchCases(b, 100_000)
	book, _, _ := benchCounty(b, n)
	for _, f := range []struct {
		name string
		q    QueueQuery
		read int
	}{
		{"state/bounded", QueueQuery{Office: county, State: yizhanv1.CaseState_CASE_STATE_CORRECTION_REQUESTED, PageSize: 20}, maxListRead},
		{"state/unbounded", QueueQuery{Office: county, State: yizhanv1.CaseState_CASE_STATE_CORRECTION_REQUESTED, PageSize: 20}, 1 << 62},
		{"item/bounded", QueueQuery{Office: county, ItemCode: "NO-SUCH-ITEM", PageSize: 20}, maxListRead},
		{"item/unbounded", QueueQuery{Office: county, ItemCode: "NO-SUCH-ITEM", PageSize: 20}, 1 << 62},
	} {
		b.Run(f.name, func(b *testing.B) {
			defer func(n, m int) { maxListRead, maxQueueSkipped = n, m }(maxListRead, maxQueueSkipped)
			if f.read != maxListRead {
				maxListRead, maxQueueSkipped = f.read, f.read
			}
			var pages int
			var took []time.Duration
			for b.Loop() {
				pages = 0
				q := f.q
				for {
					t := time.Now()
					cases, next, err := book.Queue(q)
					took = append(took, time.Since(t))
					if err != nil || len(cases) != 0 {
						b.Fatalf("%d cases, %v", len(cases), err)
					}
					pages++
					if next == "" {
						break
					}
					q.PageToken = next
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(pages), "pages")
			b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "slowest-page-ms")
		})
	}
}
