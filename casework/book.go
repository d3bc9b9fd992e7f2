package casework

import (
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
// log of events, and the outbox of messages to neighbouring offices, kept
// in memory. It is the reference model of the book on disk (package
// casebook: the tests apply every command to both) and reads the case
// books of snapshots written by releases that kept the book in memory
// (Restore). It is safe for concurrent use by one writer and any number
// of readers. Values go in and out as clones.
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

// Apply applies one case command of the office's raft log to the book:
// ApplyCommand, under the book's lock. On error nothing changes.
func (b *Book) Apply(cmd *peerv1.CaseCommand, reg Registry) (proto.Message, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return ApplyCommand(memStore{b}, b.office, cmd, reg)
}

// memStore is the Store of a Book in memory; its methods run under b.mu,
// held by Apply.
type memStore struct{ b *Book }

func (s memStore) Load(number string) (*yizhanv1.Case, []*yizhanv1.CaseEvent, bool) {
	rec, ok := s.b.cases[number]
	if !ok {
		return nil, nil, false
	}
	return proto.CloneOf(rec.c), rec.events, true
}

func (s memStore) Save(number string, c *yizhanv1.Case, events []*yizhanv1.CaseEvent, added int, pending bool) {
	s.b.store(number, c, events, added, pending)
}

func (s memStore) OutboxEntry(dest, number string) *peerv1.OutboxEntry {
	return s.b.outbox[outboxKey{dest, number}]
}

func (s memStore) PutOutboxEntry(en *peerv1.OutboxEntry) {
	s.b.outbox[outboxKey{en.GetDestOffice(), en.GetCaseNumber()}] = en
}

func (s memStore) DeleteOutboxEntry(dest, number string) { delete(s.b.outbox, outboxKey{dest, number}) }

// CardIssued is Store's: the book in memory keeps no cards.
func (s memStore) CardIssued(string, yizhanv1.CardRule) bool { return false }

func (s memStore) QuarantinedEntry(dest, number string) *peerv1.QuarantinedEntry {
	return s.b.quarantine[outboxKey{dest, number}]
}

func (s memStore) PutQuarantinedEntry(q *peerv1.QuarantinedEntry) {
	s.b.quarantine[outboxKey{q.GetEntry().GetDestOffice(), q.GetEntry().GetCaseNumber()}] = q
}

func (s memStore) DeleteQuarantinedEntry(dest, number string) {
	delete(s.b.quarantine, outboxKey{dest, number})
}

// store keeps the case c with its whole log events, of which the last
// added are new. Caller holds b.mu.
func (b *Book) store(number string, c *yizhanv1.Case, events []*yizhanv1.CaseEvent, added int, pending bool) {
	rec := b.cases[number]
	if rec == nil {
		rec = &record{}
		b.cases[number] = rec
		b.noteNumber(number)
	}
	rec.events = events
	rec.c = c
	for _, e := range events[len(events)-added:] {
		if o := e.GetOfficeCode(); !slices.Contains(rec.offices, o) {
			rec.offices = append(rec.offices, o)
			slices.Sort(rec.offices)
		}
	}
	if pending {
		b.needs[number] = struct{}{}
	} else {
		delete(b.needs, number)
	}
}

// noteNumber raises the day's sequence if number is one of this office's.
func (b *Book) noteNumber(number string) {
	office, day, seq, err := ParseCaseNumber(number)
	if err == nil && office == b.office && seq > b.seqs[day] {
		b.seqs[day] = seq
	}
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
		_, _, pending := Pending(c, events, nb.office)
		nb.store(n, c, events, len(events), pending)
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
