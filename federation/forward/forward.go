package forward

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/yizhan-gov/yizhan/reason"
)

// DefaultAttemptTimeout bounds one attempt of a forwarded read when more
// targets remain to be tried (Forwarder.AttemptTimeout when zero).
const DefaultAttemptTimeout = 3 * time.Second

// catchingUpPause is how long a call waits before it asks again a leader
// that answered CATCHING_UP.
const catchingUpPause = 20 * time.Millisecond

// Forwarder sends calls on to other nodes over the peer pool.
type Forwarder struct {
	peers          *Peers
	attemptTimeout time.Duration
}

// NewForwarder returns a Forwarder over peers. attemptTimeout bounds one
// attempt of a read when more targets remain (DefaultAttemptTimeout when
// zero or less).
func NewForwarder(peers *Peers, attemptTimeout time.Duration) *Forwarder {
	if attemptTimeout <= 0 {
		attemptTimeout = DefaultAttemptTimeout
	}
	return &Forwarder{peers: peers, attemptTimeout: attemptTimeout}
}

// AttemptTimeout is how long one attempt of a read waits when more
// targets remain, and how long a leader that answers CATCHING_UP is asked
// again.
func (f *Forwarder) AttemptTimeout() time.Duration { return f.attemptTimeout }

// Send sends a request on to the first reachable target: the same
// call, with the caller's bearer token and one more hop counted, within the
// caller's deadline or 10 s. A target that answers Unavailable (or cannot be
// dialled) is skipped: it did nothing, or, when gRPC lost a connection that
// was up, it may have applied the write, which is sent on under the same
// request ID (withRequestID) and answered OUTCOME_UNKNOWN if no other target
// answers. Any other answer, error or not, is
// the answer; so is OUTCOME_UNKNOWN whatever its code, for the write may
// have been applied there and must not be proposed again elsewhere. A
// target that answers CATCHING_UP (a leader just elected, applying what
// its predecessor committed) is asked again for up to the attempt timeout.
func (f *Forwarder) Send(ctx context.Context, targets []Target, call func(ctx context.Context, conn *grpc.ClientConn) error) error {
	return f.forward(ctx, targets, false, call)
}

// Read is Send for a read (safe to send twice): each attempt but the last
// is also bounded by the attempt timeout, and an attempt that runs out of
// it counts as unreachable, so that a hung node (a stopped process, a
// black-holed link) cannot spend the caller's whole deadline. A write is
// not sent on after a timeout: it may have been applied.
func (f *Forwarder) Read(ctx context.Context, targets []Target, call func(ctx context.Context, conn *grpc.ClientConn) error) error {
	return f.forward(ctx, targets, true, call)
}

// withRequestID gives a write sent on without a request ID one of its
// own (IdempotencyKey), the same for every target it is sent to: a target
// that answers Unavailable did nothing, as a rule, but a connection lost
// after the call was sent answers so too, and the write, sent to the
// office's next node, is then applied once, not twice. A request ID in
// the request itself (request_id) comes before the header, where the
// write is applied.
func withRequestID(ctx context.Context) context.Context {
	md, _ := metadata.FromOutgoingContext(ctx)
	if len(md.Get(IdempotencyKey)) > 0 {
		return ctx
	}
	var b [16]byte
	rand.Read(b[:])
	md = md.Copy()
	md.Set(IdempotencyKey, "forwarded-"+hex.EncodeToString(b[:]))
	return metadata.NewOutgoingContext(ctx, md)
}

func (f *Forwarder) forward(ctx context.Context, targets []Target, read bool, call func(ctx context.Context, conn *grpc.ClientConn) error) error {
	fctx, err := ForwardContext(ctx)
	if err != nil {
		return reason.Err(reason.TooManyHops, err.Error())
	}
	if !read {
		fctx = withRequestID(fctx)
	}
	if _, ok := fctx.Deadline(); !ok {
		var cancel context.CancelFunc
		fctx, cancel = context.WithTimeout(fctx, 10*time.Second)
		defer cancel()
	}
	if len(targets) == 0 {
		return reason.Err(reason.Unreachable, "no node known to forward to")
	}
	var last error
	mayHaveReached := false // a write whose connection was lost under it
	for i, t := range targets {
		conn, err := f.peers.Conn(t.Addr, t.Office)
		if err != nil {
			last = err
			continue
		}
		actx, cancel := fctx, context.CancelFunc(func() {})
		if read && i < len(targets)-1 {
			actx, cancel = context.WithTimeout(fctx, f.attemptTimeout)
		}
		connected := conn.GetState() == connectivity.Ready
		err = call(actx, conn)
		// A new leader still applying its predecessor's entries did
		// nothing and will be ready in a moment (a barrier): ask it
		// again, for at most the attempt timeout, rather than pass over
		// the one node that can take the call.
		for ready := time.Now().Add(f.attemptTimeout); reason.StatusReason(err) == reason.CatchingUp && time.Now().Before(ready); {
			select {
			case <-actx.Done():
			case <-time.After(catchingUpPause):
				err = call(actx, conn)
				continue
			}
			break
		}
		attemptTimedOut := actx.Err() != nil && fctx.Err() == nil
		cancel()
		if err == nil {
			return nil
		}
		if reason.StatusReason(err) == reason.OutcomeUnknown {
			return err // it may have been applied: no other node may try it
		}
		if st, ok := status.FromError(err); ok && st.Code() != codes.Unavailable && !attemptTimedOut {
			return err
		}
		// Our nodes' Unavailable answers name their reason (not the
		// leader, restoring, …): they did nothing. gRPC's own, on a
		// connection that was up, may have come after the call reached
		// the node (its answer lost with the connection): the write is
		// sent on under the same request ID (withRequestID), applied at
		// most once; if no node answers, its outcome is unknown.
		if !read && connected && reason.StatusReason(err) == "" {
			mayHaveReached = true
		}
		last = err
		if fctx.Err() != nil {
			break
		}
	}
	if mayHaveReached {
		return reason.Err(reason.OutcomeUnknown, fmt.Sprintf("the connection was lost while the write was sent, and no other node answered: it may have been applied: %v", last))
	}
	return reason.Err(reason.Unreachable, fmt.Sprintf("no node reachable: %v", last))
}
