//go:build e2e && powercut

package e2e

import (
	"flag"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/powercut"
	"golang.org/x/sys/unix"
)

var (
	powercutRounds = flag.Int("powercut.rounds", 6, "power cuts in a run of TestPowerCut")
	powercutSeed   = flag.Uint64("powercut.seed", 0, "the seed of the cuts' moments (0: the clock)")
)

// powercutDisk is a node's data directory on a power-cut file system: the
// node's --data is the mount, the real directory beside it is the disk.
type powercutDisk struct {
	t     *testing.T
	disk  string // the real directory
	mount string // where the node's data directory is mounted
	fs    *powercut.FS
}

// newPowercutDisk makes the disk of name and mounts it where the node's
// data directory will be (the cluster's DIR/name/data), before the node
// starts. The test's cleanup, run after the node's (which kills it),
// unmounts it.
func newPowercutDisk(t *testing.T, c *cluster, name string) *powercutDisk {
	d := &powercutDisk{t: t, disk: filepath.Join(c.dir, name, "disk"), mount: filepath.Join(c.dir, name, "data")}
	for _, dir := range []string{d.disk, d.mount} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	d.mountAgain()
	t.Cleanup(func() {
		if d.fs != nil {
			d.fs.Cut()
			d.fs.Unmount()
		}
	})
	return d
}

// mountAgain mounts the disk, as the cuts so far left it, with a fresh
// file system: no page of the kernel's cache from before is left.
// cutPower kills the named nodes at once, then cuts the power under each
// one's file system (torn: see powercutDisk.cut), and returns what each
// file system saw and put back.
func cutPower(c *cluster, disks map[string]*powercutDisk, names []string, torn bool) map[string]powercut.Stats {
	for _, name := range names {
		c.nodes[name].kill()
	}
	stats := map[string]powercut.Stats{}
	for _, name := range names {
		stats[name] = disks[name].cut(c.nodes[name], torn)
	}
	return stats
}

// logCut logs what a node's file system saw before the power cut under
// it, and what the cut put back.
func logCut(t *testing.T, name string, s powercut.Stats) {
	t.Helper()
	t.Logf("  %s's file system saw %d writes, %d syncs, %d truncates; put %d files back, refused %d changes after the cut",
		name, s.Writes, s.Syncs, s.Truncates, s.Restored, s.Refused)
}

// waitStartedAfterCut waits until a node started again on what a power
// cut left is ready and has checked its book (--check-book), and logs
// it when badger's replay stopped at a value the cut lost.
func waitStartedAfterCut(t *testing.T, c *cluster, name string) {
	t.Helper()
	c.waitReady(name)
	waitBookChecked(t, c, name)
	out := c.nodes[name].output()
	if strings.Contains(out[strings.LastIndex(out, "=== "):], "stopped: a transaction's value is not whole") {
		t.Logf("  %s: badger's replay stopped at a value the cut lost (the writes after it applied again from raft's log)", name)
	}
}

func (d *powercutDisk) mountAgain() {
	d.t.Helper()
	f, err := powercut.Mount(d.disk, d.mount)
	if err != nil {
		d.t.Fatalf("%v\n(make powercut needs root and /dev/fuse: a FUSE file system must be mountable on this machine)", err)
	}
	d.fs = f
}

// cut cuts the power under the node: SIGKILL (if it still runs), every
// change since the last fsync undone at once, the file system unmounted.
// A torn cut keeps what the kernel had written of badger's memtable logs
// (and writes back the pages it holds of them first), not of the rest: a
// machine that wrote those files back and not the value log they point
// into.
func (d *powercutDisk) cut(n *node, torn bool) powercut.Stats {
	d.t.Helper()
	n.kill()
	var keep func(string) bool
	if torn {
		d.writeBack("*.mem")
		keep = func(name string) bool { return strings.HasSuffix(name, ".mem") }
	}
	if err := d.fs.CutKeeping(keep); err != nil {
		d.t.Fatal(err)
	}
	stats := d.fs.Stats()
	if err := d.fs.Unmount(); err != nil {
		d.t.Fatal(err)
	}
	d.fs = nil
	return stats
}

