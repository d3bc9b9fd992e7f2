package forward

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/reason"
)

// TestForwardStopsAtAnUnknownOutcome sends a write on to two targets
// whose answers are made up: a target that did nothing (Unavailable) is
// passed over, one whose write may have been applied (OUTCOME_UNKNOWN,
// whatever its code) is the answer, and the next target is never asked.
func TestForwardStopsAtAnUnknownOutcome(t *testing.T) {
	ca := pki.NewTestCA(t)
	peers := NewPeers(pki.NewTestBundle(t, ca, pki.Identity{Office: "450122101203", Node: "dongcun-1"}), nil)
	defer peers.Close()
	f := NewForwarder(peers, time.Second)
	targets := []Target{{"first.invalid:7001", "450122000000"}, {"second.invalid:7001", "450122000000"}}
	unknown := reason.Err(reason.OutcomeUnknown, "federation: leadership lost while the write was in flight; it may have been applied")
	unknownAsBefore := reason.StatusCode(codes.Unavailable, reason.OutcomeUnknown, "leadership lost", nil).Err()
	notLeader := reason.Err(reason.NotLeader, "federation: not the office leader")
	for _, tc := range []struct {
		name       string
		first      error
		wantAsked  int
		wantReason string
		wantCode   codes.Code
	}{
		{"outcome unknown", unknown, 1, reason.OutcomeUnknown, codes.Aborted},
		{"outcome unknown, answered Unavailable", unknownAsBefore, 1, reason.OutcomeUnknown, codes.Unavailable},
		{"not the leader", notLeader, 2, "", codes.OK},
		{"a plain Unavailable", status.Error(codes.Unavailable, "connection refused"), 2, "", codes.OK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var asked []string
			err := f.Send(context.Background(), targets, func(_ context.Context, conn *grpc.ClientConn) error {
				asked = append(asked, conn.Target())
				if len(asked) == 1 {
					return tc.first
				}
				return nil
			})
			if len(asked) != tc.wantAsked {
				t.Errorf("asked %v, want %d target(s)", asked, tc.wantAsked)
			}
			if got := reason.StatusReason(err); got != tc.wantReason || status.Code(err) != tc.wantCode {
				t.Errorf("answer %v (reason %q), want %s with reason %q", err, got, tc.wantCode, tc.wantReason)
			}
		})
	}

	t.Run("no target answers", func(t *testing.T) {
		err := f.Send(context.Background(), targets, func(context.Context, *grpc.ClientConn) error { return notLeader })
		if status.Code(err) != codes.Unavailable || reason.StatusReason(err) != reason.Unreachable {
			t.Errorf("answer %v, want Unavailable with reason UNREACHABLE", err)
		}
	})
}

// A leader just elected answers CATCHING_UP until it has applied what its
// predecessor committed: it is asked again, not passed over, for at most
// the attempt timeout; then the next target is tried.
func TestForwardAsksACatchingUpLeaderAgain(t *testing.T) {
	ca := pki.NewTestCA(t)
	peers := NewPeers(pki.NewTestBundle(t, ca, pki.Identity{Office: "450122101203", Node: "dongcun-1"}), nil)
	defer peers.Close()
	f := NewForwarder(peers, 300*time.Millisecond)
	targets := []Target{{"leader.invalid:7001", "450122000000"}, {"follower.invalid:7001", "450122000000"}}
	catchingUp := reason.Err(reason.CatchingUp, "federation: not the office leader: the office leader is still applying its log")

	t.Run("ready after three tries", func(t *testing.T) {
		var asked []string
		err := f.Send(context.Background(), targets, func(_ context.Context, conn *grpc.ClientConn) error {
			asked = append(asked, conn.Target())
			if len(asked) <= 3 {
				return catchingUp
			}
			return nil
		})
		if err != nil {
			t.Fatalf("answer %v, want the leader's once ready", err)
		}
		for _, a := range asked {
			if a != targets[0].Addr {
				t.Errorf("asked %v: the follower was tried while the leader was catching up", asked)
				break
			}
		}
		if len(asked) != 4 {
			t.Errorf("asked %d times, want 4", len(asked))
		}
	})
	t.Run("never ready", func(t *testing.T) {
		perTarget := map[string]int{}
		start := time.Now()
		err := f.Send(context.Background(), targets, func(_ context.Context, conn *grpc.ClientConn) error {
			perTarget[conn.Target()]++
			return catchingUp
		})
		if d := time.Since(start); d < 600*time.Millisecond || d > 3*time.Second {
			t.Errorf("answered after %s, want about two attempt timeouts (300 ms each)", d)
		}
		if status.Code(err) != codes.Unavailable || perTarget[targets[0].Addr] < 2 || perTarget[targets[1].Addr] < 2 {
			t.Errorf("answer %v after %v, want Unavailable after asking each target again", err, perTarget)
		}
	})
}
