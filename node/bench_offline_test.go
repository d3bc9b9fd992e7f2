package node_test

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// BenchmarkWeekOffline measures a village cut off for a simulated week:
// while its link is down, the county makes YIZHAN_BENCH_OFFLINE_WRITES
// registry changes (10,000 by default: departments created and renamed,
// more than a county makes in a month) and the village files
// YIZHAN_BENCH_OFFLINE_FILINGS cases of its own (1,000). Timed: from the
// link's restore until the village holds the county's registry (same
// index, same departments) and the county has received every case the
// village filed, with nothing left in any outbox. The week is simulated:
// what counts is how much piled up, not how long the link was down (the
// feed and the mail hold no timers that a week would run out).
//
//	go test -run '^$' -bench BenchmarkWeekOffline -benchtime 1x -timeout 30m ./node/
func BenchmarkWeekOffline(b *testing.B) {
	if testing.Short() {
		b.Skip("starts nodes")
	}
	writes := benchOfflineEnv(b, "YIZHAN_BENCH_OFFLINE_WRITES", 10000)
	filings := benchOfflineEnv(b, "YIZHAN_BENCH_OFFLINE_FILINGS", 1000)
	f := newCaseBenchFed(b, true)
	village, countyNode := f.node("dongcun-1"), f.node("county-1")
	admin := dial(b, countyNode).login("admin", password)
	token := caseBenchLogin(b, village, "dongcun")
	const clients = 16
	hc := caseBenchHTTP(clients)
	defer hc.CloseIdleConnections()
	url := "http://" + village.HTTPAddr() + "/v1/cases"
	body := caseBenchFiling()

	var regLat, casesLat []time.Duration
	b.ResetTimer()
	for round := range b.N {
		b.StopTimer()
		f.links["dongcun-1"].Cut()
		cutAt := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, 2*clients)
		// The county's week of registry changes: 500 departments created,
		// then renamed again and again.
		creates := min(writes, 500)
		write := func(from, to int64) {
			var next atomic.Int64
			next.Store(from)
			var phase sync.WaitGroup
			for range clients {
				phase.Go(func() {
					for i := next.Add(1) - 1; i < to; i = next.Add(1) - 1 {
						code := fmt.Sprintf("wk%d-%04d", round, i%500)
						var err error
						if i < 500 {
							_, err = admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: code, Name: "部门" + code}})
						} else {
							_, err = admin.reg.UpdateDepartment(admin.ctx(), &yizhanv1.UpdateDepartmentRequest{Code: code, Department: &yizhanv1.Department{Code: code, Name: fmt.Sprintf("部门%s 第%d版", code, i/500)}})
						}
						if err != nil {
							errs <- fmt.Errorf("registry write %d: %w", i, err)
							return
						}
					}
				})
			}
			phase.Wait()
		}
		wg.Go(func() {
			write(0, int64(creates))
			write(int64(creates), int64(writes))
		})
		// The village's week of filings.
		numbers := make([]string, filings)
		var nextFiling atomic.Int64
		for range clients {
			wg.Go(func() {
				for i := nextFiling.Add(1) - 1; i < int64(filings); i = nextFiling.Add(1) - 1 {
					n, err := caseBenchFile(hc, url, token, body)
					if err != nil {
						errs <- err
						return
					}
					numbers[i] = n
				}
			})
		}
		wg.Wait()
		select {
		case err := <-errs:
			b.Fatal(err)
		default:
		}
		want := countyNode.Registry().Index()
		if village.Registry().Index() >= want {
			b.Fatalf("the village reached the county's registry through a cut link")
		}
		waitFor(b, "the village's outbox holds every case", func() bool {
			return len(village.Office().Cases().Outbox()) >= filings && len(village.Office().Cases().NeedsAction()) == 0
		}, 5*time.Minute)
		b.Logf("cut for %s: %d registry changes at the county (index %d, the village at %d), %d cases filed at the village",
			time.Since(cutAt).Round(time.Second), writes, want, village.Registry().Index(), filings)

		b.StartTimer()
		restored := time.Now()
		f.links["dongcun-1"].Restore()
		var regDone time.Time
		pending := numbers
		waitFor(b, "the village converged", func() bool {
			if regDone.IsZero() && village.Registry().Index() >= want {
				regDone = time.Now()
			}
			for len(pending) > 0 && caseBenchReceivedBy(countyNode, pending[0]) {
				pending = pending[1:]
			}
			return !regDone.IsZero() && len(pending) == 0 && len(village.Office().Cases().Outbox()) == 0
		}, 10*time.Minute)
		done := time.Now()
		b.StopTimer()
		// Converged means the same registry, not only the same index.
		if vd, cd := village.Registry().Departments(), countyNode.Registry().Departments(); len(vd) != len(cd) || fmt.Sprint(vd) != fmt.Sprint(cd) {
			b.Fatalf("the village's departments differ from the county's after the catch-up")
		}
		regLat = append(regLat, regDone.Sub(restored))
		casesLat = append(casesLat, done.Sub(restored))
		b.Logf("after the restore: the village's registry at the county's index in %s, every case received at the county and the outbox empty in %s",
			regDone.Sub(restored).Round(time.Millisecond), done.Sub(restored).Round(time.Millisecond))
	}
	b.ReportMetric(caseBenchQuantile(regLat, 0.5).Seconds(), "s-registry")
	b.ReportMetric(caseBenchQuantile(casesLat, 0.5).Seconds(), "s-converged")
}

func benchOfflineEnv(b *testing.B, name string, def int) int {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("%s=%q: want a positive number", name, v)
		}
		return n
	}
	return def
}
