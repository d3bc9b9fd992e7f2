package casework

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"sort"
	"sync"

	"google.golang.org/protobuf/proto"

	"github.com/yizhan-gov/yizhan/registry"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Book is the cases an office holds: those it owns and the read-only
// mirrors of cases it has handled or that passed below it, each as its
// log of events, and the outbox of messages to neighbouring offices. The
// office's raft state machine applies commands to it (Apply, Restore); it
// is safe for concurrent use by that one writer and any number of
// readers. Values go in and out as clones.
type Book struct {
	office string // set by NewBook, read-only

	// mu guards everything below: Apply and Restore hold it exclusively,
	// the readers shared. Stored events are never changed once stored.
	mu     sync.RWMutex
	cases  map[string]*record
	outbox map[outboxKey]*peerv1.OutboxEntry
	// quarantine holds the outbox entries set aside as undeliverable: they
	// are not sent again (a new event of the case queues a new entry).
	quarantine map[outboxKey]*peerv1.QuarantinedEntry
	seqs       map[string]uint32 // day YYYYMMDD → highest sequence used by this office's numbers
	// needs holds the cases for which Pending is true, kept up to date by
	// store, so that NeedsAction does not scan every case on every change.
	needs map[string]struct{}
}

// record is one case as the book holds it.
type record struct {
	events  []*yizhanv1.CaseEvent // seq i+1 at index i
	c       *yizhanv1.Case        // Fold(events), Mirror unset
	offices []string              // the offices that appended events, sorted
}

type outboxKey struct{ dest, number string }

// NewBook returns the empty book of office.
func NewBook(office string) *Book {
	return &Book{
		office:     office,
		cases:      map[string]*record{},
		outbox:     map[outboxKey]*peerv1.OutboxEntry{},
		quarantine: map[outboxKey]*peerv1.QuarantinedEntry{},
		seqs:       map[string]uint32{},
		needs:      map[string]struct{}{},
	}
}

// Office returns the office whose book this is.
func (b *Book) Office() string { return b.office }

