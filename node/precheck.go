package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// Online filings by citizens (网上申报) wait at the office where they were
// filed, in PRECHECK (预审), until staff there take them up (Precheck) or
// turn them down (RejectPrecheck, RejectPrechecks for spam in bulk); only
// then do they travel up the tree (casework: no mirror, no forward before).
// Anonymous filings are limited per client address (onlineFilings).

// maxBulkRejects bounds one RejectPrechecks call.
const maxBulkRejects = 200

func (s *caseService) Precheck(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionPrecheck)
}

func (s *caseService) RejectPrecheck(ctx context.Context, r *yizhanv1.CaseActionRequest) (*yizhanv1.CaseResponse, error) {
	return s.act(ctx, r, casework.ActionRejectPrecheck)
}

// RejectPrechecks turns many online filings down at once, each as
// RejectPrecheck would, and answers for each.
func (s *caseService) RejectPrechecks(ctx context.Context, req *yizhanv1.RejectPrechecksRequest) (*yizhanv1.RejectPrechecksResponse, error) {
	if _, err := s.n.authn.FromContext(ctx); err != nil {
		return nil, toStatus(err)
	}
	switch n := len(req.GetNumbers()); {
	case n == 0:
		return nil, fieldError("numbers", registry.ReasonRequired, reason.Meta{"input": "list"}, "name at least one case")
	case n > maxBulkRejects:
		return nil, fieldError("numbers", registry.ReasonTooMany, reason.Meta{"max": reason.Itoa(maxBulkRejects), "got": reason.Itoa(n)},
			fmt.Sprintf("must name at most %d cases, got %d", maxBulkRejects, n))
	}
	// The bulk's request ID (field or header) gives each part its own;
	// the office's leader remembers the bulk's, so that the ID sent again
	// with other cases or another reason is refused, not partly done.
	r, err := clientRequest(ctx, "RejectPrechecks", req)
	if err != nil {
		return nil, err
	}
	if r.ID == "" {
		return s.rejectEach(ctx, req)
	}
	return onLeader(ctx, s, func() (*yizhanv1.RejectPrechecksResponse, error) {
		replayed, err := s.n.svc.Remember(ctx, r)
		if err != nil {
			return nil, err
		}
		resp, err := s.rejectEach(ctx, req)
		return resp, replayedAnswer(ctx, replayed, err)
	}, func(ctx context.Context, c yizhanv1.CaseServiceClient) (*yizhanv1.RejectPrechecksResponse, error) {
		return c.RejectPrechecks(ctx, req)
	})
}

// rejectEach rejects each case req names, as RejectPrecheck would, under
// the request ID subRequestID gives it.
func (s *caseService) rejectEach(ctx context.Context, req *yizhanv1.RejectPrechecksRequest) (*yizhanv1.RejectPrechecksResponse, error) {
	seen := map[string]bool{}
	resp := &yizhanv1.RejectPrechecksResponse{}
	for _, number := range req.GetNumbers() {
		if seen[number] {
			continue
		}
		seen[number] = true
		res := &yizhanv1.RejectPrechecksResponse_Result{Number: number}
		_, err := s.RejectPrecheck(ctx, &yizhanv1.CaseActionRequest{Number: number, Reason: req.GetReason(),
			RequestId: subRequestID(req.GetRequestId(), number)})
		if err != nil {
			if st, _ := status.FromError(err); st.Code() == codes.InvalidArgument && number != "" {
				// The reason is the same for all: one bad, all bad.
				if _, ok := firstViolation(st, "reason"); ok {
					return nil, err
				}
			}
			res.Error = status.Convert(err).Message()
		} else {
			res.Rejected = true
		}
		resp.Results = append(resp.Results, res)
	}
	return resp, nil
}

// subRequestID is the request ID of one case's part of a bulk request:
// derived from the bulk's, so that a retried bulk retries each part.
func subRequestID(bulk, number string) string {
	if bulk == "" {
		return ""
	}
	h := sha256.Sum256([]byte(bulk + "\x00" + number))
	return "bulk-" + hex.EncodeToString(h[:16])
}

// firstViolation finds the BadRequest violation of field in st.
func firstViolation(st *status.Status, field string) (*errdetails.BadRequest_FieldViolation, bool) {
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return v, true
				}
			}
		}
	}
	return nil, false
}

