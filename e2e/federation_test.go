//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tobaccoItem is the tobacco retail licence, a county item.
func tobaccoItem(code string) map[string]any {
	return map[string]any{
		"code": code, "name": "烟草专卖零售许可证核发", "type": "ITEM_TYPE_LICENCE",
		"department_code": "yc", "legal_basis": "《中华人民共和国烟草专卖法》第十六条", "statutory_limit_days": 20, "promised_limit_days": 10,
		"case_kind": "CASE_KIND_PROMISED", "exercise_tier": "TIER_COUNTY",
	}
}

// TestFederationSurvivesCountyLeaderKill runs a county of three node
// processes, a township and a village; kills the county leader with
// SIGKILL in the middle of a stream of writes; and checks that every
// acknowledged write reaches the new leader and the village, and that the
// killed node comes back from its data directory and catches up.
func TestFederationSurvivesCountyLeaderKill(t *testing.T) {
	c := newCluster(t)
	c.startCounty(3)
	admin := c.api("county-2").login("admin", adminPassword) // a follower, most likely: writes are forwarded
	c.startTree(admin)

	// (1) A registry write at the county reaches the village.
	admin.write("/v1/departments", map[string]string{"code": "yc", "name": "县烟草专卖局"})
	idx := admin.write("/v1/items", tobaccoItem("450122-YC-001"))
	if idx == 0 {
		t.Fatal("the item's write response carries no registry_index")
	}
	village := c.api("dongcun-1")
	got := village.getAt("/v1/items/450122-YC-001", idx, syncTimeout)
	item, _ := got["item"].(map[string]any)
	if item["name"] != "烟草专卖零售许可证核发" || item["statutory_limit_days"] != float64(20) || item["promised_limit_days"] != float64(10) {
		t.Errorf("the village has the item as %v", item)
	}
	st := village.get("/v1/registry/status")
	t.Logf("village registry status after the item: index %v, fed by %v (office %v)", st["index"], st["feed_source"], st["feed_source_office"])

	// (2) Kill the county leader in the middle of a stream of writes made
	// through a county node that stays up. (3) The writes go on once the
	// survivors have elected a new leader.
	leader := c.countyLeader(c.county()...)
	var survivors []string
	for _, name := range c.county() {
		if name != leader {
			survivors = append(survivors, name)
		}
	}
	t.Logf("county leader %s; writing through %s", leader, survivors[0])
	via := c.api(survivors[0])
	via.token = admin.token

	const writes = 20
	const killAfter = 5
	var acked atomic.Int32
	var maxIndex atomic.Uint64
	ackedCodes := make([]string, 0, writes)
	done, quit := make(chan struct{}), make(chan struct{})
	// Should the test end early, the writer stops before the nodes do.
	t.Cleanup(func() { close(quit); <-done })
	go func() {
		defer close(done)
		for i := 1; i <= writes && !isClosed(quit); i++ {
			code := fmt.Sprintf("w%02d", i)
			idx, err := via.tryWrite("/v1/departments", map[string]string{"code": code, "name": "部门 " + code})
			if err != nil {
				t.Errorf("write %s: %v", code, err)
				return
			}
			ackedCodes = append(ackedCodes, code) // read by the test after done
			// Only this goroutine stores maxIndex.
			if idx > maxIndex.Load() {
				maxIndex.Store(idx)
			}
			acked.Add(1)
		}
	}()
	waitFor(t, fmt.Sprintf("%d writes acknowledged", killAfter), func() error {
		if n := acked.Load(); n < killAfter {
			select {
			case <-done:
				t.Fatalf("the writer stopped after %d writes", n)
			default:
			}
			return fmt.Errorf("%d acknowledged", n)
		}
		return nil
	}, syncTimeout)
	killedAt, atKill := time.Now(), acked.Load()
	c.nodes[leader].kill()
	select {
	case <-done:
	case <-time.After(writes * writeTimeout):
		t.Fatal("the writer did not finish")
	}
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("%d writes acknowledged, %d after the kill, in %s; %d tries repeated (503 or no answer)",
		len(ackedCodes), int32(len(ackedCodes))-atKill, time.Since(killedAt).Round(time.Millisecond), via.retries)

	newLeader := c.countyLeader(survivors...)
	t.Logf("new county leader %s", newLeader)
	nl := c.api(newLeader)
	target, err := nl.registryIndex()
	if err != nil {
		t.Fatal(err)
	}
	target = max(target, maxIndex.Load())

	// Every acknowledged write is at the new leader and at the village.
	for _, name := range []string{newLeader, "dongcun-1"} {
		deps := c.api(name).getAt("/v1/departments", target, syncTimeout)
		have := codes(deps["departments"])
		for _, code := range ackedCodes {
			if !slices.Contains(have, code) {
				t.Errorf("%s lacks acknowledged department %s (it has %v)", name, code, have)
			}
		}
	}

	// (4) The killed node restarts with the same flags and data directory
	// (--bootstrap, if it had it, is ignored: there is raft state) and
	// catches up with the new leader.
	back := c.nodes[leader]
	back.start()
	ba := c.api(leader)
	waitFor(t, leader+" caught up after its restart", func() error {
		if !back.running() {
			t.Fatalf("%s exited after its restart", leader)
		}
		got, err := ba.registryIndex()
		if err != nil {
			return err
		}
		if got < target {
			return fmt.Errorf("index %d of %d", got, target)
		}
		return nil
	}, startTimeout)
	waitFor(t, leader+" sees a leader", func() error {
		l, err := ba.leader()
		if err != nil {
			return err
		}
		if !slices.Contains(c.county(), l) {
			return fmt.Errorf("leader %q", l)
		}
		return nil
	}, syncTimeout)
	deps := ba.getAt("/v1/departments", target, syncTimeout)
	have := codes(deps["departments"])
	for _, code := range ackedCodes {
		if !slices.Contains(have, code) {
			t.Errorf("the restarted %s lacks acknowledged department %s", leader, code)
		}
	}
}

// TestSIGTERMHandsOverLeadership stops the county leader with SIGTERM:
// the process exits 0 within a few seconds, having handed leadership to
// another node, so the county has a leader again at once and takes
// writes.
func TestSIGTERMHandsOverLeadership(t *testing.T) {
	c := newCluster(t)
	c.startCounty(3)
	admin := c.api("county-1").login("admin", adminPassword)
	leader := c.countyLeader(c.county()...)
	var survivors []string
	for _, name := range c.county() {
		if name != leader {
			survivors = append(survivors, name)
		}
	}

	start := time.Now()
	took := c.nodes[leader].stop(stopTimeout)
	t.Logf("%s exited 0 %s after SIGTERM", leader, took.Round(time.Millisecond))
	if !strings.Contains(c.nodes[leader].output(), "handed leadership over") {
		t.Errorf("%s's log does not say it handed leadership over", leader)
	}

	var newLeader string
	waitFor(t, "a new leader among "+strings.Join(survivors, ", "), func() error {
		newLeader = ""
		for _, name := range survivors {
			l, err := c.api(name).leader()
			if err != nil {
				return err
			}
			if l == "" || l == leader || (newLeader != "" && l != newLeader) {
				return fmt.Errorf("%s sees leader %q", name, l)
			}
			newLeader = l
		}
		return nil
	}, 5*time.Second)
	t.Logf("%s leads %s after the SIGTERM", newLeader, time.Since(start).Round(time.Millisecond))

	via := c.api(survivors[0])
	via.token = admin.token
	idx := via.write("/v1/departments", map[string]string{"code": "mz", "name": "县民政局"})
	c.api(newLeader).getAt("/v1/departments", idx, syncTimeout)
}
