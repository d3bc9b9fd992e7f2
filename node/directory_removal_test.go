package node_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
)

// county-3's machine is gone for good; the operator replaces it with
// county-4 and takes county-3 out as docs/OPERATIONS.md says (`yizhan
// members --remove county-3`). The node directory (GET /v1/nodes), which
// the federation page lists and probes, kept county-3 for ever: the page
// showed the county with a node offline, nothing took it out, and offices
// below kept its address for mail and reads. The leader that takes a node
// out announces it removed; the directory leaves it out.
func TestARemovedMemberLeavesTheNodeDirectory(t *testing.T) {
	f := newFed(t)
	f.startCounty(3)
	waitFor(t, "county-3 in the node directory", func() bool {
		for _, n := range f.nodes["county-1"].Registry().Nodes(county) {
			if n.GetName() == "county-3" {
				return true
			}
		}
		return false
	}, 20*time.Second)
	f.stop("county-3")
	f.start("county-4", county, func(c *node.Config) { c.Join = f.peerAddrs("county-1", "county-2") })
	waitFor(t, "county-4 ready", f.nodes["county-4"].Ready, 30*time.Second)

	conn, err := grpc.NewClient(f.nodes["county-1"].PeerAddr(), grpc.WithTransportCredentials(credentials.NewTLS(f.bundle(county, "").ClientConfig(county))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := peerv1.NewPeerClient(conn).Members(ctx, &peerv1.MembersRequest{OfficeCode: county, Remove: "county-3"}); err != nil {
		t.Fatalf("members --remove county-3: %v", err)
	}
	admin := dial(t, f.countyLeader()).login("admin", password)
	resp, err := admin.reg.ListNodes(admin.ctx(), &yizhanv1.ListNodesRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, n := range resp.GetNodes() {
		names = append(names, n.GetOfficeCode()+"/"+n.GetName())
		if n.GetName() == "county-3" {
			t.Errorf("GET /v1/nodes after county-3 was taken out of the county (members --remove) still lists it (raft %s, peer %s): %v",
				n.GetRaftAddress(), n.GetPeerAddress(), names)
		}
	}
	// The members are there (each announces itself, now and then).
	waitFor(t, "county-1, county-2 and county-4 in the node directory", func() bool {
		in := map[string]bool{}
		for _, n := range f.countyLeader().Registry().Nodes(county) {
			in[n.GetName()] = true
		}
		return in["county-1"] && in["county-2"] && in["county-4"] && !in["county-3"]
	}, 40*time.Second)
	// The audit trail says who took it out.
	changes, err := admin.reg.ListRegistryChanges(admin.ctx(), &yizhanv1.ListRegistryChangesRequest{Kind: "node", Target: "county-3"})
	if err != nil || len(changes.GetChanges()) == 0 || changes.GetChanges()[0].GetOp() != "remove" {
		t.Errorf("the audit trail of node county-3: %v, %v", changes.GetChanges(), err)
	}
}

// `yizhan members --remove` of the county's leader (docs/OPERATIONS.md:
// "the leader too: it steps down and another node leads"). The removed
// leader announced its own removal after it stepped down: a county node
// forwards a registry write to its leader, which a node taken out of the
// group never hears of, so the announcement failed and the directory
// listed the node for good. It announces it before.
func TestRemovingTheCountyLeaderLeavesTheDirectory(t *testing.T) {
	f := newFed(t)
	f.startCounty(3)
	old := f.countyLeader().Name()
	waitFor(t, old+" in the node directory", func() bool {
		for _, n := range f.nodes[old].Registry().Nodes(county) {
			if n.GetName() == old {
				return true
			}
		}
		return false
	}, 20*time.Second)
	conn, err := grpc.NewClient(f.nodes[old].PeerAddr(), grpc.WithTransportCredentials(credentials.NewTLS(f.bundle(county, "").ClientConfig(county))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := peerv1.NewPeerClient(conn).Members(ctx, &peerv1.MembersRequest{OfficeCode: county, Remove: old}); err != nil {
		t.Fatalf("members --remove %s (the leader): %v", old, err)
	}
	var other string
	for _, name := range []string{"county-1", "county-2", "county-3"} {
		if name != old {
			other = name
		}
	}
	listed := func() bool {
		for _, n := range f.nodes[other].Registry().Nodes(county) {
			if n.GetName() == old {
				return true
			}
		}
		return false
	}
	waitFor(t, old+", taken out, gone from the node directory", func() bool { return !listed() }, 25*time.Second)
	// Still running, it does not put itself back.
	time.Sleep(2 * time.Second)
	if listed() {
		t.Errorf("%s, taken out and still running, put itself back in the node directory", old)
	}
}