// Apply applies one case command of the office's raft log. It is
// deterministic: the same commands on the same registry state give the
// same book. On error nothing changes.
//
// Append{case_number, events} appends events made by this office, which
// owns the case; a FILED first event creates the case (its number must be
// new and of this office, else ErrConflict). Each event must be appended
// by this office, follow the log (Follows: seq, prev_hash, hash:
// ErrConflict) and be Permitted (ErrPermissionDenied for the office's
// rights, ErrFailedPrecondition for the state). It returns the folded
// *yizhanv1.Case and queues outbox entries: a mirror to the parent office
// (none at the county, nor while an online filing waits for its pre-check
// or was turned down there), and, when the last event is FORWARDED to X, a
// handoff to X (to the parent: the same entry, handoff set).
//
// Receive{messages} stores messages from neighbouring offices, each on
// its own, and returns a *peerv1.DeliverCasesResponse with one receipt
// per message: have_seq, or refused with the reason (and nothing of that
// message stored). A message must carry a valid chain (VerifyChain) that
// extends or equals the log held here (a shorter consistent copy is a
// duplicate: stored nothing, receipted with have_seq), be of a case whose
// path passes this office, and each new event must follow the log and be
// Permitted. A message from a child office is mirrored on to the parent.
// A handoff to this office makes it the owner (by the FORWARDED event).
//
// Ack{acks} drops the outbox entries (dest, case) whose upto_seq the
// acknowledged upto_seq covers, and returns a *peerv1.AckOutbox of the
// entries dropped.
//
// Quarantine{entries} moves outbox entries into quarantine, each only
// while the outbox still holds it with the same upto_seq, and returns a
// *peerv1.QuarantineOutbox of those moved.
func (b *Book) Apply(cmd *peerv1.CaseCommand, reg Registry) (proto.Message, error) {
	if cmd == nil {
		return nil, invalid("command", "is required")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	switch op := cmd.GetOp().(type) {
	case *peerv1.CaseCommand_Append:
		return b.appendEvents(op.Append, reg)
	case *peerv1.CaseCommand_Receive:
		return b.receive(op.Receive, reg), nil
	case *peerv1.CaseCommand_Ack:
		return b.ack(op.Ack), nil
	case *peerv1.CaseCommand_Quarantine:
		return b.setAside(op.Quarantine), nil
	}
	return nil, invalid("command", "must hold one operation (append, receive, ack or quarantine)")
}

// appendEvents is Apply's Append. Caller holds b.mu.
func (b *Book) appendEvents(a *peerv1.AppendCaseEvents, reg Registry) (proto.Message, error) {
	number, events := a.GetCaseNumber(), a.GetEvents()
	if len(events) == 0 {
		return nil, invalid("events", "at least one event is required")
	}
	rec := b.cases[number]
	var (
		work *yizhanv1.Case
		prev *yizhanv1.CaseEvent
	)
	if rec == nil {
		if events[0].GetType() != yizhanv1.EventType_EVENT_TYPE_FILED {
			return nil, fmt.Errorf("case %s: %w", number, ErrNotFound)
		}
		office, _, _, err := ParseCaseNumber(number)
		if err != nil {
			return nil, fmt.Errorf("case %q: %w: %w", number, ErrConflict, err)
		}
		if office != b.office {
			return nil, fmt.Errorf("case %s: office %s files under its own numbers only: %w", number, b.office, ErrConflict)
		}
		if got := events[0].GetFiling().GetNumber(); got != number {
			return nil, fmt.Errorf("case %s: the filing is of case %q: %w", number, got, ErrConflict)
		}
	} else {
		if events[0].GetType() == yizhanv1.EventType_EVENT_TYPE_FILED {
			return nil, fmt.Errorf("case %s exists already: %w", number, ErrConflict)
		}
		if err := checkOwner(rec.c, b.office, ErrFailedPrecondition); err != nil {
			return nil, err
		}
		work = proto.CloneOf(rec.c)
		prev = rec.events[len(rec.events)-1]
	}
	stored, work, err := b.check(number, rec, work, prev, events, reg, true)
	if err != nil {
		return nil, err
	}
	rec = b.store(number, rec, work, stored)

	last := stored[len(stored)-1]
	// An online filing stays here until its pre-check takes it up: spam
	// turned down (or withdrawn) here never reaches the offices above.
	if parent := registry.ParentCode(b.office); parent != "" && !neverTakenUp(rec.events) {
		b.queue(parent, number, last.GetSeq(), false)
	}
	if last.GetType() == yizhanv1.EventType_EVENT_TYPE_FORWARDED {
		b.queue(last.GetToOffice(), number, last.GetSeq(), true)
	}
	return b.view(rec), nil
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

// check runs events, to follow prev on the case work (nil for a new
// case), through Follows and Permitted, and returns clones of them and
// the case folded with them. own requires every event to be this office's.
func (b *Book) check(number string, rec *record, work *yizhanv1.Case, prev *yizhanv1.CaseEvent, events []*yizhanv1.CaseEvent, reg Registry, own bool) ([]*yizhanv1.CaseEvent, *yizhanv1.Case, error) {
	var filing *yizhanv1.CaseFiling
	if rec != nil {
		filing = rec.events[0].GetFiling()
	}
	stored := make([]*yizhanv1.CaseEvent, 0, len(events))
	for _, e := range events {
		if own && e.GetOfficeCode() != b.office {
			return nil, nil, fmt.Errorf("case %s: seq %d is appended by office %q, not this office %s: %w", number, e.GetSeq(), e.GetOfficeCode(), b.office, ErrConflict)
		}
		if err := Follows(number, prev, e); err != nil {
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

// store appends checked events to the case (creating its record) and
// returns the record. Caller holds b.mu.
func (b *Book) store(number string, rec *record, c *yizhanv1.Case, events []*yizhanv1.CaseEvent) *record {
	if rec == nil {
		rec = &record{}
		b.cases[number] = rec
		b.noteNumber(number)
	}
	rec.events = append(rec.events, events...)
	rec.c = c
	for _, e := range events {
		if o := e.GetOfficeCode(); !slices.Contains(rec.offices, o) {
			rec.offices = append(rec.offices, o)
			slices.Sort(rec.offices)
		}
	}
	if _, _, ok := Pending(rec.c, rec.events, b.office); ok {
		b.needs[number] = struct{}{}
	} else {
		delete(b.needs, number)
	}
	return rec
}

// noteNumber raises the day's sequence if number is one of this office's.
func (b *Book) noteNumber(number string) {
	office, day, seq, err := ParseCaseNumber(number)
	if err == nil && office == b.office && seq > b.seqs[day] {
		b.seqs[day] = seq
	}
}

// queue adds or raises the outbox entry (dest, number). An entry of the
// case set aside for dest is taken back into it: the new message carries
// the whole log, and a handoff must not be forgotten. Caller holds b.mu.
func (b *Book) queue(dest, number string, upto uint32, handoff bool) {
	k := outboxKey{dest, number}
	if q, ok := b.quarantine[k]; ok {
		delete(b.quarantine, k)
		handoff = handoff || q.GetEntry().GetHandoff()
	}
	if en, ok := b.outbox[k]; ok {
		en.UptoSeq = max(en.UptoSeq, upto)
		en.Handoff = en.Handoff || handoff
		return
	}
	b.outbox[k] = &peerv1.OutboxEntry{DestOffice: dest, CaseNumber: number, UptoSeq: upto, Handoff: handoff}
}

// receive is Apply's Receive. Caller holds b.mu.
func (b *Book) receive(r *peerv1.ReceiveCaseMessages, reg Registry) *peerv1.DeliverCasesResponse {
	resp := &peerv1.DeliverCasesResponse{}
	for _, m := range r.GetMessages() {
		resp.Receipts = append(resp.Receipts, b.receiveOne(m, reg))
	}
	return resp
}

func (b *Book) receiveOne(m *peerv1.CaseMessage, reg Registry) *peerv1.CaseReceipt {
	number, events := m.GetCaseNumber(), m.GetEvents()
	receipt := &peerv1.CaseReceipt{CaseNumber: number}
	rec := b.cases[number]
	have := 0
	if rec != nil {
		have = len(rec.events)
		receipt.HaveSeq = uint32(have)
	}
	refuse := func(err error) *peerv1.CaseReceipt {
		receipt.Refused = err.Error()
		return receipt
	}
	if to := m.GetHandoffTo(); to != "" && to != b.office {
		return refuse(fmt.Errorf("case %s: the message hands the case to %s, not to this office %s: %w", number, to, b.office, ErrConflict))
	}
	if err := VerifyChain(number, events); err != nil {
		return refuse(err)
	}
	for i := range min(have, len(events)) {
		if !bytes.Equal(rec.events[i].GetHash(), events[i].GetHash()) {
			return refuse(fmt.Errorf("case %s: the message diverges from the log held here at seq %d: %w", number, i+1, ErrConflict))
		}
	}
	if len(events) <= have {
		return receipt // a duplicate, or an older copy: nothing new
	}
	origin := events[0].GetFiling().GetOriginOffice()
	if !slices.Contains(PathUp(origin), b.office) {
		return refuse(fmt.Errorf("case %s, filed at %q, does not pass through office %s: %w", number, origin, b.office, ErrPermissionDenied))
	}
	var (
		work *yizhanv1.Case
		prev *yizhanv1.CaseEvent
	)
	if rec != nil {
		work, prev = proto.CloneOf(rec.c), rec.events[have-1]
	}
	stored, work, err := b.check(number, rec, work, prev, events[have:], reg, false)
	if err != nil {
		return refuse(err)
	}
	b.store(number, rec, work, stored)
	receipt.HaveSeq = work.GetLastSeq()
	from := m.GetFromOffice()
	if parent := registry.ParentCode(b.office); parent != "" && from != b.office && registry.IsAncestorOrSelf(b.office, from) {
		b.queue(parent, number, work.GetLastSeq(), false)
	}
	return receipt
}

// ack is Apply's Ack. Caller holds b.mu.
func (b *Book) ack(a *peerv1.AckOutbox) *peerv1.AckOutbox {
	out := &peerv1.AckOutbox{}
	for _, x := range a.GetAcks() {
		k := outboxKey{x.GetDestOffice(), x.GetCaseNumber()}
		if en, ok := b.outbox[k]; ok && en.GetUptoSeq() <= x.GetUptoSeq() {
			out.Acks = append(out.Acks, en)
			delete(b.outbox, k)
		}
	}
	return out
}

// setAside is Apply's Quarantine. Caller holds b.mu.
func (b *Book) setAside(q *peerv1.QuarantineOutbox) *peerv1.QuarantineOutbox {
	out := &peerv1.QuarantineOutbox{}
	for _, x := range q.GetEntries() {
		en := x.GetEntry()
		k := outboxKey{en.GetDestOffice(), en.GetCaseNumber()}
		if held, ok := b.outbox[k]; ok && held.GetUptoSeq() == en.GetUptoSeq() {
			delete(b.outbox, k)
			qe := proto.CloneOf(x)
			qe.Entry = held
			b.quarantine[k] = qe
			out.Entries = append(out.Entries, proto.CloneOf(qe))
		}
	}
	return out
}

// Quarantined returns the outbox entries set aside, by destination and
// case number.
func (b *Book) Quarantined() []*peerv1.QuarantinedEntry {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.quarantineSorted()
}

func (b *Book) quarantineSorted() []*peerv1.QuarantinedEntry {
	out := make([]*peerv1.QuarantinedEntry, 0, len(b.quarantine))
	for _, q := range b.quarantine {
		out = append(out, proto.CloneOf(q))
	}
	sort.Slice(out, func(i, j int) bool {
		a, c := out[i].GetEntry(), out[j].GetEntry()
		if a.GetDestOffice() != c.GetDestOffice() {
			return a.GetDestOffice() < c.GetDestOffice()
		}
		return a.GetCaseNumber() < c.GetCaseNumber()
	})
	return out
}

// OutboxLen returns the number of entries waiting for a receipt.
func (b *Book) OutboxLen() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.outbox)
}

// view is a clone of the record's case as this office sees it. Caller
// holds b.mu.
func (b *Book) view(rec *record) *yizhanv1.Case {
	c := proto.CloneOf(rec.c)
	c.Mirror = c.GetOwnerOffice() != b.office
	return c
}

// Case returns the case with the given number, Mirror set when another
// office owns it. Deadlines are not set: see Clocks.
func (b *Book) Case(number string) (*yizhanv1.Case, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	rec, ok := b.cases[number]
	if !ok {
		return nil, false
	}
	return b.view(rec), true
}

// Events returns the case's log (nil when the book does not hold it).
func (b *Book) Events(number string) []*yizhanv1.CaseEvent {
	b.mu.RLock()
	defer b.mu.RUnlock()
	rec, ok := b.cases[number]
	if !ok {
		return nil
	}
	out := make([]*yizhanv1.CaseEvent, len(rec.events))
	for i, e := range rec.events {
		out[i] = proto.CloneOf(e)
	}
	return out
}

// Pending is Pending for the case with the given number, for this office.
func (b *Book) Pending(number string) (Action, string, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	rec, ok := b.cases[number]
	if !ok {
		return ActionUnspecified, "", false
	}
	return Pending(rec.c, rec.events, b.office)
}

// NeedsAction returns the numbers of the cases this office owns and must
// act on by itself (Pending), sorted.
func (b *Book) NeedsAction() []string {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]string, 0, len(b.needs))
	for n := range b.needs {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// ListFilter selects cases; zero fields select everything.
type ListFilter struct {
	// Office keeps the cases that office owns, was filed at, or has
	// appended events to.
	Office   string
	State    yizhanv1.CaseState
	ItemCode string
}

// List returns the cases the filter selects, by number.
func (b *Book) List(f ListFilter) []*yizhanv1.Case {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var out []*yizhanv1.Case
	for _, rec := range b.cases {
		c := rec.c
		if f.State != yizhanv1.CaseState_CASE_STATE_UNSPECIFIED && c.GetState() != f.State {
			continue
		}
		if f.ItemCode != "" && c.GetItemCode() != f.ItemCode {
			continue
		}
		if f.Office != "" && c.GetOwnerOffice() != f.Office && c.GetOriginOffice() != f.Office {
			if _, found := slices.BinarySearch(rec.offices, f.Office); !found {
				continue
			}
		}
		out = append(out, b.view(rec))
	}
	slices.SortFunc(out, func(a, b *yizhanv1.Case) int { return cmp.Compare(a.GetNumber(), b.GetNumber()) })
	return out
}

// Outbox returns the messages waiting for a receipt, by destination and
// case number.
func (b *Book) Outbox() []*peerv1.OutboxEntry {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.outboxSorted()
}

func (b *Book) outboxSorted() []*peerv1.OutboxEntry {
	out := make([]*peerv1.OutboxEntry, 0, len(b.outbox))
	for _, en := range b.outbox {
		out = append(out, proto.CloneOf(en))
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].GetDestOffice() != out[j].GetDestOffice() {
			return out[i].GetDestOffice() < out[j].GetDestOffice()
		}
		return out[i].GetCaseNumber() < out[j].GetCaseNumber()
	})
	return out
}

// Message returns the message that delivers an outbox entry: the case's
// log up to the entry's upto_seq, from this office, handed to dest when
// the entry is a handoff. ok is false when the book does not hold the case.
func (b *Book) Message(en *peerv1.OutboxEntry) (*peerv1.CaseMessage, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	rec, ok := b.cases[en.GetCaseNumber()]
	if !ok {
		return nil, false
	}
	n := min(int(en.GetUptoSeq()), len(rec.events))
	m := &peerv1.CaseMessage{CaseNumber: en.GetCaseNumber(), FromOffice: b.office}
	for _, e := range rec.events[:n] {
		m.Events = append(m.Events, proto.CloneOf(e))
	}
	if en.GetHandoff() {
		m.HandoffTo = en.GetDestOffice()
	}
	return m, true
}

// NextSeq returns the next free case sequence of this office for day
// (YYYYMMDD), from the numbers it holds.
func (b *Book) NextSeq(day string) uint32 {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.seqs[day] + 1
}

// Len returns the number of cases the book holds.
func (b *Book) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.cases)
}

