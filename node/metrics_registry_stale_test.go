package node_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
)

// An operator watches each village's registry behind the county with
// yizhan_registry_stale_seconds. A village fed by a township that has
// lost the county is behind the county (a grant revoked, a staff member
// disabled at the county do not reach it), though its own feed from the
// township works: the township's heartbeats say how stale the township
// is, and the village reads at least as much.
func TestAVillageBehindTheCountyThroughItsTownshipReadsStale(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.countyLeader()).login("admin", password)
	f.startTree(admin)
	countyNode, town, village := f.nodes["county-1"], f.nodes["chengguan-1"], f.nodes["dongcun-1"]
	waitFor(t, "the village in step with the county", func() bool {
		return village.Registry().Index() >= countyNode.Registry().Index() && metricValue(t, village, "yizhan_registry_stale_seconds") == "0"
	}, 20*time.Second)

	// The township loses the county; the county writes on.
	f.links["chengguan-1"].Cut()
	for i := range 3 {
		if _, err := admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{
			Code: fmt.Sprintf("d%d", i), Name: fmt.Sprintf("部门%d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the township to know itself stale", func() bool {
		return metricFloat(t, town, "yizhan_registry_stale_seconds") > 5
	}, 30*time.Second)
	if v, c := village.Registry().Index(), countyNode.Registry().Index(); v >= c {
		t.Fatalf("premise: the village (index %d) is behind the county (%d)", v, c)
	}
	townStale := metricFloat(t, town, "yizhan_registry_stale_seconds")
	if stale := metricFloat(t, village, "yizhan_registry_stale_seconds"); stale < townStale-1 {
		t.Errorf("the village is %d registry entries behind the county and its township stale for %.1f s, yet the village reads yizhan_registry_stale_seconds %v",
			countyNode.Registry().Index()-village.Registry().Index(), townStale, stale)
	}

	// The township has the county back: both are in sync again.
	f.links["chengguan-1"].Restore()
	waitFor(t, "the village in sync again", func() bool {
		return village.Registry().Index() >= countyNode.Registry().Index() && metricValue(t, village, "yizhan_registry_stale_seconds") == "0"
	}, 30*time.Second)
}

// A township runs three nodes; only its leader pulls the registry from
// the county. A village fed by one of the township's followers is as
// stale as the township is: when the township's leader loses the county,
// the follower and the village it feeds read
// yizhan_registry_stale_seconds growing with the leader's, not 0.
func TestAVillageFedByATownshipFollowerReadsTheTownshipStale(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.countyLeader()).login("admin", password)
	for _, o := range []*yizhanv1.Office{{Code: township, Name: "城关镇便民服务中心"}, {Code: dongcun, Name: "东村便民服务站"}} {
		if _, err := admin.reg.CreateOffice(admin.ctx(), &yizhanv1.CreateOfficeRequest{Office: o}); err != nil {
			t.Fatalf("create office %s: %v", o.Code, err)
		}
	}
	countyPeers := f.peerAddrs(f.countyNames()...)
	f.start("chengguan-1", township, func(c *node.Config) { c.Bootstrap, c.Upstream = true, countyPeers })
	waitFor(t, "chengguan-1 ready", f.nodes["chengguan-1"].Ready, 20*time.Second)
	for _, name := range []string{"chengguan-2", "chengguan-3"} {
		n := f.start(name, township, func(c *node.Config) { c.Join, c.Upstream = f.peerAddrs("chengguan-1"), countyPeers })
		waitFor(t, name+" ready", n.Ready, 20*time.Second)
	}
	var leader, follower *node.Node
	waitFor(t, "a township leader", func() bool {
		for _, name := range []string{"chengguan-1", "chengguan-2", "chengguan-3"} {
			if n := f.nodes[name]; n.Office().Group().IsLeader() {
				leader = n
			} else if follower == nil {
				follower = n
			}
		}
		return leader != nil
	}, 20*time.Second)
	// The village takes its feed from the follower alone.
	village := f.start("dongcun-1", dongcun, func(c *node.Config) {
		c.Bootstrap = true
		c.Upstream = f.peerAddrs(follower.Name())
		c.PeerRoutes = map[string][]string{township: f.peerAddrs(follower.Name())}
	})
	waitFor(t, "dongcun-1 ready", village.Ready, 20*time.Second)
	countyNode := f.nodes["county-1"]
	reg := countyNode.Registry()
	waitFor(t, "the village in the county's directory", func() bool {
		return slices.ContainsFunc(reg.Nodes(dongcun), func(e *yizhanv1.NodeEntry) bool { return e.GetName() == "dongcun-1" })
	}, 20*time.Second)
	waitFor(t, "the village in step with the county", func() bool {
		return village.Registry().Index() >= countyNode.Registry().Index() && metricValue(t, village, "yizhan_registry_stale_seconds") == "0"
	}, 20*time.Second)
	if st := village.Office().Feed(); st.SourceOffice != township || st.Source != follower.PeerAddr() {
		t.Fatalf("premise: the village is fed by the township's follower %s (%s), not %s of office %s", follower.Name(), follower.PeerAddr(), st.Source, st.SourceOffice)
	}

	// The township's leader loses the county; the county writes on.
	f.links[leader.Name()].Cut()
	for i := range 3 {
		if _, err := admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{
			Code: fmt.Sprintf("d%d", i), Name: fmt.Sprintf("部门%d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the township's leader to know itself stale", func() bool {
		return metricFloat(t, leader, "yizhan_registry_stale_seconds") > 5
	}, 30*time.Second)
	if !leader.Office().Group().IsLeader() {
		t.Skipf("premise: %s still leads the township", leader.Name())
	}
	if v, c := village.Registry().Index(), countyNode.Registry().Index(); v >= c {
		t.Fatalf("premise: the village (index %d) is behind the county (%d)", v, c)
	}
	townStale := metricFloat(t, leader, "yizhan_registry_stale_seconds")
	if stale := metricFloat(t, follower, "yizhan_registry_stale_seconds"); stale < townStale-1 {
		t.Errorf("the township's leader is stale for %.1f s, yet its follower %s reads yizhan_registry_stale_seconds %v", townStale, follower.Name(), stale)
	}
	if stale := metricFloat(t, village, "yizhan_registry_stale_seconds"); stale < townStale-1 {
		t.Errorf("the village is %d registry entries behind the county and the township stale for %.1f s, yet the village fed by the township's follower reads yizhan_registry_stale_seconds %v",
			countyNode.Registry().Index()-village.Registry().Index(), townStale, stale)
	}

	// The township's leader has the county back: all are in sync again.
	f.links[leader.Name()].Restore()
	waitFor(t, "the village in sync again", func() bool {
		return village.Registry().Index() >= countyNode.Registry().Index() &&
			metricValue(t, follower, "yizhan_registry_stale_seconds") == "0" && metricValue(t, village, "yizhan_registry_stale_seconds") == "0"
	}, 30*time.Second)
}

// A power cut at a village takes its PC and its line down together; the
// PC comes back, the line does not. yizhan_registry_stale_seconds counts
// from when the village was last in sync before the cut (the node keeps
// it on disk), not from nothing: an alert on > 3600 fires for the village
// most out of date.
func TestStaleSecondsOfAVillageRestartedWhileCutOff(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.countyLeader()).login("admin", password)
	f.startTree(admin)
	village := f.nodes["dongcun-1"]
	waitFor(t, "the village in sync", func() bool { return metricValue(t, village, "yizhan_registry_stale_seconds") == "0" }, 20*time.Second)

	f.links["dongcun-1"].Cut()
	cut := time.Now()
	f.stop("dongcun-1")
	time.Sleep(3 * time.Second)      // the PC is down a while
	village = f.restart("dongcun-1") // the same link: still cut
	waitFor(t, "the village ready again", village.Ready, 20*time.Second)
	time.Sleep(2 * time.Second)
	since := time.Since(cut).Seconds()
	if got := metricFloat(t, village, "yizhan_registry_stale_seconds"); got < since-1 {
		t.Errorf("a village in sync until its line was cut %.1f s ago, restarted since, reads yizhan_registry_stale_seconds %v (feed failing: %s): want the seconds since it was last in sync",
			since, got, metricValue(t, village, "yizhan_registry_feed_failing"))
	}
}
