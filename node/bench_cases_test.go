package node_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/node"
)

// The case benchmarks run real nodes in this process (raft on badger with
// synchronous writes, mutual TLS on 127.0.0.1) with the production raft
// timing and badger sizes, and talk to them over REST as a window would.
// Their figures are in docs/BENCHMARKS.md ("Cases"):
//
//	go test -run '^$' -bench BenchmarkFileCases -benchtime 10000x -count 3 -timeout 40m ./node/
//	go test -run '^$' -bench BenchmarkVillageToCounty -benchtime 3x -count 3 ./node/
//	go test -run '^$' -bench BenchmarkCatchUp -benchtime 1x -count 3 ./node/

const (
	// caseBenchHops is how many cases BenchmarkVillageToCounty files per
	// op, one at a time.
	caseBenchHops = 100
	// caseBenchQueued is how many cases BenchmarkCatchUp queues at the
	// cut-off village.
	caseBenchQueued = 1000
)

// BenchmarkFileCases measures filing over REST (POST /v1/cases with a
// staff token, HTTP/1.1 keep-alive) at a single-node office, with 1 and
// 64 clients at once: cases per second and the latency each client sees.
// Every answer comes after the filing is committed through raft, on
// badger with synchronous writes.
//
// office=county files at a county of one node, which holds every right
// on the item: a filing is one raft entry and nothing follows.
// office=village files at a village node (the agent proxy-files) of a
// federation of county, township and village in this process: each
// filing is also forwarded, by the village's own FORWARDED event, and
// handed up to the township and the county, which share the same cores.
// The forwarding may fall behind the filings: after each village run,
// untimed, the benchmark waits until the county has received every case
// and reports that wait (drain-s) and the rate filings reached the county
// (cases/s-to-county: the cases over the run and the drain).
func BenchmarkFileCases(b *testing.B) {
	if testing.Short() {
		b.Skip("starts nodes")
	}
	// With YIZHAN_BENCH_ANCHOR=1, etcd's figures first (bench_anchor_test.go).
	anchor := benchAnchor(b)
	for _, office := range []string{"county", "village"} {
		b.Run("office="+office, func(b *testing.B) {
			f := newCaseBenchFed(b, office == "village")
			at, user := f.node("county-1"), "clerk"
			if office == "village" {
				at, user = f.node("dongcun-1"), "dongcun"
			}
			token := caseBenchLogin(b, at, user)
			body := caseBenchFiling()
			for _, clients := range []int{1, 64} {
				b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
					hc := caseBenchHTTP(clients)
					defer hc.CloseIdleConnections()
					url := "http://" + at.HTTPAddr() + "/v1/cases"
					before := at.Office().Cases().Len()
					cpu := caseBenchCPU(b)
					all, elapsed, err := caseBenchFileMany(hc, url, token, body, clients, b.N, b.ResetTimer)
					b.StopTimer()
					cpu = caseBenchCPU(b) - cpu
					if err != nil {
						b.Fatal(err)
					}
					if got := at.Office().Cases().Len() - before; got != b.N {
						b.Fatalf("%d cases acknowledged, the book holds %d more", b.N, got)
					}
					if office == "village" {
						// Untimed: let the federation hand every case up
						// to the county before the next run, and say how
						// long that took after the last answer.
						drainStart := time.Now()
						f.waitDrained(b, 10*time.Minute)
						drain := time.Since(drainStart)
						b.ReportMetric(drain.Seconds(), "drain-s")
						b.ReportMetric(float64(b.N)/(b.Elapsed()+drain).Seconds(), "cases/s-to-county")
					}
					rate, p50, p99 := float64(b.N)/elapsed.Seconds(), caseBenchQuantile(all, 0.50), caseBenchQuantile(all, 0.99)
					b.ReportMetric(rate, "cases/s")
					b.ReportMetric(caseBenchMS(p50), "p50-ms")
					b.ReportMetric(caseBenchMS(p99), "p99-ms")
					if office == "county" {
						// A single-node office beside a single etcd member.
						reportBenchAnchor(b, anchor, 1, clients, rate, p50, p99)
					}
					// CPU of the whole process (nodes and clients) per case.
					b.ReportMetric(caseBenchMS(cpu)/float64(b.N), "cpu-ms/case")
					b.ReportMetric(float64(at.Office().Cases().Len()), "cases-held")
				})
			}
		})
	}
}