// writeBack has the kernel write back the pages it holds of the files of
// the node's badger directory matching pattern (written through a shared
// mapping, as badger writes its logs), without syncing them: the real
// directory then holds what the node wrote, and the file system counts it
// as not synced.
func (d *powercutDisk) writeBack(pattern string) {
	d.t.Helper()
	names, _ := filepath.Glob(filepath.Join(d.mount, "badger", pattern))
	for _, name := range names {
		f, err := os.Open(name)
		if err != nil {
			d.t.Fatal(err)
		}
		err = unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
		f.Close()
		if err != nil {
			d.t.Fatal(err)
		}
	}
}

// bookDigest returns the digest of the case book of office on the disk,
// its node killed, and the raft index it reflects. It reads a copy of the
// real directory, the node's pages written back first: badger would
// change the directory as it opens it (behind the file system's back),
// and a test process must not map files of a FUSE file system it serves
// itself (a page fault it serves cannot stop for the garbage collector).
func (d *powercutDisk) bookDigest(office string) ([]byte, uint64) {
	d.t.Helper()
	d.writeBack("*")
	dir := filepath.Join(d.t.TempDir(), "badger")
	if out, err := exec.Command("cp", "-r", "--sparse=always", filepath.Join(d.disk, "badger"), dir).CombinedOutput(); err != nil {
		d.t.Fatalf("copy %s's badger directory: %v\n%s", d.disk, err, out)
	}
	os.Remove(filepath.Join(dir, "LOCK"))
	db, err := badgerstore.OpenDB(dir, badgerstore.DBOptions{County: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		d.t.Fatalf("the book of %s: %v", d.disk, err)
	}
	defer db.Close()
	book, err := casebook.Open(db, office)
	if err != nil {
		d.t.Fatalf("the book of %s: %v", d.disk, err)
	}
	sum, applied, err := book.Digest()
	if err != nil {
		d.t.Fatalf("the book of %s: %v", d.disk, err)
	}
	return sum, applied
}

// powercutFiling is the filing of the test's client under a request ID.
func powercutFiling(requestID string) map[string]any {
	return map[string]any{
		"item_code":  caseItemCode,
		"applicant":  map[string]string{"name": "申请人" + requestID, "id_number": caseIDNumber("45012219850312002"), "phone": "13907710001"},
		"materials":  []map[string]any{{"name": "申请表", "copies": 1}},
		"request_id": requestID,
	}
}

// powercutClients files cases at the village from four clients, each
// filing after filing under request IDs of its own, until stop is
// closed. It records each filing acknowledged (request ID → number) and
// each sent and not answered (in flight when the node died).
type powercutClients struct {
	mu       sync.Mutex        // guards the maps
	acked    map[string]string // request ID → the number the client was told
	inFlight map[string]bool   // request IDs sent and not acknowledged
	order    []string          // the clients' request IDs in the order acknowledged
	// again has a client send a filing whose answer failed again, under
	// its request ID, until it is answered (as a client told
	// OUTCOME_UNKNOWN does); otherwise it files a new one and the failed
	// one is sent again after the restart.
	again bool
	// pause is how long a client waits after an acknowledged filing
	// before its next (0: not at all), to bound a run's filings.
	pause time.Duration
	// prefix begins each of the clients' request IDs: those of two
	// offices' clients differ.
	prefix string
}

// awaitAcked waits until more than before filings are acknowledged: the
// round's first, after which the cut may come.
func (p *powercutClients) awaitAcked(t *testing.T, before int) {
	t.Helper()
	waitFor(t, "the round's first filing", func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.acked) == before {
			return errNotYet
		}
		return nil
	}, syncTimeout)
}

