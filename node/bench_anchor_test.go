package node_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
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
	// benchAnchorRoundsEnv sets BenchmarkFilingBesideEtcd's rounds.
	benchAnchorRoundsEnv = "YIZHAN_BENCH_ANCHOR_ROUNDS"
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
	puts, err := benchAnchorPuts()
	if err != nil {
		return nil, err
	}
	// go test puts its own Go first on PATH.
	start := time.Now()
	out, err := runAnchor("go", "run", ".", "-json", "-configs", benchAnchorConfigs, "-puts", strconv.Itoa(puts))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "etcd anchor: done in %v (with its build)\n", time.Since(start).Round(time.Second))
	return parseBenchAnchor(out)
}

func benchAnchorPuts() (int, error) {
	puts := 3000
	if s := os.Getenv(benchAnchorPutsEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("%s=%q: want a positive number", benchAnchorPutsEnv, s)
		}
		puts = n
	}
	return puts, nil
}

// runAnchor runs a command in bench/anchors and returns what it printed
// on stdout. GOWORK=off: the anchor is a module of its own, whatever
// go.work a developer has.
func runAnchor(name string, args ...string) ([]byte, error) {
	dir, err := filepath.Abs(filepath.Join("..", "bench", "anchors"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	// Its table (and etcd's own errors, if any) go to stderr as it runs.
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, io.MultiWriter(os.Stderr, &stderr)
	fmt.Fprintf(os.Stderr, "etcd anchor: %s (in bench/anchors)\n", strings.Join(cmd.Args, " "))
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s in %s: %v\n%s", strings.Join(cmd.Args, " "), dir, err, stderr.Bytes())
	}
	return stdout.Bytes(), nil
}

// parseBenchAnchor reads the anchor's JSON lines.
func parseBenchAnchor(stdout []byte) ([]benchAnchorResult, error) {
	var out []benchAnchorResult
	sc := bufio.NewScanner(bytes.NewReader(stdout))
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
		return nil, fmt.Errorf("the anchor printed no result:\n%s", stdout)
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

// BenchmarkFilingBesideEtcd sets filing beside etcd in alternating
// rounds, so that both meet the same machine: on this machine a run of the
// same binary varies by a quarter within minutes, and the ratios of one
// anchor run made before yizhan's benchmarks (make bench-anchor) move
// with it. Each round, a fresh single-member etcd (the anchor's binary,
// built once) takes b.N puts from 1 client and then from 64, and the
// county node of this process (one node, started once, its book growing
// round by round) takes b.N filings from 1 client and then from 64, over
// REST (as a window files, JSON over HTTP/1.1) and then over gRPC (as
// etcd's clients put, a connection each); etcd goes first in odd rounds,
// yizhan in even ones. Each round is logged;
// the figures reported are the medians over the rounds, the ratios taken
// round by round. Then one client's filing is set beside etcd's put in
// short turns (benchOneClientInTurns), which meet the same machine.
// With YIZHAN_BENCH_ANCHOR=1 only; rounds:
// YIZHAN_BENCH_ANCHOR_ROUNDS (5). Run it with -benchtime Nx:
//
//	YIZHAN_BENCH_ANCHOR=1 go test -run '^$' -bench BenchmarkFilingBesideEtcd -benchtime 3000x ./node/
func BenchmarkFilingBesideEtcd(b *testing.B) {
	if os.Getenv(benchAnchorEnv) != "1" {
		b.Skipf("runs etcd beside the node: set %s=1", benchAnchorEnv)
	}
	rounds := 5
	if s := os.Getenv(benchAnchorRoundsEnv); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("%s=%q: want a positive number", benchAnchorRoundsEnv, s)
		}
		rounds = n
	}
	if b.N == 1 {
		rounds = 1 // the testing package's first probe; the -benchtime run follows
	}
	bin := filepath.Join(b.TempDir(), "anchors")
	if _, err := runAnchor("go", "build", "-o", bin, "."); err != nil {
		b.Fatal(err)
	}
	f := newCaseBenchFed(b, false)
	at := f.node("county-1")
	token := caseBenchLogin(b, at, "clerk")
	body := caseBenchFiling()
	url := "http://" + at.HTTPAddr() + "/v1/cases"
	hc := map[int]*http.Client{1: caseBenchHTTP(1), 64: caseBenchHTTP(64)}
	defer func() {
		for _, c := range hc {
			c.CloseIdleConnections()
		}
	}()
	b.StopTimer() // the rounds report their own figures
	// Warm up as the anchor does (200 untimed puts).
	if _, _, err := caseBenchFileMany(hc[64], url, token, body, 64, 200, nil); err != nil {
		b.Fatal(err)
	}

	etcd := func() (one, many benchAnchorResult) {
		out, err := runAnchor(bin, "-json", "-configs", "1x1,1x64", "-puts", strconv.Itoa(b.N))
		if err != nil {
			b.Fatal(err)
		}
		rs, err := parseBenchAnchor(out)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range rs {
			switch r.Clients {
			case 1:
				one = r
			case 64:
				many = r
			}
		}
		if one.Puts == 0 || many.Puts == 0 {
			b.Fatalf("the anchor did not run both configurations: %+v", rs)
		}
		return one, many
	}
	// The same filing over gRPC, as etcd's clients put: a connection of
	// its own for each client, as etcd's clients have.
	var req yizhanv1.FileCaseRequest
	if err := protojson.Unmarshal(body, &req); err != nil {
		b.Fatal(err)
	}
	conns := map[int][]yizhanv1.CaseServiceClient{}
	for _, clients := range []int{1, 64} {
		for range clients {
			conns[clients] = append(conns[clients], caseClient(b, dial(b, at)))
		}
	}
	callCtx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
	for _, cs := range conns { // connect each client before the rounds
		for _, c := range cs {
			if _, err := c.FileCase(callCtx, &req); err != nil {
				b.Fatal(err)
			}
		}
	}
	fileOver := map[string]func(clients int) func(int) error{
		"REST": func(clients int) func(int) error {
			return func(int) error { return caseBenchPost(hc[clients], url, token, body) }
		},
		"gRPC": func(clients int) func(int) error {
			return func(c int) error {
				ctx, cancel := context.WithTimeout(callCtx, 60*time.Second)
				defer cancel()
				_, err := conns[clients][c].FileCase(ctx, &req)
				return err
			}
		},
	}
	ours := func(transport string, clients int) (rate float64, p50 time.Duration) {
		before := at.Office().Cases().Len()
		lat, elapsed, err := caseBenchRun(clients, b.N, nil, fileOver[transport](clients))
		if err != nil {
			b.Fatalf("%s: %v", transport, err)
		}
		if got := at.Office().Cases().Len() - before; got != b.N {
			b.Fatalf("%d cases acknowledged, the book holds %d more", b.N, got)
		}
		return float64(b.N) / elapsed.Seconds(), caseBenchQuantile(lat, 0.5)
	}

	type series struct{ p50s, xP50s, rates, xRates []float64 }
	got := map[string]*series{"REST": {}, "gRPC": {}}
	var etcdP50s, etcdRates []float64
	for r := range rounds {
		var one, many benchAnchorResult
		p50, rate := map[string]time.Duration{}, map[string]float64{}
		yizhan := func() {
			for _, transport := range []string{"REST", "gRPC"} {
				_, p50[transport] = ours(transport, 1)
				rate[transport], _ = ours(transport, 64)
			}
		}
		if r%2 == 0 {
			one, many = etcd()
			yizhan()
		} else {
			yizhan()
			one, many = etcd()
		}
		etcdP50s, etcdRates = append(etcdP50s, one.P50ms), append(etcdRates, many.PutsPerS)
		line := fmt.Sprintf("round %d (%s first): etcd 1 client p50 %.3f ms, 64 clients %.0f puts/s", r+1,
			map[bool]string{true: "etcd", false: "yizhan"}[r%2 == 0], one.P50ms, many.PutsPerS)
		for _, transport := range []string{"REST", "gRPC"} {
			s, ms := got[transport], caseBenchMS(p50[transport])
			s.p50s, s.xP50s = append(s.p50s, ms), append(s.xP50s, ms/one.P50ms)
			s.rates, s.xRates = append(s.rates, rate[transport]), append(s.xRates, rate[transport]/many.PutsPerS)
			line += fmt.Sprintf("; filing over %s %.3f ms (×%.2f), %.0f cases/s (×%.2f)",
				transport, ms, ms/one.P50ms, rate[transport], rate[transport]/many.PutsPerS)
		}
		b.Log(line)
	}
	if b.N > 1 { // not the testing package's probe
		benchOneClientInTurns(b, bin, rounds, map[string]func(int) error{"REST": fileOver["REST"](1), "gRPC": fileOver["gRPC"](1)})
	}
	b.ReportMetric(median(etcdP50s), "etcd-p50-ms-1client")
	b.ReportMetric(median(etcdRates), "etcd-puts/s-64clients")
	for transport, unit := range map[string]string{"REST": "", "gRPC": "-grpc"} {
		s := got[transport]
		b.ReportMetric(median(s.p50s), "p50-ms-1client"+unit)
		b.ReportMetric(median(s.xP50s), "x-etcd-p50-1client"+unit)
		b.ReportMetric(median(s.rates), "cases/s-64clients"+unit)
		b.ReportMetric(median(s.xRates), "x-etcd-rate-64clients"+unit)
	}
}

