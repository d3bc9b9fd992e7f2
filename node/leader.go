package node

import (
	"context"

	"google.golang.org/grpc"

	"github.com/yizhan-gov/yizhan/office"
)

// atLeader runs local when this node leads its office; when the office
// layer answers that another node leads (or this one is catching up), it
// sends the call to the office's leader with remote, over a client made by
// newClient. The writes that belong to an office (consultations, duty)
// are made there and nowhere else.
func atLeader[C, Resp any](ctx context.Context, n *Node, newClient func(grpc.ClientConnInterface) C,
	local func() (Resp, error), remote func(context.Context, C) (Resp, error)) (Resp, error) {
	resp, err := local()
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