// run starts the four clients of a round, filing until stop is closed.
// Each files at one of agents (the nodes of the office) and, when an
// answer fails, turns to the next.
func (p *powercutClients) run(t *testing.T, agents []*api, round int, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			at, id := w, ""
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if !p.again || id == "" {
					id = fmt.Sprintf("%scut%d-w%d-%d", p.prefix, round, w, i)
				}
				p.mu.Lock()
				p.inFlight[id] = true
				p.mu.Unlock()
				code, body, err := agents[at%len(agents)].call("POST", "/v1/cases", powercutFiling(id))
				if err != nil || code != http.StatusOK {
					// The node died under it (or is not ready yet, or
					// its office lost its leader with the filing sent:
					// OUTCOME_UNKNOWN): the filing stays in flight,
					// sent again now (again) or after the restart.
					at++
					if err == nil && code >= 400 && code < 500 && code != http.StatusTooManyRequests && reasonOf(body) != "OUTCOME_UNKNOWN" {
						t.Errorf("filing %s: %d %v", id, code, body)
					}
					time.Sleep(20 * time.Millisecond)
					continue
				}
				c, _ := body["case"].(map[string]any)
				p.mu.Lock()
				delete(p.inFlight, id)
				p.acked[id] = fmt.Sprint(c["number"])
				p.order = append(p.order, id)
				p.mu.Unlock()
				id = ""
				time.Sleep(p.pause)
			}
		}()
	}
	return &wg
}

// TestPowerCut runs a village's node and its township's with their data
// directories on file systems that lose, at a power cut, every write not
// made durable by fsync (package powercut), and cuts the power under the
// village, the township or both at random moments while clients file
// cases at the village. After each cut the nodes start again on what the
// cut left, and a user checks that every filing the clients were told of
// is held exactly once at the village (by its number, and by its request
// ID: filed again, it answers the same number), that each node's walk of
// its book (--check-book: chains, indexes, counters) finds nothing, that
// every filing cut in flight is either held or filed anew, once, that
// the village takes new filings under new numbers, and that the township
// holds no case twice nor one no client was told of. At the end the
// township and the county hold every case the village does, each once.
func TestPowerCut(t *testing.T) {
	seed := *powercutSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("power cuts from seed %d (-powercut.seed=%d runs them again)", seed, seed)

	c := newCluster(t)
	disks := map[string]*powercutDisk{
		"dongcun-1":   newPowercutDisk(t, c, "dongcun-1"),
		"chengguan-1": newPowercutDisk(t, c, "chengguan-1"),
	}
	start := time.Now()
	c, admin := startCaseCluster(c, 1)
	t.Logf("county, township and villages up, dongcun-1 and chengguan-1 on power-cut file systems, %s after the start", time.Since(start).Round(time.Millisecond))

	clients := &powercutClients{acked: map[string]string{}, inFlight: map[string]bool{}}
	asAdmin := func(name string) *api {
		a := c.api(name)
		a.token = admin.token
		return a
	}
	for round := 1; round <= *powercutRounds; round++ {
		// The power goes at the village, at the township, or at both at
		// once, in turn.
		cut := [][]string{{"dongcun-1"}, {"chengguan-1"}, {"dongcun-1", "chengguan-1"}}[(round-1)%3]
		// Every other cut is torn: badger's memtable logs written back,
		// its value log not.
		torn := round%2 == 0
		agent := c.api("dongcun-1").login("dongcun", adminPassword)
		stop := make(chan struct{})
		before := len(clients.acked)
		wg := clients.run(t, []*api{agent}, round, stop)
		// The cut comes at a random moment of the filings: from the
		// first acknowledged to a few seconds on.
		clients.awaitAcked(t, before)
		time.Sleep(time.Duration(rng.Int64N(int64(3 * time.Second))))
		stats := cutPower(c, disks, cut, torn)
		close(stop)
		wg.Wait()
		clients.mu.Lock()
		acked, inFlight := len(clients.acked)-before, len(clients.inFlight)
		clients.mu.Unlock()
		t.Logf("round %d: power cut at %v (torn: %v) after %d filings acknowledged in the round, %d in flight", round, cut, torn, acked, inFlight)
		for _, name := range cut {
			logCut(t, name, stats[name])
		}

		// The nodes start again on what the cut left: through a new
		// mount for the rounds to come, on the real directory itself
		// after the last.
		for _, name := range cut {
			n := c.nodes[name]
			if round < *powercutRounds {
				disks[name].mountAgain()
			} else {
				n.proc.args = withFlag(n.proc.args, "--data", disks[name].disk)
			}
			n.start()
		}
		for _, name := range cut {
			waitStartedAfterCut(t, c, name)
		}
		powercutCheck(t, asAdmin("dongcun-1"), c.api("dongcun-1").login("dongcun", adminPassword), clients, round, round == *powercutRounds)
		held, err := casesListed(asAdmin("chengguan-1"), townshipCode)
		if err != nil {
			t.Fatal(err)
		}
		if err := powercutHeldOnceOf(held, clients.acked, false); err != nil {
			t.Errorf("round %d: the township: %v", round, err)
		}
		if t.Failed() {
			t.FailNow()
		}
	}

	// The cases went on up: the township and the county hold every one
	// the village holds, once.
	for _, name := range []string{"chengguan-1", "county-1"} {
		office := townshipCode
		if name == "county-1" {
			office = countyCode
		}
		a := asAdmin(name)
		waitFor(t, fmt.Sprintf("%s to hold the village's %d cases", name, len(clients.acked)), func() error {
			held, err := casesListed(a, office)
			if err != nil {
				return err
			}
			return powercutHeldOnce(held, clients.acked)
		}, syncTimeout)
	}
	t.Logf("%d rounds, %d filings acknowledged, all held once at the village, the township and the county; %s in all", *powercutRounds, len(clients.acked), time.Since(start).Round(time.Second))
}

