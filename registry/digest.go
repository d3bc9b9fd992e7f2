package registry

import (
	"crypto/sha256"
	"encoding/hex"

	"google.golang.org/protobuf/proto"
)

// digestAt is a digest computed for one state at one index.
type digestAt struct {
	st    *state
	index uint64
	sum   string
}

// Digest returns the registry's index and a digest of its content at that
// index: offices, departments, items with every version, grants, staff,
// the node directory, calendars and policies — what every replica holds
// alike, at the county and in every office below it. It leaves out what
// a replica may hold differently: password hashes (the feed redacts them
// by office), the keys of query codes, and the changelog (its retention
// is per node). Two nodes at the same index, of one office or of two,
// must give the same digest; one that does not has parted from the
// county (docs/OPERATIONS.md). The digest is hex SHA-256 of the
// deterministic encoding of those parts of Snapshot, computed once per
// index.
func (r *Registry) Digest() (index uint64, digest string) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if d := r.digest.Load(); d != nil && d.st == r.st && d.index == r.st.index {
		return d.index, d.sum
	}
	s := r.snapshotLocked()
	s.Credentials, s.QueryCodeKeys, s.Changelog = nil, nil, nil
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(s)
	if err != nil {
		// The registry's own messages always encode; an error here is a
		// bug, and an empty digest matches no node's.
		return r.st.index, ""
	}
	sum := sha256.Sum256(b)
	d := &digestAt{st: r.st, index: r.st.index, sum: hex.EncodeToString(sum[:])}
	r.digest.Store(d)
	return d.index, d.sum
}
