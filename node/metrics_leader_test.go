package node_test

import (
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
)

// metricFloat reads a gauge from a node's /metrics as a number.
func metricFloat(t *testing.T, n *node.Node, name string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(metricValue(t, n, name), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// yizhan_case_delivery_failing_offices and yizhan_cases_stranded are the
// leader's (its mail, its reroute sweep); every node of an office is
// scraped, and an operator alerts on max by (office) (…) > 0. A county
// leader whose mail to the township fails, and whose sweep counts cases
// no office may take on, loses the leadership while it runs on (an
// election after a blip); the new leader delivers the mail and, the
// grant back, counts nothing stranded. The ex-leader, a follower now,
// reports no failing office and no stranded case (-1: not its count):
// the alerts end with the situation.
func TestAnExLeaderReportsNoFailingMailNorStrandedCases(t *testing.T) {
	f := newTunedCaseFed(t, 3, func(_ string, c *node.Config) { c.RerouteSweepInterval = 100 * time.Millisecond })
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	a := fileTobacco(t, agent, "李四").GetNumber()
	b := fileTobacco(t, agent, "王五").GetNumber()
	old := f.countyLeader()
	for _, name := range f.countyNames() {
		n := f.nodes[name]
		for _, number := range []string{a, b} {
			waitFor(t, name+" holds "+number, func() bool { return received(n, number) }, 30*time.Second)
		}
	}

	// The leader's mail to the township fails: its link is cut and an
	// acceptance is mirrored down toward the village.
	f.links[old.Name()].Cut()
	clerk := dial(t, old).login("clerk", password)
	if _, err := caseClient(t, clerk).Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: b}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the leader's mail failing", func() bool {
		return metricFloat(t, old, "yizhan_case_delivery_failing_offices") > 0
	}, 30*time.Second)

	// No office may take the cases on: the county's grant revoked.
	admin := dial(t, old).login("admin", password)
	grants, err := admin.reg.ListGrants(admin.ctx(), &yizhanv1.ListGrantsRequest{ItemCode: tobacco().Code, OfficeCode: county})
	if err != nil {
		t.Fatal(err)
	}
	var revoked []*yizhanv1.Grant
	for _, g := range grants.GetGrants() {
		if g.GetOfficeCode() == county {
			if _, err := admin.reg.RevokeGrant(admin.ctx(), &yizhanv1.RevokeGrantRequest{Id: g.GetId()}); err != nil {
				t.Fatal(err)
			}
			revoked = append(revoked, g)
		}
	}
	waitFor(t, "the leader's sweep counting stranded cases", func() bool {
		return metricFloat(t, old, "yizhan_cases_stranded") > 0
	}, 30*time.Second)
	for _, name := range f.countyNames() {
		if n := f.nodes[name]; n != old {
			if v := metricFloat(t, n, "yizhan_cases_stranded"); v != -1 {
				t.Errorf("the follower %s reports yizhan_cases_stranded %v, want -1 (not its count)", name, v)
			}
		}
	}

	// An election: another node leads; the link is back; the grant too.
	if err := old.Office().Group().TransferLeadership(); err != nil {
		t.Fatalf("leadership transfer: %v", err)
	}
	var now *node.Node
	waitFor(t, "another county leader", func() bool {
		now = f.countyLeader()
		return now != old && !old.Office().Group().IsLeader()
	}, 20*time.Second)
	f.links[old.Name()].Restore()
	admin = dial(t, now).login("admin", password)
	for _, g := range revoked {
		g = proto.CloneOf(g)
		g.Id = ""
		waitFor(t, "the grant back", func() bool {
			_, err := admin.reg.CreateGrant(admin.ctx(), &yizhanv1.CreateGrantRequest{Grant: g})
			if err != nil && status.Code(err) != codes.Unavailable {
				t.Fatal(err)
			}
			return err == nil
		}, 20*time.Second)
	}
	waitFor(t, "the new leader's mail delivered and nothing stranded", func() bool {
		return now.Office().Cases().OutboxLen() == 0 &&
			metricValue(t, now, "yizhan_case_delivery_failing_offices") == "0" &&
			metricValue(t, now, "yizhan_cases_stranded") == "0"
	}, 30*time.Second)
	time.Sleep(2 * time.Second) // every node has applied; plenty of sweeps
	if old.Office().Group().IsLeader() {
		t.Skip("the old leader leads again: the premise is gone")
	}
	if v := metricValue(t, old, "yizhan_case_delivery_failing_offices"); v != "0" {
		t.Errorf("the ex-leader %s reports yizhan_case_delivery_failing_offices %s after the new leader %s delivered everything (outbox 0, its own gauge 0)", old.Name(), v, now.Name())
	}
	if v := metricFloat(t, old, "yizhan_cases_stranded"); v > 0 {
		t.Errorf("the ex-leader %s reports yizhan_cases_stranded %v after the grant came back and the new leader %s counts 0", old.Name(), v, now.Name())
	}
}

// yizhan_registry_feed_failing is the feed puller's, which runs on the
// leader of an office below the county. A township leader whose feed
// from the county fails (its line cut) loses the leadership while it
// runs on; the new leader pulls the feed. The ex-leader reports no
// failing feed: an alert on max by (office) ends with the situation.
func TestAnExLeaderReportsNoFailingFeed(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.countyLeader()).login("admin", password)
	f.startTree(admin)
	second := f.start("chengguan-2", township, func(c *node.Config) {
		c.Join = f.peerAddrs("chengguan-1")
		c.Upstream = f.peerAddrs(f.countyNames()...)
	})
	waitFor(t, "chengguan-2 ready", second.Ready, 20*time.Second)
	old := f.nodes["chengguan-1"]
	if !old.Office().Group().IsLeader() {
		t.Skip("premise: chengguan-1 leads the township")
	}

	f.links[old.Name()].Cut()
	waitFor(t, "the leader's feed failing", func() bool {
		return metricValue(t, old, "yizhan_registry_feed_failing") == "1"
	}, 30*time.Second)
	if v := metricValue(t, second, "yizhan_registry_feed_failing"); v != "0" {
		t.Errorf("the follower %s reports yizhan_registry_feed_failing %s, want 0 (it pulls nothing)", second.Name(), v)
	}

	if err := old.Office().Group().TransferLeadership(); err != nil {
		t.Fatalf("leadership transfer: %v", err)
	}
	waitFor(t, "the new leader in sync", func() bool {
		return second.Office().Group().IsLeader() && metricValue(t, second, "yizhan_registry_stale_seconds") == "0"
	}, 30*time.Second)
	waitFor(t, "the ex-leader's feed no longer failing", func() bool {
		return metricValue(t, old, "yizhan_registry_feed_failing") == "0"
	}, 5*time.Second)
}
