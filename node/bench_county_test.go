package node_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/reason"
)

// The simulated county of BenchmarkCountyPropagation. The environment
// variables YIZHAN_BENCH_TOWNSHIPS, YIZHAN_BENCH_VILLAGES (per township)
// and YIZHAN_BENCH_WRITES shrink or grow it, e.g. to find the largest
// county that fits a machine; YIZHAN_BENCH_CPUPROFILE names a file for a
// CPU profile of the writes (without the setup), YIZHAN_BENCH_HEAPPROFILE
// one for a heap profile taken once every node has caught up.
const (
	benchTownships           = 20
	benchVillagesPerTownship = 15
	benchWrites              = 100
	benchStartWorkers        = 8
)

// BenchmarkCountyPropagation runs a whole county in one process: a county
// office of 3 nodes, 20 townships and 300 villages, every one a real node
// (badger on disk, raft with the production timing, mutual TLS on
// 127.0.0.1, the production feed heartbeat). It makes registry
// writes at the county leader one at a time and measures, for each, the
// time from the write's acknowledgement until every node of every office
// has applied it. It also reports the memory each village node adds.
//
// Setup takes about half a minute on 2 cores; run it once:
//
//	go test -run '^$' -bench BenchmarkCountyPropagation -benchtime 1x ./node/
func BenchmarkCountyPropagation(b *testing.B) {
	if testing.Short() {
		b.Skip("starts hundreds of nodes")
	}
	townships := benchEnvInt(b, "YIZHAN_BENCH_TOWNSHIPS", benchTownships)
	perTownship := benchEnvInt(b, "YIZHAN_BENCH_VILLAGES", benchVillagesPerTownship)
	writes := benchEnvInt(b, "YIZHAN_BENCH_WRITES", benchWrites)
	if townships < 1 || townships > 99 || perTownship < 1 || perTownship > 799 || writes < 1 {
		b.Fatalf("bad county size: %d townships, %d villages each, %d writes", townships, perTownship, writes)
	}
	setupStart := time.Now()
	f := newBenchFed(b)

	// The county office.
	leader := f.startCounty(3, raftgroup.DefaultTiming())
	admin := benchLogin(b, leader)
	benchProgress("county of 3 nodes ready in %s", time.Since(setupStart).Round(time.Millisecond))

	// The offices, in the registry first.
	var townCodes []string
	villagesOf := map[string][]string{}
	var villageCodes []string
	for k := range townships {
		tc := fmt.Sprintf("450122%03d000", 101+k)
		townCodes = append(townCodes, tc)
		for v := range perTownship {
			vc := tc[:9] + fmt.Sprintf("%03d", 201+v)
			villagesOf[tc] = append(villagesOf[tc], vc)
			villageCodes = append(villageCodes, vc)
		}
	}
	var jobs []func() error
	for _, tc := range townCodes {
		jobs = append(jobs, func() error { return admin.createOffice(tc, "乡镇便民服务中心 "+tc[6:9]) })
	}
	if err := benchPool(8, jobs); err != nil {
		b.Fatal(err)
	}
	jobs = jobs[:0]
	for _, vc := range villageCodes {
		jobs = append(jobs, func() error { return admin.createOffice(vc, "村便民服务站 "+vc[6:]) })
	}
	if err := benchPool(8, jobs); err != nil {
		b.Fatal(err)
	}
	benchProgress("%d offices created in the registry", len(townCodes)+len(villageCodes))

	countyPeers := f.peerAddrs(f.countyNames...)
	townNode := map[string]string{} // township code → node name
	jobs = jobs[:0]
	for _, tc := range townCodes {
		name := "town-" + tc[6:9]
		townNode[tc] = name
		jobs = append(jobs, func() error {
			_, err := f.start(name, tc, func(c *node.Config) {
				c.Bootstrap = true
				c.Upstream = countyPeers
			})
			return err
		})
	}
	t0 := time.Now()
	if err := benchPool(benchStartWorkers, jobs); err != nil {
		b.Fatal(err)
	}
	f.waitReady(b, f.namesWithPrefix("town-"), 5*time.Minute)
	f.waitCaughtUp(b, leader, 2*time.Minute)
	benchProgress("%d townships ready in %s", len(townCodes), time.Since(t0).Round(time.Millisecond))

	// Memory before the villages.
	before := benchMemory(b)

	jobs = jobs[:0]
	for _, tc := range townCodes {
		up := append(f.peerAddrs(townNode[tc]), countyPeers...)
		for _, vc := range villagesOf[tc] {
			name := "village-" + vc[6:]
			jobs = append(jobs, func() error {
				_, err := f.start(name, vc, func(c *node.Config) {
					c.Bootstrap = true
					c.Upstream = up
				})
				return err
			})
		}
	}
	t0 = time.Now()
	if err := benchPool(benchStartWorkers, jobs); err != nil {
		b.Fatal(err)
	}
	benchProgress("%d villages started in %s", len(villageCodes), time.Since(t0).Round(time.Millisecond))
	f.waitReady(b, f.namesWithPrefix("village-"), 10*time.Minute)
	benchProgress("%d villages ready in %s", len(villageCodes), time.Since(t0).Round(time.Millisecond))
	f.waitCaughtUp(b, leader, 5*time.Minute)
	benchProgress("all %d nodes caught up at registry index %d, %s after the villages started; setup took %s",
		len(f.all()), leader.Registry().Index(), time.Since(t0).Round(time.Millisecond), time.Since(setupStart).Round(time.Second))

	after := benchMemory(b)
	if path := os.Getenv("YIZHAN_BENCH_HEAPPROFILE"); path != "" {
		// What the nodes hold, all started and caught up.
		fh, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.WriteHeapProfile(fh); err != nil {
			b.Fatal(err)
		}
		fh.Close()
	}
	setup := time.Since(setupStart)
	nv := float64(len(villageCodes))
	perVillage := func(after, before uint64) float64 { return (float64(after) - float64(before)) / nv / (1 << 20) }
	benchProgress("memory before villages: %s", before)
	benchProgress("memory after villages:  %s", after)

	// The writes. Nodes by tier, for the per-tier figures.
	var countyNodes, towns, villages []*node.Node
	for _, n := range f.all() {
		switch {
		case n.Office().IsCounty():
			countyNodes = append(countyNodes, n)
		case strings.HasPrefix(n.Name(), "town-"):
			towns = append(towns, n)
		default:
			villages = append(villages, n)
		}
	}
	// A client for each county node: each write goes to the node that
	// leads at the time (the leader may change under load).
	clients := map[*node.Node]*benchClient{}
	for _, n := range countyNodes {
		c := benchDial(b, n)
		c.token = admin.token
		clients[n] = c
	}
	var retries, leaderChanges, alreadyExists int
	lastLeader := leader
	type written struct {
		start, acked time.Time
		index        uint64
	}
	writeOne := func(code string) written {
		req := &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: code, Name: "县直部门 " + code}}
		for attempt := 0; ; attempt++ {
			var ld *node.Node
			benchWaitFor(b, "a county leader", func() bool {
				for _, n := range countyNodes {
					if n.Office().Group().IsLeader() {
						ld = n
						return true
					}
				}
				return false
			}, time.Minute)
			if ld != lastLeader {
				leaderChanges++
				lastLeader = ld
			}
			c := clients[ld]
			ctx, cancel := c.ctx(10 * time.Second)
			start := time.Now()
			resp, err := c.reg.CreateDepartment(ctx, req)
			acked := time.Now()
			cancel()
			switch {
			case err == nil:
				return written{start, acked, resp.GetRegistryIndex()}
			case status.Code(err) == codes.AlreadyExists:
				// An earlier attempt went through after all, or the node
				// lost leadership with the write in flight and forwarded
				// it to the new leader, which had committed it: its index
				// is at most the leader's now.
				alreadyExists++
				benchProgress("write %s (attempt %d): %v", code, attempt+1, err)
				return written{start, acked, ld.Registry().Index()}
			case attempt < 20 && (status.Code(err) == codes.Unavailable || status.Code(err) == codes.DeadlineExceeded ||
				reason.StatusReason(err) == reason.OutcomeUnknown):
				retries++
				benchProgress("write %s: %v; retrying", code, err)
				time.Sleep(200 * time.Millisecond)
			default:
				b.Fatalf("write %s: %v", code, err)
			}
		}
	}
	everyone := slices.Concat(countyNodes, towns, villages)

	// What the idle federation costs: heartbeats, tickers, badger.
	idleStart, idleCPU := time.Now(), benchCPU(b)
	time.Sleep(5 * time.Second)
	idlePct := 100 * float64(benchCPU(b)-idleCPU) / float64(time.Since(idleStart))

	var ackLat, allLat, countyLat, townLat, villageLat []time.Duration
	seq := 0
	if path := os.Getenv("YIZHAN_BENCH_CPUPROFILE"); path != "" {
		// A CPU profile of the writes alone, without the setup.
		fh, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(fh); err != nil {
			b.Fatal(err)
		}
		defer func() { pprof.StopCPUProfile(); fh.Close() }()
	}
	writeCPU := benchCPU(b)
	for b.Loop() {
		for range writes {
			seq++
			code := fmt.Sprintf("bench-%05d", seq)
			w := writeOne(code)
			seen := benchWaitIndex(b, everyone, w.index, 60*time.Second)
			ackLat = append(ackLat, w.acked.Sub(w.start))
			allLat = append(allLat, benchLatest(seen, everyone).Sub(w.acked))
			countyLat = append(countyLat, benchLatest(seen, countyNodes).Sub(w.acked))
			townLat = append(townLat, benchLatest(seen, towns).Sub(w.acked))
			villageLat = append(villageLat, benchLatest(seen, villages).Sub(w.acked))
		}
	}
	b.StopTimer()
	cpuPerWrite := benchMS(benchCPU(b)-writeCPU) / float64(len(allLat))

	b.ReportMetric(benchMS(benchQuantile(allLat, 0.50)), "p50-ms")
	b.ReportMetric(benchMS(benchQuantile(allLat, 0.99)), "p99-ms")
	b.ReportMetric(benchMS(slices.Max(allLat)), "max-ms")
	b.ReportMetric(benchMS(benchQuantile(townLat, 0.99)), "townships-p99-ms")
	b.ReportMetric(benchMS(benchQuantile(ackLat, 0.50)), "write-p50-ms")
	b.ReportMetric(perVillage(after.rss, before.rss), "MB-rss/village")
	b.ReportMetric(perVillage(after.heapStack, before.heapStack), "MB-heap/village")
	b.ReportMetric(float64(len(everyone)), "nodes")
	b.ReportMetric(cpuPerWrite, "cpu-ms/write")
	b.ReportMetric(idlePct, "idle-cpu-%")
	b.ReportMetric(float64(retries), "retries")
	b.ReportMetric(float64(leaderChanges), "leader-changes")
	b.ReportMetric(float64(alreadyExists), "already-exists")
	b.ReportMetric(0, "ns/op")
	r := func(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
	line := func(what string, ds []time.Duration) {
		b.Logf("  %-24s p50 %8s  p99 %8s  max %8s", what, r(benchQuantile(ds, 0.5)), r(benchQuantile(ds, 0.99)), r(slices.Max(ds)))
	}
	b.Logf("%d writes, one at a time, through the county leader; %d nodes (%d county, %d townships, %d villages); setup %s",
		len(allLat), len(everyone), len(countyNodes), len(towns), len(villages), setup.Round(time.Second))
	line("write acknowledged", ackLat)
	line("ack → every county node", countyLat)
	line("ack → every township", townLat)
	line("ack → every village", villageLat)
	line("ack → every node", allLat)
	b.Logf("  CPU (user+system, all nodes) per write %.0f ms; while idle %.0f%% of one core; %d retries, %d leader changes, %d AlreadyExists",
		cpuPerWrite, idlePct, retries, leaderChanges, alreadyExists)
	b.Logf("  per village: RSS %.1f MB, Go heap+stacks %.1f MB, Go Sys %.1f MB, %.1f goroutines, %.1f fds; peak RSS of the process %d MB",
		perVillage(after.rss, before.rss), perVillage(after.heapStack, before.heapStack), perVillage(after.sys, before.sys),
		(float64(after.goroutines)-float64(before.goroutines))/nv, (float64(after.fds)-float64(before.fds))/nv, after.hwm>>20)
}

