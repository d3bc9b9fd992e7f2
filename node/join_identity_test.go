package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/node"
)

// A member of an office, its certificate naming it, asks the office's
// leader to add another member at an address of its choosing: refused
// (PERMISSION_DENIED naming its certificate's node), the member's raft
// address unchanged. A node may join only as itself. A new node whose
// --join names a follower, not the leader, still joins: the follower
// tells it where the leader is, and it asks there itself.
func TestAMemberMayNotJoinAsAnotherMember(t *testing.T) {
	f := newFed(t)
	f.startCounty(3)
	var leader *node.Node
	var followers []string
	for _, name := range []string{"county-1", "county-2", "county-3"} {
		if n := f.nodes[name]; n.Office().Group().IsLeader() {
			leader = n
		} else {
			followers = append(followers, name)
		}
	}
	if leader == nil || len(followers) != 2 {
		t.Fatalf("no one leader among the county's nodes (followers %v)", followers)
	}
	from, as := followers[0], followers[1]
	addrOf := func(name string) string {
		members, err := leader.Office().Group().Members()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range members {
			if string(m.ID) == name {
				return string(m.Address)
			}
		}
		return ""
	}
	was := addrOf(as)
	peers := newPeerClient(t, f.bundle(county, from), leader.PeerAddr())
	_, err := peers.Join(context.Background(), &peerv1.JoinRequest{OfficeCode: county, Node: as, RaftAddress: "127.0.0.1:1"})
	if status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), from) {
		t.Errorf("member %s joining as member %s: %v, want PermissionDenied naming %s", from, as, err, from)
	}
	if now := addrOf(as); now != was {
		t.Errorf("%s's raft address after the refusal: %q, want %q", as, now, was)
	}

	f.start("county-4", county, func(c *node.Config) { c.Join = f.peerAddrs(from) })
	waitFor(t, "county-4 joins through follower "+from, func() bool { return addrOf("county-4") != "" }, 30*time.Second)
}
