package node_test

import (
	"fmt"
	"math"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/node"
)

// BenchmarkFollowerApply measures how long after its leader a follower of
// the county office (3 nodes, the production timing otherwise) applies a
// registry write, and what the office costs while idle. It makes
// CreateDepartment writes at the leader one at a time; a poller reads the
// registry index of the three nodes every 100 µs or so and notes when each
// first had the write. Reported: leader apply → follower apply (each
// follower, each write), the write's acknowledgement → both followers,
// and the CPU of the whole process (3 nodes and the client) per write and
// while idle (5 s without writes or poller).
//
// One sub-benchmark per raft CommitTimeout: 20 ms (the timing before
// issue 10) and raftgroup.DefaultTiming()'s. YIZHAN_BENCH_COMMIT_TIMEOUTS
// lists others ("20ms,5ms,2ms,default"); YIZHAN_BENCH_BUSY starts that
// many goroutines that burn CPU in the process during the writes, to see
// the office under load (the county benchmark's 320 nodes on 2 cores).
//
//	go test -run '^$' -bench BenchmarkFollowerApply -benchtime 300x ./node/
func BenchmarkFollowerApply(b *testing.B) {
	if testing.Short() {
		b.Skip("starts county offices")
	}
	timeouts := []string{"20ms", "default"}
	if v := os.Getenv("YIZHAN_BENCH_COMMIT_TIMEOUTS"); v != "" {
		timeouts = strings.Split(v, ",")
	}
	busy := benchEnvInt(b, "YIZHAN_BENCH_BUSY", 0)
	for _, name := range timeouts {
		timing := raftgroup.DefaultTiming()
		if name != "default" {
			d, err := time.ParseDuration(name)
			if err != nil {
				b.Fatalf("YIZHAN_BENCH_COMMIT_TIMEOUTS: %v", err)
			}
			timing.CommitTimeout = d
		}
		b.Run("commit="+name, func(b *testing.B) { benchFollowerApply(b, timing, busy) })
	}
}

func benchFollowerApply(b *testing.B, timing raftgroup.Timing, busy int) {
	f := newBenchFed(b)
	leader := f.startCounty(3, timing)
	admin := benchLogin(b, leader)
	f.waitCaughtUp(b, leader, time.Minute) // the nodes' announcements are writes too
	var followers []*node.Node
	for _, n := range f.all() {
		if n != leader {
			followers = append(followers, n)
		}
	}
	nodes := append([]*node.Node{leader}, followers...)

	// The idle office: raft's heartbeats and commit-timeout appends, the
	// nodes' tickers, badger.
	// YIZHAN_BENCH_CPUPROFILE names a file for a CPU profile of it.
	if path := os.Getenv("YIZHAN_BENCH_CPUPROFILE"); path != "" {
		fh, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(fh); err != nil {
			b.Fatal(err)
		}
		defer fh.Close()
		defer pprof.StopCPUProfile() // once, and before the file closes
	}
	idleStart, idleCPU := time.Now(), benchCPU(b)
	time.Sleep(5 * time.Second)
	idlePct := 100 * float64(benchCPU(b)-idleCPU) / float64(time.Since(idleStart))
	if os.Getenv("YIZHAN_BENCH_CPUPROFILE") != "" {
		pprof.StopCPUProfile()
	}

	// The poller: when each node's registry index moved, and to what.
	type step struct {
		index uint64
		at    time.Time
	}
	var mu sync.Mutex
	steps := make([][]step, len(nodes))
	var stop atomic.Bool
	var pollers sync.WaitGroup
	pollers.Go(func() {
		last := make([]uint64, len(nodes))
		for !stop.Load() {
			now := time.Now()
			for i, n := range nodes {
				if idx := n.Registry().Index(); idx != last[i] {
					last[i] = idx
					mu.Lock()
					steps[i] = append(steps[i], step{idx, now})
					mu.Unlock()
				}
			}
			time.Sleep(100 * time.Microsecond)
		}
	})
	// firstAt is when node i was first seen at index or beyond.
	firstAt := func(i int, index uint64) (time.Time, bool) {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range steps[i] {
			if s.index >= index {
				return s.at, true
			}
		}
		return time.Time{}, false
	}
	for range busy {
		pollers.Go(func() {
			x := 1.0
			for !stop.Load() {
				for range 10000 {
					x = math.Sqrt(x + 1)
				}
			}
			_ = x
		})
	}
	defer func() { stop.Store(true); pollers.Wait() }()

	var ackLat, followerLat, ackFollowersLat []time.Duration
	seq := 0
	cpu := benchCPU(b)
	for b.Loop() {
		seq++
		code := fmt.Sprintf("fa-%06d", seq)
		ctx, cancel := admin.ctx(10 * time.Second)
		start := time.Now()
		resp, err := admin.reg.CreateDepartment(ctx, &yizhanv1.CreateDepartmentRequest{
			Department: &yizhanv1.Department{Code: code, Name: "部门 " + code}})
		acked := time.Now()
		cancel()
		if err != nil {
			b.Fatalf("write %s: %v", code, err)
		}
		index := resp.GetRegistryIndex()
		var seen []time.Time
		benchWaitFor(b, "the write at every node", func() bool {
			seen = seen[:0]
			for i := range nodes {
				at, ok := firstAt(i, index)
				if !ok {
					return false
				}
				seen = append(seen, at)
			}
			return true
		}, 30*time.Second)
		ackLat = append(ackLat, acked.Sub(start))
		for _, at := range seen[1:] {
			followerLat = append(followerLat, at.Sub(seen[0]))
		}
		last := slices.MaxFunc(seen[1:], func(x, y time.Time) int { return x.Compare(y) })
		ackFollowersLat = append(ackFollowersLat, max(last.Sub(acked), 0))
		if !leader.Office().Group().IsLeader() {
			b.Fatalf("%s lost the lead during the writes", leader.Name())
		}
	}
	b.StopTimer()
	cpuPerWrite := benchMS(benchCPU(b)-cpu) / float64(len(ackLat))

	b.ReportMetric(benchMS(benchQuantile(followerLat, 0.50)), "follower-p50-ms")
	b.ReportMetric(benchMS(benchQuantile(followerLat, 0.99)), "follower-p99-ms")
	b.ReportMetric(benchMS(benchQuantile(ackFollowersLat, 0.50)), "ack-followers-p50-ms")
	b.ReportMetric(benchMS(benchQuantile(ackFollowersLat, 0.99)), "ack-followers-p99-ms")
	b.ReportMetric(benchMS(benchQuantile(ackLat, 0.50)), "write-p50-ms")
	b.ReportMetric(cpuPerWrite, "cpu-ms/write")
	b.ReportMetric(idlePct, "idle-cpu-%")
	b.ReportMetric(0, "ns/op")
	r := func(d time.Duration) time.Duration { return d.Round(10 * time.Microsecond) }
	line := func(what string, ds []time.Duration) {
		b.Logf("  %-34s p50 %8s  p99 %8s  max %8s", what, r(benchQuantile(ds, 0.5)), r(benchQuantile(ds, 0.99)), r(slices.Max(ds)))
	}
	b.Logf("%d writes, one at a time, at the leader of a county of 3; CommitTimeout %s, %d busy goroutines",
		len(ackLat), timing.CommitTimeout, busy)
	line("write acknowledged", ackLat)
	line("leader apply → follower apply", followerLat)
	line("ack → both followers applied", ackFollowersLat)
	b.Logf("  CPU (whole process) per write %.2f ms; idle %.2f%% of one core", cpuPerWrite, idlePct)
}
