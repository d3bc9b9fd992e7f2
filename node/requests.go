package node

import (
	"context"
	"errors"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/yizhan-gov/yizhan/federation/forward"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/reason"
)

// Every write takes a client request ID: the request_id field, or on REST
// the Idempotency-Key header. The ID is written into the request message
// where it is read (clientRequest), and the header travels with the call
// when a node forwards it (to its leader, up the tree; forward.ForwardContext),
// also for the handlers that forward before they read it; a write
// forwarded without any ID is given one by the forwarder. The office
// that applies the write remembers it with the answer
// (raftgroup.Request), and a retry gets that answer and changes nothing.

// idempotencyKey is the REST header (and gRPC metadata key) that may carry
// the request ID instead of the field.
const idempotencyKey = forward.IdempotencyKey

// clientRequest fixes the request ID of a write in msg and returns the
// Request the office applies it under. method names what is asked (two
// actions may share a request message).
func clientRequest(ctx context.Context, method string, msg proto.Message) (raftgroup.Request, error) {
	m := msg.ProtoReflect()
	fd := m.Descriptor().Fields().ByName("request_id")
	if fd == nil {
		return raftgroup.Request{}, nil
	}
	id := m.Get(fd).String()
	if id == "" {
		if md, ok := metadata.FromIncomingContext(ctx); ok {
			if v := md.Get(idempotencyKey); len(v) > 0 {
				id = v[0]
				m.Set(fd, protoreflect.ValueOfString(id))
			}
		}
	}
	r, err := raftgroup.NewRequest(id, method, msg)
	var bad *raftgroup.RequestIDError
	if errors.As(err, &bad) {
		return raftgroup.Request{}, fieldError("request_id", reason.InvalidFormat, reason.Meta{"format": "REQUEST_ID"}, bad.Why)
	}
	return r, err
}

// replayedHeader tells a client that its write had been applied before:
// the answer is the first one, nothing changed now (REST:
// Grpc-Metadata-X-Yizhan-Replayed).
const replayedHeader = forward.ReplayedHeader

// replayedBy reports whether the header of a forwarded call's answer
// says the write had been applied before (the node that applied it
// called markReplayed).
func replayedBy(header metadata.MD) bool { return len(header.Get(replayedHeader)) > 0 }

// markReplayed sets replayedHeader on the answer to the call in ctx.
func markReplayed(ctx context.Context) {
	_ = grpc.SetHeader(ctx, metadata.Pairs(replayedHeader, "true")) // no stream (a test's direct call): nothing to tell
}
