//go:build e2e && powercut

package e2e

import (
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var powercutMailRounds = flag.Int("powercut.mailrounds", 4, "power cuts in a run of TestPowerCutCountyReceiving: the leader, all three, in turn (the third and fourth torn)")

// TestPowerCutCountyReceiving runs the county office's three nodes and
// its township 城关镇 with their data directories on power-cut file
// systems, the villages 东村 and 西村 on ordinary disks, and cuts the
// power under the county while cases arrive from below: clients file
// cases at both villages (four at each, a filing every 50 ms at most
// each), whose item is decided at the county, so that each case travels
// village → township → county by the case mail. Once the county has
// received a case of the round, at a random moment 0–3 s on, the power
// goes under the county's leader or under all three nodes at the same
// instant, in turn (the first two cuts plain, the next two torn: badger's
// memtable logs kept as written back, its value log not); the nodes start
// again on what the cut left (the villages stop filing at the cut, their
// cases not yet received on their way up). Then a user checks, once the
// mail has drained: each restarted node's walk of its book finds nothing;
// every filing acknowledged at a village is held exactly once at
// the village, at the township and on each of the county's nodes, and no
// other case is; at the county each is the county's, its log that of one
// journey (filed, handed to the township and received there, handed to
// the county and received there: nothing twice); no office has anything
// left in its outbox or set aside; and, the county's nodes killed, their
// three books are equal (the digest at the same raft index). A delivery
// the county had acknowledged before the cut is still there once; one it
// had not is sent again by the township and held once.
//
// Last, the answers go down while the township's power is cut (plain or
// torn, from the seed): the county accepts, reviews, decides and
// certifies 20 cases one after another, the township cut after the first
// 4–11, started again after the last, the villages filing on; then, 0–3 s
// after the township's start, the power goes under the county's three
// nodes, its answers waiting in its outbox or on their way (plain or
// torn, from the seed), and they start again. Besides the checks above
// (every case's log at the county), each case decided is back at its
// village, certified, owned by the village, its log that of one journey
// up and one down.
func TestPowerCutCountyReceiving(t *testing.T) {
	seed := *powercutSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("power cuts from seed %d (-powercut.seed=%d runs them again)", seed, seed)

	c := newCluster(t)
	names := []string{"county-1", "county-2", "county-3"}
	disks := map[string]*powercutDisk{}
	for _, name := range append(names, "chengguan-1") {
		disks[name] = newPowercutDisk(t, c, name)
	}
	start := time.Now()
	c, admin := startCaseCluster(c, 3)
	t.Logf("a county of three on power-cut file systems, its township and two villages up, %s after the start", time.Since(start).Round(time.Millisecond))
	asAdmin := func(name string) *api {
		a := c.api(name)
		a.token = admin.token
		return a
	}
	villages := []struct{ name, office, agent string }{
		{"dongcun-1", villageCode, "dongcun"},
		{"xicun-1", village2Code, "xicun"},
	}
	clients := map[string]*powercutClients{}
	agents := map[string]*api{}
	for _, v := range villages {
		clients[v.name] = &powercutClients{acked: map[string]string{}, inFlight: map[string]bool{}, prefix: v.agent + "-", pause: 50 * time.Millisecond}
		agents[v.name] = c.api(v.name).login(v.agent, adminPassword)
	}

	for round := 1; round <= *powercutMailRounds; round++ {
		leader := c.countyLeader(names...)
		what, cut := "the leader", []string{leader}
		if round%2 == 0 {
			what, cut = "all three", names
		}
		torn := (round-1)/2%2 == 1
		roundStart := time.Now()
		stop := make(chan struct{})
		var wgs []*sync.WaitGroup
		before := map[string]int{}
		for _, v := range villages {
			before[v.name] = len(clients[v.name].acked)
			wgs = append(wgs, clients[v.name].run(t, []*api{agents[v.name]}, round, stop))
		}
		// The cut comes while the round's cases are on their way: the
		// county has received at least one of them, then 0–3 s on.
		for _, v := range villages {
			clients[v.name].awaitAcked(t, before[v.name])
		}
		county := asAdmin(leader)
		waitFor(t, "the county to receive a case of the round", func() error {
			held, err := casesListedSince(county, countyCode, roundStart)
			if err != nil {
				return err
			}
			if len(held) == 0 {
				return errNotYet
			}
			return nil
		}, syncTimeout)
		time.Sleep(time.Duration(rng.Int64N(int64(3 * time.Second))))
		stats := cutPower(c, disks, cut, torn)
		// The villages stop filing once the county is dark: filing on
		// while it started again, the clients filed thousands of cases
		// a round on a loaded machine, and the county's check of its
		// book at each start grew with them (43 s for 17,000 cases).
		close(stop)
		for _, wg := range wgs {
			wg.Wait()
		}
		t.Logf("round %d: power cut under %s %v (torn: %v) after %d and %d filings acknowledged at the villages in the round (filing until the cut); the township's outbox: %s",
			round, what, cut, torn, clients["dongcun-1"].ackedLen()-before["dongcun-1"], clients["xicun-1"].ackedLen()-before["xicun-1"], outboxOf(asAdmin("chengguan-1")))
		for _, name := range cut {
			logCut(t, name, stats[name])
		}

		// The nodes start again on what the cut left.
		restarting := time.Now()
		for _, name := range cut {
			disks[name].mountAgain()
			c.nodes[name].start()
		}
		for _, name := range cut {
			waitStartedAfterCut(t, c, name)
		}
		t.Logf("  %v ready again, their books checked, %s after the cut", cut, time.Since(restarting).Round(time.Millisecond))

		checking := time.Now()
		powercutCheckReceived(t, asAdmin, villages, agents, clients, names, round, false, nil)
		if t.Failed() {
			t.FailNow()
		}
		draining := time.Since(checking)
		powercutBooksEqual(t, c, disks, names, round, false)
		t.Logf("  round %d: the mail drained and every case held once in %s, the books compared in %s",
			round, draining.Round(time.Millisecond), (time.Since(checking) - draining).Round(time.Millisecond))
		if t.Failed() {
			t.FailNow()
		}
	}
	// The answers go down while the township is cut: the county's clerk
	// and approver take cases through acceptance, review, decision and
	// certificate, each certified case handed back towards its village,
	// and the power goes under the township once some are certified (it
	// receives from above and from below: the villages file on); then
	// under the county, the sender.
	round := *powercutMailRounds + 1
	owner := map[string]string{} // number → the village that filed it
	for _, v := range villages {
		for _, number := range clients[v.name].acked {
			owner[number] = v.name
		}
	}
	decide := slices.Sorted(maps.Keys(owner))[:powercutDecided]
	acted := map[string]bool{}
	c.countyLeader(names...)
	clerk := c.api(names[0]).login("clerk", adminPassword)
	approver := c.api(names[0]).login("approver", adminPassword)
	stop := make(chan struct{})
	var wgs []*sync.WaitGroup
	for _, v := range villages {
		wgs = append(wgs, clients[v.name].run(t, []*api{agents[v.name]}, round, stop))
	}
	cutAfter, torn := 4+rng.IntN(8), rng.IntN(2) == 1
	for i, number := range decide {
		if i == cutAfter {
			c.nodes["chengguan-1"].kill()
			s := disks["chengguan-1"].cut(c.nodes["chengguan-1"], torn)
			t.Logf("round %d: power cut under the township (torn: %v) after %d of %d cases decided and certified at the county; the county's outbox: %s",
				round, torn, i, len(decide), outboxOf(asAdmin(c.countyLeader(names...))))
			logCut(t, "chengguan-1", s)
		}
		path := "/v1/cases/" + number
		caseDo(t, clerk, "POST", path+":accept", map[string]any{})
		caseDo(t, clerk, "POST", path+":review", map[string]any{"reason": "材料齐全，符合法定形式", "conclusion": "CONCLUSION_AGREE"})
		caseDo(t, approver, "POST", path+":decide", map[string]any{"approved": true, "reason": "符合烟草专卖零售许可条件"})
		caseDo(t, clerk, "POST", path+":certify", map[string]any{"certificate_number": fmt.Sprintf("45012200%02d", i)})
		acted[number] = true
	}
	// The township starts again, and the sender is cut in turn: 0–3 s
	// on, as the county's answers wait for it or go down to it, the
	// power goes under all three county nodes (plain or torn, from the
	// seed).
	restarting := time.Now()
	disks["chengguan-1"].mountAgain()
	c.nodes["chengguan-1"].start()
	time.Sleep(time.Duration(rng.Int64N(int64(3 * time.Second))))
	outbox := outboxOf(asAdmin(c.countyLeader(names...)))
	torn = rng.IntN(2) == 1
	stats := cutPower(c, disks, names, torn)
	close(stop)
	t.Logf("round %d: power cut under the county's three nodes (torn: %v), %s after the township started again, with the county's outbox at %s",
		round, torn, time.Since(restarting).Round(time.Millisecond), outbox)
	for _, name := range names {
		logCut(t, name, stats[name])
	}
	for _, name := range names {
		disks[name].mountAgain()
		c.nodes[name].start()
	}
	for _, name := range append(names, "chengguan-1") {
		waitStartedAfterCut(t, c, name)
	}
	for _, wg := range wgs {
		wg.Wait()
	}
	t.Logf("  the county and the township ready again, their books checked, %s after the township's start", time.Since(restarting).Round(time.Millisecond))
	checking := time.Now()
	powercutCheckReceived(t, asAdmin, villages, agents, clients, names, round, true, acted)
	t.Logf("  the mail drained, every case held once and every log read at the county in %s", time.Since(checking).Round(time.Millisecond))
	// Each case decided is back at its village once, certified, its log
	// that of one journey up and one down.
	want := []string{"FILED", "FORWARDED", "RECEIVED", "FORWARDED", "RECEIVED", "ACCEPTED", "REVIEWED", "DECIDED", "CERTIFIED",
		"FORWARDED", "RECEIVED", "FORWARDED", "RECEIVED"}
	for _, number := range decide {
		a := asAdmin(owner[number])
		waitFor(t, number+" back at its village", func() error {
			types, valid, err := powercutEvents(a, number)
			if err != nil {
				return err
			}
			if len(types) < len(want) {
				return errNotYet
			}
			if !slices.Equal(types, want) || !valid {
				t.Errorf("round %d: %s at %s: events %v (chain valid: %v), want %v", round, number, owner[number], types, valid, want)
			}
			return nil
		}, syncTimeout)
		cs := caseDo(t, a, "GET", "/v1/cases/"+number, nil)
		if cs["state"] != "CASE_STATE_CERTIFIED" || cs["owner_office"] != c.nodes[owner[number]].office {
			t.Errorf("round %d: %s at %s: state %v, owner %v", round, number, owner[number], cs["state"], cs["owner_office"])
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	powercutBooksEqual(t, c, disks, names, round, true)
	// Whether raft took a snapshot (and dropped log entries before it)
	// in the run: below 8,192 entries it does not, and each cut's replay
	// had the whole log.
	for _, name := range names {
		snaps, _ := filepath.Glob(filepath.Join(disks[name].disk, "snapshots", "snapshots", "*"))
		for i, snap := range snaps {
			snaps[i] = filepath.Base(snap)
		}
		t.Logf("  %s's raft snapshots (term-index-time): %v", name, snaps)
	}

	n := 0
	for _, p := range clients {
		n += len(p.acked)
	}
	t.Logf("%d cuts under the county while it received, one under the township and one under the county while it sent, %d filings acknowledged at the villages, all held once at the village, the township and the county's three nodes, %d decided and back at their villages, the county's books equal; %s in all",
		*powercutMailRounds, n, len(decide), time.Since(start).Round(time.Second))
}

// powercutDecided is how many cases the county decides and hands back
// down while TestPowerCutCountyReceiving cuts the township.
const powercutDecided = 20

// ackedLen is how many filings the clients were told of so far.
func (p *powercutClients) ackedLen() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.acked)
}

// outboxOf says how many case messages a node's outbox holds, as its
// status page says, or why it could not be read.
func outboxOf(a *api) string {
	code, body, err := a.call("GET", "/v1/registry/status", nil)
	if err != nil || code != 200 {
		return fmt.Sprintf("unread (%d %v %v)", code, body, err)
	}
	return fmt.Sprintf("%d entries", u64(body["outbox_entries"]))
}

// powercutEvents is the types of a case's events at a's node, without
// their EVENT_TYPE_ prefix, and whether the node found its chain valid.
func powercutEvents(a *api, number string) ([]string, bool, error) {
	code, body, err := a.call("GET", "/v1/cases/"+number+"/events", nil)
	if err != nil {
		return nil, false, err
	}
	if code != 200 {
		return nil, false, fmt.Errorf("the events of %s: %d %v", number, code, body)
	}
	events, _ := body["events"].([]any)
	var types []string
	for _, e := range events {
		m, _ := e.(map[string]any)
		types = append(types, strings.TrimPrefix(fmt.Sprint(m["type"]), "EVENT_TYPE_"))
	}
	return types, body["chain_valid"] == true, nil
}

// powercutCheckReceived checks the tree after a cut, as a user would
// once the mail has drained: every filing still in flight at a village,
// sent again, is filed once; every acknowledged filing is held once at
// its village, at the township and on each county node, and no other case
// is; at the county each case not acted on (not in acted) is the
// county's, with the log of one journey up (those of the round, or all);
// no node has an outbox entry left or a message set aside.
func powercutCheckReceived(t *testing.T, asAdmin func(string) *api, villages []struct{ name, office, agent string }, agents map[string]*api, clients map[string]*powercutClients, county []string, round int, everyCase bool, acted map[string]bool) {
	t.Helper()
	all := map[string]string{} // request ID → number, of both villages
	for _, v := range villages {
		p := clients[v.name]
		p.mu.Lock()
		for _, id := range slices.Sorted(maps.Keys(p.inFlight)) {
			p.acked[id] = powercutFileUntilAnswered(t, []*api{agents[v.name]}, id)
			delete(p.inFlight, id)
		}
		maps.Copy(all, p.acked)
		held, err := casesListed(asAdmin(v.name), v.office)
		if err != nil {
			t.Fatal(err)
		}
		if err := powercutHeldOnce(held, p.acked); err != nil {
			t.Errorf("round %d: %s: %v", round, v.name, err)
		}
		p.mu.Unlock()
	}
	// The mail drains: the township and each county node hold every
	// case once, and no office has anything waiting or set aside.
	offices := map[string]string{"chengguan-1": townshipCode}
	for _, name := range county {
		offices[name] = countyCode
	}
	for _, name := range slices.Sorted(maps.Keys(offices)) {
		a := asAdmin(name)
		waitFor(t, fmt.Sprintf("%s to hold the villages' %d cases, each once", name, len(all)), func() error {
			held, err := casesListed(a, offices[name])
			if err != nil {
				return err
			}
			if err := powercutHeldOnceOf(held, all, false); err != nil {
				t.Errorf("round %d: %s: %v", round, name, err)
				return nil
			}
			return powercutHeldOnce(held, all)
		}, syncTimeout)
	}
	for _, name := range append(slices.Sorted(maps.Keys(offices)), "dongcun-1", "xicun-1") {
		a := asAdmin(name)
		waitFor(t, name+" to have nothing queued or set aside", func() error {
			st := a.get("/v1/registry/status")
			if q, _ := st["quarantined"].([]any); len(q) > 0 {
				t.Errorf("round %d: %s set %d messages aside: %v", round, name, len(q), q)
				return nil
			}
			if n := u64(st["outbox_entries"]); n > 0 {
				return fmt.Errorf("%d outbox entries", n)
			}
			return nil
		}, syncTimeout)
	}
	// At the county, each case not acted on is the county's and came up
	// once: its log is the filing and the two hand-overs, each received
	// once.
	a := asAdmin(county[0])
	err := eachCaseListed(a, countyCode, time.Time{}, func(cs map[string]any) {
		number := fmt.Sprint(cs["number"])
		if !acted[number] && (cs["owner_office"] != countyCode || cs["state"] != "CASE_STATE_FILED") {
			t.Errorf("round %d: %s at the county: owner %v, state %v", round, number, cs["owner_office"], cs["state"])
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"FILED", "FORWARDED", "RECEIVED", "FORWARDED", "RECEIVED"}
	var numbers []string
	for id, number := range all {
		if !acted[number] && (everyCase || strings.Contains(id, fmt.Sprintf("cut%d-", round))) {
			numbers = append(numbers, number)
		}
	}
	slices.Sort(numbers)
	for _, number := range numbers {
		types, valid, err := powercutEvents(a, number)
		if err != nil {
			t.Fatalf("round %d: at %s: %v", round, county[0], err)
		}
		if !slices.Equal(types, want) || !valid {
			t.Errorf("round %d: %s at the county: events %v (chain valid: %v), want %v", round, number, types, valid, want)
		}
	}
}
