package office

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"slices"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// Filing is a new case at this office: filed by staff (an agent, a
// window clerk) or by the citizen online (Actor.Citizen).
type Filing struct {
	Request   raftgroup.Request // the client's, for exactly-once
	ItemCode  string
	Applicant *yizhanv1.Applicant
	Materials []*yizhanv1.SubmittedMaterial
	Actor     casework.Actor
}

// Filed is what a filing gave.
type Filed struct {
	Case      *yizhanv1.Case // as the office holds it: nothing masked
	QueryCode string         // the citizen's; empty only for a replayed filing whose code cannot be made again, or was reissued since (it opens nothing)
	Replayed  bool           // the office had filed it already: this is that filing
	// Events is the case's log as applied, when this call filed it: its
	// one FILED event (nil for a replay: read the book). The answer is
	// made from it without reading the book back.
	Events []*yizhanv1.CaseEvent
}

// File files a case at this office (the leader only: see Leading). A
// filing under a request ID the office has seen answers that filing, with
// the same number and query code.
func (s *Service) File(ctx context.Context, f Filing) (Filed, error) {
	if err := s.Leading(); err != nil {
		return Filed{}, err
	}
	// An office started on an empty data directory numbers no case until
	// it knows whether it ran before (federation, firststart.go).
	if err := s.fed.CanNumber(); err != nil {
		return Filed{}, err
	}
	if c, ok, err := s.answered(f.Request); err != nil || ok {
		return s.refiled(c, f, err)
	}
	reg := s.fed.Registry()
	item, err := reg.ItemView(f.ItemCode, 0) // read only: the filing copies what it needs
	if err != nil {
		return Filed{}, registry.Invalid("item_code", reason.ItemNotFound, reason.Meta{"code": f.ItemCode}, "no item %q in the catalogue", f.ItemCode)
	}
	now := s.now()
	code, keyID, key, err := s.newQueryCode(f.Request)
	if err != nil {
		return Filed{}, err
	}
	number, giveBack := s.nextNumber(now)
	e, err := casework.NewFiling(casework.FileInput{
		Number: number, QueryCode: code, Item: item, Office: s.fed.Code(),
		Applicant: f.Applicant, Materials: f.Materials, Actor: f.Actor, At: now,
		QueryCodeKeyID: keyID, QueryCodeKey: key,
	}, reg)
	if err != nil {
		giveBack()
		return Filed{}, err
	}
	unlock := s.fed.LockCase(number)
	defer unlock()
	// The scans it names are checked, and the filing proposed, while the
	// sweep of scans no case names waits (naming): a scan a day old is
	// not dropped between the check and the filing's entry.
	s.naming.RLock()
	defer s.naming.RUnlock()
	if err := s.checkAttachmentsHeld(f.Materials, f.Actor.Office); err != nil {
		giveBack()
		return Filed{}, err
	}
	c, _, err := s.fed.AppendEventsOnce(ctx, f.Request, number, casework.GenesisHash(number), e)
	if err != nil {
		return Filed{}, err
	}
	if c.GetNumber() != number {
		// A retry that raced the first filing: the office answered with
		// the first one's case.
		giveBack()
		return s.refiled(c, f, nil)
	}
	return Filed{Case: c, QueryCode: code, Events: []*yizhanv1.CaseEvent{e}}, nil
}

// refiled is the answer to filing f, which the office had applied under
// its request: its case, and the same query code, made again from the
// request ID, unless the code was reissued since (none then: it opens
// nothing); only to a caller who may file here (casework.MayFile). A
// request ID is no authority of its own, and the code is the citizen's.
func (s *Service) refiled(c *yizhanv1.Case, f Filing, err error) (Filed, error) {
	if err != nil {
		return Filed{}, err
	}
	if err := casework.MayFile(f.Actor, s.fed.Code()); err != nil {
		return Filed{}, err
	}
	out := Filed{Case: c, Replayed: true}
	if laterReissue(s.fed.Cases().Events(c.GetNumber()), 1) != 0 {
		// Its code was reissued since: the filing's opens nothing.
		return out, nil
	}
	if seed := queryCodeSeed(f.Request, s.keyOf(c)); seed != nil {
		if code, err := casework.NewQueryCode(seed); err == nil {
			out.QueryCode = code
		}
	}
	return out, nil
}

// Action is an action on a case this office owns, asked for by staff or
// by the citizen (Actor.Citizen).
type Action struct {
	Request raftgroup.Request // the client's, for exactly-once
	Number  string
	Action  casework.Action
	Input   *yizhanv1.CaseActionRequest
	Actor   casework.Actor
	// Authorize, when set, runs under the case's lock before anything
	// else: the citizen's query-code check. filing is the case's filing,
	// nil when this office holds no such case (the check must answer as
	// it would for a wrong code).
	Authorize func(filing *yizhanv1.CaseFiling) error
}

