package node_test

import (
	"net"
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/node"
)

// The operator adds county-4 (README: `yizhan node --office … --name
// county-4 --advertise county-2.gov.local --join county-1…:7070`), having
// copied county-2's command and changed the name but not --advertise, so
// county-4 announces county-2's raft address. The county's leader took the
// join as "the node came back with a new address or a new name"
// (raftgroup AddVoter) and removed county-2, a healthy voter, from the
// office without a word. A join claiming the raft address of a member
// that answers there is refused now, naming that member; county-2 stays.
//
// (All nodes run on 127.0.0.1 with their own ports here: county-4 listens
// on 127.0.0.2 at county-2's port and advertises 127.0.0.1, which is what
// the same --advertise with the default ports gives.)
func TestAJoinAtAnotherMembersAddressDoesNotRemoveIt(t *testing.T) {
	f := newFed(t)
	f.startCounty(3)
	_, port, err := net.SplitHostPort(f.cfgs["county-2"].RaftAddr)
	if err != nil {
		t.Fatal(err)
	}
	probe, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.2 (loopback): %v", err)
	}
	probe.Close()
	f.start("county-4", county, func(c *node.Config) {
		c.RaftAddr = net.JoinHostPort("127.0.0.2", port)
		c.Advertise = "127.0.0.1"
		c.Join = f.peerAddrs("county-1")
	})
	if got := f.nodes["county-4"].RaftAddr(); got != f.cfgs["county-2"].RaftAddr {
		t.Fatalf("county-4 advertises raft %s, not county-2's %s", got, f.cfgs["county-2"].RaftAddr)
	}
	time.Sleep(5 * time.Second)
	members, err := f.countyLeader().Office().Group().Members()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range members {
		ids = append(ids, string(m.ID)+"@"+string(m.Address))
	}
	found := false
	for _, m := range members {
		if string(m.ID) == "county-2" {
			found = true
		}
	}
	if !found || len(members) != 3 {
		t.Errorf("county-4, started with county-2's --advertise, joined: members %v, want county-1, county-2 and county-3", ids)
	}
}
