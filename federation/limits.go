package federation

import (
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// The sizes that keep one large message from stopping the federation.
// Every message between nodes is cut to travel (the feed in chunks, case
// mail in byte-bounded calls) well under the gRPC limit both sides set on
// purpose; a command too large for the raft log is refused before it is
// proposed. docs/LIMITS.md lists them with the input limits.
const (
	// MaxPeerMessageBytes is the largest gRPC message a node sends to or
	// accepts from another node (the peer port, both directions).
	MaxPeerMessageBytes = 16 << 20
	// MaxEntryBytes is the largest raft entry an office proposes. An
	// installed registry snapshot may be larger (MaxSnapshotBytes): it is
	// the one entry that holds a whole registry.
	MaxEntryBytes = 8 << 20
	// MaxSnapshotBytes is the largest registry snapshot a node assembles
	// from the feed's chunks.
	MaxSnapshotBytes = 256 << 20
	// DefaultMaxCaseMessageBytes is the largest case message (a case's
	// whole log) sent to another office; a larger one is set aside.
	DefaultMaxCaseMessageBytes = 4 << 20

	// feedChunkBytes is the size of the pieces a large feed message is
	// sent in; feedBatchBytes how large a feed batch grows at most.
	feedChunkBytes = 1 << 20
	feedBatchBytes = 1 << 20
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
