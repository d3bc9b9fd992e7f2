package raftgroup

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/reason"
)

// Exactly-once writes. A client may send a write again when it did not
// hear the answer (a lost connection, a leader lost in flight: "outcome
// unknown"). With a request ID, the office applies it once: the state
// machine remembers each request ID with a hash of the request and the
// answer it gave, in the replicated state (so every node of the office,
// and a new leader, knows it), for RequestMemory after the command's own
// time. A command whose request ID is remembered is not applied again: it
// answers what the first one did; with another request hash it fails with
// ErrRequestConflict. Only writes that succeeded are remembered: one that
// failed changed nothing, and may be sent again as it is.
//
// Expiry reads no clock: each command's time (fixed by its proposer, in
// the log) moves the window on, so every node forgets the same records at
// the same entry. The count is bounded too (maxRequests, oldest first).

// RequestMemory is how long an office remembers a request ID.
const RequestMemory = 24 * time.Hour

// maxRequests bounds the request IDs of registry writes remembered (those
// of case writes are in the case book: casebook.MaxRequests); past it the
// oldest go first, whatever their age. Registry writes are made at the
// county by its admins, some hundreds on a busy day; each record holds its
// answer (a registry entity, 1–3 KB), so the bound keeps the memory and
// the snapshots within about 150 MB even under a flood of writes.
const maxRequests = 50_000

// MaxRequestIDLen is the longest request ID a client may send.
const MaxRequestIDLen = 64

// ErrRequestConflict is returned for a request ID already used for
// another request.
var ErrRequestConflict error = reason.New(reason.RequestIDReused, "federation: the request ID was used for another request")

// Request identifies a client's write: its ID, and a hash of what it asks.
// The zero Request is a write without an ID (applied every time).
type Request struct {
	ID   string
	Hash []byte
}

// NewRequest returns the Request of method called with msg under id: the
// hash covers the method and msg with its request_id field cleared, so the
// same body under the same ID is the same request wherever it arrives.
func NewRequest(id, method string, msg proto.Message) (Request, error) {
	if id == "" {
		return Request{}, nil
	}
	if err := checkRequestID(id); err != nil {
		return Request{}, err
	}
	m := proto.CloneOf(msg)
	if fd := m.ProtoReflect().Descriptor().Fields().ByName("request_id"); fd != nil {
		m.ProtoReflect().Clear(fd)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return Request{}, fmt.Errorf("federation: hash request: %w", err)
	}
	h := sha256.New()
	h.Write([]byte(method))
	h.Write([]byte{0})
	h.Write(b)
	return Request{ID: id, Hash: h.Sum(nil)}, nil
}

// RequestIDError is a request ID a client may not use.
type RequestIDError struct{ Why string }

func (e *RequestIDError) Error() string { return "request_id: " + e.Why }

func checkRequestID(id string) error {
	if len(id) > MaxRequestIDLen {
		return &RequestIDError{Why: fmt.Sprintf("must be at most %d characters, got %d", MaxRequestIDLen, len(id))}
	}
	for _, r := range id {
		if r < 0x21 || r > 0x7e {
			return &RequestIDError{Why: "must be printable ASCII without spaces"}
		}
	}
	return nil
}

// requestLog is the state machine's memory of request IDs.
type requestLog struct {
	mu    sync.RWMutex // guards the fields below; written by Apply only
	byID  map[string]*peerv1.RequestRecord
	order []*peerv1.RequestRecord // by the time they were applied
}

func newRequestLog() *requestLog {
	return &requestLog{byID: map[string]*peerv1.RequestRecord{}}
}

// answered looks a request up: the answer and raft index of its first
// application, ok when it was applied; ErrRequestConflict when its ID
// was used for another request.
func (l *requestLog) answered(r Request) (proto.Message, uint64, bool, error) {
	if r.ID == "" {
		return nil, 0, false, nil
	}
	l.mu.RLock()
	rec, ok := l.byID[r.ID]
	l.mu.RUnlock()
	if !ok {
		return nil, 0, false, nil
	}
	v, index, ok, err := casebook.AnswerOf(rec, casebook.Request(r))
	if errors.Is(err, casebook.ErrRequestConflict) {
		err = fmt.Errorf("%w: %q", ErrRequestConflict, r.ID)
	}
	return v, index, ok, err
}

// once applies a command carrying request r at log index, at time at:
// a remembered request answers as before, unapplied; a new one is applied
// and, when it succeeded, remembered. Called by Apply only.
func (l *requestLog) once(r Request, index uint64, at int64, apply func() (proto.Message, error)) (proto.Message, uint64, error) {
	l.expire(at)
	if r.ID == "" {
		v, err := apply()
		return v, index, err
	}
	if v, first, ok, err := l.answered(r); err != nil || ok {
		return v, first, err
	}
	v, err := apply()
	if err != nil {
		return nil, index, err
	}
	rec := &peerv1.RequestRecord{Id: r.ID, Hash: r.Hash, AtUnixNano: at, Index: index}
	if v != nil {
		if a, aerr := anypb.New(v); aerr == nil {
			rec.Answer = a
		}
	}
	l.mu.Lock()
	l.byID[r.ID] = rec
	l.order = append(l.order, rec)
	l.mu.Unlock()
	return v, index, nil
}

// expire forgets the records older than RequestMemory before at, and the
// oldest beyond maxRequests.
func (l *requestLog) expire(at int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	cut := 0
	for cut < len(l.order) && (len(l.order)-cut > maxRequests || at-l.order[cut].GetAtUnixNano() > int64(RequestMemory)) {
		delete(l.byID, l.order[cut].GetId())
		cut++
	}
	if cut > 0 {
		// No copy on the apply path: drop the head, and let append move
		// the rest to a fresh array now and then.
		clear(l.order[:cut])
		l.order = l.order[cut:]
	}
}

func (l *requestLog) snapshot() []*peerv1.RequestRecord {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return slices.Clone(l.order) // records are never changed once stored
}

func (l *requestLog) restore(recs []*peerv1.RequestRecord) {
	nl := newRequestLog()
	for _, r := range recs { // just decoded: not shared with anyone
		if _, dup := nl.byID[r.GetId()]; dup {
			continue // a snapshot holds each once; keep the first, as Apply would
		}
		nl.byID[r.GetId()] = r
		nl.order = append(nl.order, r)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.byID, l.order = nl.byID, nl.order
}

// requestOf is the Request a command carries.
func requestOf(m interface {
	GetRequestId() string
	GetRequestHash() []byte
}) Request {
	return Request{ID: m.GetRequestId(), Hash: m.GetRequestHash()}
}
