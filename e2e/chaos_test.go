//go:build e2e && chaos

package e2e

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/protobuf/encoding/protojson"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/chaos"
)

// The fault harness (issue 14): the binary as a federation of processes —
// a county of 3, two townships, four villages — with a proxy (package
// chaos) on every link between offices, in both directions, wired by
// --upstream and --peer-route. Each schedule, drawn from a seed, cuts,
// black-holes, slows or makes one-way the links and kills, stops,
// restarts the nodes or fills their disks while clients file cases at
// every village, accept them at the county, write the registry at the
// county and read it everywhere, every write under a request ID and
// retried until acknowledged. Then everything heals and the checks run
// (chaosFed.check, chaosFed.checkFigures). docs/RELIABILITY.md has the
// list and the results.
//
//	go test -tags "e2e chaos" -run TestChaos ./e2e/ -chaos.schedules=200 -chaos.seed=1
var (
	chaosSeed      = flag.Uint64("chaos.seed", 0, "the first schedule's seed (0: from the clock); schedule i has seed+i")
	chaosSchedules = flag.Int("chaos.schedules", 3, "how many schedules to run")
	chaosLength    = flag.Duration("chaos.length", 20*time.Second, "how long each schedule's faults last")
	chaosFaults    = flag.Int("chaos.faults", 8, "faults per schedule")
	chaosSummary   = flag.String("chaos.summary", "", "append a JSON line per schedule to this file, and the totals at the end")
	chaosKeep      = flag.String("chaos.keep", "", "when the run fails, stop the nodes and copy their data directories and logs under this directory, to look into")
)

// chaosOffice is an office of the tree under test and its one node (the
// county's three are county-1..3).
type chaosOffice struct {
	code, name, node, parent string
}

const (
	township2Code = "450122102000" // 石桥镇
	village3Code  = "450122102201" // 南村
	village4Code  = "450122102202" // 北村
)

var (
	chaosTownships = []chaosOffice{
		{townshipCode, "城关镇便民服务中心", "chengguan-1", countyCode},
		{township2Code, "石桥镇便民服务中心", "shiqiao-1", countyCode},
	}
	chaosVillages = []chaosOffice{
		{villageCode, "东村便民服务站", "dongcun-1", townshipCode},
		{village2Code, "西村便民服务站", "xicun-1", townshipCode},
		{village3Code, "南村便民服务站", "nancun-1", township2Code},
		{village4Code, "北村便民服务站", "beicun-1", township2Code},
	}
)

// chaosFed is the federation under test and its links.
type chaosFed struct {
	c     *cluster
	admin *api
	links map[string][]*chaos.Proxy
	nodes map[string]string // node → office
	read  map[string]int    // node → how much of its log the checks have read
	// started is when the federation started: the figures count from its
	// day (checkFigures).
	started time.Time

	// restarts serializes, per node, the faults that end its process and
	// start another (kill -9, a hand-over, a start after a full disk): a
	// second hand-over due while the first one's node is still stopping
	// waits for the new process and stops that one, instead of signalling
	// the old one and then waiting for the new one to exit.
	restarts map[string]*sync.Mutex

	mu sync.Mutex // guards slowStops and restarts
	// slowStops names the nodes that did not exit within stopTimeout of
	// a SIGTERM in this schedule (each logs its goroutines after 8 s).
	slowStops []string
}

// slowStop records that n did not exit within stopTimeout of SIGTERM and
// keeps a copy of its log, with the goroutines it dumped, under
// -chaos.keep (the run's temporary directories go when it passes).
func (f *chaosFed) slowStop(t *testing.T, name string, n *proc) {
	f.mu.Lock()
	f.slowStops = append(f.slowStops, name)
	f.mu.Unlock()
	t.Logf("%s did not stop within %s of SIGTERM: killed", name, stopTimeout)
	if *chaosKeep == "" {
		return
	}
	dir := filepath.Join(*chaosKeep, "slow-stops")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("keep %s's log: %v", name, err)
		return
	}
	dst := filepath.Join(dir, fmt.Sprintf("%s-%s.log", name, time.Now().Format("20060102T150405")))
	if out, err := exec.Command("cp", n.log, dst).CombinedOutput(); err != nil {
		t.Logf("keep %s's log: %v %s", name, err, out)
		return
	}
	t.Logf("its log: %s", dst)
}

// takeSlowStops returns the slow stops recorded since it was last called.
func (f *chaosFed) takeSlowStops() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.slowStops
	f.slowStops = nil
	return s
}

func (f *chaosFed) proxy(t *testing.T, link, target string) *chaos.Proxy {
	t.Helper()
	p, err := chaos.NewProxy("127.0.0.1:0", target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	f.links[link] = append(f.links[link], p)
	return p
}

func addrsOf(ps []*chaos.Proxy) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Addr())
	}
	return strings.Join(out, ",")
}

// linkName names the link between two nodes' offices by the lower one.
func linkName(lower, upper string) string {
	short := func(n string) string { return strings.TrimSuffix(n, "-1") }
	return short(lower) + "↔" + short(upper)
}