// Acted is what an action gave.
type Acted struct {
	Case     *yizhanv1.Case // as the office holds it: nothing masked
	Replayed bool           // the office had done it already: this is its answer then
	// QueryCode is the new query code of a reissue (补发查询码), made
	// again the same from the request ID for a replay (a replay whose
	// code a later reissue replaced is refused, QUERY_CODE_SUPERSEDED).
	QueryCode string
}

// Act runs an action on a case this office owns (the leader only: see
// Leading): the event is built by casework.NewEvent (the rule table, the
// grants, the input), sealed on the case's last event, signed and
// proposed. An action under a request ID the office has done answers as
// it did then, whatever the case's state now.
func (s *Service) Act(ctx context.Context, a Action) (Acted, error) {
	if err := s.Leading(); err != nil {
		return Acted{}, err
	}
	unlock := s.fed.LockCase(a.Number)
	defer unlock()
	if c, ok, err := s.answered(a.Request); err != nil {
		return Acted{}, err
	} else if ok {
		return s.replay(c, a)
	}
	// A case the book cannot read whole (casebook.ErrDamaged: its record
	// without all its events) is answered so, naming it (CASE_DAMAGED,
	// logged once by the book): not acted on from what is left.
	c, events, held, err := s.fed.Cases().Read(a.Number)
	if err != nil {
		return Acted{}, err
	}
	if a.Authorize != nil {
		var filing *yizhanv1.CaseFiling
		if held {
			filing = events[0].GetFiling()
		}
		if held {
			filing = casework.QueryCodeFiling(events) // as the code now stands
		}
		if err := a.Authorize(filing); err != nil {
			return Acted{}, err
		}
	}
	if !held {
		return Acted{}, reason.Err(reason.CaseNotFound, fmt.Sprintf("office %s holds no case %s", s.fed.Code(), a.Number))
	}
	carried := s.carriedDigest(events, a.Request)
	if c, ok, err := carriedAnswer(events, a.Request.ID, carried); err != nil {
		return Acted{}, err
	} else if ok {
		return s.replay(c, a)
	}
	e, err := casework.NewEvent(c, events, a.Action, a.Input, a.Actor, s.fed.Code(), s.now(), s.fed.Registry())
	if err == nil && carried != nil && (a.Actor.Citizen || a.Actor.Office != s.fed.Code()) {
		// Asked where the case may not stay: the request goes with it
		// (carriedAnswer).
		e.RequestId, e.RequestHash = a.Request.ID, carried
	}
	if err == nil {
		// As a filing's (File): the sweep of scans no case names waits
		// until the event naming them is proposed.
		s.naming.RLock()
		defer s.naming.RUnlock()
		err = s.checkAttachmentsHeld(e.GetMaterials(), a.Actor.Office)
	}
	var code string
	if err == nil && a.Action == casework.ActionReissueQueryCode {
		code, err = s.reissue(e, a.Request, a.Number)
	}
	if err != nil {
		// A retry whose first attempt was applied meanwhile (its caller
		// gave up and let go of the lock while it was in raft) finds the
		// case moved on: it answers what the first did.
		if c, ok, aerr := s.answered(a.Request); aerr == nil && ok {
			return s.replay(c, a)
		}
		return Acted{}, err
	}
	c, replayed, err := s.fed.AppendEventsOnce(ctx, a.Request, a.Number, events[len(events)-1].GetHash(), e)
	if err != nil {
		return Acted{}, err
	}
	if replayed {
		// The first attempt was in the log when this one read the case
		// (its caller gave up and let go of the lock): it answers what
		// the first did, as a replay.
		return s.replay(c, a)
	}
	return Acted{Case: c, QueryCode: code}, nil
}

// Remember keeps request r in the office's memory, with no write of its
// own: a bulk request (RejectPrechecks) whose parts are written under
// request IDs derived from r's, so that r sent again with another body is
// refused (raftgroup.ErrRequestConflict) before any new part is done.
// replayed is true when the office held r already (its parts are then
// answered from their own IDs).
func (s *Service) Remember(ctx context.Context, r raftgroup.Request) (replayed bool, err error) {
	if r.ID == "" {
		return false, nil
	}
	if err := s.Leading(); err != nil {
		return false, err
	}
	if _, _, ok, err := s.fed.Answered(r); err != nil || ok {
		return ok, err
	}
	_, err = s.fed.ProposeCase(ctx, &peerv1.CaseCommand{AtUnixNano: s.now().UnixNano(), RequestId: r.ID, RequestHash: r.Hash,
		Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{}}})
	return false, err
}