// benchWaitIndex waits until every node has applied index and returns when
// each was first seen there. It polls each node's registry every
// millisecond or so.
func benchWaitIndex(b *testing.B, nodes []*node.Node, index uint64, timeout time.Duration) map[*node.Node]time.Time {
	b.Helper()
	seen := make(map[*node.Node]time.Time, len(nodes))
	pending := slices.Clone(nodes)
	deadline := time.Now().Add(timeout)
	for {
		now := time.Now()
		pending = slices.DeleteFunc(pending, func(n *node.Node) bool {
			if n.Registry().Index() >= index {
				seen[n] = now
				return true
			}
			return false
		})
		if len(pending) == 0 {
			return seen
		}
		if now.After(deadline) {
			b.Fatalf("after %s, %d nodes have not applied registry index %d (first: %s at %d)",
				timeout, len(pending), index, pending[0].Name(), pending[0].Registry().Index())
		}
		time.Sleep(time.Millisecond)
	}
}

func benchLatest(seen map[*node.Node]time.Time, nodes []*node.Node) time.Time {
	var t time.Time
	for _, n := range nodes {
		if s := seen[n]; s.After(t) {
			t = s
		}
	}
	return t
}

// benchQuantile is the q-quantile of ds by the nearest-rank method.
func benchQuantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// benchCPU is the user and system CPU time the process has used.
func benchCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchProgress reports the progress of a long setup on stderr as it
// happens (a benchmark's own log is printed at its end, cut to 10 lines).
func benchProgress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "# %s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func benchMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func benchEnvInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		tb.Fatalf("%s=%q: %v", name, v, err)
	}
	return n
}