// powercutCheck checks the village after a cut, as a user would: every
// acknowledged filing is held once and answers its number again (those
// of the round; every one after the last round); every
// filing cut in flight, sent again, is filed once; nothing else is held;
// a new filing gets a new number.
func powercutCheck(t *testing.T, admin, agent *api, clients *powercutClients, round int, last bool) {
	t.Helper()
	clients.mu.Lock()
	defer clients.mu.Unlock()
	held, err := casesListed(admin, villageCode)
	if err != nil {
		t.Fatal(err)
	}
	numbers := map[string]string{} // number → request ID
	for id, number := range clients.acked {
		if other, ok := numbers[number]; ok {
			t.Errorf("round %d: filings %s and %s were both told number %s", round, id, other, number)
		}
		numbers[number] = id
		if held[number] != 1 {
			t.Errorf("round %d: the acknowledged filing %s (number %s) is held %d times after the power cut", round, id, number, held[number])
		}
	}
	// Each acknowledged filing, sent again, answers its number: the node
	// remembers the request. Those of this round after each cut, every
	// one after the last.
	ids := make([]string, 0, len(clients.acked))
	for id := range clients.acked {
		if last || strings.HasPrefix(id, fmt.Sprintf("cut%d-", round)) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		code, body, err := agent.call("POST", "/v1/cases", powercutFiling(id))
		if err != nil || code != http.StatusOK {
			t.Fatalf("round %d: filing %s again: %d %v %v", round, id, code, body, err)
		}
		if got := fmt.Sprint(body["case"].(map[string]any)["number"]); got != clients.acked[id] {
			t.Errorf("round %d: filing %s again answers %s, want %s as before the power cut", round, id, got, clients.acked[id])
		}
	}
	// Each filing cut in flight, sent again, is filed (or found) once.
	for id := range clients.inFlight {
		code, body, err := agent.call("POST", "/v1/cases", powercutFiling(id))
		if err != nil || code != http.StatusOK {
			t.Fatalf("round %d: filing %s (in flight at the cut) again: %d %v %v", round, id, code, body, err)
		}
		number := fmt.Sprint(body["case"].(map[string]any)["number"])
		if other, ok := numbers[number]; ok {
			t.Errorf("round %d: filing %s, in flight at the cut, answers %s, the number of %s", round, id, number, other)
		}
		numbers[number] = id
		clients.acked[id] = number
		delete(clients.inFlight, id)
	}
	// Nothing held that no client was told of, nothing twice.
	held, err = casesListed(admin, villageCode)
	if err != nil {
		t.Fatal(err)
	}
	if err := powercutHeldOnce(held, clients.acked); err != nil {
		t.Errorf("round %d: %v", round, err)
	}
	// A new filing gets a new number.
	id := fmt.Sprintf("cut%d-after", round)
	code, body, err := agent.call("POST", "/v1/cases", powercutFiling(id))
	if err != nil || code != http.StatusOK {
		t.Fatalf("round %d: a new filing after the restart: %d %v %v", round, code, body, err)
	}
	number := fmt.Sprint(body["case"].(map[string]any)["number"])
	if other, ok := numbers[number]; ok {
		t.Errorf("round %d: a new filing after the restart got %s, the number of %s", round, number, other)
	}
	clients.acked[id] = number
}