// startChaosFed starts the federation with a proxy on every link.
func startChaosFed(t *testing.T) *chaosFed {
	f := &chaosFed{c: newCluster(t), started: time.Now(), links: map[string][]*chaos.Proxy{}, nodes: map[string]string{}, restarts: map[string]*sync.Mutex{}}
	f.c.logPipes = true // a full disk's node logs why it stopped (exit status 4)
	c := f.c
	// Each node's metrics and probes on an operator's port: a listing that
	// leaves out cases is reported with what the node's book reads of them
	// (/debug/book).
	c.profiles = true
	// The county reaches each office below through a proxy whose target
	// is set once that office has started.
	down := map[string]*chaos.Proxy{}
	var countyRoutes []string
	for _, o := range append(slices.Clone(chaosTownships), chaosVillages...) {
		down[o.code] = f.proxy(t, linkName(o.node, "county"), "")
		countyRoutes = append(countyRoutes, "--peer-route", o.code+"="+down[o.code].Addr())
	}
	first := c.start("county-1", countyCode, append([]string{"--bootstrap", "--bootstrap-admin-password-file", c.pwFile}, countyRoutes...)...)
	for i := 2; i <= 3; i++ {
		c.start(fmt.Sprintf("county-%d", i), countyCode, append([]string{"--join", first.peerAddr}, countyRoutes...)...)
	}
	for _, name := range c.county() {
		c.waitReady(name)
		f.nodes[name] = countyCode
	}
	f.admin = c.api(c.countyLeader(c.county()...)).login("admin", adminPassword)
	for _, o := range append(slices.Clone(chaosTownships), chaosVillages...) {
		f.admin.write("/v1/offices", map[string]string{"code": o.code, "name": o.name})
	}
	// up is the proxies from a node to the county's nodes.
	up := func(node string) []*chaos.Proxy {
		var ps []*chaos.Proxy
		for _, name := range c.county() {
			ps = append(ps, f.proxy(t, linkName(node, "county"), c.nodes[name].peerAddr))
		}
		return ps
	}
	townToVillage := map[string]*chaos.Proxy{}
	for _, o := range chaosTownships {
		toCounty := up(o.node)
		args := []string{"--bootstrap", "--upstream", addrsOf(toCounty), "--peer-route", countyCode + "=" + addrsOf(toCounty)}
		for _, v := range chaosVillages {
			if v.parent == o.code {
				townToVillage[v.code] = f.proxy(t, linkName(v.node, o.node), "")
				args = append(args, "--peer-route", v.code+"="+townToVillage[v.code].Addr())
			}
		}
		n := c.start(o.node, o.code, args...)
		down[o.code].SetTarget(n.peerAddr)
		f.nodes[o.node] = o.code
	}
	for _, o := range chaosVillages {
		parent := chaosTownships[slices.IndexFunc(chaosTownships, func(t chaosOffice) bool { return t.code == o.parent })]
		toTown := f.proxy(t, linkName(o.node, parent.node), c.nodes[parent.node].peerAddr)
		toCounty := up(o.node)
		n := c.start(o.node, o.code, "--bootstrap", "--upstream", toTown.Addr()+","+addrsOf(toCounty),
			"--peer-route", o.parent+"="+toTown.Addr(), "--peer-route", countyCode+"="+addrsOf(toCounty))
		townToVillage[o.code].SetTarget(n.peerAddr)
		down[o.code].SetTarget(n.peerAddr)
		f.nodes[o.node] = o.code
	}

	f.admin.write("/v1/departments", map[string]string{"code": "yc", "name": "县烟草专卖局"})
	item := tobaccoItem(caseItemCode)
	item["materials"] = []map[string]any{{"name": "申请表", "form": "MATERIAL_FORM_ORIGINAL", "copies": 1, "required": true}}
	f.admin.write("/v1/items", item)
	f.admin.write("/v1/grants", map[string]any{"item_code": caseItemCode, "office_code": countyCode,
		"rights": []string{"RIGHT_ACCEPT", "RIGHT_REVIEW", "RIGHT_APPROVE", "RIGHT_CERTIFY", "RIGHT_DELIVER"}})
	f.admin.write("/v1/grants", map[string]any{"item_code": caseItemCode, "tier": "TIER_VILLAGE",
		"rights": []string{"RIGHT_PROXY_FILE", "RIGHT_DELIVER"}})
	f.admin.write("/v1/staff", map[string]any{"staff": map[string]any{"username": "clerk", "name": "陈静", "office_code": countyCode,
		"department_code": "yc", "roles": []string{"ROLE_CLERK", "ROLE_REVIEWER"}}, "password": adminPassword})
	for _, v := range chaosVillages {
		f.admin.write("/v1/staff", map[string]any{"staff": map[string]any{"username": "agent-" + v.code, "name": "代办员",
			"office_code": v.code, "roles": []string{"ROLE_AGENT"}}, "password": adminPassword})
		// Who writes and signs the village's urgent reports.
		f.admin.write("/v1/staff", map[string]any{"staff": map[string]any{"username": "duty-" + v.code, "name": "值班员",
			"office_code": v.code, "roles": []string{"ROLE_DUTY_OFFICER"}}, "password": adminPassword})
		f.admin.write("/v1/staff", map[string]any{"staff": map[string]any{"username": "leader-" + v.code, "name": "带班领导",
			"office_code": v.code, "roles": []string{"ROLE_DUTY_LEADER"}}, "password": adminPassword})
	}
	// Who reads them at the county.
	f.admin.write("/v1/staff", map[string]any{"staff": map[string]any{"username": "county-duty", "name": "县值班员",
		"office_code": countyCode, "roles": []string{"ROLE_DUTY_OFFICER"}}, "password": adminPassword})
	// The registers the porcupine model reads and writes.
	for k := range chaosRegisters {
		f.admin.write("/v1/departments", map[string]string{"code": registerCode(k), "name": "v0"})
	}
	idx, err := f.admin.registryIndex()
	if err != nil {
		t.Fatal(err)
	}
	for name := range f.nodes {
		c.waitReady(name)
		c.api(name).getAt("/v1/items/"+caseItemCode, idx, syncTimeout)
	}
	return f
}

// apply starts (on) or ends one fault.
func (f *chaosFed) apply(t *testing.T, ft chaos.Fault, on bool) {
	if ft.Kind.IsLink() {
		for _, p := range f.links[ft.Target] {
			switch {
			case !on:
				p.Set(chaos.Pass)
				p.Slow(0, 0)
			case ft.Kind == chaos.CutLink:
				p.Set(chaos.Cut)
			case ft.Kind == chaos.BlackholeLink:
				p.Set(chaos.Blackhole)
			case ft.Kind == chaos.OneWayLink:
				p.Set(chaos.OneWay)
			case ft.Kind == chaos.SlowLink:
				p.Slow(64<<10, 50*time.Millisecond)
			}
		}
		return
	}
	n := f.c.nodes[ft.Target]
	if ft.Kind != chaos.StopCont {
		// SIGSTOP and SIGCONT go to whichever process runs: a SIGCONT
		// waiting here behind a hand-over of the node it froze would
		// leave that hand-over to time out.
		mu := f.restartLock(ft.Target)
		mu.Lock()
		defer mu.Unlock()
	}
	switch {
	case ft.Kind == chaos.KillRestart && on:
		n.kill()
	case ft.Kind == chaos.KillRestart:
		if !n.running() {
			n.start()
		}
	case ft.Kind == chaos.StopCont:
		sig := syscall.SIGSTOP
		if !on {
			sig = syscall.SIGCONT
		}
		n.send(sig)
	case ft.Kind == chaos.TransferLeadership && on:
		// SIGTERM hands a leader's office over before the node exits;
		// it starts again at once.
		n.send(syscall.SIGTERM)
		for deadline := time.Now().Add(stopTimeout); n.running() && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
		if n.running() {
			f.slowStop(t, ft.Target, n.proc)
		}
		n.kill() // if it did not exit in time
		n.start()
	case ft.Kind == chaos.DiskFull:
		// Go ignores SIGXFSZ, so a write past the limit fails with EFBIG
		// as on a full disk. The node may stop on it (exit status 4: a
		// failed append or apply stops it, its one line in its log, which
		// the harness writes: logPipes); then it starts again when the
		// disk has room.
		if pid := n.pid(); pid > 0 {
			lim := unix.Rlimit{Cur: 0, Max: unix.RLIM_INFINITY}
			if !on {
				lim.Cur = unix.RLIM_INFINITY
			}
			if err := unix.Prlimit(pid, unix.RLIMIT_FSIZE, &lim, nil); err != nil && on {
				t.Logf("disk-full on %s: %v", ft.Target, err)
			}
		}
		if !on && !n.running() {
			n.start()
		}
	}
}