// replay is the answer to action a, done before under its request ID:
// the case c it answered with then (c's last event is the action's), and
// for a reissue the query code again. Only to a caller who may ask for
// the action, by the rule table's checks of who asks
// (casework.MayAsk: the role, the department, another person than who
// accepted, the filing office for a reissue), on the case as it stood
// before the action and as the office that did it: a request ID is no
// authority of its own. The state, the grants and the input, which the
// case has moved on from, are not checked again.
func (s *Service) replay(c *yizhanv1.Case, a Action) (Acted, error) {
	events := s.fed.Cases().Events(c.GetNumber())
	n := int(c.GetLastSeq())
	if n < 1 || n > len(events) {
		return Acted{}, fmt.Errorf("office: request %q answered with event %d of case %s, which this office's log does not hold", a.Request.ID, n, c.GetNumber())
	}
	e := events[n-1]
	if err := casework.MayAsk(events[:n-1], e, a.Action, a.Actor, e.GetOfficeCode(), s.fed.Registry()); err != nil {
		return Acted{}, err
	}
	acted := Acted{Case: c, Replayed: true}
	if a.Action == casework.ActionReissueQueryCode {
		// The code is the case's only while no later reissue replaced it:
		// a dead code handed out again would open nothing, and the
		// citizen would not know why.
		if later := laterReissue(events, n); later != 0 {
			return Acted{}, reason.Status(reason.QueryCodeSuperseded,
				fmt.Sprintf("the query code reissued under request %q was replaced by the reissue at event %d of case %s and opens nothing: reissue again, under a new request_id, for a new one", a.Request.ID, later, c.GetNumber()),
				reason.Meta{"number": c.GetNumber(), "seq": reason.Itoa(later)}, 0).Err()
		}
		acted.QueryCode = s.reissuedCode(a.Request, c.GetNumber(), e)
	}
	return acted, nil
}

// laterReissue is the seq of the last query-code reissue in a case's log
// events after its first seq events, 0 when there is none: a code given
// by then opens nothing since.
func laterReissue(events []*yizhanv1.CaseEvent, seq int) int {
	for i := len(events) - 1; i >= max(seq, 1); i-- {
		if events[i].GetType() == yizhanv1.EventType_EVENT_TYPE_QUERY_CODE_REISSUED {
			return i + 1
		}
	}
	return 0
}

// carriedDigest is what an event keeps of request r to answer its retry
// elsewhere (carriedAnswer): an HMAC of the request's hash under the
// case's query-code key, not the hash itself, which covers the citizen's
// query code and would let any reader of the log test guesses at it
// offline. nil without a request ID or a key.
func (s *Service) carriedDigest(events []*yizhanv1.CaseEvent, r raftgroup.Request) []byte {
	if r.ID == "" || len(events) == 0 {
		return nil
	}
	key, ok := s.fed.Registry().QueryCodeKey(events[0].GetFiling().GetQueryCodeKeyId())
	if !ok || len(key) == 0 {
		return nil
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("yizhan-carried-request:"))
	m.Write(r.Hash)
	return m.Sum(nil)
}

// carriedAnswer looks request id up in the case's own log: an action
// asked by the citizen, or from another office, carries its request's ID
// and digest (carriedDigest) in its event (Act), which travels with the
// case. So a retry whose first answer was lost, and which reaches the
// office the case has moved on to since (whose memory of requests never
// held it), is answered as the first was: the case as that event left
// it. The same ID with another body is a conflict, as in the office's
// memory.
func carriedAnswer(events []*yizhanv1.CaseEvent, id string, digest []byte) (*yizhanv1.Case, bool, error) {
	if id == "" || digest == nil {
		return nil, false, nil
	}
	i := slices.IndexFunc(events, func(e *yizhanv1.CaseEvent) bool { return e.GetRequestId() == id })
	if i < 0 {
		return nil, false, nil
	}
	if !hmac.Equal(events[i].GetRequestHash(), digest) {
		return nil, false, fmt.Errorf("office: request %q was made on case %s with another body: %w", id, events[0].GetFiling().GetNumber(), raftgroup.ErrRequestConflict)
	}
	c, err := casework.Fold(events[:i+1])
	if err != nil {
		return nil, false, err
	}
	return c, true, nil
}

// answered looks a request up in the office's memory: the case it
// answered with, ok when the office had applied it.
func (s *Service) answered(r raftgroup.Request) (*yizhanv1.Case, bool, error) {
	return Answered[*yizhanv1.Case](s, r)
}