// powercutHeldOnce says how the cases held differ from those acknowledged
// (request ID → number): each must be held exactly once, and no other.
func powercutHeldOnce(held map[string]int, acked map[string]string) error {
	return powercutHeldOnceOf(held, acked, true)
}

// powercutHeldOnceOf is powercutHeldOnce; with all false, a case
// acknowledged may be missing (not arrived yet), not held twice.
func powercutHeldOnceOf(held map[string]int, acked map[string]string, all bool) error {
	want := map[string]bool{}
	for _, number := range acked {
		want[number] = true
		if held[number] > 1 || all && held[number] != 1 {
			return fmt.Errorf("case %s held %d times", number, held[number])
		}
	}
	for number := range held {
		if !want[number] {
			return fmt.Errorf("case %s held, and no client was told of it", number)
		}
	}
	return nil
}

// withFlag is args with the value of flag set to value.
func withFlag(args []string, flag, value string) []string {
	out := slices.Clone(args)
	for i := range out[:len(out)-1] {
		if out[i] == flag {
			out[i+1] = value
		}
	}
	return out
}

// TestPowerCutCounty runs the county office's three nodes with their data
// directories on power-cut file systems and, while four clients file
// cases at the county (each at one node, at the next when an answer
// fails), cuts the power under one follower, under the leader, and under
// all three at the same instant (the whole office dark), in turn; of each
// six cuts the second, third and fourth are torn (as in TestPowerCut:
// badger's memtable logs kept as written back, its value log not). The
// filings go on while the nodes cut are down and while they start again
// on what the cut left, each client sending a filing whose answer failed
// again under its request ID. Then a user checks that each restarted
// node's walk of its book finds nothing; that every filing still in
// flight, sent again, is filed once; that the acknowledged filings
// nearest the cut answer their numbers when filed again; that every
// acknowledged filing is held exactly once on every node, and nothing
// else is; that a new filing gets a number after those of its day told
// before; and, the three nodes killed, that their books are equal (the
// book's digest, at the same raft index).
func TestPowerCutCounty(t *testing.T) {
	seed := *powercutSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("power cuts from seed %d (-powercut.seed=%d runs them again)", seed, seed)

	c := newCluster(t)
	names := []string{"county-1", "county-2", "county-3"}
	disks := map[string]*powercutDisk{}
	for _, name := range names {
		disks[name] = newPowercutDisk(t, c, name)
	}
	start := time.Now()
	admin := startFilingCounty(c)
	t.Logf("a county of three up on power-cut file systems, the catalogue and a clerk written, %s after the start", time.Since(start).Round(time.Millisecond))
	signedIn := func(name, username string) *api {
		a := c.api(name)
		a.token = admin.token
		if username != "admin" {
			a.login(username, adminPassword)
		}
		return a
	}
	var clerks []*api
	for _, name := range names {
		clerks = append(clerks, signedIn(name, "clerk"))
	}

	// Four clients filing a case every 25 ms at most each: up to 160
	// filings a second, so that the rounds' books stay a few thousand
	// cases (with no pause, the clients filed 500 a second, 10,000
	// while a leader cut started again, and the rounds' checks and
	// restarts grew with them).
	clients := &powercutClients{acked: map[string]string{}, inFlight: map[string]bool{}, again: true, pause: 25 * time.Millisecond}
	for round := 1; round <= *powercutCountyRounds; round++ {
		leader := c.countyLeader(names...)
		var cut []string
		var what string
		switch (round - 1) % 3 {
		case 0:
			what = "a follower"
			cut = []string{names[(slices.Index(names, leader)+1+rng.IntN(2))%3]}
		case 1:
			what = "the leader"
			cut = []string{leader}
		default:
			what = "all three"
			cut = names
		}
		// Torn (as in TestPowerCut) at the leader and at all three in
		// the first three rounds, at the follower in the next three.
		torn := ((round-1)%3 != 0) != ((round-1)/3%2 == 1)
		stop := make(chan struct{})
		before, from := len(clients.acked), len(clients.order)
		wg := clients.run(t, clerks, round, stop)
		clients.awaitAcked(t, before)
		time.Sleep(time.Duration(rng.Int64N(int64(3 * time.Second))))
		// Every node cut dies first, then their file systems are cut:
		// what each wrote after the first died is undone as well.
		cutting := time.Now()
		stats := cutPower(c, disks, cut, torn)
		clients.mu.Lock()
		acked, inFlight, cutAt := len(clients.acked)-before, len(clients.inFlight), len(clients.order)
		clients.mu.Unlock()
		t.Logf("round %d: power cut under %s %v (leader %s; torn: %v; the file systems put back in %s) after %d filings acknowledged in the round, %d in flight",
			round, what, cut, leader, torn, time.Since(cutting).Round(time.Millisecond), acked, inFlight)
		for _, name := range cut {
			logCut(t, name, stats[name])
		}

		// The nodes start again on what the cut left, the clients
		// filing on.
		cutAtTime := time.Now()
		for _, name := range cut {
			disks[name].mountAgain()
			c.nodes[name].start()
		}
		for _, name := range cut {
			waitStartedAfterCut(t, c, name)
		}
		clients.mu.Lock()
		afterCut := len(clients.acked)
		clients.mu.Unlock()
		waitFor(t, "a filing acknowledged after the restart", func() error {
			clients.mu.Lock()
			defer clients.mu.Unlock()
			if len(clients.acked) == afterCut {
				return errNotYet
			}
			return nil
		}, writeTimeout)
		close(stop)
		wg.Wait()
		t.Logf("  %v ready again, their books checked, and filing %s after the cut", cut, time.Since(cutAtTime).Round(time.Millisecond))
		checking := time.Now()
		powercutCheckCounty(t, c, disks, names, clerks, signedIn, clients, round, from, cutAt)
		t.Logf("  round %d checked in %s", round, time.Since(checking).Round(time.Millisecond))
		if t.Failed() {
			t.FailNow()
		}
	}
	t.Logf("%d rounds, %d filings acknowledged, all held once on the three nodes, their books equal; %s in all",
		*powercutCountyRounds, len(clients.acked), time.Since(start).Round(time.Second))
}

