package node_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/node"
)

// A county node's machine dies; the operator replaces it as the docs say
// ("a new node joins (--join) and takes the state from the others"). The
// new machine has its own name, and the dead node stayed a voter (nothing
// took it out), so the county had four voters of which three lived: it no
// longer survived the loss of one more. The operator takes the dead node
// out (`yizhan members --remove`: the Peer service's Members, with a
// certificate of the office, asked at a follower), and the county of three
// survives one more node's loss. A certificate of another office may not;
// an unknown node is refused, named.
func TestAReplacedCountyNodeIsTakenOutAndTheCountySurvivesOneMoreLoss(t *testing.T) {
	f := newFed(t)
	f.startCounty(3)

	// county-3's machine dies.
	f.stop("county-3")
	// A new machine, county-4, joins with an empty data directory.
	f.start("county-4", county, func(c *node.Config) { c.Join = f.peerAddrs("county-1", "county-2") })
	waitFor(t, "county-4 ready", f.nodes["county-4"].Ready, 30*time.Second)
	members, err := f.countyLeader().Office().Group().Members()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range members {
		ids = append(ids, string(m.ID)+"("+m.Suffrage.String()+")")
	}
	if len(members) != 4 {
		t.Fatalf("the county's raft members after the replacement: %v, want the dead one still among 4", ids)
	}

	// Asked at a follower, with a certificate of the county.
	var follower *node.Node
	for _, name := range []string{"county-1", "county-2", "county-4"} {
		if n := f.nodes[name]; n != f.countyLeader() {
			follower = n
			break
		}
	}
	members2 := func(b *pki.Bundle, office, remove string) (*peerv1.MembersResponse, error) {
		conn, err := grpc.NewClient(follower.PeerAddr(), grpc.WithTransportCredentials(credentials.NewTLS(b.ClientConfig(""))))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return peerv1.NewPeerClient(conn).Members(ctx, &peerv1.MembersRequest{OfficeCode: office, Remove: remove})
	}
	if _, err := members2(f.bundle(dongcun, ""), county, "county-3"); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a village's certificate took a county node out: %v", err)
	}
	if _, err := members2(f.bundle(county, ""), county, "county-9"); status.Code(err) != codes.NotFound {
		t.Errorf("an unknown node taken out: %v", err)
	}
	resp, err := members2(f.bundle(county, ""), county, "county-3")
	if err != nil {
		t.Fatalf("take county-3 out: %v", err)
	}
	ids = ids[:0]
	for _, m := range resp.GetMembers() {
		ids = append(ids, m.GetNode())
	}
	if len(ids) != 3 || slices.Contains(ids, "county-3") {
		t.Fatalf("the county's members after county-3 was taken out: %v", ids)
	}

	clients := []*client{dial(t, f.nodes["county-1"]).login("admin", password), dial(t, f.nodes["county-4"]).login("admin", password)}
	// One more node lost: county-2.
	f.stop("county-2")
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, c := range clients {
			ctx, cancel := context.WithTimeout(c.ctx(), 3*time.Second)
			_, err := c.reg.CreateDepartment(ctx, &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "audit", Name: "审计"}})
			cancel()
			if err == nil {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Errorf("with county-1 and county-4 running (the replaced county of three losing one more node), the county takes no registry write for 20 s: its raft members are %v", ids)
}