// nextNumber hands out the next case number of this office for the day.
// Numbers are unique without coordination between offices: each office
// numbers its own, on its leader, above both the highest number its book
// holds and the last one handed out here. The leader numbers only once it
// has applied what its predecessor committed (Leading), so the book holds
// every number used.
// giveBack returns a number nothing was filed under, but only while it is
// still the last one handed out: when another filing took the next number
// meanwhile, the number given back stays unused. A filing whose proposal
// failed keeps its number too (raft may still commit it). So a day's
// numbers rise but may have gaps.
func (s *Service) nextNumber(now time.Time) (number string, giveBack func()) {
	day := now.In(registry.CST).Format("20060102")
	// Read the book before taking the lock: the book's lock waits for the
	// raft applies, which the filings queued here must not wait for too.
	applied := s.fed.Cases().NextSeq(day)
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := max(s.seqs[day], applied)
	s.seqs[day] = seq + 1
	return casework.CaseNumber(s.fed.Code(), now, seq), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.seqs[day] == seq+1 {
			s.seqs[day] = seq
		}
	}
}

// newQueryCode is a new case's query code, and the key its filing keeps
// the code's HMAC under: the registry's newest. A registry without a key
// (a county that has not made one yet, or an office whose feed has not
// brought it) files under the unkeyed hash of older cases, and says so.
// A filing with a request ID gets its code from the ID (queryCodeSeed), so
// that a retry answers with the same code.
func (s *Service) newQueryCode(r raftgroup.Request) (code string, keyID uint32, key []byte, err error) {
	keyID, key, ok := s.fed.Registry().NewestQueryCodeKey()
	if !ok {
		s.log.Warn("filing under the unkeyed query-code hash: the registry holds no query-code key yet")
	}
	var src io.Reader = rand.Reader
	if seed := queryCodeSeed(r, key); seed != nil {
		src = seed
	}
	code, err = casework.NewQueryCode(src)
	if err != nil {
		return "", 0, nil, err
	}
	return code, keyID, key, nil
}

// queryCodeSeed is where a filing's query code comes from: with a request
// ID, an HMAC of it under the office's query-code key, so that a retried
// filing answers with the same code without the code being kept anywhere;
// otherwise (nil) the system's randomness.
func queryCodeSeed(r raftgroup.Request, key []byte) io.Reader {
	if r.ID == "" || len(key) == 0 {
		return nil
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("yizhan-query-code-of-request:"))
	mac.Write([]byte(r.ID))
	return bytes.NewReader(mac.Sum(nil))
}

// keyOf is the query-code key case c was filed under, nil when this node
// does not hold it.
func (s *Service) keyOf(c *yizhanv1.Case) []byte {
	events := s.fed.Cases().Events(c.GetNumber())
	if len(events) == 0 {
		return nil
	}
	key, _ := s.fed.Registry().QueryCodeKey(events[0].GetFiling().GetQueryCodeKeyId())
	return key
}

// reissue makes a new query code for case number and puts what the case
// keeps of it in e (QUERY_CODE_REISSUED): its MAC under the registry's
// newest query-code key. The code comes from the request ID when there is
// one, so that a retry answers the same code (reissuedCode).
func (s *Service) reissue(e *yizhanv1.CaseEvent, r raftgroup.Request, number string) (string, error) {
	keyID, key, ok := s.fed.Registry().NewestQueryCodeKey()
	var seed io.Reader = rand.Reader
	if ok {
		if s := reissueSeed(r, key, number); s != nil {
			seed = s
		}
	}
	code, err := casework.NewQueryCode(seed)
	if err != nil {
		return "", err
	}
	if ok {
		e.QueryCodeHash, e.QueryCodeKeyId = casework.QueryCodeMAC(key, number, code), keyID
	} else {
		e.QueryCodeHash = casework.QueryCodeHash(casework.NormalizeQueryCode(code))
	}
	return code, nil
}

// reissuedCode is the code the reissue under request r gave (its event
// e), made again under the key e kept it under; "" when it cannot be (no
// request ID, or the key is gone).
func (s *Service) reissuedCode(r raftgroup.Request, number string, e *yizhanv1.CaseEvent) string {
	key, ok := s.fed.Registry().QueryCodeKey(e.GetQueryCodeKeyId())
	if !ok {
		return ""
	}
	if seed := reissueSeed(r, key, number); seed != nil {
		if code, err := casework.NewQueryCode(seed); err == nil {
			return code
		}
	}
	return ""
}

// reissueSeed is queryCodeSeed for a reissue of case number: the number
// and the action are in it, so that a request ID reused elsewhere (on
// another case, or for a filing) never gives the same code.
func reissueSeed(r raftgroup.Request, key []byte, number string) io.Reader {
	if r.ID == "" || len(key) == 0 {
		return nil
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("yizhan-reissued-query-code:"))
	mac.Write([]byte(number))
	mac.Write([]byte{0})
	mac.Write([]byte(r.ID))
	return bytes.NewReader(mac.Sum(nil))
}
