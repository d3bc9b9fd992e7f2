//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// The case book at scale, measured on the binary as its own process (its
// RSS is its own, not a share of a test process):
//
//	go test -tags e2e -run '^$' -bench BenchmarkCountyBook -benchtime 1x -timeout 3h ./e2e/
//	go test -tags e2e -run '^$' -bench BenchmarkVillageMemory -benchtime 1x ./e2e/
//
// (make bench-book runs both.) YIZHAN_BENCH_BOOK_CASES sets the county's
// book (1,000,000), YIZHAN_BENCH_VILLAGE_CASES the village's (10,000).
// YIZHAN_BENCH_VILLAGE_LIMIT_MB runs the village in a memory cgroup of
// that many MB (root, cgroup v1 or v2): everything it uses, its binary's
// pages and badger's files as well as its own memory, counts, and the
// benchmark fails if the OOM killer ends it. YIZHAN_BENCH_COUNTY_LIMIT_MB
// does the same for the county's node.

// benchEnv reads a positive number from the environment, or def.
func benchEnv(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: a positive number", name, v)
	}
	return n
}

// rssMB is a process's resident set and its peak, in MB (/proc).
func rssMB(b *testing.B, n *node) (rss, peak float64) {
	m := procStatus(b, n)
	return m["VmRSS:"], m["VmHWM:"]
}

// procFile reads /proc/<pid>/<name> of node n's process; "exe" is read as
// the link it is.
func procFile(b *testing.B, n *node, name string) []byte {
	b.Helper()
	n.mu.Lock()
	pid := n.cmd.Process.Pid
	n.mu.Unlock()
	path := fmt.Sprintf("/proc/%d/%s", pid, name)
	if name == "exe" {
		exe, err := os.Readlink(path)
		if err != nil {
			b.Fatal(err)
		}
		return []byte(exe)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// procStatus is /proc/<pid>/status's sizes, in MB, by field.
func procStatus(b *testing.B, n *node) map[string]float64 {
	b.Helper()
	status := procFile(b, n, "status")
	out := map[string]float64{}
	for _, line := range strings.Split(string(status), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == "kB" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			out[f[0]] = kb / 1024
		}
	}
	return out
}

// mappedFilesMB is what of a node's RSS is files mapped into it, in MB,
// by what they are: "binary" (the node's own code and read-only data,
// shared with every process of the binary), "badger" (the case book's
// tables, value logs and memtable logs, each also apart as "badger-sst",
// "badger-vlog" and "badger-mem"), "raft-wal", "other" (libc and the
// like); and "binary-referenced", what of the binary's resident pages
// was touched since clearReferenced. From /proc/<pid>/smaps.
func mappedFilesMB(b *testing.B, n *node) map[string]float64 {
	b.Helper()
	exe, smaps := string(procFile(b, n, "exe")), procFile(b, n, "smaps")
	out := map[string]float64{}
	what := ""
	for _, line := range strings.Split(string(smaps), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			// A mapping's first line: address, perms, offset, dev, inode, path.
			what = ""
			if len(f) >= 6 && strings.HasPrefix(f[5], "/") { // a deleted file: "... (deleted)"
				switch path := f[5]; {
				case path == exe:
					what = "binary"
				case strings.Contains(path, "/data/badger/"):
					what = "badger-" + strings.TrimPrefix(filepath.Ext(path), ".")
				case strings.Contains(path, "/data/raft-wal/"):
					what = "raft-wal"
				default:
					what = "other"
				}
			}
		case len(f) == 3 && f[0] == "Rss:" && what != "":
			kb, _ := strconv.ParseFloat(f[1], 64)
			out[what] += kb / 1024
			if strings.HasPrefix(what, "badger-") {
				out["badger"] += kb / 1024
			}
		case len(f) == 3 && f[0] == "Referenced:" && what == "binary":
			kb, _ := strconv.ParseFloat(f[1], 64)
			out["binary-referenced"] += kb / 1024
		}
	}
	return out
}

// clearReferenced clears the referenced bits of n's pages
// (/proc/<pid>/clear_refs), so that mappedFilesMB's "binary-referenced"
// is what the node touched of its binary from now on: its working set,
// where the binary's resident pages are also what its start touched
// once (the init functions of every package, spread over the whole text,
// with the kernel mapping 64 KiB around each fault).
func clearReferenced(b *testing.B, n *node) {
	b.Helper()
	n.mu.Lock()
	pid := n.cmd.Process.Pid
	n.mu.Unlock()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("1"), 0); err != nil {
		b.Fatal(err)
	}
}

// badgerFiles says mappedFilesMB's badger files by kind: "tables 1.2,
// value log 3.4, memtable logs 5.6 MB".
func badgerFiles(files map[string]float64) string {
	return fmt.Sprintf("tables %.1f, value log %.1f, memtable logs %.1f MB",
		files["badger-sst"], files["badger-vlog"], files["badger-mem"])
}

// dirMB is the disk the files under dir use, in MB: their blocks, not
// their sizes (badger's value logs are sparse files made at full size).
func dirMB(b *testing.B, dir string) float64 {
	var total int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				total += st.Blocks * 512
			}
		}
		return nil
	})
	return float64(total) / (1 << 20)
}

// benchApplicantID is the i-th of a pool of valid ID numbers: birth dates
// from 1950 on, a thousand serials a day.
func benchApplicantID(i int) string {
	birth := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/1000)
	return caseIDNumber(fmt.Sprintf("450122%s%03d", birth.Format("20060102"), i%1000))
}

// filer files cases over REST with a token, from many clients.
type filer struct {
	url, token string
	hc         *http.Client
	applicants int // the pool of applicants the cases are spread over
	next       atomic.Int64
	// clientMS is the CPU this process (the clients) spent a case in the
	// last call of file: the same work whatever the book holds, so it
	// says how fast the machine ran meanwhile.
	clientMS float64
}

