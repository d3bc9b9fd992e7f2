package node_test

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
)

// The overload benchmarks send a flood of requests at once to a county
// of one node (production settings, as BenchmarkFileCases) and measure
// what the node holds meanwhile (its Go heap and stacks at their peak,
// sampled every 20 ms) and what the clients get. The clients run in a
// process of their own (this test binary again, TestOverloadClient), so
// that their own memory is not counted. docs/BENCHMARKS.md, "Overload":
//
//	go test -run '^$' -bench 'BenchmarkWritesAtOnce|BenchmarkListingsAtOnce' -benchtime 1x ./node/
//
// YIZHAN_BENCH_UNBOUNDED=1 lifts the node's bounds (writes and listings
// at once) to see what it did without them; YIZHAN_BENCH_FLOOD sets the
// number of requests (writes: 10,000, half over gRPC and half over REST;
// listings: 1,000 over gRPC).

// BenchmarkWritesAtOnce sends YIZHAN_BENCH_FLOOD filings at once.
func BenchmarkWritesAtOnce(b *testing.B) {
	benchOverload(b, "writes", 10000)
}

// BenchmarkListingsAtOnce files 1,500 cases, then sends
// YIZHAN_BENCH_FLOOD listings of 1,000 of them at once.
func BenchmarkListingsAtOnce(b *testing.B) {
	benchOverload(b, "listings", 1000)
}

func benchOverload(b *testing.B, what string, flood int) {
	if testing.Short() {
		b.Skip("starts nodes")
	}
	flood = benchEnvInt(b, "YIZHAN_BENCH_FLOOD", flood)
	f := newCaseBenchFed(b, false, func(c *node.Config) {
		if os.Getenv("YIZHAN_BENCH_UNBOUNDED") != "" {
			c.HTTP = node.HTTPLimits{Writes: 1 << 30, WriteQueue: 1 << 30, Listed: 1 << 30, ListingQueue: 1 << 30}
		}
	})
	at := f.node("county-1")
	token := caseBenchLogin(b, at, "clerk")
	if what == "listings" {
		hc := caseBenchHTTP(64)
		if _, _, err := caseBenchFileMany(hc, "http://"+at.HTTPAddr()+"/v1/cases", token, caseBenchFiling(), 64, 1500, nil); err != nil {
			b.Fatal(err)
		}
		hc.CloseIdleConnections()
	}
	for b.Loop() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse + ms.StackInuse
		var peak, peakG atomic.Uint64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
				var ms runtime.MemStats
				runtime.ReadMemStats(&ms)
				peak.Store(max(peak.Load(), ms.HeapInuse+ms.StackInuse))
				peakG.Store(max(peakG.Load(), uint64(runtime.NumGoroutine())))
			}
		}()
		cmd := exec.Command(os.Args[0], "-test.run=^TestOverloadClient$", "-test.v")
		cmd.Env = append(os.Environ(), "YIZHAN_OVERLOAD_CLIENT="+what, "YIZHAN_OVERLOAD_ADDR="+at.HTTPAddr(),
			"YIZHAN_OVERLOAD_TOKEN="+token, "YIZHAN_OVERLOAD_FLOOD="+strconv.Itoa(flood))
		out, err := cmd.CombinedOutput()
		close(stop)
		<-sampled
		if err != nil {
			b.Fatalf("the clients: %v\n%s", err, out)
		}
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "overload:") {
				b.Log(strings.TrimSpace(l[strings.Index(l, "overload:"):]))
			}
		}
		b.Logf("the node: heap and stacks %d MB before, %d MB at the peak; %d goroutines at the peak",
			base>>20, peak.Load()>>20, peakG.Load())
		b.ReportMetric(float64(peak.Load()-base)/(1<<20), "peak-MB-more")
	}
}

// TestOverloadClient is the clients of the overload benchmarks, run in a
// process of their own by benchOverload; it does nothing otherwise.
func TestOverloadClient(t *testing.T) {
	what := os.Getenv("YIZHAN_OVERLOAD_CLIENT")
	if what == "" {
		t.Skip("the clients of BenchmarkWritesAtOnce and BenchmarkListingsAtOnce")
	}
	flood, _ := strconv.Atoi(os.Getenv("YIZHAN_OVERLOAD_FLOOD"))
	addr, token := os.Getenv("YIZHAN_OVERLOAD_ADDR"), os.Getenv("YIZHAN_OVERLOAD_TOKEN")
	conns := make([]*grpc.ClientConn, 8)
	for i := range conns {
		c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	var mu sync.Mutex
	lat := map[string][]time.Duration{}
	note := func(outcome string, d time.Duration) {
		mu.Lock()
		lat[outcome] = append(lat[outcome], d)
		mu.Unlock()
	}
	withToken := func() (context.Context, context.CancelFunc) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token), cancel
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range flood {
		cases := yizhanv1.NewCaseServiceClient(conns[i%len(conns)])
		switch {
		case what == "listings":
			wg.Go(func() {
				ctx, cancel := withToken()
				defer cancel()
				<-start
				t0 := time.Now()
				resp, err := cases.ListCases(ctx, &yizhanv1.ListCasesRequest{PageSize: 1000, History: true}, grpc.MaxCallRecvMsgSize(64<<20))
				outcome := grpcOutcome(err)
				if err == nil {
					outcome = fmt.Sprintf("grpc listed %d", len(resp.GetCases()))
				}
				note(outcome, time.Since(t0))
			})
		case i%2 == 0:
			wg.Go(func() {
				ctx, cancel := withToken()
				defer cancel()
				<-start
				t0 := time.Now()
				_, err := cases.FileCase(ctx, &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
					Applicant: &yizhanv1.Applicant{Name: "张三", IdNumber: applicantID, Phone: "13907710001"},
					Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
				note(grpcOutcome(err), time.Since(t0))
			})
		default:
			wg.Go(func() {
				hc := &http.Client{Timeout: 90 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
				<-start
				t0 := time.Now()
				outcome := restOutcome(hc, "http://"+addr+"/v1/cases", token, caseBenchFiling())
				note(outcome[:min(len(outcome), 60)], time.Since(t0))
			})
		}
	}
	time.Sleep(500 * time.Millisecond)
	t0 := time.Now()
	close(start)
	wg.Wait()
	t.Logf("overload: %d %s sent at once, all answered in %s", flood, what, time.Since(t0).Round(time.Millisecond))
	r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	for _, k := range slices.Sorted(maps.Keys(lat)) {
		ds := lat[k]
		t.Logf("overload:   %-22s %5d  p50 %8s  p99 %8s  max %8s", k, len(ds), r(caseBenchQuantile(ds, .5)), r(caseBenchQuantile(ds, .99)), r(slices.Max(ds)))
	}
}