// BenchmarkVillageToCounty measures how long a case takes from the
// village's answer to the filing until the county holds it: received
// (its RECEIVED event applied there, so durable) after two hops, village
// → township → county, each a raft commit at the sender (FORWARDED), a
// delivery over mutual TLS, a raft commit at the receiver and its own
// RECEIVED event. Each op files caseBenchHops cases one at a time, each
// after the one before reached the county; the county's book is polled
// every millisecond.
func BenchmarkVillageToCounty(b *testing.B) {
	if testing.Short() {
		b.Skip("starts nodes")
	}
	f := newCaseBenchFed(b, true)
	village, townshipNode, countyNode := f.node("dongcun-1"), f.node("chengguan-1"), f.node("county-1")
	token := caseBenchLogin(b, village, "dongcun")
	hc := caseBenchHTTP(1)
	defer hc.CloseIdleConnections()
	url := "http://" + village.HTTPAddr() + "/v1/cases"
	body := caseBenchFiling()

	var fileLat, townLat, countyLat []time.Duration
	one := func() {
		start := time.Now()
		number, err := caseBenchFile(hc, url, token, body)
		if err != nil {
			b.Fatal(err)
		}
		acked := time.Now()
		var atTown time.Time
		deadline := acked.Add(30 * time.Second)
		for {
			now := time.Now()
			if atTown.IsZero() && caseBenchReceivedBy(townshipNode, number) {
				atTown = now
			}
			if caseBenchReceivedBy(countyNode, number) {
				if atTown.IsZero() {
					atTown = now
				}
				fileLat = append(fileLat, acked.Sub(start))
				townLat = append(townLat, atTown.Sub(acked))
				countyLat = append(countyLat, now.Sub(acked))
				return
			}
			if now.After(deadline) {
				b.Fatalf("%s not received at the county 30 s after its filing", number)
			}
			time.Sleep(time.Millisecond)
		}
	}
	for range 3 { // warm up: connections, first sends
		one()
	}
	fileLat, townLat, countyLat = nil, nil, nil
	for b.Loop() {
		for range caseBenchHops {
			one()
		}
	}
	b.ReportMetric(caseBenchMS(caseBenchQuantile(countyLat, 0.50)), "p50-ms")
	b.ReportMetric(caseBenchMS(caseBenchQuantile(countyLat, 0.99)), "p99-ms")
	b.ReportMetric(caseBenchMS(slices.Max(countyLat)), "max-ms")
	b.ReportMetric(caseBenchMS(caseBenchQuantile(townLat, 0.50)), "township-p50-ms")
	b.ReportMetric(caseBenchMS(caseBenchQuantile(fileLat, 0.50)), "file-p50-ms")
	b.ReportMetric(float64(len(countyLat)), "cases")
	r := func(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
	line := func(what string, ds []time.Duration) {
		b.Logf("  %-34s p50 %8s  p99 %8s  max %8s", what, r(caseBenchQuantile(ds, 0.5)), r(caseBenchQuantile(ds, 0.99)), r(slices.Max(ds)))
	}
	b.Logf("%d cases filed one at a time at the village", len(countyLat))
	line("filing answered (POST /v1/cases)", fileLat)
	line("answer → received at the township", townLat)
	line("answer → received at the county", countyLat)
	slow := 0
	for _, d := range countyLat {
		if d > 50*time.Millisecond {
			slow++
		}
	}
	sorted := slices.Sorted(slices.Values(countyLat))
	b.Logf("  %d of %d took over 50 ms; the slowest: %v", slow, len(countyLat), sorted[max(0, len(sorted)-8):])
}

// BenchmarkCatchUp measures a village coming back: its link is cut,
// caseBenchQueued cases are filed there (and forwarded into its outbox),
// then the link is restored. Timed: from the restore until the village's
// outbox is empty and the county has received every case.
func BenchmarkCatchUp(b *testing.B) {
	if testing.Short() {
		b.Skip("starts nodes")
	}
	f := newCaseBenchFed(b, true)
	village, countyNode := f.node("dongcun-1"), f.node("county-1")
	token := caseBenchLogin(b, village, "dongcun")
	const clients = 16
	hc := caseBenchHTTP(clients)
	defer hc.CloseIdleConnections()
	url := "http://" + village.HTTPAddr() + "/v1/cases"
	body := caseBenchFiling()

	var firstLat, emptyLat, drainLat []time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		f.links["dongcun-1"].Cut()
		numbers := make([]string, caseBenchQueued)
		var next atomic.Int64
		errs := make(chan error, clients)
		var wg sync.WaitGroup
		for range clients {
			wg.Go(func() {
				for i := next.Add(1) - 1; i < caseBenchQueued; i = next.Add(1) - 1 {
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
		// Queued: every case forwarded at the village, in its outbox.
		waitFor(b, "the village's outbox holds every case", func() bool {
			return len(village.Office().Cases().Outbox()) >= caseBenchQueued && len(village.Office().Cases().NeedsAction()) == 0
		}, 2*time.Minute)
		for _, n := range numbers {
			if _, ok := countyNode.Office().Cases().Case(n); ok {
				b.Fatalf("%s reached the county through a cut link", n)
			}
		}

		slices.Sort(numbers)
		countyHeld := countyNode.Office().Cases().Len()

		b.StartTimer()
		restored := time.Now()
		f.links["dongcun-1"].Restore()
		var first, emptied, outboxRead time.Time
		pending := numbers // sorted: the village sends its outbox in that order
		waitFor(b, "every case received at the county", func() bool {
			now := time.Now()
			if first.IsZero() && countyNode.Office().Cases().Len() > countyHeld {
				first = now
			}
			// Outbox clones and sorts every entry: look every 25 ms.
			if emptied.IsZero() && now.Sub(outboxRead) >= 25*time.Millisecond {
				outboxRead = now
				if len(village.Office().Cases().Outbox()) == 0 {
					emptied = now
				}
			}
			for len(pending) > 0 && caseBenchReceivedBy(countyNode, pending[0]) {
				pending = pending[1:]
			}
			return len(pending) == 0 && !emptied.IsZero() && len(village.Office().Cases().Outbox()) == 0
		}, 5*time.Minute)
		done := time.Now()
		b.StopTimer()
		firstLat = append(firstLat, first.Sub(restored))
		emptyLat = append(emptyLat, emptied.Sub(restored))
		drainLat = append(drainLat, done.Sub(restored))
		r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
		b.Logf("%d cases queued at the village; after the restore: the first at the county %s, the village's outbox empty %s, "+
			"all received at the county %s (%.0f cases/s)", caseBenchQueued, r(first.Sub(restored)), r(emptied.Sub(restored)),
			r(done.Sub(restored)), caseBenchQueued/done.Sub(restored).Seconds())
	}
	seconds := func(ds []time.Duration) float64 { return caseBenchQuantile(ds, 0.5).Seconds() }
	b.ReportMetric(seconds(drainLat), "s-to-drain")
	b.ReportMetric(seconds(firstLat), "s-to-first")
	b.ReportMetric(seconds(emptyLat), "s-outbox-empty")
	b.ReportMetric(caseBenchQueued/seconds(drainLat), "cases/s")
}

// caseBenchFed is the harness's federation (harness_test.go) set up for
// the case benchmarks.
type caseBenchFed struct {
	*fed
}

// newCaseBenchFed starts, with the harness, a county of one node and,
// with tree, the township 城关镇 and the village 东村 under it, every node
// with the production raft timing, badger sizes and feed heartbeat (the
// harness's fast timing snapshots every 512 entries, which a book of tens
// of thousands of cases would feel). It creates the tobacco licence with
// the county holding every right and villages proxy-filing and
// delivering, and the staff: clerk (CLERK, REVIEWER at the county) and,
// with tree, dongcun (AGENT at 东村). It returns once every node has the
// catalogue.
func newCaseBenchFed(tb testing.TB, tree bool, tuneCounty ...func(*node.Config)) *caseBenchFed {
	tb.Helper()
	f := &caseBenchFed{fed: newFed(tb)}
	production := func(more func(*node.Config)) func(*node.Config) {
		return func(c *node.Config) {
			c.Timing = raftgroup.Timing{} // raftgroup.DefaultTiming()
			c.SmallBadger = false
			c.FeedHeartbeat = 0 // 1 s
			more(c)
		}
	}
	cn := f.start("county-1", county, production(func(c *node.Config) {
		c.Bootstrap = true
		c.BootstrapAdminPassword = password
		for _, tune := range tuneCounty {
			tune(c)
		}
	}))
	waitFor(tb, "the county ready", func() bool {
		_, err := cn.Registry().Staff("admin")
		return cn.Ready() && err == nil
	}, time.Minute)
	admin := dial(tb, cn).login("admin", password)
	must := func(_ any, err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	if tree {
		for _, o := range []*yizhanv1.Office{{Code: township, Name: "城关镇便民服务中心"}, {Code: dongcun, Name: "东村便民服务站"}} {
			must(admin.reg.CreateOffice(admin.ctx(), &yizhanv1.CreateOfficeRequest{Office: o}))
		}
		tn := f.start("chengguan-1", township, production(func(c *node.Config) {
			c.Bootstrap = true
			c.Upstream = []string{cn.PeerAddr()}
		}))
		f.start("dongcun-1", dongcun, production(func(c *node.Config) {
			c.Bootstrap = true
			c.Upstream = []string{tn.PeerAddr(), cn.PeerAddr()}
		}))
	}
	must(admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "yc", Name: "县烟草专卖局"}}))
	must(admin.reg.CreateItem(admin.ctx(), &yizhanv1.CreateItemRequest{Item: tobacco()}))
	must(admin.reg.CreateGrant(admin.ctx(), &yizhanv1.CreateGrantRequest{Grant: &yizhanv1.Grant{ItemCode: tobacco().Code, OfficeCode: county, Rights: allRights}}))
	must(admin.reg.CreateGrant(admin.ctx(), &yizhanv1.CreateGrantRequest{Grant: &yizhanv1.Grant{ItemCode: tobacco().Code, Tier: yizhanv1.Tier_TIER_VILLAGE,
		Rights: []yizhanv1.Right{yizhanv1.Right_RIGHT_PROXY_FILE, yizhanv1.Right_RIGHT_DELIVER}}}))
	staff := []*yizhanv1.StaffMember{
		{Username: "clerk", Name: "陈静", OfficeCode: county, DepartmentCode: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_REVIEWER}},
	}
	if tree {
		staff = append(staff, &yizhanv1.StaffMember{Username: "dongcun", Name: "黄秀英", OfficeCode: dongcun, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT}})
	}
	for _, s := range staff {
		must(admin.reg.CreateStaff(admin.ctx(), &yizhanv1.CreateStaffRequest{Staff: s, Password: password}))
	}
	idx := cn.Registry().Index()
	for name, n := range f.nodes {
		waitFor(tb, name+" ready with the catalogue", func() bool { return n.Ready() && n.Registry().Index() >= idx }, time.Minute)
	}
	return f
}