// powercutAgain is how many of a round's acknowledged filings, half
// before its cut and half after, TestPowerCutCounty sends again.
const powercutAgain = 200

var powercutCountyRounds = flag.Int("powercut.countyrounds", 6, "power cuts in a run of TestPowerCutCounty: a follower, the leader, all three, in turn")

// startFilingCounty starts a county office of three nodes with the
// tobacco licence's catalogue, the county's rights to it and a clerk who
// files cases there, and returns the county admin once every node has
// them.
func startFilingCounty(c *cluster) *api {
	c.t.Helper()
	c.startCounty(3)
	admin := c.api("county-1").login("admin", adminPassword)
	admin.write("/v1/departments", map[string]string{"code": "yc", "name": "县烟草专卖局"})
	item := tobaccoItem(caseItemCode)
	item["materials"] = []map[string]any{{"name": "申请表", "form": "MATERIAL_FORM_ORIGINAL", "copies": 1, "required": true}}
	admin.write("/v1/items", item)
	admin.write("/v1/grants", map[string]any{"item_code": caseItemCode, "office_code": countyCode,
		"rights": []string{"RIGHT_ACCEPT", "RIGHT_REVIEW", "RIGHT_APPROVE", "RIGHT_CERTIFY", "RIGHT_DELIVER"}})
	idx := admin.write("/v1/staff", map[string]any{"staff": map[string]any{
		"username": "clerk", "name": "陈静", "office_code": countyCode, "department_code": "yc", "roles": []string{"ROLE_CLERK", "ROLE_REVIEWER"},
	}, "password": adminPassword})
	for _, name := range c.county() {
		c.api(name).getAt("/v1/items/"+caseItemCode, idx, syncTimeout)
	}
	return admin
}

