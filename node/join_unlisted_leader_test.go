package node_test

import (
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
)

// A new node whose --join names only a follower joins its office while
// the node directory does not know where the office's leader serves (the
// county out of the office's reach since the leader joined, so that it
// never announced itself): the follower, which passes no join on, names
// the nodes it joined through itself, and the new node asks there. It
// was told only the leader's name, and asked the follower again, and
// again, until the county came back.
func TestANodeJoinsThroughAFollowerWhileTheDirectoryDoesNotKnowTheLeader(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.countyLeader()).login("admin", password)
	if _, err := admin.reg.CreateOffice(admin.ctx(), &yizhanv1.CreateOfficeRequest{Office: &yizhanv1.Office{Code: township, Name: "城关镇便民服务中心"}}); err != nil {
		t.Fatal(err)
	}
	countyPeer := f.peerAddrs("county-1")
	first := f.start("chengguan-1", township, func(c *node.Config) { c.Bootstrap = true; c.Upstream = countyPeer })
	waitFor(t, "chengguan-1 ready", first.Ready, 20*time.Second)
	member := func(of *node.Node, name string) bool {
		ms, err := of.Office().Group().Members()
		return err == nil && slices.ContainsFunc(ms, func(m raft.Server) bool { return string(m.ID) == name })
	}
	// Each node started next reaches every node but the county's.
	cutOff := func(name string, join ...string) *node.Node {
		l := newLink()
		l.Block(countyPeer[0])
		n := f.start(name, township, func(c *node.Config) { c.Upstream, c.Join, c.Dial = countyPeer, f.peerAddrs(join...), l.Dial })
		f.links[name] = l
		return n
	}
	cutOff("chengguan-2", "chengguan-1")
	waitFor(t, "chengguan-2 joins", func() bool { return member(first, "chengguan-2") }, 30*time.Second)
	third := cutOff("chengguan-3", "chengguan-2")
	waitFor(t, "chengguan-3 joins", func() bool { return member(first, "chengguan-3") }, 30*time.Second)
	waitFor(t, "chengguan-2 leads", func() bool {
		for _, name := range []string{"chengguan-1", "chengguan-3"} {
			if g := f.nodes[name].Office().Group(); g.IsLeader() {
				g.TransferLeadership()
			}
		}
		return f.nodes["chengguan-2"].Office().Group().IsLeader()
	}, 30*time.Second)
	if slices.ContainsFunc(third.Registry().Nodes(township), func(e *yizhanv1.NodeEntry) bool { return e.GetName() == "chengguan-2" }) {
		t.Fatal("the directory chengguan-3 holds lists chengguan-2: the test does not test what it says")
	}

	cutOff("chengguan-4", "chengguan-3")
	waitFor(t, "chengguan-4 joins through follower chengguan-3", func() bool { return member(f.nodes["chengguan-2"], "chengguan-4") }, 30*time.Second)
}