func newFiler(a *api, applicants int) *filer {
	return &filer{url: a.base + "/v1/cases", token: a.token, applicants: applicants,
		hc: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 128}}}
}

// file files n cases from clients at once and returns the rate and the
// latencies' p50.
func (f *filer) file(b *testing.B, n, clients int) (perSecond float64, p50 time.Duration) {
	b.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		lat  []time.Duration
		left atomic.Int64
		errs = make(chan error, clients)
	)
	left.Store(int64(n))
	start, cpu := time.Now(), processCPU(b)
	for range clients {
		wg.Go(func() {
			var mine []time.Duration
			for left.Add(-1) >= 0 {
				i := int(f.next.Add(1))
				body, _ := json.Marshal(map[string]any{
					"item_code":  caseItemCode,
					"applicant":  map[string]string{"name": fmt.Sprintf("申请人%d", i%f.applicants), "id_number": benchApplicantID(i % f.applicants), "phone": fmt.Sprintf("139%08d", i%f.applicants)},
					"materials":  []map[string]any{{"name": "申请表", "copies": 1}},
					"request_id": fmt.Sprintf("bench-%d", i),
				})
				t0 := time.Now()
				req, _ := http.NewRequest("POST", f.url, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+f.token)
				req.Header.Set("Content-Type", "application/json")
				resp, err := f.hc.Do(req)
				if err != nil {
					errs <- err
					return
				}
				// Read to the end: a body closed unread closes its
				// connection, and each filing would dial a new one.
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- fmt.Errorf("file case %d: %s", i, resp.Status)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	f.clientMS = float64(processCPU(b)-cpu) / float64(time.Millisecond) / float64(n)
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
	slices.Sort(lat)
	return float64(n) / elapsed.Seconds(), lat[len(lat)/2]
}

// processCPU is the CPU time this process has used, user and system.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// saveHeapProfile writes node n's heap profile to
// $YIZHAN_BENCH_HEAP_DIR/name.heap when the variable is set (read it with
// go tool pprof -sample_index=inuse_space).
func saveHeapProfile(b *testing.B, n *node, name string) {
	dir := os.Getenv("YIZHAN_BENCH_HEAP_DIR")
	if dir == "" || n.metricsAddr == "" {
		return
	}
	resp, err := http.Get("http://" + n.metricsAddr + "/debug/pprof/heap?gc=1")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	f, err := os.Create(filepath.Join(dir, name+".heap"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		b.Fatal(err)
	}
}

// cpuProfile starts taking a CPU profile of n for the given seconds, as
// saveHeapProfile does into $YIZHAN_BENCH_HEAP_DIR (nothing without it);
// the returned function waits for it and writes it to name.cpu.
func cpuProfile(b *testing.B, n *node, name string, seconds int) (wait func()) {
	dir := os.Getenv("YIZHAN_BENCH_HEAP_DIR")
	if dir == "" || n.metricsAddr == "" {
		return func() {}
	}
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", n.metricsAddr, seconds))
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(filepath.Join(dir, name+".cpu"))
		if err != nil {
			done <- err
			return
		}
		defer f.Close()
		_, err = io.Copy(f, resp.Body)
		done <- err
	}()
	return func() {
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}

// saveLog copies p's log so far to $YIZHAN_BENCH_HEAP_DIR/name.log when
// the variable is set: what the node did beside the figures.
func saveLog(b *testing.B, p *proc, name string) {
	dir := os.Getenv("YIZHAN_BENCH_HEAP_DIR")
	if dir == "" {
		return
	}
	log, err := os.ReadFile(p.log)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".log"), log, 0o644); err != nil {
		b.Fatal(err)
	}
}

// getP50 times n GETs of the paths path(i) returns, one at a time.
func getP50(b *testing.B, a *api, n int, path func(i int) string) time.Duration {
	b.Helper()
	var lat []time.Duration
	for i := range n {
		t0 := time.Now()
		code, body, err := a.call("GET", path(i), nil)
		if err != nil || code != http.StatusOK {
			b.Fatalf("GET %s: %d %v %v", path(i), code, body, err)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	return lat[len(lat)/2]
}

// benchCounty starts a county of one node with the tobacco item and a
// clerk, and returns the cluster and the clerk.
func benchCounty(b *testing.B, limitMB int) (*cluster, *api, *memoryCgroup) {
	c := newCluster(b)
	c.profiles = true
	cg := inMemoryCgroup(b, c, "county-1", limitMB)
	c.startCounty(1)
	admin := c.api("county-1").login("admin", adminPassword)
	admin.write("/v1/departments", map[string]string{"code": "yc", "name": "县烟草专卖局"})
	item := tobaccoItem(caseItemCode)
	item["materials"] = []map[string]any{{"name": "申请表", "form": "MATERIAL_FORM_ORIGINAL", "copies": 1, "required": true}}
	admin.write("/v1/items", item)
	admin.write("/v1/grants", map[string]any{"item_code": caseItemCode, "office_code": countyCode,
		"rights": []string{"RIGHT_ACCEPT", "RIGHT_REVIEW", "RIGHT_APPROVE", "RIGHT_CERTIFY", "RIGHT_DELIVER"}})
	admin.write("/v1/staff", map[string]any{"staff": map[string]any{"username": "clerk", "name": "陈静", "office_code": countyCode,
		"department_code": "yc", "roles": []string{"ROLE_CLERK", "ROLE_REVIEWER"}}, "password": adminPassword})
	return c, c.api("county-1").login("clerk", adminPassword), cg
}

// cgroupSeq names each benchmark iteration's cgroup apart (they are
// removed only when the benchmark ends).
var cgroupSeq atomic.Int64

// inMemoryCgroup has the node called name, once started, run in a memory
// cgroup of limitMB of its own (nil, and nothing done, when limitMB is 0).
func inMemoryCgroup(b *testing.B, c *cluster, name string, limitMB int) *memoryCgroup {
	if limitMB == 0 {
		return nil
	}
	cg := newMemoryCgroup(b, fmt.Sprintf("yizhan-bench-%d-%d", os.Getpid(), cgroupSeq.Add(1)), limitMB)
	c.bins = map[string]string{name: cg.wrap(b, b.TempDir())}
	b.Cleanup(func() { // after the nodes are stopped, also when the benchmark fails
		_, peak, kills := cg.usage(b)
		b.Logf("%s's cgroup of %d MB: at most %.1f MB used, %d OOM kills", name, limitMB, peak, kills)
	})
	return cg
}

// BenchmarkCountyBook fills a county node's book by filing through the
// API (64 clients, REST, a request ID each; there is no batch path) and
// reports: the filing rate of an empty book and of the full one (its
// last 100,000, and in turns with empty books on a second node: the
// median of the turns, and over all of them, the compactions' bursts
// included), what badger's compactions wrote a case (in the turns and
// over the loading's second half), the node's RSS, the disk per case,
// the time from a restart to ready, and the p50 of the queue's first
// page, of a page of history and of an applicant search.
// YIZHAN_BENCH_TURN_GROUPS sets the least number of groups of turns (3,
// each five full turns of 20,000 filings beside a new empty book; more,
// up to six, until the full turns hold a whole cycle of compactions).
func BenchmarkCountyBook(b *testing.B) {
	total := benchEnv(b, "YIZHAN_BENCH_BOOK_CASES", 1_000_000)
	limitMB := benchEnv(b, "YIZHAN_BENCH_COUNTY_LIMIT_MB", 0)
	const clients = 64
	// The empty book's rate is taken over its first 20,000 filings, the
	// full book's over its last 100,000 (a tenth of the book): long
	// enough to average over the compactions a 20,000-filing probe meets
	// or misses (it gave 67–94% of the empty book in three runs of one
	// commit, docs/BENCHMARKS.md, session 22).
	emptyProbe, fullProbe := min(20_000, total), min(100_000, max(total/10, 1))
	// The turns of the empty and the full book (below): groups of five
	// of the full book's between six of an empty one's, three groups at
	// least, and more (up to six) until the full book's turns hold a
	// whole cycle of its compactions.
	const turns = 5
	groups := benchEnv(b, "YIZHAN_BENCH_TURN_GROUPS", 3)
	const maxGroups = 6
	turnProbe := emptyProbe
	for range b.N {
		c, clerk, cg := benchCounty(b, limitMB)
		county := c.nodes["county-1"]
		f := newFiler(clerk, max(total/5, 1))
		cost := newFilingCost(b, c, "county-1")
		emptyProfile := cpuProfile(b, county, "county-empty", 4)
		empty, emptyP50 := f.file(b, emptyProbe, clients)
		emptyCost := cost.since(b, emptyProbe)
		emptyProfile()
		b.Logf("empty book: %.0f cases/s, p50 %s; %s; the clients' CPU %.2f ms a case", empty, emptyP50.Round(time.Microsecond), emptyCost, f.clientMS)
		start := time.Now()
		// What badger wrote over the second half of the loading: what
		// filing into a book of half a million to a million costs in
		// compactions, a case, whenever they fall.
		var loadWritten badgerWritten
		loadN := 0
		for held := emptyProbe; held < total-fullProbe; {
			n := min(100_000, total-fullProbe-held)
			rate, _ := f.file(b, n, clients)
			held += n
			rss, _ := rssMB(b, county)
			w := cost.since(b, n)
			if held > total/2 {
				loadWritten, loadN = loadWritten.plus(w.written), loadN+n
			}
			fmt.Fprintf(os.Stderr, "%d cases held, %s in: the last %d at %.0f/s, RSS %.0f MB (anonymous %.0f); %s; the clients' CPU %.2f ms a case\n",
				held, time.Since(start).Round(time.Second), n, rate, rss, procStatus(b, county)["RssAnon:"], w, f.clientMS)
			if cg != nil {
				fmt.Fprintf(os.Stderr, "  its cgroup: %s\n", strings.Join(strings.Fields(cgroupStatSummary(cg.read(b, "memory.stat"))), " "))
			}
		}
		cost.since(b, 0) // the last window's cost is logged; the full book's starts here
		fullProfile := cpuProfile(b, county, "county-full", 20)
		full, fullP50 := f.file(b, fullProbe, clients)
		fullCost := cost.since(b, fullProbe)
		fullProfile()
		b.Logf("full book: %s; the clients' CPU %.2f ms a case", fullCost, f.clientMS)
		saveHeapProfile(b, county, "county")
		rss, peak := rssMB(b, county)
		anon := procStatus(b, county)["RssAnon:"]
		disk := dirMB(b, filepath.Join(c.dir, "county-1", "data"))
		b.Logf("full book (%d): %.0f cases/s (%.0f%% of empty), p50 %s; RSS %.0f MB (peak %.0f); %.0f MB on disk",
			total, full, 100*full/empty, fullP50.Round(time.Microsecond), rss, peak, disk)

		// What badger's files hold: its tables' indexes and bloom
		// filters are read in place from the mmapped tables.
		index, lsm, vlog := benchMetric(b, c, "county-1", "yizhan_badger_table_index_bytes")/(1<<20),
			benchMetric(b, c, "county-1", "yizhan_badger_lsm_bytes")/(1<<20), benchMetric(b, c, "county-1", "yizhan_badger_vlog_bytes")/(1<<20)
		b.Logf("badger: %.0f MB of tables (their indexes and bloom filters %.1f MB), %.0f MB of value log", lsm, index, vlog)
		files := mappedFilesMB(b, county)
		b.Logf("county: RSS %.0f MB: anonymous %.0f, mapped files: binary %.1f, badger %.1f (%s), raft-wal %.1f, other %.1f MB",
			rss, anon, files["binary"], files["badger"], badgerFiles(files), files["raft-wal"], files["other"])

		queue := getP50(b, clerk, 50, func(int) string { return "/v1/cases?page_size=50" })
		history := getP50(b, clerk, 50, func(int) string { return "/v1/cases?history=true&page_size=50" })
		applicant := getP50(b, clerk, 50, func(int) string {
			return "/v1/cases?applicant=" + url.QueryEscape(benchApplicantID(rand.IntN(f.applicants)))
		})

		// The full book against an empty one in turns. This machine's
		// speed drifts over minutes (the same empty book's probe at
		// 2,476 and 1,759 /s, CPU 0.56 and 0.80 ms a case, ten minutes
		// apart in one run of session 25), more than the difference
		// measured: so an empty book on a second node (a cgroup of its
		// own, of the same limit) and the full one file in turns, each
		// stopped (SIGSTOP: its background work too) while the other
		// files, empty first and last. Each full turn is set against the
		// mean of the empty turns around it; the median of those ratios
		// is the figure of the book's size alone. It leaves out what the
		// full book pays in bursts: badger's compactions of level 0 into
		// the levels below, which the writes of every turn before them
		// made due, run a turn at half speed or less (the turns'
		// profiles, session 26), and come once in 100,000 to 250,000
		// filings (the compaction bytes of each window, session 27). So
		// the rates over all the turns (the time each book took for all
		// its filings) are reported too, the figure of a county filing
		// for hours, over turns enough to span such a cycle: groups of
		// five full turns, each group beside a new empty book (which
		// thus holds at most 120,000 cases), three groups or more, until
		// the full turns hold a whole cycle, which is reported apart
		// (the figure that neither misses a burst nor counts one twice).
		cost.since(b, 0) // the reads above are not a turn's
		var emptyTurns, fullTurns, ratios, cpuRatios []float64
		var emptyCPU, fullCPU []float64
		// Each full turn's empty turns around it (their mean rate and
		// CPU a case), and what its compactions wrote a case.
		var aroundRate, aroundCPU, fullCompactedTurns []float64
		var emptyWritten, fullWritten badgerWritten
		var turnLines []string
		g := 0
		for ; g < maxGroups; g++ {
			if _, _, ok := wholeCycle(fullCompactedTurns); g >= groups && ok {
				break
			}
			c2, clerk2, _ := benchCounty(b, limitMB)
			other := c2.nodes["county-1"]
			f2 := newFiler(clerk2, max(total/5, 1))
			cost2 := newFilingCost(b, c2, "county-1")
			var empty, full, eCPU, fCPU, eClient, fClient []float64
			for i := 0; i <= turns; i++ {
				county.send(syscall.SIGSTOP)
				other.send(syscall.SIGCONT)
				// The first seconds of every turn are profiled, the empty
				// book's as the full one's, so that the profiler's cost
				// falls on both: a slow turn's compaction shows there when
				// it starts with the turn (it did in two runs of session
				// 26; in a third it started later, and the profile missed
				// it).
				wait := cpuProfile(b, other, fmt.Sprintf("county-empty-turn-%d.%d", g+1, i+1), 4)
				began := time.Now()
				rate, _ := f2.file(b, turnProbe, clients)
				w := cost2.since(b, turnProbe)
				wait()
				fmt.Fprintf(os.Stderr, "turn E%d.%d from %s: %.0f/s, %s\n", g+1, i+1, began.UTC().Format("15:04:05"), rate, w)
				empty, eCPU, eClient = append(empty, rate), append(eCPU, w.cpuMS), append(eClient, f2.clientMS)
				emptyWritten = emptyWritten.plus(w.written)
				other.send(syscall.SIGSTOP)
				county.send(syscall.SIGCONT)
				if i == turns {
					break
				}
				wait = cpuProfile(b, county, fmt.Sprintf("county-full-turn-%d.%d", g+1, i+1), 4)
				began = time.Now()
				rate, _ = f.file(b, turnProbe, clients)
				w = cost.since(b, turnProbe)
				wait()
				fmt.Fprintf(os.Stderr, "turn F%d.%d from %s: %.0f/s, %s\n", g+1, i+1, began.UTC().Format("15:04:05"), rate, w)
				full, fCPU, fClient = append(full, rate), append(fCPU, w.cpuMS), append(fClient, f.clientMS)
				fullWritten = fullWritten.plus(w.written)
				fullCompactedTurns = append(fullCompactedTurns, w.written.compacted()/float64(turnProbe))
			}
			other.send(syscall.SIGCONT)
			other.stop(stopTimeout)
			for i := range full {
				around, cpu := (empty[i]+empty[i+1])/2, (eCPU[i]+eCPU[i+1])/2
				ratios, cpuRatios = append(ratios, full[i]/around), append(cpuRatios, cpu/fCPU[i])
				aroundRate, aroundCPU = append(aroundRate, around), append(aroundCPU, cpu)
			}
			emptyTurns, fullTurns = append(emptyTurns, empty...), append(fullTurns, full...)
			emptyCPU, fullCPU = append(emptyCPU, eCPU...), append(fullCPU, fCPU...)
			turnLines = append(turnLines, turnsString(empty, full, eCPU, fCPU, eClient, fClient))
		}
		saveLog(b, county.proc, "county-full")
		turnRatio, cpuRatio := median(ratios), median(cpuRatios)
		emptyTurnRate := median(emptyTurns)
		// The turns one by one go to stderr: go test keeps only the
		// first lines of a benchmark's log.
		fmt.Fprintf(os.Stderr, "in turns of %d filings, groups of %d beside a new empty book (a second node) / the full book, rate, node's CPU a case (clients' CPU a case):\n%s\n",
			turnProbe, turns, strings.Join(turnLines, "\n"))
		b.Logf("in %d turns of %d filings: the full book's rate against the empty turns around it %s (median %.0f%%), CPU a case %s (median %.0f%%)",
			len(fullTurns), turnProbe, percents(ratios), 100*turnRatio, percents(cpuRatios), 100*cpuRatio)
		emptyAll, fullAll := overallRate(emptyTurns), overallRate(fullTurns)
		emptyAllCPU, fullAllCPU := mean(emptyCPU), mean(fullCPU)
		b.Logf("over all the turns: the full book %.0f/s, the empty one %.0f/s (%.0f%%); CPU a case %.2f and %.2f ms (%.0f%%)",
			fullAll, emptyAll, 100*fullAll/emptyAll, fullAllCPU, emptyAllCPU, 100*emptyAllCPU/fullAllCPU)
		// Whether the turns met the full book's share of compactions
		// shows against the second half of the loading.
		fullN := g * turns * turnProbe
		fullCompacted, loadCompacted := fullWritten.compacted()/float64(fullN), loadWritten.compacted()/float64(max(loadN, 1))
		b.Logf("in the turns, the full book's %s; the empty ones' %s; over the loading's last %d, %s",
			fullWritten.perCase(fullN), emptyWritten.perCase(g*(turns+1)*turnProbe), loadN, loadWritten.perCase(loadN))
		// Over whole cycles: from the turn after one burst of
		// compactions ended to the turn the next one ended in, the full
		// book pays its compactions' share exactly, wherever the turns
		// began in the cycle.
		cycleRatio, cycleCPU := 0.0, 0.0
		if from, to, ok := wholeCycle(fullCompactedTurns); ok {
			full, around := overallRate(fullTurns[from:to+1]), overallRate(aroundRate[from:to+1])
			fCPU, eCPU := mean(fullCPU[from:to+1]), mean(aroundCPU[from:to+1])
			cycleRatio, cycleCPU = full/around, eCPU/fCPU
			b.Logf("over a whole cycle of compactions (full turns %d to %d of %d, %.0f B compacted a case): the full book %.0f/s, the empty ones around it %.0f/s (%.0f%%); CPU a case %.2f and %.2f ms (%.0f%%)",
				from+1, to+1, len(fullTurns), mean(fullCompactedTurns[from:to+1]), full, around, 100*cycleRatio, fCPU, eCPU, 100*cycleCPU)
		} else {
			b.Logf("no whole cycle of compactions in %d full turns", len(fullTurns))
		}
		county.stop(stopTimeout)

		restart := time.Now()
		county.start()
		c.waitReady("county-1")
		ready := time.Since(restart)
		clerk = c.api("county-1").login("clerk", adminPassword)
		queueCold := getP50(b, clerk, 20, func(int) string { return "/v1/cases?page_size=50" })
		time.Sleep(5 * time.Second)
		idle, _ := rssMB(b, county)
		idleFiles := mappedFilesMB(b, county)
		// What the restart allocated (alloc_space) and holds (inuse_space).
		saveHeapProfile(b, county, "county-restart")
		b.Logf("restart to ready %s; queue p50 %s (after the restart %s), history %s, applicant %s; RSS after the restart %.0f MB (anonymous %.0f, binary %.1f, badger %.1f: %s)",
			ready.Round(time.Millisecond), queue.Round(time.Microsecond), queueCold.Round(time.Microsecond), history.Round(time.Microsecond), applicant.Round(time.Microsecond),
			idle, procStatus(b, county)["RssAnon:"], idleFiles["binary"], idleFiles["badger"], badgerFiles(idleFiles))
		// The harness starts every node with --check-book: the restarted
		// county walks its million cases once. Its peak since the
		// restart (VmHWM: the restart's own reading of its logs, and the
		// walk) and what the walk found.
		checkBegan := time.Now()
		problems := -1.0
		for problems < 0 && time.Since(checkBegan) < 20*time.Minute {
			time.Sleep(2 * time.Second)
			problems = benchMetric(b, c, "county-1", "yizhan_casebook_problems")
		}
		if problems != 0 {
			b.Fatalf("the check of the restarted county's book: %v problems after %s (-1: not done)", problems, time.Since(checkBegan).Round(time.Second))
		}
		checked := time.Since(restart)
		_, checkPeak := rssMB(b, county)
		b.Logf("the restarted county's --check-book walk: no problems, done %s after the restart; VmHWM since the restart %.0f MB", checked.Round(time.Second), checkPeak)
		b.ReportMetric(checked.Seconds(), "check-s")
		b.ReportMetric(checkPeak, "restart-peak-rss-MB")

		b.ReportMetric(float64(total), "cases")
		b.ReportMetric(empty, "empty-cases/s")
		b.ReportMetric(full, "full-cases/s")
		b.ReportMetric(full/empty, "full/empty")
		b.ReportMetric(emptyTurnRate, "empty-turns-cases/s")
		b.ReportMetric(turnRatio, "full/empty-turns")
		b.ReportMetric(cpuRatio, "cpu-empty/full-turns")
		b.ReportMetric(fullAll/emptyAll, "full/empty-all-turns")
		b.ReportMetric(emptyAllCPU/fullAllCPU, "cpu-empty/full-all-turns")
		b.ReportMetric(fullCompacted, "full-turns-compacted-B/case")
		if cycleRatio > 0 {
			b.ReportMetric(cycleRatio, "full/empty-cycle")
			b.ReportMetric(cycleCPU, "cpu-empty/full-cycle")
		}
		b.ReportMetric(loadCompacted, "loading-compacted-B/case")
		b.ReportMetric(emptyCost.cpuMS, "empty-cpu-ms/case")
		b.ReportMetric(fullCost.cpuMS, "full-cpu-ms/case")
		b.ReportMetric(rss, "rss-MB")
		b.ReportMetric(anon, "anon-rss-MB")
		b.ReportMetric(files["badger"], "badger-rss-MB")
		b.ReportMetric(peak, "peak-rss-MB")
		b.ReportMetric(disk*(1<<20)/float64(total), "disk-B/case")
		b.ReportMetric(ready.Seconds(), "restart-s")
		b.ReportMetric(index, "table-index-MB")
		b.ReportMetric(float64(queue.Microseconds())/1000, "queue-p50-ms")
		b.ReportMetric(float64(history.Microseconds())/1000, "history-p50-ms")
		b.ReportMetric(float64(applicant.Microseconds())/1000, "applicant-p50-ms")
		if cg != nil {
			reportMemoryCgroup(b, cg, county, limitMB)
		}
	}
}

// filingCost follows what a node's process spends on filing, window by
// window: its CPU time (/proc/<pid>/stat), its major page faults, the Go
// collector's cycles, and what badger wrote (from /metrics).
type filingCost struct {
	c                *cluster
	name             string
	user, sys        time.Duration
	majorFaults, gcs float64
	written          badgerWritten
}

// windowCost is what one window of n filings cost.
type windowCost struct {
	n                int
	cpuMS, sysMS     float64 // a case's
	majorFaults, gcs float64 // the window's
	written          badgerWritten
}

func (w windowCost) String() string {
	return fmt.Sprintf("CPU %.2f ms a case (%.2f system), %.0f GC cycles, %.0f major faults; %s",
		w.cpuMS, w.sysMS, w.gcs, w.majorFaults, w.written.perCase(w.n))
}

// badgerWritten is what badger wrote: into its memtables, and by its
// compactions into each level.
type badgerWritten struct {
	memtable   float64
	compaction map[string]float64 // by level
}

func (a badgerWritten) minus(b badgerWritten) badgerWritten {
	d := badgerWritten{memtable: a.memtable - b.memtable, compaction: map[string]float64{}}
	for l, v := range a.compaction {
		d.compaction[l] = v - b.compaction[l]
	}
	return d
}

func (a badgerWritten) plus(b badgerWritten) badgerWritten {
	d := badgerWritten{memtable: a.memtable + b.memtable, compaction: map[string]float64{}}
	for l, v := range a.compaction {
		d.compaction[l] += v
	}
	for l, v := range b.compaction {
		d.compaction[l] += v
	}
	return d
}

func (a badgerWritten) compacted() float64 {
	var sum float64
	for _, v := range a.compaction {
		sum += v
	}
	return sum
}

// perCase says what n filings wrote, a case: into the memtables, and
// again by the compactions, level by level.
func (a badgerWritten) perCase(n int) string {
	if n == 0 {
		return "badger wrote nothing counted"
	}
	var levels []string
	for l, v := range a.compaction {
		if v > 0 {
			levels = append(levels, l)
		}
	}
	slices.Sort(levels)
	var by []string
	for _, l := range levels {
		by = append(by, fmt.Sprintf("L%s %.0f", l, a.compaction[l]/float64(n)))
	}
	return fmt.Sprintf("badger wrote %.0f B a case, its compactions %.0f (%s)", a.memtable/float64(n), a.compacted()/float64(n), strings.Join(by, ", "))
}

// benchWritten reads what node name's badger has written.
func benchWritten(b *testing.B, c *cluster, name string) badgerWritten {
	b.Helper()
	return badgerWritten{
		memtable:   benchMetric(b, c, name, "yizhan_badger_memtable_written_bytes_total"),
		compaction: benchMetricByLabel(b, c, name, "yizhan_badger_compaction_written_bytes_total", "level"),
	}
}

func newFilingCost(b *testing.B, c *cluster, name string) *filingCost {
	f := &filingCost{c: c, name: name}
	f.since(b, 0)
	return f
}

// since returns the cost of the n filings since the last call.
func (f *filingCost) since(b *testing.B, n int) windowCost {
	b.Helper()
	stat := string(procFile(b, f.c.nodes[f.name], "stat"))
	// After "(comm) ": state is field 3 of proc(5), majflt 12, utime 14,
	// stime 15 (clock ticks: 100 a second).
	fields := strings.Fields(stat[strings.LastIndexByte(stat, ')')+2:])
	num := func(field int) float64 {
		v, err := strconv.ParseFloat(fields[field-3], 64)
		if err != nil {
			b.Fatalf("/proc/<pid>/stat field %d: %v", field, err)
		}
		return v
	}
	tick := func(v float64) time.Duration { return time.Duration(v) * 10 * time.Millisecond }
	user, sys, faults := tick(num(14)), tick(num(15)), num(12)
	gcs := benchMetric(b, f.c, f.name, "go_gc_duration_seconds_count")
	w := windowCost{n: n, majorFaults: faults - f.majorFaults, gcs: gcs - f.gcs}
	if n > 0 {
		w.cpuMS = float64(user+sys-f.user-f.sys) / float64(time.Millisecond) / float64(n)
		w.sysMS = float64(sys-f.sys) / float64(time.Millisecond) / float64(n)
	}
	written := benchWritten(b, f.c, f.name)
	w.written = written.minus(f.written)
	f.user, f.sys, f.majorFaults, f.gcs, f.written = user, sys, faults, gcs, written
	return w
}

// metricsPage is node name's /metrics.
func metricsPage(b *testing.B, c *cluster, name string) string {
	b.Helper()
	resp, err := c.http.Get(c.metricsURL(name))
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return string(body)
}

// benchMetric reads one gauge or counter without labels but the node's
// from a node's /metrics.
func benchMetric(b *testing.B, c *cluster, name, metric string) float64 {
	b.Helper()
	s, ok := metricIn(metricsPage(b, c, name), metric)
	if !ok {
		b.Fatalf("%s serves no %s", name, metric)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		b.Fatalf("%s of %s: %q: %v", metric, name, s, err)
	}
	return v
}

// benchMetricByLabel reads a counter or gauge of a node's /metrics by
// the value of one of its labels (none when it has no series yet).
func benchMetricByLabel(b *testing.B, c *cluster, name, metric, label string) map[string]float64 {
	b.Helper()
	out := map[string]float64{}
	for _, line := range strings.Split(metricsPage(b, c, name), "\n") {
		if !strings.HasPrefix(line, metric+"{") {
			continue
		}
		_, rest, ok := strings.Cut(line, label+`="`)
		value, _, ok2 := strings.Cut(rest, `"`)
		if !ok || !ok2 {
			b.Fatalf("%s of %s: no label %s: %q", metric, name, label, line)
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			b.Fatalf("%s of %s: %q: %v", metric, name, line, err)
		}
		out[value] += v
	}
	return out
}

// reportMemoryCgroup logs and reports what node n's memory cgroup used,
// and fails the benchmark when the OOM killer ended a process in it.
func reportMemoryCgroup(b *testing.B, cg *memoryCgroup, n *node, limitMB int) {
	now, peak, kills := cg.usage(b)
	b.Logf("in a memory cgroup of %d MB: using %.1f MB, at most %.1f MB; %d OOM kills; its memory.stat:\n%s",
		limitMB, now, peak, kills, cgroupStatSummary(cg.read(b, "memory.stat")))
	if kills > 0 || !n.running() {
		b.Fatalf("the node did not live within %d MB: %d OOM kills", limitMB, kills)
	}
	b.ReportMetric(peak, "cgroup-peak-MB")
}

// BenchmarkVillageMemory measures a village node's RSS idle and after
// YIZHAN_BENCH_VILLAGE_CASES filings (10,000), handed up to the county.
func BenchmarkVillageMemory(b *testing.B) {
	n := benchEnv(b, "YIZHAN_BENCH_VILLAGE_CASES", 10_000)
	limitMB := benchEnv(b, "YIZHAN_BENCH_VILLAGE_LIMIT_MB", 0)
	for range b.N {
		c := newCluster(b)
		c.profiles = true
		cg := inMemoryCgroup(b, c, "dongcun-1", limitMB)
		c, admin := startCaseCluster(c, 1)
		village := c.nodes["dongcun-1"]
		time.Sleep(10 * time.Second)
		idle, _ := rssMB(b, village)
		idleFiles := mappedFilesMB(b, village)
		saveHeapProfile(b, village, "village-idle")
		clearReferenced(b, village)
		agent := c.api("dongcun-1").login("dongcun", adminPassword)
		f := newFiler(agent, max(n/5, 1))
		rate, _ := f.file(b, n, 8)
		// Wait for the county to hold them all (the outbox drained).
		a := c.api("county-1")
		a.token = admin.token
		waitFor(b, "the county to hold the village's cases", func() error {
			held, err := casesListed(a, countyCode)
			if err == nil && len(held) < n {
				err = fmt.Errorf("%d held", len(held))
			}
			return err
		}, 10*time.Minute)
		clerkOpensPages(b, c.api("dongcun-1"), "dongcun", adminPassword, a)
		time.Sleep(10 * time.Second)
		after, peak := rssMB(b, village)
		saveHeapProfile(b, village, "village-10k")
		saveHeapProfile(b, c.nodes["chengguan-1"], "township")
		st := procStatus(b, village)
		disk := dirMB(b, filepath.Join(c.dir, "dongcun-1", "data"))
		files := mappedFilesMB(b, village)
		b.Logf("village: badger holds %.1f MB of tables (their indexes and bloom filters %.2f MB) and %.1f MB of value log",
			benchMetric(b, c, "dongcun-1", "yizhan_badger_lsm_bytes")/(1<<20), benchMetric(b, c, "dongcun-1", "yizhan_badger_table_index_bytes")/(1<<20),
			benchMetric(b, c, "dongcun-1", "yizhan_badger_vlog_bytes")/(1<<20))
		b.Logf("village: RSS %.1f MB idle, %.1f MB after %d cases (%.1f anonymous, %.1f of mapped files; peak %.1f); filed at %.0f/s; %.1f MB on disk",
			idle, after, n, st["RssAnon:"], st["RssFile:"], peak, rate, disk)
		b.Logf("village: mapped files idle: binary %.1f, badger %.1f, raft-wal %.1f, other %.1f MB; after: binary %.1f, badger %.1f (%s), raft-wal %.1f, other %.1f MB",
			idleFiles["binary"], idleFiles["badger"], idleFiles["raft-wal"], idleFiles["other"],
			files["binary"], files["badger"], badgerFiles(files), files["raft-wal"], files["other"])
		b.Logf("village: of the binary's %.1f MB resident, %.1f MB touched while filing and handing up the cases", files["binary"], files["binary-referenced"])
		logGoMemory(b, c, "dongcun-1")
		b.ReportMetric(files["binary"], "binary-rss-MB")
		b.ReportMetric(files["binary-referenced"], "binary-touched-MB")
		b.ReportMetric(files["badger"], "badger-rss-MB")
		b.ReportMetric(st["RssAnon:"], "anon-rss-MB")
		b.ReportMetric(idle, "idle-rss-MB")
		b.ReportMetric(after, "rss-MB")
		b.ReportMetric(peak, "peak-rss-MB")
		b.ReportMetric(rate, "cases/s")
		if cg != nil {
			reportMemoryCgroup(b, cg, village, limitMB)
		}
	}
}

// clerkOpensPages signs in to the web UI of the node a serves, as its
// staff member user, and opens the pages of a working day at a village
// point: the home page, the catalogue, an item and its guide, the queue,
// a new filing's form, one of its cases (found in the list of county,
// which holds them all), the tracking page. A node parses a page when it is first shown, so
// what is measured after this holds the pages its staff use.
func clerkOpensPages(b *testing.B, a *api, user, password string, county *api) {
	b.Helper()
	held, err := casesListed(county, countyCode)
	if err != nil || len(held) == 0 {
		b.Fatalf("a case to open: %v (%d held)", err, len(held))
	}
	var number string
	for number = range held {
		break
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	check := func(what string, resp *http.Response, err error) string {
		b.Helper()
		if err != nil {
			b.Fatalf("%s: %v", what, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d %s", what, resp.StatusCode, body)
		}
		return string(body)
	}
	get := func(path string) string {
		resp, err := hc.Get(a.base + path)
		return check("GET "+path, resp, err)
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(get("/login"))
	if m == nil {
		b.Fatal("the sign-in page has no CSRF token")
	}
	resp, err := hc.PostForm(a.base+"/login", url.Values{"username": {user}, "password": {password}, "csrf": {m[1]}})
	if page := check("sign in", resp, err); !strings.Contains(page, "退出") {
		b.Fatalf("not signed in: %.300s", page)
	}
	for _, path := range []string{"/", "/items", "/items/" + caseItemCode, "/items/" + caseItemCode + "/guide",
		"/cases", "/cases/new?item=" + caseItemCode, "/cases/" + url.PathEscape(number), "/track"} {
		get(path)
	}
}

// logGoMemory logs what the Go runtime of node name says it holds (its
// /metrics): the heap's objects, the heap's free spans it has not given
// back to the kernel, the goroutines' stacks, and its own structures.
// Their sum, less what of it was never touched, is the process's
// anonymous memory.
func logGoMemory(b *testing.B, c *cluster, name string) {
	mb := func(metric string) float64 { return benchMetric(b, c, name, metric) / (1 << 20) }
	heapSys, inuse, idle, released := mb("go_memstats_heap_sys_bytes"), mb("go_memstats_heap_inuse_bytes"), mb("go_memstats_heap_idle_bytes"), mb("go_memstats_heap_released_bytes")
	stacks, sys := mb("go_memstats_stack_sys_bytes"), mb("go_memstats_sys_bytes")
	b.Logf("%s: the Go runtime holds %.1f MB from the kernel, less %.1f given back: heap spans in use %.1f MB, free and kept %.1f MB; stacks %.1f MB; its own structures %.1f MB",
		name, sys, released, inuse, idle-released, stacks, sys-heapSys-stacks)
}

// cgroupStatSummary keeps the lines of a memory.stat that say where the
// memory is: anonymous, page cache, mapped files, kernel.
func cgroupStatSummary(stat string) string {
	var out []string
	for _, line := range strings.Split(stat, "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		switch f[0] {
		case "rss", "cache", "mapped_file", "dirty", "writeback", "anon", "file", "file_mapped", "file_dirty", "file_writeback", "kernel",
			"pgmajfault", "pgscan", "pgsteal", "workingset_refault_file":
			v, _ := strconv.ParseFloat(f[1], 64)
			if strings.HasPrefix(f[0], "pg") || strings.HasPrefix(f[0], "workingset") {
				out = append(out, fmt.Sprintf("  %s %.0f", f[0], v))
			} else {
				out = append(out, fmt.Sprintf("  %s %.1f MB", f[0], v/(1<<20)))
			}
		}
	}
	return strings.Join(out, "\n")
}

// burstBytes is what a turn's compactions wrote a case for the turn to
// be one of a burst: 20 MB or more in a turn of 20,000 filings (a burst
// writes 100–300 MB; the turns between them, nothing).
const burstBytes = 1000

// wholeCycle finds, in the compaction bytes a case of consecutive turns,
// the turns from the one after a burst of compactions ended to the one
// the next burst ended in: ok is false until two bursts have ended (a
// burst has ended when a quiet turn follows it).
func wholeCycle(compacted []float64) (from, to int, ok bool) {
	var ends []int
	for j := 0; j+1 < len(compacted); j++ {
		if compacted[j] >= burstBytes && compacted[j+1] < burstBytes {
			ends = append(ends, j)
		}
	}
	if len(ends) < 2 {
		return 0, 0, false
	}
	return ends[0] + 1, ends[1], true
}

// overallRate is the rate of turns of the same number of filings at
// rates: all of them over the time they took together.
func overallRate(rates []float64) float64 {
	var seconds float64
	for _, r := range rates {
		seconds += 1 / r
	}
	return float64(len(rates)) / seconds
}

// mean is the arithmetic mean of xs.
func mean(xs []float64) float64 {
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return sum / float64(len(xs))
}

// median is the middle of xs (the mean of the two middle ones for an even
// count); xs is not changed.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// percents writes ratios as percentages: "[71% 74% 69%]".
func percents(ratios []float64) string {
	var out []string
	for _, r := range ratios {
		out = append(out, fmt.Sprintf("%.0f%%", 100*r))
	}
	return "[" + strings.Join(out, " ") + "]"
}

// turnsString writes the turns in order, each its rate, the node's CPU a
// case and the clients': "E 2500/s 0.52 ms (0.21), F 2000/s 0.66 ms
// (0.22), E …".
func turnsString(empty, full, emptyCPU, fullCPU, emptyClient, fullClient []float64) string {
	var out []string
	for i := range empty {
		out = append(out, fmt.Sprintf("E %.0f/s %.2f ms (%.2f)", empty[i], emptyCPU[i], emptyClient[i]))
		if i < len(full) {
			out = append(out, fmt.Sprintf("F %.0f/s %.2f ms (%.2f)", full[i], fullCPU[i], fullClient[i]))
		}
	}
	return strings.Join(out, ", ")
}

// The county bench's whole cycle of compactions: from the turn after a
// burst ended to the turn the next one ended in.
func TestWholeCycle(t *testing.T) {
	for _, c := range []struct {
		compacted []float64
		from, to  int
		ok        bool
	}{
		{[]float64{0, 0, 0, 0}, 0, 0, false},
		{[]float64{0, 9000, 0, 0, 0}, 0, 0, false},                  // one burst
		{[]float64{0, 9000, 0, 0, 14000}, 0, 0, false},              // the second has not ended
		{[]float64{0, 9000, 0, 0, 14000, 0}, 2, 4, true},            // a cycle of three turns
		{[]float64{9000, 0, 9000, 4800, 0, 0, 9000, 0}, 1, 3, true}, // a burst over two turns
		{[]float64{0, 900, 0, 9000, 0, 9000, 0}, 4, 5, true},        // under 1 KB a case is no burst
	} {
		from, to, ok := wholeCycle(c.compacted)
		if ok != c.ok || ok && (from != c.from || to != c.to) {
			t.Errorf("wholeCycle(%v) = %d, %d, %v; want %d, %d, %v", c.compacted, from, to, ok, c.from, c.to, c.ok)
		}
	}
}