// powercutCheckCounty checks the county after a round's cut, as a user
// would: every filing cut in flight, sent again, is filed once; the
// round's acknowledged filings nearest its cut, sent again, answer their
// numbers; every node holds every acknowledged filing once and nothing
// else; a new filing gets a number after those of its day told before;
// and the three books are equal.
//
// The round's acknowledged filings are clients.order[from:], the cut
// came after clients.order[:cutAt].
func powercutCheckCounty(t *testing.T, c *cluster, disks map[string]*powercutDisk, names []string, clerks []*api, signedIn func(name, username string) *api, clients *powercutClients, round, from, cutAt int) {
	t.Helper()
	clients.mu.Lock()
	defer clients.mu.Unlock()
	numbers := map[string]string{} // number → request ID
	for id, number := range clients.acked {
		if other, ok := numbers[number]; ok {
			t.Errorf("round %d: filings %s and %s were both told number %s", round, id, other, number)
		}
		numbers[number] = id
	}
	// Each filing cut in flight, sent again, is filed (or found) once.
	inFlight := slices.Sorted(maps.Keys(clients.inFlight))
	for _, id := range inFlight {
		number := powercutFileUntilAnswered(t, clerks, id)
		if other, ok := numbers[number]; ok {
			t.Errorf("round %d: filing %s, in flight at the cut, answers %s, the number of %s", round, id, number, other)
		}
		numbers[number] = id
		clients.acked[id] = number
		delete(clients.inFlight, id)
	}
	// The round's acknowledged filings the cut came closest to (the
	// last before it, the first after), sent again, answer their
	// numbers: the office remembers the requests. (Every one is held
	// once: below.)
	again := clients.order[max(from, cutAt-powercutAgain/2):min(len(clients.order), cutAt+powercutAgain/2)]
	for _, id := range again {
		if got := powercutFileUntilAnswered(t, clerks, id); got != clients.acked[id] {
			t.Errorf("round %d: filing %s again answers %s, want %s as before the power cut", round, id, got, clients.acked[id])
		}
	}
	// A new filing gets a new number, after every number of its day
	// told so far.
	id := fmt.Sprintf("cut%d-after", round)
	number := powercutFileUntilAnswered(t, clerks, id)
	if other, ok := numbers[number]; ok {
		t.Errorf("round %d: a new filing after the restart got %s, the number of %s", round, number, other)
	}
	_, day, seq, err := casework.ParseCaseNumber(number)
	if err != nil {
		t.Fatalf("round %d: a new filing after the restart got %q: %v", round, number, err)
	}
	for told := range numbers {
		if _, d, s, err := casework.ParseCaseNumber(told); err != nil || d == day && s >= seq {
			t.Errorf("round %d: a new filing after the restart got %s, not after %s, told before (%v)", round, number, told, err)
			break
		}
	}
	clients.acked[id] = number
	// Every node holds every acknowledged filing once, and no other
	// case: a follower's listing may lag, not hold a case twice.
	for _, name := range names {
		a := signedIn(name, "admin")
		waitFor(t, fmt.Sprintf("%s to hold the %d acknowledged filings, each once", name, len(clients.acked)), func() error {
			held, err := casesListed(a, countyCode)
			if err != nil {
				return err
			}
			if err := powercutHeldOnceOf(held, clients.acked, false); err != nil {
				t.Errorf("round %d: %s: %v", round, name, err)
				return nil
			}
			return powercutHeldOnce(held, clients.acked)
		}, syncTimeout)
	}
	if t.Failed() {
		return
	}
	powercutBooksEqual(t, c, disks, names, round, round == *powercutCountyRounds)
}