// restartLock is the lock of the node's process faults (chaosFed.restarts).
func (f *chaosFed) restartLock(node string) *sync.Mutex {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.restarts[node] == nil {
		f.restarts[node] = &sync.Mutex{}
	}
	return f.restarts[node]
}

// heal ends every fault: links pass, every node runs with room on disk.
func (f *chaosFed) heal(t *testing.T) {
	for _, ps := range f.links {
		for _, p := range ps {
			p.Set(chaos.Pass)
			p.Slow(0, 0)
		}
	}
	for _, n := range f.c.nodes {
		if pid := n.pid(); pid > 0 {
			unix.Prlimit(pid, unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}, nil)
		}
		n.send(syscall.SIGCONT)
		if !n.running() {
			n.start()
		}
	}
	for name := range f.c.nodes {
		f.c.waitReady(name)
	}
}

// keepIfFailed copies the nodes' data and logs under -chaos.keep when the
// test failed, the nodes stopped first (kill -9: what is on disk is what
// a crash leaves).
func (f *chaosFed) keepIfFailed(t *testing.T, seed uint64) {
	if !t.Failed() || *chaosKeep == "" {
		return
	}
	dst := filepath.Join(*chaosKeep, fmt.Sprintf("run-from-seed-%d-%s", seed, time.Now().Format("20060102T150405")))
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Logf("keep: %v", err)
		return
	}
	for name, n := range f.c.nodes {
		n.kill()
		if out, err := exec.Command("cp", n.log, filepath.Join(dst, name+".log")).CombinedOutput(); err != nil {
			t.Logf("keep %s's log: %v %s", name, err, out)
		}
	}
	if out, err := exec.Command("cp", "-a", f.c.dir, filepath.Join(dst, "nodes")).CombinedOutput(); err != nil {
		t.Logf("keep the data: %v %s", err, out)
	}
	t.Logf("kept the nodes' data and logs in %s", dst)
}

// chaosRun is what one schedule did and found, a line of the summary.
type chaosRun struct {
	Seed         uint64   `json:"seed"`
	Faults       []string `json:"faults"`
	Filings      int      `json:"filings_acknowledged"`
	Accepts      int      `json:"accepts_acknowledged"`
	Reports      int      `json:"urgent_reports_acknowledged"`
	Departments  int      `json:"registry_writes_acknowledged"`
	RegisterOps  int      `json:"register_operations"`
	Retried      int      `json:"answers_retried"`
	ConvergeSecs float64  `json:"converge_seconds"`
	Violations   []string `json:"violations"`
	// SlowStops names the nodes killed after not stopping within 15 s of
	// a SIGTERM.
	SlowStops []string `json:"slow_stops,omitempty"`
}

