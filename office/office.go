// Package office is the office service layer: the one place where an
// office's writes happen. A write comes in as a typed command — a Filing,
// an Action on a case, a RegistryWrite — and the layer:
//
//  1. checks that this node leads its office and has applied what its
//     predecessor committed (raftgroup.ErrNotLeader,
//     federation.ErrCatchingUp otherwise: nothing was done, and the caller
//     sends the request to the leader, see Leading);
//  2. looks the client's request ID up in the office's memory of requests
//     (exactly-once: a write applied already answers as it did then);
//  3. numbers a new case, makes its query code, builds the event with
//     casework's rules (the one rule table) and the registry's grants;
//  4. locks the case, seals the event on the last one, signs it, and
//     proposes it through the office's raft group;
//  5. answers a typed result, or a typed error (casework's, registry's,
//     federation's: each with its reason, see package reason).
//
// What the layer leaves to its callers (node's gRPC adapters): who the
// caller is (tokens, query codes and their attempt limits, as an Authorize
// function), what the caller may see (masking), where a request goes when
// this node may not serve it, and the wire.
package office

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/federation"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
)

// Service is one node's office service layer.
type Service struct {
	fed *federation.Office
	now func() time.Time
	log *slog.Logger

	mu   sync.Mutex        // guards seqs
	seqs map[string]uint32 // day → next case sequence handed out by this leader

	// stranded is how many of the office's cases the last reroute sweep
	// on this node found waiting for a step no office may do under the
	// grants in force (SweepReroutes), and in which term it led; nil
	// before the first sweep.
	stranded atomic.Pointer[strandedCount]

	scans scanQuota // the quota of scans no case names yet (attachments.go)
	// naming is held for reading by a filing or an action from its check
	// of the scans it names (checkAttachmentsHeld) until its event is
	// proposed, and for writing by the sweep of scans no case names while
	// it proposes (SweepAttachments): a scan is never dropped between a
	// filing's check and its entry. Taken after the case's lock.
	naming sync.RWMutex

	walkMu   sync.Mutex // guards lastWalk
	lastWalk rerouteWalk
	walks    atomic.Uint64 // the reroute sweep's walks of the queue on this node
}

// New returns the service layer over a node's part of its office.
func New(fed *federation.Office, now func() time.Time, log *slog.Logger) *Service {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{fed: fed, now: now, log: log, seqs: map[string]uint32{}, scans: scanQuota{slot: make(chan struct{}, 1)}}
}

// Leading reports whether writes can run on this node: nil when it leads
// its office, has applied what its predecessor committed and its clock is
// not known to be far from the county's (federation.Office.ClockOff:
// CLOCK_OFF, not forwardable);
// federation.ErrCatchingUp when it leads but has not (nothing is done
// meanwhile: the write is safe to send again shortly);
// raftgroup.ErrNotLeader when another node leads (the caller forwards).
func (s *Service) Leading() error {
	switch {
	case !s.fed.Group().IsLeader():
		return raftgroup.ErrNotLeader
	case !s.fed.LeaderReady():
		return federation.ErrCatchingUp
	}
	// Every write is dated by this node's clock: none while it is known
	// to be far off (CLOCK_OFF), and no sweep either.
	return s.fed.ClockOff()
}

// Answered is the answer office s gave to request r when it applied r
// before (ok), as a T. An answer remembered that is not a T (none, or
// another kind's: a write whose answer changed kind in a release, the
// hash being the same) is raftgroup.ErrRequestConflict, as another
// request under r's ID is: the ID was used for another kind of write and
// there is no first answer to give. Not ok, and no error, for a request
// the office has not applied, or one without an ID.
func Answered[T proto.Message](s *Service, r raftgroup.Request) (v T, ok bool, err error) {
	a, _, ok, err := s.fed.Answered(r)
	if err != nil || !ok {
		return v, false, err
	}
	v, isT := a.(T)
	if !isT {
		return v, false, fmt.Errorf("office: request %q was answered with %T, not %T: %w", r.ID, a, v, raftgroup.ErrRequestConflict)
	}
	return v, true, nil
}

// propose proposes cmd under request r (its ID and hash put in cmd) and
// returns its answer as a T: replayed when the office had applied r
// before the command reached the log (a retry that raced its first
// attempt past Answered), the answer being then the first one's, checked
// as Answered checks it.
func propose[T proto.Message](ctx context.Context, s *Service, r raftgroup.Request, cmd *peerv1.CaseCommand) (v T, replayed bool, err error) {
	cmd.RequestId, cmd.RequestHash = r.ID, r.Hash
	a, replayed, err := s.fed.ProposeCaseOnce(ctx, cmd)
	if err != nil {
		return v, false, err
	}
	v, isT := a.(T)
	if replayed && !isT {
		return v, false, fmt.Errorf("office: request %q was answered with %T, not %T: %w", r.ID, a, v, raftgroup.ErrRequestConflict)
	}
	return v, replayed, nil
}

// Forwardable reports whether err from a write means "not here": the
// caller may send the same request to the office's leader.
func Forwardable(err error) bool {
	return errors.Is(err, raftgroup.ErrNotLeader) && !errors.Is(err, federation.ErrCatchingUp)
}