// powercutFileUntilAnswered files the filing of request ID id at the
// county's nodes in turn until one answers 200 (an office without a
// leader yet, or a node still starting, answers otherwise), and returns
// the number answered. A refusal (4xx but 429) fails the test.
func powercutFileUntilAnswered(t *testing.T, clerks []*api, id string) string {
	t.Helper()
	var number string
	at := 0
	waitFor(t, "filing "+id+" answered", func() error {
		code, body, err := clerks[at%len(clerks)].call("POST", "/v1/cases", powercutFiling(id))
		at++
		if err != nil {
			return err
		}
		if code >= 400 && code < 500 && code != http.StatusTooManyRequests && reasonOf(body) != "OUTCOME_UNKNOWN" {
			t.Fatalf("filing %s: %d %v", id, code, body)
		}
		if code != http.StatusOK {
			return fmt.Errorf("%d %v", code, body)
		}
		number = fmt.Sprint(body["case"].(map[string]any)["number"])
		return nil
	}, writeTimeout)
	return number
}

// powercutBooksEqual kills the county's nodes (SIGKILL, no power cut:
// what they wrote stays in the page cache, and badger's replay gives it
// back), reads each one's case book from a copy of its disk, checks that
// the three digests are equal at the same raft index, and starts the
// nodes again, unless last: then it unmounts their disks (a cut at the
// test's end would take seconds a disk). Every acknowledged filing is
// held on every node by then; should a node not have applied the
// office's last entry when killed (its book at another index), the nodes
// start, settle and are read again, three times at most.
func powercutBooksEqual(t *testing.T, c *cluster, disks map[string]*powercutDisk, names []string, round int, last bool) {
	t.Helper()
	for try := 1; ; try++ {
		for _, name := range names {
			c.nodes[name].kill()
		}
		digests, indexes := map[string]string{}, map[string]uint64{}
		for _, name := range names {
			sum, applied := disks[name].bookDigest(countyCode)
			digests[name], indexes[name] = fmt.Sprintf("digest %x at index %d", sum, applied), applied
		}
		again := (indexes[names[1]] != indexes[names[0]] || indexes[names[2]] != indexes[names[0]]) && try < 3
		if last && !again {
			for _, name := range names {
				if err := disks[name].fs.Unmount(); err != nil {
					t.Fatal(err)
				}
				disks[name].fs = nil
			}
		} else {
			for _, name := range names {
				c.nodes[name].start()
			}
			for _, name := range names {
				c.waitReady(name)
			}
		}
		if again {
			t.Logf("  the books at different indexes (%v): read again", indexes)
			time.Sleep(time.Second)
			continue
		}
		for _, name := range names[1:] {
			if digests[name] != digests[names[0]] {
				t.Errorf("round %d: %s's book: %s; %s's: %s", round, name, digests[name], names[0], digests[names[0]])
			}
		}
		t.Logf("  the three books: %s", digests[names[0]])
		return
	}
}