// benchMem is the process's memory at one moment. rawRSS is read first;
// the rest after a full GC with freed memory handed back to the kernel.
type benchMem struct {
	rawRSS, rss, hwm, heapStack, sys uint64
	goroutines, fds                  int
}

func (m benchMem) String() string {
	return fmt.Sprintf("VmRSS %d MB (%d MB before GC), VmHWM %d MB, Go heap+stacks %d MB, Go Sys %d MB, %d goroutines, %d fds",
		m.rss>>20, m.rawRSS>>20, m.hwm>>20, m.heapStack>>20, m.sys>>20, m.goroutines, m.fds)
}

func benchMemory(tb testing.TB) benchMem {
	tb.Helper()
	var m benchMem
	m.rawRSS, _ = benchProcStatus(tb)
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.heapStack, m.sys, m.goroutines = ms.HeapInuse+ms.StackInuse, ms.Sys, runtime.NumGoroutine()
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		m.fds = len(ents)
	}
	m.rss, m.hwm = benchProcStatus(tb)
	return m
}

// benchProcStatus reads VmRSS and VmHWM (peak RSS) from /proc/self/status.
func benchProcStatus(tb testing.TB) (rss, hwm uint64) {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		tb.Logf("no /proc/self/status: %v", err)
		return 0, 0
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		if k == "VmRSS" {
			rss = kb << 10
		} else {
			hwm = kb << 10
		}
	}
	return rss, hwm
}

