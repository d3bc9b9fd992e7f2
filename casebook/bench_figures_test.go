package casebook

import (
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
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