func TestChaos(t *testing.T) {
	f := startChaosFed(t)
	seed := *chaosSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano() % 1_000_000)
	}
	// A defer runs before the cleanups remove the temporary directories.
	defer f.keepIfFailed(t, seed)
	top := chaos.Topology{Links: slices.Sorted(maps.Keys(f.links)), Nodes: slices.Sorted(maps.Keys(f.c.nodes))}
	agents, officers, leaders := map[string]*api{}, map[string]*api{}, map[string]*api{}
	for _, v := range chaosVillages {
		agents[v.code] = f.c.api(v.node).login("agent-"+v.code, adminPassword)
		officers[v.code] = f.c.api(v.node).login("duty-"+v.code, adminPassword)
		leaders[v.code] = f.c.api(v.node).login("leader-"+v.code, adminPassword)
	}
	clerk := f.c.api("county-1").login("clerk", adminPassword)
	filed := map[string]map[string]int{} // village → number → times acknowledged
	for _, v := range chaosVillages {
		filed[v.code] = map[string]int{}
	}
	accepted := map[string]bool{}
	reported := map[string]int{} // village → urgent reports signed in the run
	var departments []string
	var converge []float64
	var summary *os.File
	if *chaosSummary != "" {
		var err error
		if summary, err = os.OpenFile(*chaosSummary, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644); err != nil {
			t.Fatal(err)
		}
		defer summary.Close()
	}
	failed, slowStops := 0, 0
	for run := range *chaosSchedules {
		s := chaos.NewSchedule(seed+uint64(run), top, *chaosLength, *chaosFaults)
		t.Logf("%s", s)
		rec := chaosRun{Seed: s.Seed}
		for _, ft := range s.Faults {
			rec.Faults = append(rec.Faults, strings.Join(strings.Fields(ft.String()), " "))
		}
		// The faults, each started and ended at its time.
		var faults sync.WaitGroup
		start := time.Now()
		for _, ft := range s.Faults {
			faults.Go(func() {
				time.Sleep(time.Until(start.Add(ft.At)))
				f.apply(t, ft, true)
				if ft.For > 0 {
					time.Sleep(time.Until(start.Add(ft.At + ft.For)))
					f.apply(t, ft, false)
				}
			})
		}
		// Meanwhile the workload, for as long as the faults last; every
		// write under a request ID and retried until acknowledged.
		until, deadline := start.Add(*chaosLength), start.Add(*chaosLength+3*startTimeout)
		w := &chaosWork{f: f, until: until, deadline: deadline, prefix: fmt.Sprint(s.Seed), init: f.registers(t)}
		var work sync.WaitGroup
		for _, v := range chaosVillages {
			work.Go(func() { w.file(t, agents[v.code], v.code) })
			work.Go(func() { w.report(t, officers[v.code], leaders[v.code], v.code) })
		}
		work.Go(func() { w.accept(t, clerk) })
		work.Go(func() { w.writeDepartments(t) })
		work.Go(func() { w.writeRegisters(t) })
		for r := range 2 {
			work.Go(func() { w.readRegisters(t, uint64(s.Seed)*2+uint64(r)) })
		}
		work.Wait()
		faults.Wait()
		healed := time.Now()
		f.heal(t)
		for village, numbers := range w.filed {
			for n, k := range numbers {
				filed[village][n] += k
			}
			rec.Filings += len(numbers)
		}
		for n := range w.accepted {
			accepted[n] = true
		}
		departments = append(departments, w.departments...)
		rec.Accepts, rec.Departments, rec.RegisterOps, rec.Retried = len(w.accepted), len(w.departments), len(w.history), w.retried
		for village, ids := range w.reports {
			rec.Reports += len(ids)
			reported[village] += len(ids)
		}
		t.Logf("schedule %d: acknowledged %d filings, %d acceptances, %d urgent reports signed, %d registry writes; %d register operations; %d failed answers retried",
			s.Seed, rec.Filings, rec.Accepts, rec.Reports, rec.Departments, rec.RegisterOps, rec.Retried)

		// The cases filed in this schedule are checked after it; all of
		// them, from every schedule, every chaosFullCheck schedules and
		// after the last (a listing of tens of thousands of cases costs
		// more than a schedule).
		since, all := start, filed
		if (run+1)%chaosFullCheck == 0 || run == *chaosSchedules-1 {
			since = time.Time{}
		} else {
			all = w.filed
		}
		rec.Violations = f.check(t, all, since, accepted, departments, w)
		rec.Violations = append(rec.Violations, f.checkFigures(t, filed, accepted, reported)...)
		rec.ConvergeSecs = time.Since(healed).Seconds()
		rec.SlowStops = f.takeSlowStops()
		slowStops += len(rec.SlowStops)
		for _, name := range rec.SlowStops {
			// A supervisor (systemd, Kubernetes) would have killed it too.
			rec.Violations = append(rec.Violations, fmt.Sprintf("%s did not stop within %s of SIGTERM (its log, with its goroutines, is kept under -chaos.keep/slow-stops)", name, stopTimeout))
		}
		converge = append(converge, rec.ConvergeSecs)
		if summary != nil {
			line, _ := json.Marshal(rec)
			summary.Write(append(line, '\n'))
		}
		if len(rec.Violations) > 0 {
			failed++
			for _, v := range rec.Violations {
				t.Errorf("schedule seed=%d: %s", s.Seed, v)
			}
			t.Fatalf("schedule seed=%d failed: run it again with -chaos.seed=%d -chaos.schedules=1", s.Seed, s.Seed)
		}
	}
	sort.Float64s(converge)
	q := func(p float64) float64 { return converge[min(len(converge)-1, int(p*float64(len(converge))))] }
	t.Logf("%d schedules from seed %d, %d failed; converged after healing in p50 %.1fs, p99 %.1fs, max %.1fs; %d nodes killed after not stopping within %s of SIGTERM",
		*chaosSchedules, seed, failed, q(0.5), q(0.99), converge[len(converge)-1], slowStops, stopTimeout)
	if summary != nil {
		total, _ := json.Marshal(map[string]any{"schedules": *chaosSchedules, "first_seed": seed, "failed": failed, "slow_stops": slowStops,
			"converge_p50_seconds": q(0.5), "converge_p99_seconds": q(0.99), "converge_max_seconds": converge[len(converge)-1]})
		summary.Write(append(total, '\n'))
	}
}

// chaosWork is one schedule's workload and what it was told.
type chaosWork struct {
	f               *chaosFed
	until, deadline time.Time
	prefix          string
	init            [chaosRegisters]string // the registers when the schedule began

	mu          sync.Mutex
	filed       map[string]map[string]int // village → number → acknowledgements
	toAccept    []string
	accepted    map[string]bool
	departments []string
	reports     map[string]map[string]int // village → urgent report signed → acknowledgements of its writing
	retried     int
	history     []registerOp
	observed    uint64 // the highest registry index any client was told of
}

func (w *chaosWork) retry() {
	w.mu.Lock()
	w.retried++
	w.mu.Unlock()
}

// retriable: the answer says nothing was done, or that it is not known
// whether it was; the same request ID tells.
func retriable(code int, body map[string]any, err error) bool {
	return err != nil || code >= 500 || code == 429 || code == 408 || reasonOf(body) == "OUTCOME_UNKNOWN"
}

