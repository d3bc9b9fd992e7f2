package casework

import (
	"bytes"
	"fmt"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/yizhan-gov/yizhan/registry"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Store is what applying a case command reads and writes: an office's
// case book, held in memory (Book) or on disk (package casebook). The
// rules are here, once; a store only keeps what it is given. Values
// passed in belong to the store from then on; values it returns may be
// changed by the caller (clones, or decoded afresh).
type Store interface {
	// Load returns the case's folded view (Mirror unset) and its whole
	// log; ok is false when the book does not hold the case.
	Load(number string) (c *yizhanv1.Case, events []*yizhanv1.CaseEvent, ok bool)
	// Save stores the case: c folded from events, its whole log, of which
	// the last added are new (all of them: a new case). pending is
	// Pending(c, events, office): the office must act on it by itself.
	Save(number string, c *yizhanv1.Case, events []*yizhanv1.CaseEvent, added int, pending bool)
	// OutboxEntry returns the message waiting for dest's receipt for the
	// case, nil when none.
	OutboxEntry(dest, number string) *peerv1.OutboxEntry
	// PutOutboxEntry adds or replaces an outbox entry.
	PutOutboxEntry(en *peerv1.OutboxEntry)
	// DeleteOutboxEntry drops an outbox entry.
	DeleteOutboxEntry(dest, number string)
	// QuarantinedEntry returns the entry for (dest, case) set aside as
	// undeliverable, nil when none.
	QuarantinedEntry(dest, number string) *peerv1.QuarantinedEntry
	// PutQuarantinedEntry sets an entry aside.
	PutQuarantinedEntry(q *peerv1.QuarantinedEntry)
	// DeleteQuarantinedEntry drops an entry set aside.
	DeleteQuarantinedEntry(dest, number string)
	// CardIssued reports whether the book has issued the case a
	// supervision card of rule r, withdrawn since or not.
	CardIssued(number string, r yizhanv1.CardRule) bool
}

// ApplyCommand applies one case command of office's raft log to its book
// s. It is deterministic: the same commands on the same registry state
// give the same book. On error it has written nothing.
//
// Append{case_number, events} appends events made by this office, which
// owns the case; a FILED first event creates the case (its number must be
// new and of this office, else ErrConflict). Each event must be appended
// by this office, follow the log (Follows: seq, prev_hash, hash:
// ErrConflict) and be Permitted (ErrPermissionDenied for the office's
// rights, ErrFailedPrecondition for the state). It returns the folded
// *yizhanv1.Case and queues outbox entries: a mirror to the parent office
// (none at the county, nor while an online filing waits for its pre-check
// or was turned down there, unless it waited past §32's deadline:
// MailLateFilingUp), a mirror down toward the office where the
// case was filed (when that is below this one), and, when the last event
// is FORWARDED to X, a handoff to X (to the parent or the child toward
// the origin: the same entry, handoff set).
//
// Receive{messages} stores messages from neighbouring offices, each on
// its own, and returns a *peerv1.DeliverCasesResponse with one receipt
// per message: have_seq, or refused with the reason (and nothing of that
// message stored). A message must carry a valid chain (VerifyChain) that
// extends or equals the log held here (a shorter consistent copy is a
// duplicate: stored nothing, receipted with have_seq), be of a case whose
// path passes this office, and each new event must follow the log and be
// Permitted. A message from a child office is mirrored on to the parent;
// one from the parent, on down toward the case's origin.
// A handoff to this office makes it the owner (by the FORWARDED event).
//
// Ack{acks} drops the outbox entries (dest, case) whose upto_seq the
// acknowledged upto_seq covers, and returns a *peerv1.AckOutbox of the
// entries dropped.
//
// Quarantine{entries} moves outbox entries into quarantine, each only
// while the outbox still holds it with the same upto_seq, and returns a
// *peerv1.QuarantineOutbox of those moved.
func ApplyCommand(s Store, office string, cmd *peerv1.CaseCommand, reg Registry) (proto.Message, error) {
	return applier{s: s, office: office}.apply(cmd, reg)
}

// ApplyCommandHashed is ApplyCommand for an Append whose events are known
// to hash right (HashesMatch was true of these very events): they are
// not hashed again. An office's state machine applies every write after
// raft has synced it; the proposer checks the hashes while the sync
// runs, off that path. The answer is ApplyCommand's.
func ApplyCommandHashed(s Store, office string, cmd *peerv1.CaseCommand, reg Registry) (proto.Message, error) {
	return applier{s: s, office: office, hashed: true}.apply(cmd, reg)
}

func (a applier) apply(cmd *peerv1.CaseCommand, reg Registry) (proto.Message, error) {
	if cmd == nil {
		return nil, invalid("command", "is required")
	}
	if cmd.GetAppend() == nil {
		a.hashed = false // known only of an Append's events
	}
	switch op := cmd.GetOp().(type) {
	case *peerv1.CaseCommand_Append:
		return a.appendEvents(op.Append, reg)
	case *peerv1.CaseCommand_Receive:
		return a.receive(op.Receive, reg), nil
	case *peerv1.CaseCommand_Ack:
		return a.ack(op.Ack), nil
	case *peerv1.CaseCommand_Quarantine:
		return a.setAside(op.Quarantine), nil
	}
	return nil, invalid("command", "must hold one operation (append, receive, ack or quarantine)")
}

// applier applies one command to a store.
type applier struct {
	s      Store
	office string
	// hashed: the appended events' hashes are known to be right
	// (ApplyCommandHashed).
	hashed bool
}

// appendEvents is ApplyCommand's Append.
func (a applier) appendEvents(ap *peerv1.AppendCaseEvents, reg Registry) (proto.Message, error) {
	number, events := ap.GetCaseNumber(), ap.GetEvents()
	if len(events) == 0 {
		return nil, invalid("events", "at least one event is required")
	}
	work, held, ok := a.s.Load(number)
	var prev *yizhanv1.CaseEvent
	if !ok {
		if events[0].GetType() != yizhanv1.EventType_EVENT_TYPE_FILED {
			return nil, fmt.Errorf("case %s: %w", number, ErrNotFound)
		}
		office, _, _, err := ParseCaseNumber(number)
		if err != nil {
			return nil, fmt.Errorf("case %q: %w: %w", number, ErrConflict, err)
		}
		if office != a.office {
			return nil, fmt.Errorf("case %s: office %s files under its own numbers only: %w", number, a.office, ErrConflict)
		}
		if got := events[0].GetFiling().GetNumber(); got != number {
			return nil, fmt.Errorf("case %s: the filing is of case %q: %w", number, got, ErrConflict)
		}
	} else {
		if events[0].GetType() == yizhanv1.EventType_EVENT_TYPE_FILED {
			return nil, fmt.Errorf("case %s exists already: %w", number, ErrConflict)
		}
		if err := checkOwner(work, a.office, ErrFailedPrecondition); err != nil {
			return nil, err
		}
		prev = held[len(held)-1]
	}
	stored, work, err := a.check(number, held, work, prev, events, reg, true)
	if err != nil {
		return nil, err
	}
	log := a.save(number, work, held, stored)

	last := stored[len(stored)-1]
	// An online filing stays here until its pre-check takes it up: spam
	// turned down (or withdrawn) here in time never reaches the offices
	// above. One left waiting too long went up with its card
	// (MailLateFilingUp), and what happens to it after follows.
	if parent := registry.ParentCode(a.office); parent != "" && !a.staysHere(number, log) {
		a.queue(parent, number, last.GetSeq(), false)
	}
	if down := towardOrigin(a.office, log); down != "" {
		a.queue(down, number, last.GetSeq(), false)
	}
	if last.GetType() == yizhanv1.EventType_EVENT_TYPE_FORWARDED {
		a.queue(last.GetToOffice(), number, last.GetSeq(), true)
	}
	view := proto.CloneOf(work)
	view.Mirror = view.GetOwnerOffice() != a.office
	return view, nil
}

// neverTakenUp reports whether a case's log is an online filing that its
// pre-check has not taken up (PRECHECKED): whatever its state now —
// waiting, turned down, withdrawn — it has not left the office where it
// was filed.
func neverTakenUp(events []*yizhanv1.CaseEvent) bool {
	if len(events) == 0 || !events[0].GetFiling().GetPrecheck() {
		return false
	}
	return !slices.ContainsFunc(events, func(e *yizhanv1.CaseEvent) bool {
		return e.GetType() == yizhanv1.EventType_EVENT_TYPE_PRECHECKED
	})
}

// staysHere reports whether the case of log, filed here, is an online
// filing that has not left this office: not taken up by its pre-check
// (neverTakenUp), nor carded for waiting past §32's five working days
// (which sent it up: MailLateFilingUp).
func (a applier) staysHere(number string, log []*yizhanv1.CaseEvent) bool {
	return neverTakenUp(log) && !a.s.CardIssued(number, yizhanv1.CardRule_CARD_RULE_NOT_ACCEPTED_IN_TIME)
}

// MailLateFilingUp queues the case of log, an online filing of office that
// its book has just carded 逾期未受理 (NOT_ACCEPTED_IN_TIME), for office's
// parent: a filing left waiting at its pre-check past §32's five working
// days is the offices above's to see (their supervision cards it too),
// where one turned down in time never goes. Its later events follow it
// (staysHere). Nothing is queued for a case taken up already (it went up
// then), a mirror (its own office sent it), or at the county.
func MailLateFilingUp(s Store, office, number string, log []*yizhanv1.CaseEvent) {
	parent := registry.ParentCode(office)
	if parent == "" || len(log) == 0 || log[0].GetOfficeCode() != office || !neverTakenUp(log) {
		return
	}
	applier{s: s, office: office}.queue(parent, number, log[len(log)-1].GetSeq(), false)
}

// check runs events, to follow prev on the case work (nil for a new
// case, whose log held is empty), through Follows and Permitted, and
// returns clones of them and the case folded with them. own requires
// every event to be this office's. work is changed.
func (a applier) check(number string, held []*yizhanv1.CaseEvent, work *yizhanv1.Case, prev *yizhanv1.CaseEvent, events []*yizhanv1.CaseEvent, reg Registry, own bool) ([]*yizhanv1.CaseEvent, *yizhanv1.Case, error) {
	var filing *yizhanv1.CaseFiling
	if len(held) > 0 {
		filing = held[0].GetFiling()
	}
	stored := make([]*yizhanv1.CaseEvent, 0, len(events))
	for _, e := range events {
		if own && e.GetOfficeCode() != a.office {
			return nil, nil, fmt.Errorf("case %s: seq %d is appended by office %q, not this office %s: %w", number, e.GetSeq(), e.GetOfficeCode(), a.office, ErrConflict)
		}
		if err := follows(number, prev, e, !a.hashed); err != nil {
			return nil, nil, err
		}
		if err := Permitted(work, e, reg); err != nil {
			return nil, nil, fmt.Errorf("case %s seq %d: %w", number, e.GetSeq(), err)
		}
		e = proto.CloneOf(e)
		if work == nil {
			work, filing = fileCase(e), e.GetFiling()
		} else {
			foldEvent(work, filing, e)
		}
		stored = append(stored, e)
		prev = e
	}
	return stored, work, nil
}

// save stores checked events after the log held (empty for a new case)
// and returns the whole log.
func (a applier) save(number string, c *yizhanv1.Case, held, added []*yizhanv1.CaseEvent) []*yizhanv1.CaseEvent {
	log := append(slices.Clip(held), added...)
	_, _, pending := Pending(c, log, a.office)
	a.s.Save(number, c, log, len(added), pending)
	return log
}

// queue adds or raises the outbox entry (dest, number). An entry of the
// case set aside for dest is taken back into it: the new message carries
// the whole log, and a handoff must not be forgotten.
func (a applier) queue(dest, number string, upto uint32, handoff bool) {
	if q := a.s.QuarantinedEntry(dest, number); q != nil {
		a.s.DeleteQuarantinedEntry(dest, number)
		handoff = handoff || q.GetEntry().GetHandoff()
	}
	if en := a.s.OutboxEntry(dest, number); en != nil {
		if en.GetUptoSeq() >= upto && (en.GetHandoff() || !handoff) {
			return
		}
		en = proto.CloneOf(en)
		en.UptoSeq = max(en.UptoSeq, upto)
		en.Handoff = en.Handoff || handoff
		a.s.PutOutboxEntry(en)
		return
	}
	a.s.PutOutboxEntry(&peerv1.OutboxEntry{DestOffice: dest, CaseNumber: number, UptoSeq: upto, Handoff: handoff})
}

// receive is ApplyCommand's Receive.
func (a applier) receive(r *peerv1.ReceiveCaseMessages, reg Registry) *peerv1.DeliverCasesResponse {
	resp := &peerv1.DeliverCasesResponse{}
	for _, m := range r.GetMessages() {
		resp.Receipts = append(resp.Receipts, a.receiveOne(m, reg))
	}
	return resp
}

func (a applier) receiveOne(m *peerv1.CaseMessage, reg Registry) *peerv1.CaseReceipt {
	number, events := m.GetCaseNumber(), m.GetEvents()
	receipt := &peerv1.CaseReceipt{CaseNumber: number}
	work, held, _ := a.s.Load(number)
	have := len(held)
	receipt.HaveSeq = uint32(have)
	refuse := func(err error) *peerv1.CaseReceipt {
		receipt.Refused = err.Error()
		return receipt
	}
	if to := m.GetHandoffTo(); to != "" && to != a.office {
		return refuse(fmt.Errorf("case %s: the message hands the case to %s, not to this office %s: %w", number, to, a.office, ErrConflict))
	}
	if err := VerifyChain(number, events); err != nil {
		return refuse(err)
	}
	for i := range min(have, len(events)) {
		if !bytes.Equal(held[i].GetHash(), events[i].GetHash()) {
			return refuse(fmt.Errorf("case %s: the message diverges from the log held here at seq %d: %w", number, i+1, ErrConflict))
		}
	}
	if len(events) <= have {
		return receipt // a duplicate, or an older copy: nothing new
	}
	origin := events[0].GetFiling().GetOriginOffice()
	if !slices.Contains(PathUp(origin), a.office) {
		return refuse(fmt.Errorf("case %s, filed at %q, does not pass through office %s: %w", number, origin, a.office, ErrPermissionDenied))
	}
	var prev *yizhanv1.CaseEvent
	if have > 0 {
		prev = held[have-1]
	}
	stored, work, err := a.check(number, held, work, prev, events[have:], reg, false)
	if err != nil {
		return refuse(err)
	}
	a.save(number, work, held, stored)
	receipt.HaveSeq = work.GetLastSeq()
	from := m.GetFromOffice()
	if parent := registry.ParentCode(a.office); parent != "" && from != a.office && registry.IsAncestorOrSelf(a.office, from) {
		a.queue(parent, number, work.GetLastSeq(), false)
	}
	if from != "" && from == registry.ParentCode(a.office) {
		if down := towardOrigin(a.office, events); down != "" {
			a.queue(down, number, work.GetLastSeq(), false)
		}
	}
	return receipt
}

// towardOrigin is the child of office on the way down to the office where
// the case of log was filed, "" when that is office itself (or not below
// it): status mirrors travel down the route as well as up, so the origin
// (and every office between) sees where its case stands.
func towardOrigin(office string, log []*yizhanv1.CaseEvent) string {
	origin := log[0].GetFiling().GetOriginOffice()
	if origin == office || !registry.IsAncestorOrSelf(office, origin) {
		return ""
	}
	return NextHop(office, origin)
}

// ack is ApplyCommand's Ack.
func (a applier) ack(ack *peerv1.AckOutbox) *peerv1.AckOutbox {
	out := &peerv1.AckOutbox{}
	for _, x := range ack.GetAcks() {
		if en := a.s.OutboxEntry(x.GetDestOffice(), x.GetCaseNumber()); en != nil && en.GetUptoSeq() <= x.GetUptoSeq() {
			out.Acks = append(out.Acks, en)
			a.s.DeleteOutboxEntry(x.GetDestOffice(), x.GetCaseNumber())
		}
	}
	return out
}

// setAside is ApplyCommand's Quarantine.
func (a applier) setAside(q *peerv1.QuarantineOutbox) *peerv1.QuarantineOutbox {
	out := &peerv1.QuarantineOutbox{}
	for _, x := range q.GetEntries() {
		en := x.GetEntry()
		dest, number := en.GetDestOffice(), en.GetCaseNumber()
		if held := a.s.OutboxEntry(dest, number); held != nil && held.GetUptoSeq() == en.GetUptoSeq() {
			a.s.DeleteOutboxEntry(dest, number)
			qe := proto.CloneOf(x)
			qe.Entry = held
			a.s.PutQuarantinedEntry(qe)
			out.Entries = append(out.Entries, proto.CloneOf(qe))
		}
	}
	return out
}