func (f *caseBenchFed) node(name string) *node.Node { return f.nodes[name] }

// waitDrained waits until the county holds every case of the village and
// no office has an automatic step to make or a message to send: every
// case filed at the village has been received at the county.
func (f *caseBenchFed) waitDrained(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	village, countyNode := f.node("dongcun-1"), f.node("county-1")
	deadline := time.Now().Add(timeout)
	for {
		drained := countyNode.Office().Cases().Len() >= village.Office().Cases().Len()
		for _, n := range f.nodes {
			drained = drained && len(n.Office().Cases().NeedsAction()) == 0 && len(n.Office().Cases().Outbox()) == 0
		}
		if drained {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("the federation has not drained after %s: the county holds %d of the village's %d cases, the village's outbox %d",
				timeout, countyNode.Office().Cases().Len(), village.Office().Cases().Len(), len(village.Office().Cases().Outbox()))
		}
		time.Sleep(50 * time.Millisecond) // Outbox clones every entry
	}
}

// caseBenchLogin signs in at node n and returns the token.
// caseBenchFileMany files n cases with the given number of clients at
// once and returns each filing's latency and the time all took. It
// syncs the file system first, so that the run does not pay for the page
// cache an earlier one left dirty, and calls started just before the
// first filing (b.ResetTimer, or nil).
func caseBenchFileMany(hc *http.Client, url, token string, body []byte, clients, n int, started func()) ([]time.Duration, time.Duration, error) {
	return caseBenchRun(clients, n, started, func(int) error { return caseBenchPost(hc, url, token, body) })
}