// median returns the middle of xs (the mean of the two middle ones for an
// even count).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// benchOneClientInTurns measures one client's filing p50 beside etcd's
// in short turns: 2×rounds turns of b.N/(2×rounds) operations each for
// etcd (the anchor's -serve mode, one etcd kept for all the turns) and
// for each transport, one after the other, the order turning round each
// time. A round (above) measures etcd and then yizhan a few seconds
// apart, and this machine's speed drifts by a third within minutes:
// etcd's one-client p50 moved from 0.36 to 0.83 ms between the rounds
// of session 30's runs. Turns of a few hundred operations meet the same
// machine (docs/BENCHMARKS.md, session 30). The
// p50s are taken over all of each side's operations; the ratios of the
// turns that ran next to each other are logged.
func benchOneClientInTurns(b *testing.B, bin string, rounds int, file map[string]func(int) error) {
	anchor := startAnchorServer(b, bin)
	defer anchor.close()
	turns := 2 * rounds
	size := max(b.N/turns, 50)
	sides := []string{"etcd", "REST", "gRPC"}
	all := map[string][]time.Duration{}
	perTurn := map[string][]float64{} // a transport's p50 over etcd's, turn by turn
	for t := range turns {
		p50 := map[string]time.Duration{}
		for i := range sides {
			side := sides[(t+i)%len(sides)]
			var lat []time.Duration
			var err error
			if side == "etcd" {
				lat, err = anchor.puts(size)
			} else {
				lat, _, err = caseBenchRun(1, size, nil, file[side])
			}
			if err != nil {
				b.Fatalf("turn %d, %s: %v", t+1, side, err)
			}
			all[side] = append(all[side], lat...)
			p50[side] = caseBenchQuantile(lat, 0.5)
		}
		for _, transport := range sides[1:] {
			perTurn[transport] = append(perTurn[transport], float64(p50[transport])/float64(p50["etcd"]))
		}
	}
	etcdP50 := caseBenchQuantile(all["etcd"], 0.5)
	line := fmt.Sprintf("in %d turns of %d, one client: etcd p50 %.3f ms", turns, size, caseBenchMS(etcdP50))
	b.ReportMetric(caseBenchMS(etcdP50), "etcd-p50-ms-1client-turns")
	for transport, unit := range map[string]string{"REST": "", "gRPC": "-grpc"} {
		p50 := caseBenchQuantile(all[transport], 0.5)
		x := float64(p50) / float64(etcdP50)
		b.ReportMetric(x, "x-etcd-p50-1client-turns"+unit)
		line += fmt.Sprintf("; over %s %.3f ms (×%.2f; turn by turn ×%.2f–%.2f, median ×%.2f)", transport, caseBenchMS(p50), x,
			slices.Min(perTurn[transport]), slices.Max(perTurn[transport]), median(perTurn[transport]))
	}
	b.Log(line)
}

