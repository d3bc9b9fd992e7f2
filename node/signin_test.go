package node_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/node"
)

// dialFrom is dial with the client's end of the connection on localIP (a
// loopback address such as 127.0.0.2): another client address.
func dialFrom(t testing.TB, n *node.Node, localIP string) *client {
	t.Helper()
	conn, err := grpc.NewClient(n.HTTPAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(localIP)}}
			return d.DialContext(ctx, "tcp", addr)
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &client{t: t, conn: conn, reg: yizhanv1.NewRegistryServiceClient(conn), auth: yizhanv1.NewAuthServiceClient(conn)}
}

// attempts sends n sign-ins at once and counts the answers by code.
func attempts(t *testing.T, clients []*client, n int, username, pw string) map[codes.Code]int {
	t.Helper()
	var mu sync.Mutex
	got := map[codes.Code]int{}
	var start, wg sync.WaitGroup
	start.Add(1)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := clients[i%len(clients)]
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			start.Wait()
			_, err := c.auth.Login(ctx, &yizhanv1.LoginRequest{Username: username, Password: pw})
			mu.Lock()
			got[status.Code(err)]++
			mu.Unlock()
		}()
	}
	start.Done()
	wg.Wait()
	return got
}

// A hundred wrong passwords at once, sent to the three nodes of the
// county: the office's leader checks and counts them all, so no more are
// checked than the free failures of one (account, address), the rest are
// held back; an unknown account meets the very same answers. The right
// password is then held back from that address, and lets the admin in
// from another.
func TestSignInLimitsUnderConcurrentAttempts(t *testing.T) {
	f := newFed(t)
	// The counts live in the leader's memory: a leader lost to a burst of
	// argon2 on a loaded machine would start them afresh. Raft's own
	// timing, not the tests' fast one, keeps the leader through the burst.
	f.tune = func(_ string, c *node.Config) { c.Timing = raftgroup.DefaultTiming() }
	f.startCounty(3)
	var nodes []*client
	for _, name := range f.countyNames() {
		node.SlowBackOffForTest(f.nodes[name], time.Minute)
		nodes = append(nodes, dial(t, f.nodes[name]))
	}
	const free = 5 // wrong passwords of one account from one address before the back-off
	for _, user := range []string{"admin", "nobody"} {
		got := attempts(t, nodes, 100, user, "wrong-password")
		t.Logf("%s: answers by code: %v", user, got)
		if got[codes.Unauthenticated] > free || got[codes.OK] > 0 {
			t.Errorf("%s: %v: more than %d attempts were checked", user, got, free)
		}
		if got[codes.Unauthenticated]+got[codes.ResourceExhausted] != 100 {
			t.Errorf("%s: %v: want only wrong-password and held-back answers", user, got)
		}
		if got[codes.Unauthenticated] == 0 {
			t.Errorf("%s: %v: no attempt was checked at all", user, got)
		}
	}
	// A reserved attempt that finds no verification slot within argonWait
	// (each check is slow under the race detector) is answered Busy and
	// not counted: the burst may have left fewer than free failures
	// checked. Wrong passwords one at a time, which find a slot, make up
	// the difference until the back-off holds one.
	for i := 0; ; i++ {
		_, err := nodes[0].auth.Login(nodes[0].ctx(), &yizhanv1.LoginRequest{Username: "admin", Password: "wrong-password"})
		if status.Code(err) == codes.ResourceExhausted {
			break
		}
		if status.Code(err) != codes.Unauthenticated || i == free {
			t.Fatalf("a wrong password one at a time, after %d more: %v, want Unauthenticated until the back-off holds one", i, err)
		}
	}
	for i, c := range nodes {
		_, err := c.auth.Login(c.ctx(), &yizhanv1.LoginRequest{Username: "admin", Password: password})
		if status.Code(err) != codes.ResourceExhausted {
			t.Errorf("the right password from the guessing address, at county-%d: %v, want ResourceExhausted", i+1, err)
		}
		// Saying another address, as a forwarding node would, changes
		// nothing on the HTTP port.
		ctx := metadata.AppendToOutgoingContext(c.ctx(), "x-yizhan-client-addr", "198.51.100.9")
		if _, err := c.auth.Login(ctx, &yizhanv1.LoginRequest{Username: "admin", Password: password}); status.Code(err) != codes.ResourceExhausted {
			t.Errorf("a client naming another address, at county-%d: %v, want ResourceExhausted", i+1, err)
		}
	}
	for _, n := range f.countyNames() {
		other := dialFrom(t, f.nodes[n], "127.0.0.2")
		if _, err := other.auth.Login(other.ctx(), &yizhanv1.LoginRequest{Username: "admin", Password: password}); err != nil {
			t.Errorf("the admin from another address, at %s: %v", n, err)
		}
	}
}

// Below the county a sign-in for an account the office does not know goes
// up, and is answered like a wrong password; the limits are the county's.
func TestSignInUnknownBelowTheCounty(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.countyLeader()).login("admin", password)
	f.startTree(admin)
	village := dial(t, f.nodes["dongcun-1"])
	for _, user := range []string{"admin", "nobody"} {
		_, err := village.auth.Login(village.ctx(), &yizhanv1.LoginRequest{Username: user, Password: "wrong-password"})
		if status.Code(err) != codes.Unauthenticated || status.Convert(err).Message() != "wrong username or password" {
			t.Errorf("%s at the village: %v", user, err)
		}
	}
	if _, err := village.auth.Login(village.ctx(), &yizhanv1.LoginRequest{Username: "admin", Password: password}); err != nil {
		t.Errorf("the admin at the village: %v", err)
	}
}
