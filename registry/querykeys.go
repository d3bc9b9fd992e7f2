package registry

import (
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
)

// Query-code keys. A case keeps an HMAC of its citizen's query code under
// one of these keys (casework.QueryCodeMAC). The county makes a key when
// it bootstraps (PutQueryCodeKey, 32 random bytes fixed by the proposer)
// and the feed brings it to every office unredacted: any office on a
// case's path checks its query code. Nothing here serves a key to a
// reader: QueryCodeKey and NewestQueryCodeKey are for the node's own
// checks (and the web UI's CSRF key, derived from the newest in
// node/webkey.go), and no public API returns them. Keys are added, never
// replaced: a case names the key id it was filed under, and older ids
// stay.

// QueryCodeKeyLen is the length of a query-code key in bytes.
const QueryCodeKeyLen = 32

// checkQueryCodeKey: ids count up from 1 without gaps, and a key is 32
// bytes.
func (s *state) checkQueryCodeKey(k *peerv1.QueryCodeKey) error {
	var vs violations
	if k == nil {
		vs.add("key", "is required")
		return vs.err()
	}
	if _, ok := s.queryCodeKeys[k.GetId()]; ok {
		return fmt.Errorf("query-code key %d: %w", k.GetId(), ErrAlreadyExists)
	}
	if next := s.newestQueryCodeKey() + 1; k.GetId() != next {
		vs.add("key.id", "must be %d, the next key id, got %d", next, k.GetId())
	}
	if len(k.GetKey()) != QueryCodeKeyLen {
		vs.add("key.key", "must be %d bytes, got %d", QueryCodeKeyLen, len(k.GetKey()))
	}
	return vs.err()
}

// newestQueryCodeKey is the highest key id, 0 when there is none.
func (s *state) newestQueryCodeKey() uint32 {
	var newest uint32
	for id := range s.queryCodeKeys {
		newest = max(newest, id)
	}
	return newest
}

// QueryCodeKey returns a copy of query-code key id; ok is false when this
// replica does not hold it (none yet, or its feed is behind).
func (r *Registry) QueryCodeKey(id uint32) (key []byte, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.st.queryCodeKeys[id]
	if !ok {
		return nil, false
	}
	return slices.Clone(k.GetKey()), true
}

// NewestQueryCodeKey returns the key new cases are filed under: the
// highest id. ok is false when the registry holds none.
func (r *Registry) NewestQueryCodeKey() (id uint32, key []byte, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	id = r.st.newestQueryCodeKey()
	if id == 0 {
		return 0, nil, false
	}
	return id, slices.Clone(r.st.queryCodeKeys[id].GetKey()), true
}

// snapshotQueryCodeKeys lists the keys by id. Caller holds r.mu.
func (s *state) snapshotQueryCodeKeys() []*peerv1.QueryCodeKey {
	ids := make([]uint32, 0, len(s.queryCodeKeys))
	for id := range s.queryCodeKeys {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]*peerv1.QueryCodeKey, 0, len(ids))
	for _, id := range ids {
		out = append(out, proto.CloneOf(s.queryCodeKeys[id]))
	}
	return out
}

// restoreQueryCodeKeys takes the keys of a snapshot, checked like
// commands: ids 1, 2, … and keys of 32 bytes.
func (s *state) restoreQueryCodeKeys(keys []*peerv1.QueryCodeKey) error {
	for _, k := range keys {
		if err := s.checkQueryCodeKey(k); err != nil {
			return invalidSnapshot("query-code key %d: %v", k.GetId(), err)
		}
		s.queryCodeKeys[k.GetId()] = proto.CloneOf(k)
	}
	return nil
}