// caseBenchRun makes n calls of file from the given number of clients
// at once (file is called with the client's number) and returns each
// call's latency and the time all took, as caseBenchFileMany.
func caseBenchRun(clients, n int, started func(), file func(client int) error) ([]time.Duration, time.Duration, error) {
	var next atomic.Int64
	lat := make([][]time.Duration, clients)
	errs := make(chan error, clients)
	var wg sync.WaitGroup
	syscall.Sync()
	if started != nil {
		started()
	}
	start := time.Now()
	for c := range clients {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				t := time.Now()
				if err := file(c); err != nil {
					errs <- err
					return
				}
				lat[c] = append(lat[c], time.Since(t))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	select {
	case err := <-errs:
		return nil, elapsed, err
	default:
	}
	return slices.Concat(lat...), elapsed, nil
}

func caseBenchLogin(tb testing.TB, n *node.Node, username string) string {
	tb.Helper()
	return dial(tb, n).login(username, password).token
}

// caseBenchFiling is the JSON body of a filing of the tobacco licence.
func caseBenchFiling() []byte {
	body, err := json.Marshal(map[string]any{
		"item_code": tobacco().Code,
		"applicant": map[string]string{"name": "张三", "id_number": applicantID, "phone": "13907710001"},
		"materials": []map[string]any{{"name": "申请表", "copies": 1}},
	})
	if err != nil {
		panic(err)
	}
	return body
}

// caseBenchHTTP is a keep-alive HTTP/1.1 client for clients goroutines.
func caseBenchHTTP(clients int) *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 2 * clients, MaxIdleConnsPerHost: 2 * clients, IdleConnTimeout: time.Minute,
		DisableCompression: true,
	}}
}

