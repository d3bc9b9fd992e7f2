package node_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/node"
)

// BenchmarkMailStorm measures the case mail's catch-up storm and what the
// county's own staff see meanwhile. A county of one node, townships
// under it and villages under each (YIZHAN_STORM_TOWNSHIPS, 4;
// YIZHAN_STORM_VILLAGES per township, 4), every node with the production
// raft timing and feed heartbeat (villages and townships on badger's
// small profile, as in production). Every village's and every township's
// link is cut; each village files YIZHAN_STORM_QUEUED cases (250), which
// wait in its outbox; then every link is restored at once: each village
// sends its cases to its township, each township on to the county.
//
// Meanwhile the county's clerk files a case and reads the queue (a page
// of 100, gRPC) every 50 ms, one at a time, as a window would; the same is
// measured for 5 s before the cut (quiet) and while the storm drains,
// until the county holds every case. docs/BENCHMARKS.md, "The mail's
// catch-up storm":
//
//	go test -run '^$' -bench BenchmarkMailStorm -benchtime 1x -timeout 30m ./node/
func BenchmarkMailStorm(b *testing.B) {
	if testing.Short() {
		b.Skip("starts nodes")
	}
	townships := benchEnvInt(b, "YIZHAN_STORM_TOWNSHIPS", 4)
	villages := benchEnvInt(b, "YIZHAN_STORM_VILLAGES", 4)
	queued := benchEnvInt(b, "YIZHAN_STORM_QUEUED", 250)
	// YIZHAN_STORM_CUT=townships cuts the townships alone: the villages'
	// cases wait in the townships' outboxes, and the storm is the
	// county's alone, the villages idle.
	townshipsOnly := os.Getenv("YIZHAN_STORM_CUT") == "townships"
	f := newCaseBenchFed(b, false)
	countyNode := f.node("county-1")
	admin := dial(b, countyNode).login("admin", password)
	type village struct{ name, code, user string }
	var below []string // township and village node names
	var vs []village
	for t := range townships {
		tcode := fmt.Sprintf("4501221%02d000", t+1)
		if _, err := admin.reg.CreateOffice(admin.ctx(), &yizhanv1.CreateOfficeRequest{Office: &yizhanv1.Office{Code: tcode, Name: fmt.Sprintf("第%d镇便民服务中心", t+1)}}); err != nil {
			b.Fatal(err)
		}
		tname := fmt.Sprintf("town%d-1", t+1)
		tn := f.start(tname, tcode, func(c *node.Config) {
			c.Timing, c.FeedHeartbeat = raftgroup.Timing{}, 0 // raftgroup.DefaultTiming(), 1 s
			c.Bootstrap, c.Upstream = true, []string{countyNode.PeerAddr()}
		})
		below = append(below, tname)
		for v := range villages {
			vcode := fmt.Sprintf("4501221%02d2%02d", t+1, v+1)
			if _, err := admin.reg.CreateOffice(admin.ctx(), &yizhanv1.CreateOfficeRequest{Office: &yizhanv1.Office{Code: vcode, Name: fmt.Sprintf("第%d镇%d村便民服务站", t+1, v+1)}}); err != nil {
				b.Fatal(err)
			}
			user := fmt.Sprintf("agent%d%d", t+1, v+1)
			if _, err := admin.reg.CreateStaff(admin.ctx(), &yizhanv1.CreateStaffRequest{Password: password, Staff: &yizhanv1.StaffMember{
				Username: user, Name: "黄秀英", OfficeCode: vcode, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT}}}); err != nil {
				b.Fatal(err)
			}
			vname := fmt.Sprintf("v%d-%d-1", t+1, v+1)
			f.start(vname, vcode, func(c *node.Config) {
				c.Timing, c.FeedHeartbeat = raftgroup.Timing{}, 0 // raftgroup.DefaultTiming(), 1 s
				c.Bootstrap, c.Upstream = true, []string{tn.PeerAddr(), countyNode.PeerAddr()}
			})
			below = append(below, vname)
			vs = append(vs, village{vname, vcode, user})
		}
	}
	cut := below
	if townshipsOnly {
		cut = slices.DeleteFunc(slices.Clone(below), func(name string) bool { return f.node(name).Office().Code()[9:] != "000" })
	}
	idx := countyNode.Registry().Index()
	reg := countyNode.Registry()
	for _, name := range below {
		n := f.node(name)
		waitFor(b, name+" ready with the registry", func() bool { return n.Ready() && n.Registry().Index() >= idx }, 2*time.Minute)
		waitFor(b, name+" in the county's directory", func() bool {
			return slices.ContainsFunc(reg.Nodes(n.Office().Code()), func(e *yizhanv1.NodeEntry) bool { return e.GetName() == name })
		}, time.Minute)
	}

	clerk := dial(b, countyNode).login("clerk", password)
	cases := yizhanv1.NewCaseServiceClient(clerk.conn)
	var clerkFiled atomic.Int64
	staff := func() (fileLat, readLat time.Duration, err error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+clerk.token)
		t0 := time.Now()
		if _, err := cases.FileCase(ctx, &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
			Applicant: &yizhanv1.Applicant{Name: "张三", IdNumber: applicantID, Phone: "13907710001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}}); err != nil {
			return 0, 0, err
		}
		clerkFiled.Add(1)
		t1 := time.Now()
		if _, err := cases.ListCases(ctx, &yizhanv1.ListCasesRequest{PageSize: 100}); err != nil {
			return 0, 0, err
		}
		return t1.Sub(t0), time.Since(t1), nil
	}
	// measure runs staff every 50 ms until done says so.
	measure := func(done func() bool) (files, reads []time.Duration) {
		for tick := time.NewTicker(50 * time.Millisecond); !done(); <-tick.C {
			fl, rl, err := staff()
			if err != nil {
				b.Fatalf("the county's clerk: %v", err)
			}
			files, reads = append(files, fl), append(reads, rl)
		}
		return files, reads
	}
	line := func(what string, ds []time.Duration) {
		r := func(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
		b.Logf("  %-34s p50 %8s  p99 %8s  max %8s  (%d)", what, r(caseBenchQuantile(ds, .5)), r(caseBenchQuantile(ds, .99)), r(slices.Max(ds)), len(ds))
	}

	for b.Loop() {
		quietUntil := time.Now().Add(5 * time.Second)
		qFiles, qReads := measure(func() bool { return time.Now().After(quietUntil) })

		for _, name := range cut {
			f.links[name].Cut()
		}
		// Each village files its cases, 16 clients in all.
		hc := caseBenchHTTP(16)
		var jobs []func() error
		for _, v := range vs {
			token := caseBenchLogin(b, f.node(v.name), v.user)
			url := "http://" + f.node(v.name).HTTPAddr() + "/v1/cases"
			for range queued {
				jobs = append(jobs, func() error { return caseBenchPost(hc, url, token, caseBenchFiling()) })
			}
		}
		if err := benchPool(16, jobs); err != nil {
			b.Fatal(err)
		}
		hc.CloseIdleConnections()
		if townshipsOnly {
			// The villages' cases go up to their townships, which hold
			// them in their outboxes for the county.
			for _, name := range below {
				n := f.node(name)
				waitFor(b, name+" has handed its cases on", func() bool {
					if n.Office().Code()[9:] == "000" {
						return len(n.Office().Cases().Outbox()) >= villages*queued && len(n.Office().Cases().NeedsAction()) == 0
					}
					return len(n.Office().Cases().Outbox()) == 0
				}, 5*time.Minute)
			}
		} else {
			for _, v := range vs {
				n := f.node(v.name)
				waitFor(b, v.name+"'s outbox holds its cases", func() bool {
					return len(n.Office().Cases().Outbox()) >= queued && len(n.Office().Cases().NeedsAction()) == 0
				}, 5*time.Minute)
			}
		}
		held := countyNode.Office().Cases().Len()
		want := held + len(vs)*queued
		filedBefore := clerkFiled.Load()

		restored := time.Now()
		for _, name := range cut {
			f.links[name].Restore()
		}
		var drained atomic.Int64
		var wg sync.WaitGroup
		wg.Go(func() {
			// The county's own filings count in its book too: wait for
			// the storm's cases by the clerk's count.
			for countyNode.Office().Cases().Len()-int(clerkFiled.Load()-filedBefore) < want {
				time.Sleep(10 * time.Millisecond)
			}
			drained.Store(int64(time.Since(restored)))
		})
		sFiles, sReads := measure(func() bool { return drained.Load() != 0 })
		wg.Wait()
		drain := time.Duration(drained.Load())
		b.Logf("%d townships (cut: %d offices), %d villages, %d cases queued at each village (%d in all); after the restore every case at the county in %s (%.0f cases/s)",
			townships, len(cut), len(vs), queued, len(vs)*queued, drain.Round(time.Millisecond), float64(len(vs)*queued)/drain.Seconds())
		line("quiet: the clerk's filing", qFiles)
		line("quiet: the clerk's queue (100)", qReads)
		line("storm: the clerk's filing", sFiles)
		line("storm: the clerk's queue (100)", sReads)
		b.ReportMetric(drain.Seconds(), "s-to-drain")
		b.ReportMetric(caseBenchMS(caseBenchQuantile(sFiles, .99)), "storm-file-p99-ms")
		b.ReportMetric(caseBenchMS(caseBenchQuantile(sReads, .99)), "storm-read-p99-ms")
		b.ReportMetric(caseBenchMS(caseBenchQuantile(qFiles, .99)), "quiet-file-p99-ms")
	}
}
