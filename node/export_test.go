package node

import (
	"context"
	"testing"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
)

// SlowBackOffForTest makes the first wait of n's sign-in and query-code
// limits base, so that a test's next steps fall inside it however slow
// the machine is.
func SlowBackOffForTest(n *Node, base time.Duration) {
	for _, l := range []*attemptLimiter{n.logins, n.queryCodes} {
		l.mu.Lock()
		l.limits.pair.base = base
		l.limits.address.base = base
		l.limits.subject.base = base
		l.mu.Unlock()
	}
}

// SetPeerCallHookForTest makes every node started afterwards in this test
// call hook in the handler of each peer call it serves, after the call.
func SetPeerCallHookForTest(t testing.TB, hook func(n *Node, ctx context.Context, method string)) {
	testHookPeerCall = hook
	t.Cleanup(func() { testHookPeerCall = nil })
}

// AnonymousHeldForTest is how many anonymous requests and calls from the
// client at remoteAddr n counts now.
func AnonymousHeldForTest(n *Node, remoteAddr string) int {
	return n.anonymous.Held(n.clientKeyOf(remoteAddr, nil))
}

// ProposeRegistryForTest proposes cmd to n's office as its county's own
// registry write (no request, no role: the node's).
func ProposeRegistryForTest(ctx context.Context, n *Node, cmd *peerv1.RegistryCommand) error {
	_, _, err := n.office.ProposeRegistry(ctx, cmd)
	return err
}

// HoldWriteSlotsForTest takes every one of n's client write slots (those
// of the writes that come in at its HTTP port) until the test ends, as
// its own clients' writes waiting for raft would.
func HoldWriteSlotsForTest(t testing.TB, n *Node) {
	if !n.writes.take(context.Background(), n.writes.size, 0) {
		t.Fatal("the node's write slots are in use")
	}
	t.Cleanup(func() { n.writes.give(n.writes.size) })
}