// caseBenchPost files a case and checks the answer is 200 with a case,
// without decoding it.
func caseBenchPost(hc *http.Client, url, token string, body []byte) error {
	_, err := caseBenchDo(hc, url, token, body, false)
	return err
}

// caseBenchFile files a case and returns its number.
func caseBenchFile(hc *http.Client, url, token string, body []byte) (string, error) {
	return caseBenchDo(hc, url, token, body, true)
}

func caseBenchDo(hc *http.Client, url, token string, body []byte, decode bool) (string, error) {
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST %s: %d %s", url, resp.StatusCode, out)
	}
	if !decode {
		if !bytes.Contains(out, []byte(`"number"`)) {
			return "", fmt.Errorf("POST %s: no case number in %s", url, out)
		}
		return "", nil
	}
	var v struct {
		Case struct {
			Number string `json:"number"`
		} `json:"case"`
	}
	if err := json.Unmarshal(out, &v); err != nil || v.Case.Number == "" {
		return "", fmt.Errorf("POST %s: no case number in %s (%v)", url, out, err)
	}
	return v.Case.Number, nil
}

// caseBenchReceivedBy reports whether n's office has received the case:
// its last event is RECEIVED, appended by that office.
func caseBenchReceivedBy(n *node.Node, number string) bool {
	events := n.Office().Cases().Events(number)
	if len(events) == 0 {
		return false
	}
	last := events[len(events)-1]
	return last.GetType() == yizhanv1.EventType_EVENT_TYPE_RECEIVED && last.GetOfficeCode() == n.Office().Code()
}

// caseBenchQuantile is the q-quantile of ds by the nearest-rank method.
func caseBenchQuantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// caseBenchCPU is the user and system CPU time the process has used.
func caseBenchCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func caseBenchMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