// anchorServer is the anchor in its -serve mode: one single-member etcd
// and one client, making puts when asked.
type anchorServer struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startAnchorServer(tb testing.TB, bin string) *anchorServer {
	tb.Helper()
	cmd := exec.Command(bin, "-serve")
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	a := &anchorServer{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	a.out.Buffer(make([]byte, 0, 1<<16), 1<<24)
	if !a.out.Scan() || !strings.Contains(a.out.Text(), `"ready":true`) {
		a.close()
		tb.Fatalf("the anchor did not start serving: %q %v", a.out.Text(), a.out.Err())
	}
	return a
}

// puts asks the anchor for n puts and returns their latencies.
func (a *anchorServer) puts(n int) ([]time.Duration, error) {
	if _, err := fmt.Fprintf(a.in, "put %d\n", n); err != nil {
		return nil, err
	}
	if !a.out.Scan() {
		return nil, fmt.Errorf("the anchor stopped: %v", a.out.Err())
	}
	var turn struct {
		Micros []int64 `json:"micros"`
	}
	if err := json.Unmarshal(a.out.Bytes(), &turn); err != nil || len(turn.Micros) != n {
		return nil, fmt.Errorf("the anchor answered %q (%v), want %d latencies", a.out.Bytes(), err, n)
	}
	out := make([]time.Duration, n)
	for i, us := range turn.Micros {
		out[i] = time.Duration(us) * time.Microsecond
	}
	return out, nil
}

// close ends the anchor's input, which stops its etcd, and waits for it.
func (a *anchorServer) close() {
	a.in.Close()
	done := make(chan struct{})
	go func() { a.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		a.cmd.Process.Kill()
		<-done
	}
}
