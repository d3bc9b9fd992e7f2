package casebook

import (
	"maps"
	"strings"
	"testing"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// BenchmarkCalendarWriteOnAPastDay is a county admin making a working day
// of 2026 already past a holiday (a day off ordered after a disaster) at
// a county holding YIZHAN_BENCH_STATS_CASES cases (100,000; `make
// bench-stats`: 1,000,000) filed over 2026: the book judges again, in the
// raft entry's one transaction, every case with an event on or after the
// day (CalendarChanged), or, when that does not fit in a transaction,
// marks its statistics to be counted again from nothing at the next
// write. It reports how long the entry's apply took (the office's writes
// wait for it) and whether it fitted. Run it with -benchtime 1x.
func BenchmarkCalendarWriteOnAPastDay(b *testing.B) {
	n := benchCases(b, 100_000)
	for range b.N {
		b.StopTimer()
		book, reg, took := benchCounty(b, n)
		was := reg.Workdays()
		cal := registry.OfficialCalendar(2026)
		cal.Days = append(cal.Days, &yizhanv1.CalendarDay{Date: "2026-06-15", Kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, Name: "抗灾停工"})
		now := time.Date(2026, 12, 7, 10, 0, 0, 0, registry.CST)
		if _, err := reg.Apply(reg.Index()+1, &peerv1.RegistryCommand{AtUnixNano: now.UnixNano(), Actor: "county.admin",
			Op: &peerv1.RegistryCommand_PutCalendar{PutCalendar: &peerv1.PutCalendar{Calendar: cal}}}); err != nil {
			b.Fatal(err)
		}
		from, through, changed := registry.ChangedDays(was, reg.Workdays())
		if !changed {
			b.Fatal("the calendar did not change")
		}
		b.StartTimer()
		start := time.Now()
		book.CalendarChanged(book.Applied()+1, reg, CalendarChange{Before: registry.WithWorkdays{Registry: reg, Days: was}, From: from, Through: through, At: now}, nil)
		apply := time.Since(start)
		b.StopTimer()
		fitted := !book.statsStale.Load()
		if fitted {
			// Judged again walking only what the change reaches: the
			// counters are a recount's with the new calendar.
			judged := benchCounters(b, book)
			if err := book.upgradeStats(reg); err != nil {
				b.Fatal(err)
			}
			if recounted := benchCounters(b, book); !maps.Equal(judged, recounted) {
				b.Fatalf("the counters judged again after the calendar write differ from a recount: %d keys against %d", len(judged), len(recounted))
			}
		}
		b.Logf("%d cases (counted in %s): the calendar write from %s applied in %s; judged in its transaction: %v",
			n, took.Round(time.Millisecond), from.Format(time.DateOnly), apply.Round(time.Millisecond), fitted)
		b.ReportMetric(apply.Seconds(), "apply-s")
		if fitted {
			b.ReportMetric(1, "fitted")
		} else {
			b.ReportMetric(0, "fitted")
			start := time.Now()
			if err := book.upgradeStats(reg); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(start).Seconds(), "recount-s")
		}
	}
}

// benchCounters are every counter of 2026 at the county, by day, office,
// item, department and outcome.
func benchCounters(b *testing.B, book *Book) map[string]uint64 {
	b.Helper()
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, registry.CST), time.Date(2026, 12, 31, 0, 0, 0, 0, registry.CST)
	groups, err := book.SumStats(RangeQuery{From: from, To: to, Office: county, Subtree: true, ByDay: true}, func(s Stat) string {
		return strings.Join([]string{s.Period, s.Office, s.ItemCode, s.Department}, " ")
	})
	if err != nil {
		b.Fatal(err)
	}
	out := map[string]uint64{}
	for g, c := range groups {
		for outcome, n := range c {
			out[g+" "+outcome] = n
		}
	}
	return out
}
