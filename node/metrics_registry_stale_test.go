package node_test

import (
	"fmt"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
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
