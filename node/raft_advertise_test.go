package node_test

import (
	"net"
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/node"
)

// A node advertised by name keeps its name as its raft address. The
// bootstrapping node's own entry in the office's configuration was its
// name resolved to an IP at start, while the nodes that joined were kept
// by name: on Kubernetes, pod 0 (which bootstraps) was recreated with
// another IP and was found by no one, its office short of a node for
// good (and, its volume lost, it started a second group).
func TestABootstrappedNodeIsKeptUnderItsAdvertisedName(t *testing.T) {
	f := newFed(t)
	f.start("county-1", county, func(c *node.Config) {
		c.Bootstrap = true
		c.BootstrapAdminPassword = password
		c.Advertise = "localhost"
	})
	f.start("county-2", county, func(c *node.Config) {
		c.Advertise = "localhost"
		c.Join = f.peerAddrs("county-1")
	})
	leader, second := f.nodes["county-1"], f.nodes["county-2"]
	waitFor(t, "county-2 ready", second.Ready, 20*time.Second)
	members, err := leader.Office().Group().Members()
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 2 {
		t.Fatalf("the office's members: %v, want both nodes", members)
	}
	for _, m := range members {
		if host, _, err := net.SplitHostPort(string(m.Address)); err != nil || host != "localhost" {
			t.Errorf("member %s is kept at %s, want its advertised name localhost", m.ID, m.Address)
		}
	}
}
