package node_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/reason"
)

// BenchmarkRegistryWrite measures registry writes (CreateDepartment, each
// a new department) through the gRPC API of the leader of a county office
// of 3 nodes with the production raft timing: writes per second and the
// latency each client sees, with 1 client and with 32 at once. Every
// write is committed by 2 of the 3 nodes, each syncing badger to disk.
//
//	go test -run '^$' -bench BenchmarkRegistryWrite -benchtime 10s ./node/
func BenchmarkRegistryWrite(b *testing.B) {
	if testing.Short() {
		b.Skip("starts a county office")
	}
	// With YIZHAN_BENCH_ANCHOR=1, etcd's figures first (bench_anchor_test.go).
	anchor := benchAnchor(b)
	f := newBenchFed(b)
	leader := f.startCounty(3, raftgroup.DefaultTiming())
	admin := benchLogin(b, leader)
	var seq atomic.Int64
	for _, clients := range []int{1, 32} {
		// One connection per client, all signed in as the admin.
		conns := make([]yizhanv1.RegistryServiceClient, clients)
		for i := range conns {
			conn, err := grpc.NewClient(leader.HTTPAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { conn.Close() })
			conns[i] = yizhanv1.NewRegistryServiceClient(conn)
		}
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			if !leader.Office().Group().IsLeader() {
				b.Fatalf("%s no longer leads the county", leader.Name())
			}
			var next, retries, alreadyExists atomic.Int64
			lat := make([][]time.Duration, clients)
			errs := make(chan error, clients)
			var wg sync.WaitGroup
			// What earlier benchmarks of the process left in the page cache
			// is written back now, not during this one's fsyncs.
			syscall.Sync()
			cpu := benchCPU(b)
			b.ResetTimer()
			for c := range clients {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						code := fmt.Sprintf("w-%07d", seq.Add(1))
						req := &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: code, Name: "部门 " + code}}
						start := time.Now()
						for attempt := 0; ; attempt++ {
							ctx, cancel := admin.ctx(30 * time.Second)
							_, err := conns[c].CreateDepartment(ctx, req)
							cancel()
							if err == nil {
								break
							}
							if status.Code(err) == codes.AlreadyExists {
								// The department is new: an earlier attempt went
								// through, or the node lost leadership with the
								// write in flight and forwarded it to the new
								// leader, which had committed it already.
								alreadyExists.Add(1)
								break
							}
							if attempt < 20 && (status.Code(err) == codes.Unavailable || reason.StatusReason(err) == reason.OutcomeUnknown) {
								// No leader for a moment (an election under load):
								// the write is forwarded once there is one; or
								// the leader lost its leadership with the write
								// in flight: the same write again tells.
								retries.Add(1)
								time.Sleep(100 * time.Millisecond)
								continue
							}
							errs <- fmt.Errorf("write %s: %w", code, err)
							return
						}
						lat[c] = append(lat[c], time.Since(start))
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			cpu = benchCPU(b) - cpu
			select {
			case err := <-errs:
				b.Fatal(err)
			default:
			}
			var all []time.Duration
			for _, l := range lat {
				all = append(all, l...)
			}
			rate, p50, p99 := float64(b.N)/b.Elapsed().Seconds(), benchQuantile(all, 0.50), benchQuantile(all, 0.99)
			b.ReportMetric(rate, "writes/s")
			b.ReportMetric(benchMS(p50), "p50-ms")
			b.ReportMetric(benchMS(p99), "p99-ms")
			// A county of 3 beside 3 etcd members.
			reportBenchAnchor(b, anchor, 3, clients, rate, p50, p99)
			// CPU of the whole process: the 3 nodes and the clients.
			b.ReportMetric(benchMS(cpu)/float64(b.N), "cpu-ms/write")
			if n := retries.Load(); n > 0 {
				b.ReportMetric(float64(n), "retries")
			}
			if n := alreadyExists.Load(); n > 0 {
				b.ReportMetric(float64(n), "already-exists")
			}
		})
	}
}

// BenchmarkFsync is the floor under every durable write on this machine:
// write 4 KiB at the start of a file and fsync it (as
// federation/badgerstore's BenchmarkFsync does), with p50 and p99.
//
//	go test -run '^$' -bench BenchmarkFsync -benchtime 1000x ./node/
func BenchmarkFsync(b *testing.B) {
	if testing.Short() {
		b.Skip("writes to disk")
	}
	fh, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
	if err != nil {
		b.Fatal(err)
	}
	defer fh.Close()
	buf := bytes.Repeat([]byte("y"), 4096)
	b.SetBytes(int64(len(buf)))
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := fh.WriteAt(buf, 0); err != nil {
			b.Fatal(err)
		}
		if err := fh.Sync(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.ReportMetric(benchMS(benchQuantile(lat, 0.50)), "p50-ms")
	b.ReportMetric(benchMS(benchQuantile(lat, 0.99)), "p99-ms")
}
