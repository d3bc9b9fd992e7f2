package raftgroup

// The sizes of raft entries. Every message between nodes is cut to travel
// well under the gRPC limit (federation/forward's MaxPeerMessageBytes); a
// command too large for the raft log is refused before it is proposed, so
// nothing is committed that could not travel on down the tree.
// docs/LIMITS.md lists them with the input limits.
const (
	// MaxEntryBytes is the largest raft entry an office proposes. An
	// installed registry snapshot may be larger (MaxSnapshotBytes): it is
	// the one entry that holds a whole registry.
	MaxEntryBytes = 8 << 20
	// MaxSnapshotBytes is the largest registry snapshot a node assembles
	// from the feed's chunks: it must fit one raft entry of the log store
	// (raft-wal reads back entries up to 64 MiB: walstore.MaxLogBytes).
	// A registry is a few MB (docs/LIMITS.md).
	MaxSnapshotBytes = 48 << 20
)