// file files cases at a village until the schedule ends, each under a
// request ID of its own and retried under it until acknowledged.
func (w *chaosWork) file(t *testing.T, agent *api, village string) {
	for i := 0; time.Now().Before(w.until); i++ {
		filing := map[string]any{
			"item_code":  caseItemCode,
			"applicant":  map[string]string{"name": fmt.Sprintf("申请人%d", i), "id_number": caseIDNumber("45012219850312002"), "phone": "13907710001"},
			"materials":  []map[string]any{{"name": "申请表", "copies": 1}},
			"request_id": fmt.Sprintf("file-%s-%s-%d", w.prefix, village, i),
		}
		for {
			code, body, err := agent.call("POST", "/v1/cases", filing)
			if err == nil && code == 200 {
				number := fmt.Sprint(body["case"].(map[string]any)["number"])
				w.mu.Lock()
				if w.filed == nil {
					w.filed = map[string]map[string]int{}
				}
				if w.filed[village] == nil {
					w.filed[village] = map[string]int{}
				}
				w.filed[village][number]++
				w.toAccept = append(w.toAccept, number)
				w.mu.Unlock()
				break
			}
			if !retriable(code, body, err) {
				t.Errorf("filing at %s: %d %v", village, code, body)
				return
			}
			w.retry()
			if time.Now().After(w.deadline) {
				t.Errorf("filing at %s: not acknowledged before the deadline (%d %v %v)", village, code, body, err)
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// reportTitle is the title of the i-th urgent report a schedule's
// workload writes at a village; reportTitlePrefix begins all of a
// schedule's.
func reportTitlePrefix(prefix string) string { return "故障测试急报 " + prefix + "-" }
func reportTitle(prefix, village string, i int) string {
	return fmt.Sprintf("%s%s-%d", reportTitlePrefix(prefix), village, i)
}

// report writes urgent reports at a village as its duty officer, and
// signs each as its leader on duty, until the schedule ends: each step
// under a request ID and retried under it until acknowledged. The mail
// carries them up to the county (chaosFed.check).
func (w *chaosWork) report(t *testing.T, officer, leader *api, village string) {
	// call sends one step until it is acknowledged; ok false when it was
	// refused or the deadline passed (reported).
	call := func(a *api, what, path string, body map[string]any) (map[string]any, bool) {
		for {
			code, resp, err := a.call("POST", path, body)
			if err == nil && code == 200 {
				return resp, true
			}
			if !retriable(code, resp, err) {
				t.Errorf("%s at %s: %d %v", what, village, code, resp)
				return nil, false
			}
			w.retry()
			if time.Now().After(w.deadline) {
				t.Errorf("%s at %s: not acknowledged before the deadline (%d %v %v)", what, village, code, resp, err)
				return nil, false
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for i := 0; time.Now().Before(w.until); i++ {
		title := reportTitle(w.prefix, village, i)
		written, ok := call(officer, "writing "+title, "/v1/duty/reports", map[string]any{
			"request_id": fmt.Sprintf("report-%s-%s-%d", w.prefix, village, i),
			"report": map[string]any{"kind": "REPORT_KIND_FIRST", "category": "INCIDENT_CATEGORY_ACCIDENT", "level": "INCIDENT_LEVEL_IV",
				"title": title, "place": "村道二组路段", "occurred_at": time.Now().Add(-10 * time.Minute).UTC().Format(time.RFC3339),
				"details": "故障测试", "measures": "已拉警戒"}})
		if !ok {
			return
		}
		id := fmt.Sprint(written["report"].(map[string]any)["id"])
		if _, ok := call(leader, "signing "+title, "/v1/duty/reports/"+id+":sign", map[string]any{
			"request_id": fmt.Sprintf("sign-%s-%s-%d", w.prefix, village, i)}); !ok {
			return
		}
		w.mu.Lock()
		if w.reports == nil {
			w.reports = map[string]map[string]int{}
		}
		if w.reports[village] == nil {
			w.reports[village] = map[string]int{}
		}
		w.reports[village][id]++
		w.mu.Unlock()
		time.Sleep(time.Second)
	}
}

// accept accepts, at the county, cases filed in this schedule once they
// are there, each under a request ID and retried at every county node in
// turn until acknowledged.
func (w *chaosWork) accept(t *testing.T, clerk *api) {
	county := w.f.c.county()
	for k := 0; time.Now().Before(w.until); k++ {
		w.mu.Lock()
		var number string
		if len(w.toAccept) > 0 {
			number, w.toAccept = w.toAccept[0], w.toAccept[1:]
		}
		w.mu.Unlock()
		if number == "" {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		a := w.f.c.api(county[k%len(county)])
		a.token = clerk.token
		events, _, err := caseEvents(a, number)
		if err != nil || len(events) == 0 || events[len(events)-1].GetType() != yizhanv1.EventType_EVENT_TYPE_RECEIVED ||
			events[len(events)-1].GetOfficeCode() != countyCode {
			// Not received at the county yet (or that node is down): later.
			w.mu.Lock()
			w.toAccept = append(w.toAccept, number)
			w.mu.Unlock()
			time.Sleep(100 * time.Millisecond)
			continue
		}
		req := map[string]any{"request_id": "accept-" + number}
		for j := k; ; j++ {
			a := w.f.c.api(county[j%len(county)])
			a.token = clerk.token
			code, body, err := a.call("POST", "/v1/cases/"+number+":accept", req)
			if err == nil && code == 200 {
				w.mu.Lock()
				if w.accepted == nil {
					w.accepted = map[string]bool{}
				}
				w.accepted[number] = true
				w.mu.Unlock()
				break
			}
			if !retriable(code, body, err) {
				t.Errorf("accept %s: %d %v", number, code, body)
				return
			}
			w.retry()
			if time.Now().After(w.deadline) {
				t.Errorf("accept %s: not acknowledged before the deadline (%d %v %v)", number, code, body, err)
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// writeDepartments creates departments at the county until the schedule
// ends, each under a request ID and retried at every county node in turn.
func (w *chaosWork) writeDepartments(t *testing.T) {
	county := w.f.c.county()
	for i := 0; time.Now().Before(w.until); i++ {
		code := fmt.Sprintf("c%s-%d", w.prefix, i)
		body := map[string]string{"code": code, "name": "故障测试部门" + code}
		for k := 0; ; k++ {
			a := w.f.c.api(county[k%len(county)])
			a.token = w.f.admin.token
			status, resp, err := a.call("POST", "/v1/departments?request_id=dep-"+code, body)
			if err == nil && status == 200 {
				w.mu.Lock()
				w.departments = append(w.departments, code)
				w.mu.Unlock()
				break
			}
			if !retriable(status, resp, err) {
				t.Errorf("department %s: %d %v", code, status, resp)
				return
			}
			w.retry()
			if time.Now().After(w.deadline) {
				t.Errorf("department %s: not acknowledged before the deadline (%d %v %v)", code, status, resp, err)
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func (w *chaosWork) done(op registerOp, index uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.history = append(w.history, op)
	w.observed = max(w.observed, index)
}

func (w *chaosWork) freshness() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.observed
}

// writeRegisters renames the register departments at the county, one
// write at a time, each under a request ID and retried until
// acknowledged; a write never acknowledged stays in the history as one
// that may or may not have happened.
func (w *chaosWork) writeRegisters(t *testing.T) {
	county := w.f.c.county()
	for i := 0; time.Now().Before(w.until); i++ {
		k := i % chaosRegisters
		value := fmt.Sprintf("%s-%d", w.prefix, i)
		op := registerOp{Key: k, Write: true, Value: value, Call: time.Now().UnixNano()}
		body := map[string]string{"code": registerCode(k), "name": value}
		for j := 0; ; j++ {
			a := w.f.c.api(county[j%len(county)])
			a.token = w.f.admin.token
			status, resp, err := a.call("PATCH", fmt.Sprintf("/v1/departments/%s?request_id=reg-%s-%d", registerCode(k), w.prefix, i), body)
			if err == nil && status == 200 {
				op.Return = time.Now().UnixNano()
				w.done(op, u64(resp["registry_index"]))
				break
			}
			if !retriable(status, resp, err) {
				t.Errorf("register write %s: %d %v", value, status, resp)
				return
			}
			w.retry()
			if time.Now().After(w.deadline) {
				op.Return = -1 // unknown: it may take effect at any time after its call
				w.done(op, 0)
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// readRegisters reads the registers at nodes chosen at random, each read
// asking for the highest index any client was told of before it began
// (min_index): so every write acknowledged before a read began must be
// seen, and no read may go back on what an earlier one saw.
func (w *chaosWork) readRegisters(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	names := slices.Sorted(maps.Keys(w.f.c.nodes))
	for time.Now().Before(w.until) {
		name := names[r.IntN(len(names))]
		k := r.IntN(chaosRegisters)
		call := time.Now().UnixNano()
		min := w.freshness()
		code, body, err := w.f.c.api(name).call("GET", fmt.Sprintf("/v1/departments?min_index=%d", min), nil)
		ret := time.Now().UnixNano()
		if err != nil || code != 200 {
			// Refused (behind min_index, down, stopped): a read that did
			// not happen says nothing.
			time.Sleep(100 * time.Millisecond)
			continue
		}
		value := ""
		for _, d := range body["departments"].([]any) {
			if d := d.(map[string]any); d["code"] == registerCode(k) {
				value = fmt.Sprint(d["name"])
			}
		}
		meta, _ := body["meta"].(map[string]any)
		w.done(registerOp{Key: k, Value: value, Call: call, Return: ret}, u64(meta["registry_index"]))
		time.Sleep(50 * time.Millisecond)
	}
}

// check runs after a schedule, everything healed, and returns what it
// found wrong:
//   - every filing acknowledged at a village is held there, at its
//     township and at each node of the county exactly once, and no
//     office holds a case no client was told of;
//   - every urgent report written and signed at a village is held there
//     and at each node of the county, signed, exactly once, and neither
//     holds one no client was told of;
//   - every acceptance acknowledged is in its case once at the county,
//     and back in the copies of the village where it was filed and of
//     its township (their listings: what their books hold);
//   - every case of the schedule verifies its chain at the county;
//   - every office holds the county's registry (each node's departments
//     are the county's, at its index), every acknowledged department
//     among them;
//   - nothing is queued or set aside anywhere;
//   - the register history is linearizable (porcupine).
func (f *chaosFed) check(t *testing.T, filed map[string]map[string]int, since time.Time, accepted map[string]bool, departments []string, w *chaosWork) []string {
	t.Helper()
	var mu sync.Mutex
	var found []string
	bad := func(format string, args ...any) {
		mu.Lock()
		found = append(found, fmt.Sprintf(format, args...))
		mu.Unlock()
	}
	// eventually tries cond until it holds, for 3×syncTimeout and at
	// least twice: a listing of every case at a busy township can take
	// longer than that, and a case that arrived after the listing read its
	// first page is rightly not in it (pages are not a snapshot), so one
	// attempt alone proves nothing (docs/RELIABILITY.md, seed 1124).
	eventually := func(what string, cond func() error) {
		var last error
		for attempt, deadline := 0, time.Now().Add(3*syncTimeout); attempt < 2 || time.Now().Before(deadline); attempt++ {
			start := time.Now()
			if last = cond(); last == nil {
				return
			}
			last = fmt.Errorf("attempt %d (%s): %w", attempt+1, time.Since(start).Round(time.Millisecond), last)
			time.Sleep(200 * time.Millisecond)
		}
		bad("%s: %v", what, last)
	}
	asAdmin := func(node string) *api {
		a := f.c.api(node)
		a.token = f.admin.token
		return a
	}
	// The cases, everywhere they should be.
	var checks sync.WaitGroup
	for _, v := range chaosVillages {
		acked := filed[v.code]
		parent := chaosTownships[slices.IndexFunc(chaosTownships, func(t chaosOffice) bool { return t.code == v.parent })]
		for _, node := range append([]string{v.node, parent.node}, f.c.county()...) {
			checks.Go(func() {
				a := asAdmin(node)
				eventually(fmt.Sprintf("%s to hold the %d cases acknowledged at %s", node, len(acked), v.node), func() error {
					held, err := casesListedSince(a, v.code, since)
					if err != nil {
						return err
					}
					missing := 0
					for n := range acked {
						if held[n] == 0 {
							missing++
						}
					}
					for n, times := range held {
						if times != 1 {
							return fmt.Errorf("case %s listed %d times", n, times)
						}
						if acked[n] == 0 {
							return fmt.Errorf("holds case %s that no client was told of", n)
						}
					}
					if missing > 0 {
						// Held but not listed, or not held: ask for a few
						// of them one by one.
						var asked, numbers []string
						for n := range acked {
							if held[n] == 0 {
								numbers = append(numbers, n)
							}
						}
						slices.Sort(numbers)
						for _, n := range numbers {
							if len(asked) < 3 {
								code, _, err := a.call("GET", "/v1/cases/"+n, nil)
								events, _, everr := caseEvents(a, n)
								asked = append(asked, fmt.Sprintf("%s: case %d %v, %d events %v", n, code, err, len(events), everr))
							}
						}
						// The newest few again, on a small first page.
						var newest []string
						if code, body, err := a.call("GET", "/v1/cases?office_code="+v.code+"&history=true&page_size=10", nil); err != nil || code != http.StatusOK {
							newest = append(newest, fmt.Sprintf("%d %v %v", code, body, err))
						} else {
							list, _ := body["cases"].([]any)
							for _, c := range list {
								newest = append(newest, fmt.Sprint(c.(map[string]any)["number"]))
							}
						}
						// A node that does not hold a case asks the offices
						// above for it: what the node itself holds is in its
						// metrics.
						return fmt.Errorf("%d of %d missing from a listing of %d: %s (asked one by one, answered here or from above: %s; a first page of 10: %s; the node's metrics: %s; its book's probe: %s)", missing, len(acked), len(held),
							strings.Join(numbers[:min(len(numbers), 20)], " "), strings.Join(asked, "; "), strings.Join(newest, " "),
							f.metricsOf(node, "yizhan_casebook_cases", "yizhan_raft_applied_index", "yizhan_casebook_unlisted_total", "yizhan_casebook_read_errors_total"),
							f.probe(node, v.code, numbers[:min(len(numbers), 5)]))
					}
					return nil
				})
			})
		}
	}
	checks.Wait()
	// This schedule's acceptances, once each, and their chains.
	clerk := f.c.api("county-1").login("clerk", adminPassword)
	for number := range w.accepted {
		checks.Go(func() {
			eventually("the accepted case "+number+" at the county", func() error {
				events, valid, err := caseEvents(clerk, number)
				if err != nil {
					return err
				}
				if !valid {
					return fmt.Errorf("its chain or a signature does not verify (chain_valid false)")
				}
				n := 0
				for _, e := range events {
					if e.GetType() == yizhanv1.EventType_EVENT_TYPE_ACCEPTED {
						n++
					}
				}
				if n != 1 {
					return fmt.Errorf("%d ACCEPTED events", n)
				}
				return nil
			})
		})
	}
	checks.Wait()
	// Back down the tree: the village's and its township's own copies (their
	// listings, read from their books; a case read alone at a village or
	// township is asked of the offices above once it has moved on, so it
	// would say what the county holds).
	for _, v := range chaosVillages {
		var numbers []string
		for number := range w.filed[v.code] {
			if accepted[number] {
				numbers = append(numbers, number)
			}
		}
		slices.Sort(numbers)
		parent := chaosTownships[slices.IndexFunc(chaosTownships, func(t chaosOffice) bool { return t.code == v.parent })]
		for _, node := range []string{v.node, parent.node} {
			checks.Go(func() {
				a := asAdmin(node)
				eventually(fmt.Sprintf("the %d acceptances of cases filed at %s back in %s's copies", len(numbers), v.node, node), func() error {
					states, err := caseStatesSince(a, v.code, since)
					if err != nil {
						return err
					}
					var behind []string
					for _, n := range numbers {
						if s := states[n]; s != "CASE_STATE_ACCEPTED" {
							behind = append(behind, fmt.Sprintf("%s (%s)", n, cmp.Or(s, "not listed")))
						}
					}
					if len(behind) > 0 {
						return fmt.Errorf("%d of %d not accepted there: %s", len(behind), len(numbers), strings.Join(behind[:min(len(behind), 10)], " "))
					}
					return nil
				})
			})
		}
	}
	checks.Wait()
	// This schedule's urgent reports, signed, once each, at the village
	// and at each node of the county: every one acknowledged, none other.
	countyDuty := f.c.api("county-1").login("county-duty", adminPassword)
	for _, v := range chaosVillages {
		acked := w.reports[v.code]
		readers := map[string]*api{v.node: f.c.api(v.node).login("duty-"+v.code, adminPassword)}
		for _, name := range f.c.county() {
			readers[name] = f.c.api(name)
			readers[name].token = countyDuty.token
		}
		for node, a := range readers {
			checks.Go(func() {
				eventually(fmt.Sprintf("%s to hold the %d urgent reports signed at %s", node, len(acked), v.node), func() error {
					code, body, err := a.call("GET", "/v1/duty/reports?office_code="+v.code+"&page_size=1000", nil)
					if err != nil || code != 200 {
						return fmt.Errorf("%d %v %v", code, body, err)
					}
					list, _ := body["reports"].([]any)
					held := map[string]int{}
					for _, r := range list {
						rep := r.(map[string]any)["report"].(map[string]any)
						if !strings.HasPrefix(fmt.Sprint(rep["title"]), reportTitlePrefix(w.prefix)) {
							continue
						}
						id := fmt.Sprint(rep["id"])
						held[id]++
						switch {
						case acked[id] == 0:
							return fmt.Errorf("holds report %s (%v) that no client was told of", id, rep["title"])
						case held[id] > 1:
							return fmt.Errorf("report %s listed twice", id)
						case rep["state"] != "REPORT_STATE_SIGNED" || rep["signature"] == nil:
							return fmt.Errorf("report %s is %v, signature %v", id, rep["state"], rep["signature"] != nil)
						}
					}
					if len(held) != len(acked) {
						return fmt.Errorf("holds %d of the %d", len(held), len(acked))
					}
					return nil
				})
			})
		}
	}
	checks.Wait()
	// The registry: the county's, everywhere.
	idx, err := f.admin.registryIndex()
	if err != nil {
		bad("the county's registry index: %v", err)
		return found
	}
	want := departmentsAt(f.c.api("county-1"), idx)
	for _, code := range departments {
		if !strings.Contains(want, `"code":"`+code+`"`) {
			bad("the acknowledged department %s is not at the county", code)
		}
	}
	for name := range f.c.nodes {
		checks.Go(func() {
			eventually(name+" to hold the county's registry", func() error {
				if got := departmentsAt(f.c.api(name), idx); got != want {
					return fmt.Errorf("its departments differ from the county's at index %d", idx)
				}
				// All of it, beyond the departments: the digest of the
				// registry at the same index as county-1's.
				county, err := registryDigest(asAdmin("county-1"))
				if err != nil {
					return err
				}
				here, err := registryDigest(asAdmin(name))
				if err != nil {
					return err
				}
				if county != here {
					return fmt.Errorf("its registry is %s, county-1's %s", here, county)
				}
				return nil
			})
			eventually(name+" to have nothing queued or set aside", func() error {
				st := asAdmin(name).get("/v1/registry/status")
				if q, _ := st["quarantined"].([]any); len(q) > 0 {
					return fmt.Errorf("%d messages set aside: %v", len(q), q)
				}
				if n := u64(st["outbox_entries"]); n > 0 {
					return fmt.Errorf("%d outbox entries", n)
				}
				return nil
			})
		})
	}
	checks.Wait()
	if why := checkRegisters(w.init, w.history); why != "" {
		bad("%s", why)
	}
	// What the nodes said: a problem the book's walk found at a start
	// (--check-book), or a stop other than the harness's.
	if f.read == nil {
		f.read = map[string]int{}
	}
	for name, n := range f.c.nodes {
		out := n.output()
		out, f.read[name] = out[min(f.read[name], len(out)):], len(out)
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, `msg="case book problem"`) || strings.Contains(line, `msg="case book check failed"`) ||
				strings.Contains(line, `msg="case book listing left out a case it could not read whole"`) ||
				strings.HasPrefix(line, "panic: ") || strings.HasPrefix(line, "fatal error: ") {
				if !f.expectedStop(line) {
					bad("%s said: %s", name, line)
				}
			}
		}
	}
	return found
}

// checkFigures runs after chaosFed.check and returns what it found wrong
// in the figures the offices read, counted over the whole run (every
// schedule's, from the day the federation started): each village's
// 收件量 (received, GET /v1/statistics) at the village, its township and
// the county is the number of its filings acknowledged; the county's
// 受理量 (accepted) the number of acceptances acknowledged; and the first
// reports in each village's duty assessment (值班考核, GET
// /v1/duty/assessment) at the village and at the county the number of its
// urgent reports whose signing was acknowledged. A step or a report
// applied twice under a fault counts twice though it is held once, and a
// node's book is walked (--check-book) only when it restarts.
func (f *chaosFed) checkFigures(t *testing.T, filed map[string]map[string]int, accepted map[string]bool, reported map[string]int) []string {
	t.Helper()
	var mu sync.Mutex
	var found []string
	cst := time.FixedZone("CST", 8*3600)
	days := fmt.Sprintf("from=%s&to=%s", f.started.In(cst).Format(time.DateOnly), time.Now().In(cst).Format(time.DateOnly))
	// figure reads path at node as who until field of the answer (a
	// path into its JSON) is want, for up to syncTimeout.
	figure := func(what, node string, who *api, path string, field func(map[string]any) uint64, want int) {
		var got uint64
		var why string
		for deadline := time.Now().Add(syncTimeout); ; {
			a := f.c.api(node)
			a.token = who.token
			code, body, err := a.call("GET", path, nil)
			if err == nil && code == http.StatusOK {
				if got, why = field(body), ""; got == uint64(want) {
					return
				}
			} else {
				why = fmt.Sprintf(" (%d %v %v)", code, body, err)
			}
			if time.Now().After(deadline) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		mu.Lock()
		found = append(found, fmt.Sprintf("%s at %s is %d, want %d%s", what, node, got, want, why))
		mu.Unlock()
	}
	total := func(name string) func(map[string]any) uint64 {
		return func(body map[string]any) uint64 {
			t, _ := body["total"].(map[string]any)
			return u64(t[name])
		}
	}
	firstReports := func(office string) func(map[string]any) uint64 {
		return func(body map[string]any) uint64 {
			list, _ := body["offices"].([]any)
			for _, o := range list {
				if o := o.(map[string]any); o["office_code"] == office {
					return u64(o["first_reports"])
				}
			}
			return 0
		}
	}
	countyDuty := f.c.api("county-1").login("county-duty", adminPassword)
	var checks sync.WaitGroup
	for _, v := range chaosVillages {
		parent := chaosTownships[slices.IndexFunc(chaosTownships, func(t chaosOffice) bool { return t.code == v.parent })]
		for _, node := range []string{v.node, parent.node, "county-1"} {
			checks.Go(func() {
				figure("the received (收件量) of "+v.node, node, f.admin, "/v1/statistics?office_code="+v.code+"&"+days,
					total("received"), len(filed[v.code]))
			})
		}
		officer := f.c.api(v.node).login("duty-"+v.code, adminPassword)
		for node, who := range map[string]*api{v.node: officer, "county-1": countyDuty} {
			checks.Go(func() {
				figure("the first reports in the duty assessment of "+v.node, node, who, "/v1/duty/assessment?office_code="+v.code+"&"+days,
					firstReports(v.code), reported[v.code])
			})
		}
	}
	checks.Go(func() {
		figure("the county's accepted (受理量)", "county-1", f.admin, "/v1/statistics?office_code="+countyCode+"&office_only=true&"+days,
			total("accepted"), len(accepted))
	})
	checks.Wait()
	return found
}

// probe asks a node what one read of its case book sees of an office's
// listing and of the cases numbers (/debug/book on its metrics port).
func (f *chaosFed) probe(node, office string, numbers []string) string {
	u := "http://" + f.c.nodes[node].metricsAddr + "/debug/book?office=" + url.QueryEscape(office)
	for _, n := range numbers {
		u += "&case=" + url.QueryEscape(n)
	}
	body, err := f.get(u)
	if err != nil {
		return err.Error()
	}
	return strings.TrimSpace(body)
}

// get reads the body at u (a node's operator port).
func (f *chaosFed) get(u string) (string, error) {
	// The probe reads an office's whole listing on a node that may be
	// walking its book (--check-book): give it longer than an API call.
	hc := *f.c.http
	hc.Timeout = 2 * time.Minute
	resp, err := hc.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return string(body), nil
}

// metricsOf reads the named metrics of a node, as "name value" pairs, or
// why it could not.
func (f *chaosFed) metricsOf(node string, names ...string) string {
	body, err := f.get(f.c.metricsURL(node))
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, name := range names {
		if v, ok := metricIn(body, name); ok {
			out = append(out, name+" "+v)
		}
	}
	return strings.Join(out, ", ")
}

// expectedStop reports whether a node's last words are a stop the
// schedule made: a full disk stops a node on purpose (a failed append or
// apply panics).
func (f *chaosFed) expectedStop(line string) bool {
	return strings.Contains(line, "file too large") || strings.Contains(line, "Assert failed")
}

// registers reads the registers' values at the county (every office holds
// the same once a schedule has been checked).
func (f *chaosFed) registers(t *testing.T) (regs [chaosRegisters]string) {
	t.Helper()
	for _, d := range f.admin.get("/v1/departments")["departments"].([]any) {
		d := d.(map[string]any)
		for k := range regs {
			if d["code"] == registerCode(k) {
				regs[k] = fmt.Sprint(d["name"])
			}
		}
	}
	return regs
}

// chaosFullCheck: every this many schedules, the case checks cover every
// case of the run, not only the schedule's.
const chaosFullCheck = 25

// caseStatesSince is the state of each case of office filed at or after
// since (zero: all) as a node's listing gives it: what its own book holds.
func caseStatesSince(a *api, office string, since time.Time) (map[string]string, error) {
	states := map[string]string{}
	err := eachCaseListed(a, office, since, func(c map[string]any) { states[fmt.Sprint(c["number"])] = fmt.Sprint(c["state"]) })
	return states, err
}

// registryDigest is a node's registry index and digest as its status
// gives them: "digest D at index I".
func registryDigest(a *api) (string, error) {
	code, body, err := a.call("GET", "/v1/registry/status", nil)
	if err != nil || code != 200 {
		return "", fmt.Errorf("registry status: %d %v %v", code, body, err)
	}
	if d, _ := body["digest"].(string); len(d) != 64 {
		return "", fmt.Errorf("registry status without a digest: %v", body)
	}
	return fmt.Sprintf("digest %v at index %v", body["digest"], body["index"]), nil
}

// departmentsAt is a node's departments, as JSON, once it is at index.
func departmentsAt(a *api, idx uint64) string {
	code, body, err := a.call("GET", fmt.Sprintf("/v1/departments?min_index=%d", idx), nil)
	if err != nil || code != 200 {
		return fmt.Sprintf("unreadable: %d %v", code, err)
	}
	b, _ := json.Marshal(body["departments"])
	return string(b)
}

// caseEvents is a case's log as the node gives it, and whether the node
// found every hash of its chain and every signature good (the answer
// leaves out what the hashes cover: signer chains, query-code hashes).
func caseEvents(a *api, number string) ([]*yizhanv1.CaseEvent, bool, error) {
	code, body, err := a.call("GET", "/v1/cases/"+number+"/events", nil)
	if err != nil || code != 200 {
		return nil, false, fmt.Errorf("%d %v %v", code, body, err)
	}
	raw, _ := json.Marshal(body)
	var resp yizhanv1.ListCaseEventsResponse
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, &resp); err != nil {
		return nil, false, err
	}
	return resp.GetEvents(), resp.GetChainValid(), nil
}
