package node_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The outside anchor (issue 10): with YIZHAN_BENCH_ANCHOR=1, the filing
// and registry-write benchmarks first run the etcd anchor of
// bench/anchors (a module of its own: `go run .` there, with GOWORK=off),
// once per benchmark process and before any node starts, and then report
// etcd's figures for the same number of clients beside their own, with
// the ratios:
//
//	x-etcd-rate  the benchmark's rate / etcd's puts/s  (≥ 0.5 is the aim for 64 filing clients)
//	x-etcd-p50   the benchmark's p50 / etcd's p50      (≤ 1.5 is the aim for 1 filing client and registry writes)
//
// BenchmarkFileCases office=county is set beside a single etcd member
// (1x1, 1x64), BenchmarkRegistryWrite beside 3 members (3x1, 3x32).
// YIZHAN_BENCH_ANCHOR_PUTS sets the anchor's puts per configuration
// (3000). Without YIZHAN_BENCH_ANCHOR the benchmarks run as before.
//
//	YIZHAN_BENCH_ANCHOR=1 go test -run '^$' -bench 'BenchmarkFileCases/office=county|BenchmarkRegistryWrite' -benchtime 3000x ./node/
const (
	benchAnchorEnv     = "YIZHAN_BENCH_ANCHOR"
	benchAnchorPutsEnv = "YIZHAN_BENCH_ANCHOR_PUTS"
	// benchAnchorConfigs are the anchor's MEMBERSxCLIENTS configurations
	// the benchmarks compare with.
	benchAnchorConfigs = "1x1,1x64,3x1,3x32"
)

// benchAnchorResult is the part of the anchor's JSON line the benchmarks
// use (bench/anchors/main.go, Result).
type benchAnchorResult struct {
	Members  int     `json:"members"`
	Clients  int     `json:"clients"`
	Puts     int     `json:"puts"`
	PutsPerS float64 `json:"puts_per_s"`
	P50ms    float64 `json:"p50_ms"`
	P99ms    float64 `json:"p99_ms"`
	Load1    float64 `json:"load1"`
}

var benchAnchorRun struct {
	once    sync.Once
	results []benchAnchorResult
	err     error
}

// benchAnchor returns the etcd anchor's figures, measuring them the first
// time it is called in this process, or nil without YIZHAN_BENCH_ANCHOR.
// Call it before starting nodes, so that the anchor has the machine to
// itself.
func benchAnchor(b *testing.B) []benchAnchorResult {
	b.Helper()
	if os.Getenv(benchAnchorEnv) != "1" {
		return nil
	}
	benchAnchorRun.once.Do(func() {
		benchAnchorRun.results, benchAnchorRun.err = runBenchAnchor()
	})
	if benchAnchorRun.err != nil {
		b.Fatalf("the etcd anchor: %v", benchAnchorRun.err)
	}
	return benchAnchorRun.results
}

func runBenchAnchor() ([]benchAnchorResult, error) {
	puts := 3000
	if s := os.Getenv(benchAnchorPutsEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%s=%q: want a positive number", benchAnchorPutsEnv, s)
		}
		puts = n
	}
	dir, err := filepath.Abs(filepath.Join("..", "bench", "anchors"))
	if err != nil {
		return nil, err
	}
	// go test puts its own Go first on PATH. GOWORK=off: the anchor is a
	// module of its own, whatever go.work a developer has.
	cmd := exec.Command("go", "run", ".", "-json", "-configs", benchAnchorConfigs, "-puts", strconv.Itoa(puts))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	// Its table (and etcd's own errors, if any) go to stderr as it runs.
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, io.MultiWriter(os.Stderr, &stderr)
	fmt.Fprintf(os.Stderr, "etcd anchor: %s (in bench/anchors)\n", strings.Join(cmd.Args, " "))
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s in %s: %v\n%s", strings.Join(cmd.Args, " "), dir, err, stderr.Bytes())
	}
	fmt.Fprintf(os.Stderr, "etcd anchor: done in %v (with its build)\n", time.Since(start).Round(time.Second))
	var out []benchAnchorResult
	sc := bufio.NewScanner(&stdout)
	for sc.Scan() {
		line := sc.Bytes()
		if !bytes.HasPrefix(line, []byte("{")) {
			continue
		}
		var r benchAnchorResult
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("anchor line %q: %v", line, err)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the anchor printed no result:\n%s", stdout.Bytes())
	}
	return out, nil
}

// reportBenchAnchor reports etcd's figures for members×clients beside the
// benchmark's own rate (per second) and p50, and the ratios of the
// benchmark's to etcd's. It does nothing when runs is nil.
func reportBenchAnchor(b *testing.B, runs []benchAnchorResult, members, clients int, rate float64, p50, p99 time.Duration) {
	b.Helper()
	if runs == nil {
		return
	}
	for _, r := range runs {
		if r.Members != members || r.Clients != clients {
			continue
		}
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		b.ReportMetric(r.PutsPerS, "etcd-puts/s")
		b.ReportMetric(r.P50ms, "etcd-p50-ms")
		b.ReportMetric(rate/r.PutsPerS, "x-etcd-rate")
		b.ReportMetric(ms(p50)/r.P50ms, "x-etcd-p50")
		b.Logf("beside etcd, %d member(s), %d client(s): %.0f/s against %.0f puts/s (×%.2f), p50 %.2f against %.2f ms (×%.2f), p99 %.2f against %.2f ms (×%.2f)",
			members, clients, rate, r.PutsPerS, rate/r.PutsPerS, ms(p50), r.P50ms, ms(p50)/r.P50ms, ms(p99), r.P99ms, ms(p99)/r.P99ms)
		return
	}
	b.Errorf("the etcd anchor has no run of %d member(s) with %d client(s) (configs %s)", members, clients, benchAnchorConfigs)
}
