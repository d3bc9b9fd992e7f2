package casework

import (
	"bytes"
	"crypto/sha256"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The hash chain. Each event holds the hash of the one before (the first
// holds the case's genesis hash) and its own hash, so a log can be checked
// by anyone holding it, and two offices can tell whether their copies
// agree by comparing the last hash.

// GenesisHash is the prev_hash of a case's first event: SHA-256 of
// "yizhan-case:"+number.
func GenesisHash(number string) []byte {
	h := sha256.Sum256([]byte("yizhan-case:" + number))
	return h[:]
}

// HashEvent returns SHA-256 of the deterministic protobuf encoding of e
// with hash, signature and signer_chain cleared. It returns nil when e
// cannot be encoded (a string field that is not UTF-8); no stored hash
// matches nil, so such an event never verifies.
//
// The encoding is e's own with the records of those three fields left
// out: protobuf-go writes a message's fields in the order of their
// numbers, each as its own records (one per element of a repeated
// field; unknown fields last), and a cleared field writes nothing, so
// the bytes are those of a copy with the fields cleared, without copying
// the event (its filing and signer chain: a deep copy cost more than the
// encoding and the hash together).
func HashEvent(e *yizhanv1.CaseEvent) []byte {
	if e == nil {
		return nil
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(e)
	if err != nil {
		return nil
	}
	return hashEncoding(b)
}

// hashEncoding is HashEvent of an event's deterministic encoding b: the
// SHA-256 of its records but those of hash, signature and signer_chain,
// nil when b does not parse.
func hashEncoding(b []byte) []byte {
	h := sha256.New()
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil
		}
		if num != eventHashField && num != eventSignatureField && num != eventSignerChainField {
			h.Write(b[:n+m])
		}
		b = b[n+m:]
	}
	return h.Sum(nil)
}

// The fields HashEvent leaves out.
var eventHashField, eventSignatureField, eventSignerChainField = func() (h, s, c protowire.Number) {
	fields := (&yizhanv1.CaseEvent{}).ProtoReflect().Descriptor().Fields()
	return fields.ByName("hash").Number(), fields.ByName("signature").Number(), fields.ByName("signer_chain").Number()
}()

// Seal sets e's prev_hash to prevHash and its hash to HashEvent(e). Sign
// after sealing: the signature is over the hash.
func Seal(e *yizhanv1.CaseEvent, prevHash []byte) {
	e.PrevHash = bytes.Clone(prevHash)
	e.Hash = HashEvent(e)
}

// hashOK reports whether e's hash is its HashEvent.
func hashOK(e *yizhanv1.CaseEvent) bool {
	h := HashEvent(e)
	return h != nil && bytes.Equal(e.GetHash(), h)
}

// HashesMatch reports whether every event's hash is its HashEvent: the
// check Follows makes of each event's hash, made ahead of the apply
// (ApplyCommandHashed).
func HashesMatch(events []*yizhanv1.CaseEvent) bool {
	for _, e := range events {
		if !hashOK(e) {
			return false
		}
	}
	return true
}

// VerifyChain checks a case's whole log: seqs 1..n with no gap, the first
// event FILED with filing.number == number and no other FILED, each
// prev_hash the hash of the event before (the genesis hash for the first)
// and each hash right. The error (wrapping ErrConflict) names the first
// bad seq. Signatures are not checked here.
func VerifyChain(number string, events []*yizhanv1.CaseEvent) error {
	if len(events) == 0 {
		return fmt.Errorf("case %s: no events: %w", number, ErrConflict)
	}
	prev := GenesisHash(number)
	for i, e := range events {
		want := uint32(i + 1)
		switch {
		case e == nil:
			return fmt.Errorf("case %s: event %d is missing: %w", number, want, ErrConflict)
		case e.GetSeq() != want:
			return fmt.Errorf("case %s: event %d has seq %d: %w", number, want, e.GetSeq(), ErrConflict)
		case i == 0 && e.GetType() != yizhanv1.EventType_EVENT_TYPE_FILED:
			return fmt.Errorf("case %s: seq 1 is %s, want EVENT_TYPE_FILED: %w", number, e.GetType(), ErrConflict)
		case i == 0 && e.GetFiling().GetNumber() != number:
			return fmt.Errorf("case %s: seq 1 files case %q: %w", number, e.GetFiling().GetNumber(), ErrConflict)
		case i > 0 && e.GetType() == yizhanv1.EventType_EVENT_TYPE_FILED:
			return fmt.Errorf("case %s: seq %d files the case again: %w", number, want, ErrConflict)
		case !bytes.Equal(e.GetPrevHash(), prev) && i == 0:
			return fmt.Errorf("case %s: seq 1: prev_hash is not the case's genesis hash: %w", number, ErrConflict)
		case !bytes.Equal(e.GetPrevHash(), prev):
			return fmt.Errorf("case %s: seq %d: prev_hash is not the hash of seq %d: %w", number, want, want-1, ErrConflict)
		case !hashOK(e):
			return fmt.Errorf("case %s: seq %d: hash does not match the event: %w", number, want, ErrConflict)
		}
		prev = e.GetHash()
	}
	return nil
}
