package registry

import (
	"crypto/sha256"
	"encoding/hex"

	"google.golang.org/protobuf/proto"
)

// digestAt is a digest computed for the state a number of restores made,
// at one index.
type digestAt struct {
	restores uint64
	index    uint64
	sum      string
}

// Digest returns the registry's index and a digest of its content at that
// index: offices, departments, items with every version, grants, staff,
// the node directory, calendars, policies and query-code keys — what
// every replica holds alike, at the county and in every office below it.
// It leaves out what a replica may hold differently: password hashes (the
// feed redacts them by office), the changelog (its retention is per
// node) and the newest command's time (NewestCommandTime). Two nodes of
// one release at the same index, of one office or of two, give the same
// digest; one that does not has parted from the county
// (docs/OPERATIONS.md). Nodes of different releases may not: the digest
// is hex SHA-256 of the deterministic protobuf encoding of those parts of
// Snapshot, which a release that adds a field changes. Computed once per
// index; the encoding is done outside the registry's lock.
func (r *Registry) Digest() (index uint64, digest string) {
	r.mu.RLock()
	restores, index := r.restores, r.st.index
	if d := r.digest.Load(); d != nil && d.restores == restores && d.index == index {
		r.mu.RUnlock()
		return index, d.sum
	}
	s := r.snapshotLocked(false)
	r.mu.RUnlock()
	s.Credentials = nil
	s.NewestCommandAtUnixNano = 0 // per node (NewestCommandTime)
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(s)
	if err != nil {
		// The registry's own messages always encode: a bug. The status
		// then has no digest, which a comparison treats as missing.
		return index, ""
	}
	sum := sha256.Sum256(b)
	d := &digestAt{restores: restores, index: index, sum: hex.EncodeToString(sum[:])}
	r.digest.Store(d) // a slower call for an older index may overwrite it: only a cache
	return index, d.sum
}