// benchPool runs jobs on workers goroutines and returns the first error.
func benchPool(workers int, jobs []func() error) error {
	ch := make(chan func() error)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range workers {
		wg.Go(func() {
			for job := range ch {
				if err := job(); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	return first
}

// benchFed is an in-process federation for benchmarks: the harness's fed
// takes a *testing.T, and starts nodes one at a time. This one starts
// nodes from many goroutines and closes them in parallel.
type benchFed struct {
	tb          testing.TB
	ca          *pki.CA
	dir         string
	countyNames []string

	mu    sync.Mutex // guards nodes
	nodes map[string]*node.Node
}

func newBenchFed(tb testing.TB) *benchFed {
	tb.Helper()
	ca, err := pki.GenerateCA("bench county CA")
	if err != nil {
		tb.Fatal(err)
	}
	f := &benchFed{tb: tb, ca: ca, dir: tb.TempDir(), nodes: map[string]*node.Node{}}
	tb.Cleanup(f.closeAll) // runs before the TempDir is removed
	return f
}

// start starts a node; safe to call from many goroutines.
func (f *benchFed) start(name, office string, mod func(*node.Config)) (*node.Node, error) {
	certPEM, keyPEM, err := f.ca.Issue(pki.Identity{Office: office, Node: name}, []string{"127.0.0.1"})
	if err != nil {
		return nil, err
	}
	bundle, err := pki.LoadPEM(certPEM, keyPEM, f.ca.CertPEM())
	if err != nil {
		return nil, err
	}
	cfg := node.Config{
		Office: office, Name: name, DataDir: filepath.Join(f.dir, name),
		HTTPAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0", RaftAddr: "127.0.0.1:0",
		TLS: bundle, Logger: testLogger().With("node", name),
		FeedHeartbeat: time.Second, SmallBadger: true,
	}
	if mod != nil {
		mod(&cfg)
	}
	n, err := node.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	f.mu.Lock()
	f.nodes[name] = n
	f.mu.Unlock()
	if err := n.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	return n, nil
}

func (f *benchFed) node(name string) *node.Node {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.nodes[name]
}

func (f *benchFed) all() []*node.Node {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*node.Node
	for _, n := range f.nodes {
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b *node.Node) int { return strings.Compare(a.Name(), b.Name()) })
	return out
}

func (f *benchFed) namesWithPrefix(prefix string) []string {
	var out []string
	for _, n := range f.all() {
		if strings.HasPrefix(n.Name(), prefix) {
			out = append(out, n.Name())
		}
	}
	return out
}

func (f *benchFed) peerAddrs(names ...string) []string {
	var out []string
	for _, name := range names {
		out = append(out, f.node(name).PeerAddr())
	}
	return out
}

// startCounty starts a county office of size nodes with the admin account
// and returns its leader once every node is ready.
func (f *benchFed) startCounty(size int, timing raftgroup.Timing) *node.Node {
	f.tb.Helper()
	first, err := f.start("county-1", county, func(c *node.Config) {
		c.Bootstrap = true
		c.BootstrapAdminPassword = password
		c.Timing = timing
	})
	if err != nil {
		f.tb.Fatal(err)
	}
	f.countyNames = []string{"county-1"}
	for i := 2; i <= size; i++ {
		name := fmt.Sprintf("county-%d", i)
		if _, err := f.start(name, county, func(c *node.Config) {
			c.Join = []string{first.PeerAddr()}
			c.Timing = timing
		}); err != nil {
			f.tb.Fatal(err)
		}
		f.countyNames = append(f.countyNames, name)
	}
	f.waitReady(f.tb, f.countyNames, time.Minute)
	for _, name := range f.countyNames {
		n := f.node(name)
		benchWaitFor(f.tb, name+" knows the admin", func() bool { _, err := n.Registry().Staff("admin"); return err == nil }, time.Minute)
	}
	var leader *node.Node
	benchWaitFor(f.tb, "a county leader", func() bool {
		for _, name := range f.countyNames {
			if n := f.node(name); n.Office().Group().IsLeader() {
				leader = n
				return true
			}
		}
		return false
	}, time.Minute)
	return leader
}

func (f *benchFed) waitReady(tb testing.TB, names []string, timeout time.Duration) {
	tb.Helper()
	var waiting []string
	benchWaitFor(tb, "nodes ready", func() bool {
		waiting = waiting[:0]
		for _, name := range names {
			if !f.node(name).Ready() {
				waiting = append(waiting, name)
			}
		}
		return len(waiting) == 0
	}, timeout, func() string {
		return fmt.Sprintf("%d not ready, e.g. %v", len(waiting), waiting[:min(5, len(waiting))])
	})
}

// waitCaughtUp waits until every node has the leader's registry index and
// the index has stood still for 2 s (the nodes' announcements in the
// directory are registry writes too).
func (f *benchFed) waitCaughtUp(tb testing.TB, leader *node.Node, timeout time.Duration) {
	tb.Helper()
	var last uint64
	var since time.Time
	var behind int
	benchWaitFor(tb, "every node caught up", func() bool {
		idx := leader.Registry().Index()
		behind = 0
		for _, n := range f.all() {
			if n.Registry().Index() < idx {
				behind++
			}
		}
		if behind > 0 || idx != last {
			last, since = idx, time.Now()
			return false
		}
		return time.Since(since) >= 2*time.Second
	}, timeout, func() string { return fmt.Sprintf("%d nodes behind index %d", behind, last) })
}

// closeAll closes the nodes in parallel, villages first, the county last.
func (f *benchFed) closeAll() {
	t0 := time.Now()
	var tiers [3][]*node.Node
	for _, n := range f.all() {
		switch {
		case n.Office().IsCounty():
			tiers[2] = append(tiers[2], n)
		case strings.HasPrefix(n.Name(), "town-"):
			tiers[1] = append(tiers[1], n)
		default:
			tiers[0] = append(tiers[0], n)
		}
	}
	for _, tier := range tiers {
		var jobs []func() error
		for _, n := range tier {
			jobs = append(jobs, n.Close)
		}
		if err := benchPool(16, jobs); err != nil {
			f.tb.Errorf("close: %v", err)
		}
	}
	f.mu.Lock()
	f.nodes = map[string]*node.Node{}
	f.mu.Unlock()
	if d := time.Since(t0); d > 10*time.Second {
		f.tb.Logf("closing the nodes took %s", d.Round(time.Millisecond))
	}
}

// benchWaitFor waits until cond holds, failing after timeout; detail, if
// given, says what was still missing.
func benchWaitFor(tb testing.TB, what string, cond func() bool, timeout time.Duration, detail ...func() string) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			msg := ""
			for _, d := range detail {
				msg += ": " + d()
			}
			tb.Fatalf("timed out after %s waiting for %s%s", timeout, what, msg)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// benchClient is a signed-in gRPC client of one node's public API.
type benchClient struct {
	conn  *grpc.ClientConn
	reg   yizhanv1.RegistryServiceClient
	token string
}

// benchDial connects to a node's public API, not signed in.
func benchDial(tb testing.TB, n *node.Node) *benchClient {
	tb.Helper()
	conn, err := grpc.NewClient(n.HTTPAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	return &benchClient{conn: conn, reg: yizhanv1.NewRegistryServiceClient(conn)}
}

// benchLogin connects to a node's public API and signs in as the admin.
func benchLogin(tb testing.TB, n *node.Node) *benchClient {
	tb.Helper()
	c := benchDial(tb, n)
	authc := yizhanv1.NewAuthServiceClient(c.conn)
	benchWaitFor(tb, "sign in as admin", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := authc.Login(ctx, &yizhanv1.LoginRequest{Username: "admin", Password: password})
		if err != nil && status.Code(err) != codes.Unavailable {
			tb.Fatalf("sign in as admin: %v", err)
		}
		c.token = resp.GetToken()
		return err == nil
	}, time.Minute)
	return c
}

// ctx is a context with the client's token and a timeout.
func (c *benchClient) ctx(timeout time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.token), cancel
}

func (c *benchClient) createOffice(code, name string) error {
	ctx, cancel := c.ctx(30 * time.Second)
	defer cancel()
	_, err := c.reg.CreateOffice(ctx, &yizhanv1.CreateOfficeRequest{Office: &yizhanv1.Office{Code: code, Name: name}})
	if err != nil && status.Code(err) != codes.AlreadyExists {
		return fmt.Errorf("create office %s: %w", code, err)
	}
	return nil
}
