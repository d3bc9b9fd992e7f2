package node

import (
	"context"
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	"github.com/yizhan-gov/yizhan/federation"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/office"
)

// atLeader runs local when this node leads its office; when the office
// layer answers that another node leads (or this one is catching up), it
// sends the call to the office's leader with remote, over a client made by
// newClient. The writes that belong to an office (consultations, duty)
// are made there and nowhere else.
func atLeader[C, Resp any](ctx context.Context, n *Node, newClient func(grpc.ClientConnInterface) C,
	local func() (Resp, error), remote func(context.Context, C) (Resp, error)) (Resp, error) {
	resp, err := whenLeaderReady(ctx, n, local)
	if !office.Forwardable(err) {
		return resp, toStatus(err)
	}
	err = n.office.ForwardToLeader(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
		var err error
		resp, err = remote(ctx, newClient(conn))
		return err
	})
	return resp, err
}

// whenLeaderReady runs local, a write of the office layer here. When this
// node has just come to lead and is still applying what its predecessor
// committed (federation.ErrCatchingUp: nothing was done), it waits for
// that, a moment (federation.Office.AwaitLeaderReady), and runs local
// again, as the client would: the write is not refused as if the office
// were down, no more than one at a node that does not lead, which waits
// for the election and then for the new leader. A node that stopped
// leading meanwhile answers that another leads, and the caller forwards
// the write there.
func whenLeaderReady[Resp any](ctx context.Context, n *Node, local func() (Resp, error)) (Resp, error) {
	resp, err := local()
	if errors.Is(err, federation.ErrCatchingUp) {
		n.office.AwaitLeaderReady(ctx)
		if ctx.Err() == nil {
			resp, err = local()
		}
	}
	return resp, err
}

// replayedAnswer tells the client, when the office answered a write it
// had applied before (replayed), that nothing changed now, and passes err
// on.
func replayedAnswer(ctx context.Context, replayed bool, err error) error {
	if err == nil && replayed {
		markReplayed(ctx)
	}
	return err
}

// answeredBefore is, at the office's leader, the answer to a write the
// office applied before under r's request ID (ok), told to the client as
// a replay: a retry of a step its state no longer allows (a report
// signed, a question answered) answers as the first did. Elsewhere it is
// the office layer's refusal, which sends the call to the leader. An
// answer remembered that is not a T is a conflict (office.Answered).
func answeredBefore[T proto.Message](ctx context.Context, n *Node, r raftgroup.Request) (v T, ok bool, err error) {
	return answeredTo(ctx, n, r, func(T) error { return nil })
}

// answeredTo is answeredBefore for a write whose answer says who may
// make it (a shift's change: who is on the shift): the answer goes to
// the caller only when may lets it have it, else may's refusal. The
// office remembers a write by its request ID and body, not by who sent
// it: a request ID is no authority of its own.
func answeredTo[T proto.Message](ctx context.Context, n *Node, r raftgroup.Request, may func(T) error) (v T, ok bool, err error) {
	if err := n.svc.Leading(); err != nil {
		return v, false, err
	}
	v, ok, err = office.Answered[T](n.svc, r)
	if err != nil || !ok {
		return v, false, err
	}
	if err := may(v); err != nil {
		var zero T
		return zero, false, err
	}
	markReplayed(ctx)
	return v, true, nil
}
