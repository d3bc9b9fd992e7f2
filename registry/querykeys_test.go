package registry

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
)

func putQueryCodeKey(id uint32, key []byte) *peerv1.RegistryCommand {
	cmd := command("node:county-1")
	cmd.Op = &peerv1.RegistryCommand_PutQueryCodeKey{PutQueryCodeKey: &peerv1.PutQueryCodeKey{Key: &peerv1.QueryCodeKey{Id: id, Key: key}}}
	return cmd
}

func TestQueryCodeKeys(t *testing.T) {
	r := newCounty(t)
	if _, _, ok := r.NewestQueryCodeKey(); ok {
		t.Fatal("a new registry holds a query-code key")
	}
	k1, k2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	mustApply(t, r, putQueryCodeKey(1, k1))

	wantViolation(t, rejected(t, r, putQueryCodeKey(3, k2)), "key.id")
	wantViolation(t, rejected(t, r, putQueryCodeKey(2, k2[:16])), "key.key")
	wantViolation(t, rejected(t, r, putQueryCodeKey(0, k2)), "key.id")
	wantError(t, rejected(t, r, putQueryCodeKey(1, k2)), "", ErrAlreadyExists)
	wantViolation(t, rejected(t, r, &peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_PutQueryCodeKey{PutQueryCodeKey: &peerv1.PutQueryCodeKey{}}}), "key")

	mustApply(t, r, putQueryCodeKey(2, k2))
	id, key, ok := r.NewestQueryCodeKey()
	if !ok || id != 2 || !bytes.Equal(key, k2) {
		t.Errorf("NewestQueryCodeKey = %d, %x, %v; want 2", id, key, ok)
	}
	key[0] = 99 // a copy: the registry's key stays
	if old, ok := r.QueryCodeKey(1); !ok || !bytes.Equal(old, k1) {
		t.Errorf("QueryCodeKey(1) = %x, %v", old, ok)
	}
	if again, _ := r.QueryCodeKey(2); !bytes.Equal(again, k2) {
		t.Error("the caller changed the stored key")
	}

	// The keys reach every office, unredacted, in snapshots and in the
	// changelog, and a restored or replaying office holds the same keys.
	snap := RedactSnapshot(r.Snapshot(), village)
	if len(snap.GetQueryCodeKeys()) != 2 {
		t.Fatalf("a village's snapshot holds %d query-code keys, want 2", len(snap.GetQueryCodeKeys()))
	}
	restored := New(Options{})
	if err := restored.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if k, ok := restored.QueryCodeKey(2); !ok || !bytes.Equal(k, k2) {
		t.Errorf("restored QueryCodeKey(2) = %x, %v", k, ok)
	}
	replica := New(Options{})
	entries, _ := r.ChangelogSince(0, 0)
	for _, e := range entries {
		if err := replica.Replay(RedactEntry(e, village)); err != nil {
			t.Fatal(err)
		}
	}
	if !proto.Equal(replica.Snapshot(), r.Snapshot()) {
		t.Error("a replica that replayed the changelog differs")
	}

	bad := proto.CloneOf(snap)
	bad.QueryCodeKeys[1].Id = 5
	if err := New(Options{}).Restore(bad); err == nil {
		t.Error("a snapshot with key ids 1, 5 was restored")
	}
}