// filingLimiter limits anonymous online filings per client address: a
// bucket of onlineFilingBurst filings, one more every onlineFilingEvery.
// It counts on the node the citizen reached, in memory: a county of three
// nodes lets three times as many through, which is still far from a flood.
type filingLimiter struct {
	now func() time.Time

	mu      sync.Mutex // guards buckets and sweepAt
	buckets map[string]*filingBucket
	sweepAt int // the map's size at which the next sweep runs
}

type filingBucket struct {
	tokens float64
	at     time.Time
}

const (
	onlineFilingBurst = 5
	onlineFilingEvery = 2 * time.Minute
	maxFilingBuckets  = 100_000
)

func newFilingLimiter(now func() time.Time) *filingLimiter {
	return &filingLimiter{now: now, buckets: map[string]*filingBucket{}, sweepAt: maxFilingBuckets}
}

// allow takes one filing from addr's bucket, or answers ResourceExhausted
// with when to try again. giveBack returns the filing to the bucket: for a
// filing that was refused, or a retry the office had filed already.
func (l *filingLimiter) allow(addr string) (giveBack func(), err error) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[addr]
	if b == nil {
		if len(l.buckets) >= l.sweepAt {
			l.sweep(now)
			// Sweep again only once the map has doubled: a map full of
			// recent buckets must not be scanned at every new address.
			l.sweepAt = max(2*len(l.buckets), maxFilingBuckets)
		}
		b = &filingBucket{tokens: onlineFilingBurst, at: now}
		l.buckets[addr] = b
	}
	b.tokens = min(onlineFilingBurst, b.tokens+float64(now.Sub(b.at))/float64(onlineFilingEvery))
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		var once sync.Once
		return func() {
			once.Do(func() {
				l.mu.Lock()
				defer l.mu.Unlock()
				b.tokens = min(onlineFilingBurst, b.tokens+1)
			})
		}, nil
	}
	wait := time.Duration((1 - b.tokens) * float64(onlineFilingEvery))
	secs := int((wait + time.Second - 1) / time.Second)
	return nil, reason.Status(reason.TooManyFilings,
		fmt.Sprintf("too many online filings from this address: try again in %d seconds, or file at a service point", secs),
		reason.Meta{"retryAfterSeconds": reason.Itoa(secs)}, time.Duration(secs)*time.Second).Err()
}

// sweep forgets the buckets that have filled up again. Caller holds l.mu.
func (l *filingLimiter) sweep(now time.Time) {
	for a, b := range l.buckets {
		if now.Sub(b.at) >= onlineFilingBurst*onlineFilingEvery {
			delete(l.buckets, a)
		}
	}
}

// checkOnlineFiling limits a citizen's filing by address where it enters
// the federation; staff are not limited, and a filing a node forwards (to
// its leader) was counted where it came in.
func (s *caseService) checkOnlineFiling(ctx context.Context, p *auth.Principal) (giveBack func(), err error) {
	if p != nil || forwardedByNode(ctx) {
		return func() {}, nil
	}
	return s.filings.allow(clientAddr(ctx))
}

// unlessDone is an address's allowance (giveBack, err from
// filingLimiter.allow), except for a retry of a write this office has
// done already under r's request ID (its answer lost): that one is
// answered as the first was, whatever the address has spent since, and
// costs nothing.
func (s *caseService) unlessDone(r raftgroup.Request, giveBack func(), err error) (func(), error) {
	if err != nil && r.ID != "" {
		if _, _, done, aerr := s.n.office.Answered(r); aerr == nil && done {
			return func() {}, nil
		}
	}
	return giveBack, err
}

// forwardedByNode reports whether a call came from another node of the
// federation (the peer port, a certificate of the county CA), not from a
// client on the HTTP port.
func forwardedByNode(ctx context.Context) bool {
	if _, ok := ctx.Value(clientAddrKey{}).(string); ok {
		return false // the HTTP port, or pinned from it
	}
	p, ok := peer.FromContext(ctx)
	if !ok {
		return false
	}
	ti, ok := p.AuthInfo.(credentials.TLSInfo)
	return ok && len(ti.State.VerifiedChains) > 0
}