// Snapshot returns the whole book: every case's log by number, the
// outbox by destination and case, the day sequences by day.
func (b *Book) Snapshot() *peerv1.CaseBookSnapshot {
	b.mu.RLock()
	defer b.mu.RUnlock()
	s := &peerv1.CaseBookSnapshot{Outbox: b.outboxSorted(), Quarantine: b.quarantineSorted()}
	numbers := make([]string, 0, len(b.cases))
	for n := range b.cases {
		numbers = append(numbers, n)
	}
	slices.Sort(numbers)
	for _, n := range numbers {
		r := &peerv1.CaseRecord{Number: n}
		for _, e := range b.cases[n].events {
			r.Events = append(r.Events, proto.CloneOf(e))
		}
		s.Cases = append(s.Cases, r)
	}
	days := make([]string, 0, len(b.seqs))
	for d := range b.seqs {
		days = append(days, d)
	}
	slices.Sort(days)
	for _, d := range days {
		s.Sequences = append(s.Sequences, &peerv1.DaySequence{Day: d, Seq: b.seqs[d]})
	}
	return s
}

// Restore replaces the book with a snapshot. The snapshot is checked
// first (every chain verifies and folds, no case twice, outbox entries
// name held cases and valid offices, no entry twice): ErrInvalidSnapshot
// otherwise, and nothing changes.
func (b *Book) Restore(s *peerv1.CaseBookSnapshot) error {
	nb := NewBook(b.office)
	for i, r := range s.GetCases() {
		n := r.GetNumber()
		if _, dup := nb.cases[n]; dup {
			return fmt.Errorf("restore: cases[%d]: case %s twice: %w", i, n, ErrInvalidSnapshot)
		}
		if err := VerifyChain(n, r.GetEvents()); err != nil {
			return fmt.Errorf("restore: cases[%d]: %w: %w", i, ErrInvalidSnapshot, err)
		}
		c, err := Fold(r.GetEvents())
		if err != nil {
			return fmt.Errorf("restore: cases[%d]: %w: %w", i, ErrInvalidSnapshot, err)
		}
		events := make([]*yizhanv1.CaseEvent, len(r.GetEvents()))
		for j, e := range r.GetEvents() {
			events[j] = proto.CloneOf(e)
		}
		nb.store(n, nil, c, events)
	}
	for i, en := range s.GetOutbox() {
		k := outboxKey{en.GetDestOffice(), en.GetCaseNumber()}
		rec, held := nb.cases[k.number]
		switch _, dup := nb.outbox[k]; {
		case registry.ValidCode(k.dest) != nil:
			return fmt.Errorf("restore: outbox[%d]: destination %q is not an office: %w", i, k.dest, ErrInvalidSnapshot)
		case !held:
			return fmt.Errorf("restore: outbox[%d]: case %s is not held: %w", i, k.number, ErrInvalidSnapshot)
		case dup:
			return fmt.Errorf("restore: outbox[%d]: entry (%s, %s) twice: %w", i, k.dest, k.number, ErrInvalidSnapshot)
		case en.GetUptoSeq() < 1 || int(en.GetUptoSeq()) > len(rec.events):
			return fmt.Errorf("restore: outbox[%d]: upto_seq %d outside the log of %d events: %w", i, en.GetUptoSeq(), len(rec.events), ErrInvalidSnapshot)
		}
		nb.outbox[k] = proto.CloneOf(en)
	}
	for i, q := range s.GetQuarantine() {
		en := q.GetEntry()
		k := outboxKey{en.GetDestOffice(), en.GetCaseNumber()}
		if _, held := nb.cases[k.number]; !held || registry.ValidCode(k.dest) != nil {
			return fmt.Errorf("restore: quarantine[%d]: entry (%s, %s) is not of a held case and an office: %w", i, k.dest, k.number, ErrInvalidSnapshot)
		}
		nb.quarantine[k] = proto.CloneOf(q)
	}
	for _, d := range s.GetSequences() {
		nb.seqs[d.GetDay()] = max(nb.seqs[d.GetDay()], d.GetSeq())
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cases, b.outbox, b.quarantine, b.seqs, b.needs = nb.cases, nb.outbox, nb.quarantine, nb.seqs, nb.needs
	return nil
}
