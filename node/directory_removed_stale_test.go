package node_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/node"
)

// A township node taken out of its office while it was down
// (`yizhan members --remove`) keeps the raft configuration it had, which
// still counts it a member, and the registry it had, which does not say
// it was taken out. Started again (on another HTTP address, as a machine
// brought back may be), it does not announce itself back into the node
// directory, also while the leader that took it out still reaches it for
// a moment: the leader does not count it, so the county does not list it
// again and no office tries it for the township's mail.
func TestARemovedNodeWithAStaleConfigurationStaysOutOfTheDirectory(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.countyLeader()).login("admin", password)
	f.startTree(admin)
	for _, name := range []string{"chengguan-2", "chengguan-3"} {
		n := f.start(name, township, func(c *node.Config) {
			c.Join = f.peerAddrs("chengguan-1")
			c.Upstream = f.peerAddrs(f.countyNames()...)
		})
		waitFor(t, name+" ready", n.Ready, 20*time.Second)
	}
	listed := func(name string) bool {
		for _, n := range f.countyLeader().Registry().Nodes(township) {
			if n.GetName() == name {
				return true
			}
		}
		return false
	}
	waitFor(t, "chengguan-3 in the node directory", func() bool { return listed("chengguan-3") }, 30*time.Second)
	f.stop("chengguan-3")

	conn, err := grpc.NewClient(f.nodes["chengguan-1"].PeerAddr(), grpc.WithTransportCredentials(credentials.NewTLS(f.bundle(township, "").ClientConfig(township))))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := peerv1.NewPeerClient(conn).Members(ctx, &peerv1.MembersRequest{OfficeCode: township, Remove: "chengguan-3"}); err != nil {
		t.Fatalf("members --remove chengguan-3: %v", err)
	}
	waitFor(t, "chengguan-3 out of the node directory", func() bool { return !listed("chengguan-3") }, 30*time.Second)

	// Started again once the leader is done with it (its last replication
	// to a node taken out may still reach it, and bring it the
	// configuration without it): its own still names it.
	time.Sleep(3 * time.Second)
	cfg := f.cfgs["chengguan-3"]
	cfg.HTTPAddr, cfg.Join = "127.0.0.1:0", nil
	f.run("chengguan-3", cfg)
	for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if listed("chengguan-3") {
			t.Fatal("chengguan-3, taken out of its office, announced itself back into the node directory")
		}
	}
}
