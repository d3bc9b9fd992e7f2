package casebook

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// benchCases is YIZHAN_BENCH_STATS_CASES, or def.
func benchCases(b *testing.B, def int) int {
	if v := os.Getenv("YIZHAN_BENCH_STATS_CASES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("YIZHAN_BENCH_STATS_CASES=%q", v)
		}
		return n
	}
	return def
}

// benchCounty is a county's book holding n cases of two years (2025 and
// 2026), as a county's book holds them: filed at 150 villages (half), 10
// townships (30%) and the county (20%), 40 items of 20 departments (a
// third of them immediate), accepted, reviewed and decided over the
// following working days, a third rated. The cases and events are
// written as the book stores them; the counters and the daily series are
// then counted by the book itself (upgradeStats, the code apply runs), so
// the figures read what a county's book holds. It returns the book, the
// registry and how long the counting took.
func benchCounty(b *testing.B, n int) (*Book, *registry.Registry, time.Duration) {
	b.Helper()
	reg := registry.New(registry.Options{})
	db, err := badgerstore.OpenDB(b.TempDir(), badgerstore.DBOptions{County: true}) // as a county node opens it
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	book := openBook(b, db, county)
	rng := rand.New(rand.NewPCG(1, 2))
	var townships, villages []string
	for t := 1; t <= 10; t++ {
		tc := fmt.Sprintf("450122%03d000", 100+t)
		townships = append(townships, tc)
		for v := 1; v <= 15; v++ {
			villages = append(villages, fmt.Sprintf("450122%03d%03d", 100+t, 200+v))
		}
	}
	type item struct {
		code, dept      string
		statutory, prom int32
		kind            yizhanv1.CaseKind
	}
	var items []item
	for i := range 40 {
		it := item{code: fmt.Sprintf("ITEM-%02d", i), dept: fmt.Sprintf("d%02d", i/2), statutory: 20, prom: 10, kind: yizhanv1.CaseKind_CASE_KIND_PROMISED}
		if i%3 == 0 {
			it.prom, it.kind = 0, yizhanv1.CaseKind_CASE_KIND_IMMEDIATE
		}
		items = append(items, it)
	}
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, registry.CST)
	var workdays []time.Time
	for d := start; d.Year() < 2027; d = d.AddDate(0, 0, 1) {
		if reg.IsWorkingDay(d) {
			workdays = append(workdays, d)
		}
	}
	seqs := map[string]uint32{}
	wb := db.NewWriteBatch()
	ev := func(seq uint32, t yizhanv1.EventType, at time.Time, office string) *yizhanv1.CaseEvent {
		return &yizhanv1.CaseEvent{Seq: seq, Type: t, At: timestamppb.New(at), OfficeCode: office, Actor: "clerk"}
	}
	for range n {
		di := rng.IntN(len(workdays))
		filed := workdays[di].Add(time.Duration(8*60+rng.IntN(9*60)) * time.Minute)
		var origin string
		switch r := rng.IntN(10); {
		case r < 5:
			origin = villages[rng.IntN(len(villages))]
		case r < 8:
			origin = townships[rng.IntN(len(townships))]
		default:
			origin = county
		}
		it := items[rng.IntN(len(items))]
		day := filed.In(registry.CST).Format("20060102")
		seqs[origin+day]++
		number := casework.CaseNumber(origin, filed, seqs[origin+day])
		acceptor := county // the township accepts and decides its immediate items
		if origin != county && it.kind == yizhanv1.CaseKind_CASE_KIND_IMMEDIATE {
			acceptor = origin[:9] + "000"
		}
		events := []*yizhanv1.CaseEvent{ev(1, yizhanv1.EventType_EVENT_TYPE_FILED, filed, origin)}
		events[0].Filing = &yizhanv1.CaseFiling{Number: number, ItemCode: it.code, ItemVersion: 1, CaseKind: it.kind,
			OriginOffice: origin, StatutoryLimitDays: it.statutory, PromisedLimitDays: it.prom, DepartmentCode: it.dept}
		accAt := filed.Add(time.Duration(rng.IntN(3)) * 24 * time.Hour)
		if rng.IntN(2) == 0 {
			accAt = filed.Add(30 * time.Minute)
		}
		events = append(events, ev(2, yizhanv1.EventType_EVENT_TYPE_ACCEPTED, accAt, acceptor))
		if di+30 < len(workdays) || rng.IntN(10) < 3 { // most are decided; recent ones still run
			decAt := accAt.Add(time.Hour)
			if it.kind != yizhanv1.CaseKind_CASE_KIND_IMMEDIATE || rng.IntN(3) == 0 {
				decAt = reg.AddWorkingDays(accAt, rng.IntN(int(it.prom)+4)).Add(-6 * time.Hour)
			}
			events = append(events, ev(3, yizhanv1.EventType_EVENT_TYPE_REVIEWED, decAt.Add(-time.Minute), acceptor),
				ev(4, yizhanv1.EventType_EVENT_TYPE_DECIDED, decAt, acceptor))
			events[3].Approved = rng.IntN(10) > 0
			if rng.IntN(3) == 0 {
				r := ev(5, yizhanv1.EventType_EVENT_TYPE_RATED, decAt.Add(time.Hour), origin)
				r.Rating = yizhanv1.Rating(1 + rng.IntN(5))
				events = append(events, r)
			}
		}
		prev := casework.GenesisHash(number)
		for _, e := range events {
			casework.Seal(e, prev)
			prev = e.GetHash()
		}
		c, err := casework.Fold(events)
		if err != nil {
			b.Fatal(err)
		}
		set := func(k []byte, m proto.Message) {
			v, err := proto.Marshal(m)
			if err == nil {
				err = wb.Set(k, v)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		set(caseKey(number), c)
		for _, e := range events {
			set(eventKey(number, e.GetSeq()), e)
		}
	}
	if err := wb.Flush(); err != nil {
		b.Fatal(err)
	}
	began := time.Now()
	if err := book.upgradeStats(reg); err != nil {
		b.Fatal(err)
	}
	return book, reg, time.Since(began)
}

// BenchmarkStatisticsOfAYear reads the figures of 2026 at a county,
// grouped by department, as GET /v1/statistics does (the counters summed
// by department, the daily series of the county and of each department,
// the figures computed): YIZHAN_BENCH_STATS_CASES cases (100,000;
// `make bench-stats`: 1,000,000), 30 reads per iteration (run it with
// -benchtime 1x: the book is built for each iteration).
func BenchmarkStatisticsOfAYear(b *testing.B) {
	n := benchCases(b, 100_000)
	book, _, took := benchCounty(b, n)
	b.Logf("%d cases; the book counted its counters in %s", n, took.Round(time.Millisecond))
	from, to := time.Date(2026, 1, 1, 0, 0, 0, 0, registry.CST), time.Date(2026, 12, 31, 0, 0, 0, 0, registry.CST)
	var lat []time.Duration
	var rows int
	b.ResetTimer()
	for range b.N * 30 {
		t := time.Now()
		groups, err := book.SumStats(RangeQuery{From: from, To: to, Office: county, Subtree: true}, func(s Stat) string { return s.Department })
		if err != nil {
			b.Fatal(err)
		}
		all, err := book.Daily(DailyAll(), from, to)
		if err != nil {
			b.Fatal(err)
		}
		total := supervision.Counters{}
		rows = 0
		for dept, c := range groups {
			total.Add(c)
			days, err := book.Daily(DailyDept(dept), from, to)
			if err != nil {
				b.Fatal(err)
			}
			supervision.Compute(c, days)
			rows++
		}
		if f := supervision.Compute(total, all); f.GetReceived() == 0 {
			b.Fatal("no cases counted")
		}
		lat = append(lat, time.Since(t))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(took.Seconds(), "recount-s")
}

// BenchmarkCardSweep is one leader's sweep (CardsDue) over a county book
// of YIZHAN_BENCH_STATS_CASES cases (100,000), a tenth of them running
// on the day swept, with the cards already issued: the steady state, a
// sweep a minute.
func BenchmarkCardSweep(b *testing.B) {
	n := benchCases(b, 100_000)
	reg := newRegistry(b)
	o := newOffice(b, county, reg)
	o.now = time.Date(2026, 3, 2, 9, 0, 0, 0, registry.CST)
	o.step = time.Second
	var running []string
	for i := range n {
		num := o.file(licence, i, Request{})
		if i%10 == 0 {
			o.act(num, casework.ActionAccept, nil)
			running = append(running, num)
		}
	}
	o.now = o.now.Add(20 * 24 * time.Hour) // all of them overdue
	first := o.sweep()
	for o.sweep() > 0 {
	}
	if first == 0 {
		b.Fatal("the first sweep found nothing")
	}
	b.ResetTimer()
	for range b.N {
		checks, err := o.book.CardsDue(o.now, reg, supervision.Policy{}, MaxCardChecks)
		if err != nil || len(checks) != 0 {
			b.Fatalf("%d checks, %v", len(checks), err)
		}
	}
	b.ReportMetric(float64(len(running)), "running")
}

// BenchmarkZeroReportsOfAYear reads a year of zero reports (零报告) at a
// county of 300 offices, day by day, as a year's duty assessment
// (GET /v1/duty/assessment, from 01-01 to 12-31) does: 109,500 records,
// in one walk (Book.ZeroReportsBetween).
func BenchmarkZeroReportsOfAYear(b *testing.B) {
	db, err := badgerstore.OpenDB(b.TempDir(), badgerstore.DBOptions{County: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	book, err := Open(db, county)
	if err != nil {
		b.Fatal(err)
	}
	const offices = 300
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, registry.CST)
	wb := db.NewWriteBatch()
	for d := range 365 {
		day := first.AddDate(0, 0, d)
		for o := range offices {
			office := fmt.Sprintf("450122%03d000", o)
			z := &yizhanv1.ZeroReport{Id: "LB-" + office, OfficeCode: office, Day: day.Format("2006-01-02"), By: "duty", ByName: "值班员",
				At: timestamppb.New(day.Add(15 * time.Hour)), Note: "无紧急重大情况"}
			v, err := proto.Marshal(z)
			if err != nil {
				b.Fatal(err)
			}
			if err := wb.Set(key(pZero, day.Format("20060102"), office), v); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := wb.Flush(); err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	b.ResetTimer()
	for range b.N {
		t := time.Now()
		held := 0
		year, err := book.ZeroReportsBetween("20260101", "20261231")
		if err != nil {
			b.Fatal(err)
		}
		for _, zs := range year {
			held += len(zs)
		}
		if held != 365*offices {
			b.Fatalf("read %d zero reports, want %d", held, 365*offices)
		}
		lat = append(lat, time.Since(t))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}

// BenchmarkCheckStatistics is the statistics' part of Check on a county's
// book of two years (benchCounty: YIZHAN_BENCH_STATS_CASES cases,
// 100,000): the records counted again and compared with the counters and
// daily series held. "digest" is Check's way (checkStats); "maps" counts
// them again into maps of every counter, as Check and upgradeStats did
// before. It reports the time, the counters held, and the
// Go heap: the most it held (sampled every 2 ms) and its most live after
// a collection, above the heap before the check.
func BenchmarkCheckStatistics(b *testing.B) {
	n := benchCases(b, 100_000)
	book, reg, _ := benchCounty(b, n)
	counters := 0
	if err := book.db.View(func(txn *badger.Txn) error {
		for _, p := range []string{pStat, pDaily} {
			if err := eachKey(txn, []byte(p), func(_, _ []byte) error {
				counters++
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d cases, %d counters and daily series", n, counters)
	for _, way := range []string{"digest", "maps"} {
		b.Run(way, func(b *testing.B) {
			for b.Loop() {
				var problems []string
				bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
				peak := sampleHeap()
				began := time.Now()
				err := book.db.View(func(txn *badger.Txn) error {
					if way == "maps" {
						r := newRecount()
						if err := book.recountAll(txn, book.Generation(), reg, r, true, nil); err != nil {
							return err
						}
						if len(r.stats)+len(r.daily) != counters {
							bad("%d counters counted, %d held", len(r.stats)+len(r.daily), counters)
						}
						return nil
					}
					expected := newAmountDigest()
					if err := book.recountAll(txn, book.Generation(), reg, &recount{to: expected.add}, true, nil); err != nil {
						return err
					}
					held, err := checkStats(txn, expected, func(r *recount) error { return book.recountAll(txn, book.Generation(), reg, r, false, nil) }, bad)
					if held != 0 {
						bad("%d counters held", held)
					}
					return err
				})
				took := time.Since(began)
				objects, live := peak()
				if err != nil || len(problems) > 0 {
					b.Fatalf("%q (%v)", problems, err)
				}
				b.ReportMetric(took.Seconds(), "check-s")
				b.ReportMetric(float64(counters), "counters")
				b.ReportMetric(float64(objects)/(1<<20), "peak-heap-MB")
				b.ReportMetric(float64(live)/(1<<20), "peak-live-MB")
			}
		})
	}
}

// sampleHeap samples the Go heap every 2 ms from now until the function
// it returns is called, which gives the most the heap's objects took and
// the most the heap held live after a collection, each above what they
// were at the start (after a collection).
func sampleHeap() (stop func() (objects, live uint64)) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	base := [2]uint64{s[0].Value.Uint64(), s[1].Value.Uint64()}
	var most [2]uint64
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			for i := range s {
				if v := s[i].Value.Uint64(); v > base[i] {
					most[i] = max(most[i], v-base[i])
				}
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	return func() (uint64, uint64) {
		close(done)
		<-finished
		return most[0], most[1]
	}
}

// BenchmarkUpgradeStats is upgradeStats on benchCounty's book: what a
// node whose book was counted with an older release's definitions does
// once, before it applies its first entry. It reports the time and the
// Go heap it held (as BenchmarkCheckStatistics).
func BenchmarkUpgradeStats(b *testing.B) {
	n := benchCases(b, 100_000)
	book, reg, _ := benchCounty(b, n)
	for b.Loop() {
		peak := sampleHeap()
		began := time.Now()
		if err := book.upgradeStats(reg); err != nil {
			b.Fatal(err)
		}
		took := time.Since(began)
		objects, live := peak()
		b.ReportMetric(took.Seconds(), "upgrade-s")
		b.ReportMetric(float64(objects)/(1<<20), "peak-heap-MB")
		b.ReportMetric(float64(live)/(1<<20), "peak-live-MB")
	}
}
