package node_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/node"
)

// BenchmarkFilingBesideTheCardSweep files over REST with 64 clients at a
// county of one node whose book holds YIZHAN_BENCH_SWEEP_OPEN (20,000)
// filings nobody accepted, all past §32's five working days and carded
// (the clock runs ten days ahead): once with the card sweep off, once
// with it every second (300 times as often as a node sweeps), so the
// difference bounds the sweep's effect on filing. Each variant starts its
// own county.
func BenchmarkFilingBesideTheCardSweep(b *testing.B) {
	if testing.Short() {
		b.Skip("starts nodes")
	}
	open := benchEnvInt(b, "YIZHAN_BENCH_SWEEP_OPEN", 20_000)
	for _, every := range []time.Duration{-1, time.Second} {
		name := "sweep=off"
		if every > 0 {
			name = "sweep=" + every.String()
		}
		b.Run(name, func(b *testing.B) {
			var skew atomic.Int64
			f := newCaseBenchFed(b, false, func(c *node.Config) {
				c.CardSweepInterval = every
				c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
			})
			at := f.node("county-1")
			url := "http://" + at.HTTPAddr() + "/v1/cases"
			body := caseBenchFiling()
			const clients = 64
			hc := caseBenchHTTP(clients)
			defer hc.CloseIdleConnections()
			file := func(n int, token string) {
				var next atomic.Int64
				var wg sync.WaitGroup
				errs := make(chan error, clients)
				for range clients {
					wg.Go(func() {
						for next.Add(1) <= int64(n) {
							if err := caseBenchPost(hc, url, token, body); err != nil {
								errs <- err
								return
							}
						}
					})
				}
				wg.Wait()
				select {
				case err := <-errs:
					b.Fatal(err)
				default:
				}
			}
			file(open, caseBenchLogin(b, at, "clerk"))
			skew.Store(int64(10 * 24 * time.Hour))
			token := caseBenchLogin(b, at, "clerk") // signed at the new time
			if every > 0 {
				waitFor(b, "every open filing carded", func() bool {
					cs, _, err := at.Office().Cases().Cards(casebook.CardQuery{Rule: yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME, PageSize: open + 1})
					return err == nil && len(cs) >= open
				}, 5*time.Minute)
			}
			// Both variants rest alike before the timed run, so that
			// badger's flushes and compactions after the setup do not
			// favour one.
			time.Sleep(15 * time.Second)
			cpu := caseBenchCPU(b)
			b.ResetTimer()
			file(b.N, token)
			b.StopTimer()
			cpu = caseBenchCPU(b) - cpu
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "cases/s")
			b.ReportMetric(caseBenchMS(cpu)/float64(b.N), "cpu-ms/case")
			b.ReportMetric(float64(open), "open-cases")
			b.Logf("%s: %d filings beside %d open cases", name, b.N, open)
		})
	}
}
