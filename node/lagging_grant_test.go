package node_test

import (
	"strings"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
)

// 东村's link is down (the design's "a village offline for a week
// queues; nothing is lost or doubled"). Meanwhile the county takes the
// villages' delegation of the tobacco licence back (代办 and 送达). The
// village, which has not heard of it, still offers the item and its agent
// files a citizen's case there: the citizen leaves with a number and a
// query code. When the link was back, the village handed the case on to
// the township, whose registry said the village held no right to file at
// that time, and refused it after every retry: in transit for good, no
// office holding it, the county never seeing it. A filing the village
// accepted in good faith is not lost: it names the registry the village
// had, and a revocation the village had not heard of does not count.
func TestAFilingUnderAGrantRevokedWhileTheVillageWasCutOffIsNotLost(t *testing.T) {
	f := newTunedCaseFed(t, 1, func(name string, c *node.Config) {
		c.QuarantineAfter = 2 * time.Second
		c.RerouteSweepInterval = 100 * time.Millisecond
	})
	ctx := f.admin.ctx()
	village, town, countyNode := f.nodes["dongcun-1"], f.nodes["chengguan-1"], f.nodes["county-1"]
	agent := dial(t, village).login("dongcun", password)
	// A first case goes through while the link is up: the mail works.
	first := fileTobacco(t, agent, "李四").GetNumber()
	waitFor(t, "the county holds the first case", func() bool { return received(countyNode, first) }, 20*time.Second)

	f.links["dongcun-1"].Cut()
	waitFor(t, "the village's feed to break", func() bool { return village.Office().Feed().LastError != "" }, 10*time.Second)
	grants, err := f.admin.reg.ListGrants(ctx, &yizhanv1.ListGrantsRequest{ItemCode: tobacco().Code})
	if err != nil {
		t.Fatal(err)
	}
	revoked := false
	for _, g := range grants.GetGrants() {
		if g.GetTier() == yizhanv1.Tier_TIER_VILLAGE {
			if _, err := f.admin.reg.RevokeGrant(ctx, &yizhanv1.RevokeGrantRequest{Id: g.GetId()}); err != nil {
				t.Fatal(err)
			}
			revoked = true
		}
	}
	if !revoked {
		t.Fatal("no village grant to revoke")
	}
	idx := countyNode.Registry().Index()
	waitFor(t, "the township hears of the revocation", func() bool { return town.Registry().Index() >= idx }, 20*time.Second)
	if village.Registry().Index() >= idx {
		t.Fatal("the village heard of the revocation through a cut link")
	}

	// The village, a few seconds (or days) behind, takes the filing.
	number := fileTobacco(t, agent, "王五").GetNumber()

	f.links["dongcun-1"].Restore()
	waitFor(t, "the village catches up with the registry", func() bool { return village.Registry().Index() >= idx }, 30*time.Second)
	// Give the mail time to retry and the sweeps time to act once the
	// village knows what the township knows.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, ok := town.Office().Cases().Case(number); ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c, _ := village.Office().Cases().Case(number)
	var why []string
	for _, q := range village.Office().Cases().Quarantined() {
		if q.GetEntry().GetCaseNumber() == number {
			why = append(why, q.GetReason())
		}
	}
	var types []string
	for _, e := range village.Office().Cases().Events(number) {
		types = append(types, e.GetType().String())
	}
	_, st := getJSON(t, "http://"+village.HTTPAddr()+"/v1/registry/status")
	t.Fatalf("case %s filed at the village is lost: 30 s after the village caught up the township does not hold it; "+
		"the village's copy: owner %s, state %s, events %v; set aside: %s; delivery errors: %v", number, c.GetOwnerOffice(), c.GetState(), types, strings.Join(why, "; "), st["delivery_errors"])
}
