package forward

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// The sizes that keep one large message from stopping the federation.
// Every message between nodes is cut to travel (the feed in chunks, case
// mail in byte-bounded calls) well under the gRPC limit both sides set on
// purpose. docs/LIMITS.md lists them with the input limits.
const (
	// MaxPeerMessageBytes is the largest gRPC message a node sends to or
	// accepts from another node (the peer port, both directions).
	MaxPeerMessageBytes = 16 << 20
)

// Keepalives on every connection between nodes: a hung peer (a stopped
// process, a black-holed link) is noticed within peerKeepaliveTime +
// peerKeepaliveTimeout, and its connection closed, whether or not a call is
// in flight.
const (
	peerKeepaliveTime    = 10 * time.Second
	peerKeepaliveTimeout = 5 * time.Second
)

// PeerServerOptions are the peer port's message limits and keepalives.
func PeerServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxPeerMessageBytes),
		grpc.MaxSendMsgSize(MaxPeerMessageBytes),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: peerKeepaliveTime, Timeout: peerKeepaliveTimeout}),
		// Clients ping as often as peerKeepaliveTime, streams or not.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: peerKeepaliveTime / 2, PermitWithoutStream: true}),
	}
}

// peerDialOptions are the same limits and keepalives for the calling side.
func peerDialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(MaxPeerMessageBytes), grpc.MaxCallSendMsgSize(MaxPeerMessageBytes)),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: peerKeepaliveTime, Timeout: peerKeepaliveTimeout, PermitWithoutStream: true}),
	}
}
