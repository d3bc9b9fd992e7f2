//go:build e2e && powercut

package e2e

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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
		names, _ := filepath.Glob(filepath.Join(d.mount, "badger", "*.mem"))
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
}

func (p *powercutClients) run(t *testing.T, agent *api, round int, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("cut%d-w%d-%d", round, w, i)
				p.mu.Lock()
				p.inFlight[id] = true
				p.mu.Unlock()
				code, body, err := agent.call("POST", "/v1/cases", powercutFiling(id))
				if err != nil || code != http.StatusOK {
					// The node died under it (or is not ready yet):
					// the filing stays in flight, asked again after the
					// restart.
					if err == nil && code >= 400 && code < 500 && code != http.StatusTooManyRequests {
						t.Errorf("filing %s: %d %v", id, code, body)
					}
					time.Sleep(20 * time.Millisecond)
					continue
				}
				c, _ := body["case"].(map[string]any)
				p.mu.Lock()
				delete(p.inFlight, id)
				p.acked[id] = fmt.Sprint(c["number"])
				p.mu.Unlock()
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
		wg := clients.run(t, agent, round, stop)
		// The cut comes at a random moment of the filings: from the
		// first acknowledged to a few seconds on.
		waitFor(t, "the round's first filing", func() error {
			clients.mu.Lock()
			defer clients.mu.Unlock()
			if len(clients.acked) == before {
				return errNotYet
			}
			return nil
		}, syncTimeout)
		time.Sleep(time.Duration(rng.Int64N(int64(3 * time.Second))))
		for _, name := range cut {
			c.nodes[name].kill()
		}
		stats := map[string]powercut.Stats{}
		for _, name := range cut {
			stats[name] = disks[name].cut(c.nodes[name], torn)
		}
		close(stop)
		wg.Wait()
		clients.mu.Lock()
		acked, inFlight := len(clients.acked)-before, len(clients.inFlight)
		clients.mu.Unlock()
		t.Logf("round %d: power cut at %v (torn: %v) after %d filings acknowledged in the round, %d in flight", round, cut, torn, acked, inFlight)
		for _, name := range cut {
			s := stats[name]
			t.Logf("  %s's file system saw %d writes, %d syncs, %d truncates; put %d files back, refused %d changes after the cut",
				name, s.Writes, s.Syncs, s.Truncates, s.Restored, s.Refused)
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
			c.waitReady(name)
			waitBookChecked(t, c, name)
			out := c.nodes[name].output()
			if strings.Contains(out[strings.LastIndex(out, "=== "):], "stopped: a transaction's value is not whole") {
				t.Logf("  %s: badger's replay stopped at a value the cut lost (the writes after it applied again from raft's log)", name)
			}
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
