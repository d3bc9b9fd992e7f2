package node_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
)

// createVillage creates the village office code (南村) and its agent nancun
// in the registry.
func createVillage(t *testing.T, f *caseFed, code string) {
	t.Helper()
	admin := dial(t, f.countyLeader()).login("admin", password)
	if _, err := admin.reg.CreateOffice(admin.ctx(), &yizhanv1.CreateOfficeRequest{Office: &yizhanv1.Office{Code: code, Name: "南村便民服务站"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.reg.CreateStaff(admin.ctx(), &yizhanv1.CreateStaffRequest{Password: password, Staff: &yizhanv1.StaffMember{
		Username: "nancun", Name: "覃梅", OfficeCode: code, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT}}}); err != nil {
		t.Fatal(err)
	}
}

// listedEver reports whether the registry's node directory lists name for
// the office, taken out or not.
func listedEver(reg interface {
	NodesEver(string) []*yizhanv1.NodeEntry
}, office, name string) bool {
	return slices.ContainsFunc(reg.NodesEver(office), func(e *yizhanv1.NodeEntry) bool { return e.GetName() == name })
}

// A brand-new village of two nodes, the second's --join naming the first
// node's raft port instead of its peer port: its join never reaches the
// first node. The second node is not in the node directory while it is no
// member of the village, so the first does not take it for a node of an
// earlier life: the village numbers its first case 1, not 5001, and is
// not rebuilt.
func TestANewVillageWhoseJoinerCannotReachItNumbersFromOne(t *testing.T) {
	const nancun = "450122101205"
	stall := newStallCasesThrough(t)
	f := newCaseFed(t, 1)
	createVillage(t, f, nancun)
	upstream := append(f.peerAddrs("chengguan-1"), f.peerAddrs("county-1")...)

	// The offices above wait until the second node has asked for a while.
	stall.Stall()
	first := f.start("nancun-1", nancun, func(c *node.Config) { c.Bootstrap, c.Upstream = true, upstream })
	second := f.start("nancun-2", nancun, func(c *node.Config) {
		c.Join, c.Upstream = []string{f.cfgs["nancun-1"].RaftAddr}, upstream // the raft port, not the peer port
	})
	waitFor(t, "the second node's join failing", func() bool { return strings.Contains(readyzReason(t, second), "--join") }, 30*time.Second)
	time.Sleep(2 * time.Second) // time enough to announce itself, were it to
	stall.Release()

	waitFor(t, "the new village ready", first.Ready, 60*time.Second)
	c := fileTobacco(t, dial(t, first).login("nancun", password), "周八")
	if !strings.HasSuffix(c.GetNumber(), "-0001") {
		t.Errorf("the new village's first case is %s, want number 1 of the day", c.GetNumber())
	}
	if _, restored := first.Office().Cases().Restored(); restored {
		t.Error("the new village was taken for one that ran before")
	}
	if listedEver(f.nodes["county-1"].Registry(), nancun, "nancun-2") {
		t.Error("the county's node directory lists nancun-2, which is no member of the village")
	}
}

// A brand-new village's node is first started with neither --bootstrap
// nor --join, then again with --bootstrap on the same data directory,
// which holds no raft state. The first run put nothing in the node
// directory, so the village is new: it numbers its first case 1.
func TestANewVillageFirstStartedWithoutFlagsNumbersFromOne(t *testing.T) {
	const nancun = "450122101205"
	f := newCaseFed(t, 1)
	createVillage(t, f, nancun)
	upstream := append(f.peerAddrs("chengguan-1"), f.peerAddrs("county-1")...)

	n := f.start("nancun-1", nancun, func(c *node.Config) { c.Upstream = upstream })
	waitFor(t, "/readyz to say the node has no raft group", func() bool {
		return strings.Contains(readyzReason(t, n), "neither --bootstrap")
	}, 30*time.Second)
	time.Sleep(2 * time.Second) // time enough to announce itself, were it to
	if listedEver(f.nodes["county-1"].Registry(), nancun, "nancun-1") {
		t.Error("the county's node directory lists a node started with neither --bootstrap nor --join")
	}
	f.stop("nancun-1")

	cfg := f.cfgs["nancun-1"]
	cfg.Bootstrap = true
	n = f.run("nancun-1", cfg)
	waitFor(t, "the new village ready", n.Ready, 60*time.Second)
	c := fileTobacco(t, dial(t, n).login("nancun", password), "周八")
	if !strings.HasSuffix(c.GetNumber(), "-0001") {
		t.Errorf("the new village's first case is %s, want number 1 of the day", c.GetNumber())
	}
	if _, restored := n.Office().Cases().Restored(); restored {
		t.Error("the new village was taken for one that ran before")
	}
	waitFor(t, "the village's node in the county's directory once it is a member", func() bool {
		return listedEver(f.nodes["county-1"].Registry(), nancun, "nancun-1")
	}, 30*time.Second)
}
