package casebook

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/encoding/protowire"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// A case whose record the book holds without all its events, or with one
// the database cannot read back, is damage: the database lost what it
// had acknowledged. A reader is answered a *DamageError (ErrDamaged,
// reason CASE_DAMAGED) naming the case, and Apply panics with one (see
// DESIGN.md, "A damaged book stops the apply, not the readers"). Every
// reader and sweep of the book that meets one notes it (noteDamage):
// logged at error once per case in the process, and counted
// (DamagedCases, the metric yizhan_casebook_cases_damaged), so that a
// damaged case is never passed over without a word, and a case read
// again and again does not flood the log.

// DamageError is a case this node's book holds without all of its log.
// It is ErrDamaged, with the reason CASE_DAMAGED naming the case.
type DamageError struct {
	Case string // the case's number
	// What is missing, in words: "has its record at event 5 but 4
	// events on disk", "event 3: it reads back empty (its value is lost)".
	What string
	// Index is the raft index of the entry whose apply met the damage
	// (0: a read, or an apply that did not say).
	Index uint64
}

func (e *DamageError) Error() string {
	sep := " "
	if strings.HasPrefix(e.What, "event ") {
		sep = ": "
	}
	return fmt.Sprintf("%v: case %s%s%s (docs/OPERATIONS.md: a node whose case book is damaged)", ErrDamaged, e.Case, sep, e.What)
}

// Is makes a DamageError ErrDamaged.
func (e *DamageError) Is(target error) bool { return target == ErrDamaged }

// ErrorReason is CASE_DAMAGED, naming the case.
func (e *DamageError) ErrorReason() (string, reason.Meta) {
	return reason.CaseDamaged, reason.Meta{"number": e.Case}
}

// damage is the DamageError of case number, what saying what is missing.
func damage(number, what string, args ...any) *DamageError {
	return &DamageError{Case: number, What: fmt.Sprintf(what, args...)}
}

// damagedCase is the error of a case whose record is at event lastSeq
// while held events are on disk: the database lost keys it had
// acknowledged.
func damagedCase(number string, lastSeq uint32, held int) *DamageError {
	return damage(number, "has its record at event %d but %d events on disk", lastSeq, held)
}

// damagedCases are the cases this process found damaged; forgotten when
// the book is replaced (Restore, Clear). At most maxNotedDamage are held:
// a disk that lost that many cases' events lost the book, and a county's
// walk of a million cases (Check) must not hold, nor log, each one.
type damagedCases struct {
	mu sync.Mutex
	m  map[string]struct{}
}

const (
	// maxNotedDamage bounds the damaged cases a process holds (and
	// counts): some 10 MB of case numbers.
	maxNotedDamage = 100_000
	// damageLoggedEach is how many damaged cases are logged one by one;
	// after them, one line each damageLoggedEach more.
	damageLoggedEach = 100
)

// noteDamage reports whether err is a damaged case (a *DamageError in
// its chain), met by a read of the book of generation gen (Generation,
// loaded before the read). The first time the process meets a case so,
// it counts it (DamagedCases) and, for the first damageLoggedEach cases,
// logs it at error; then one line at error each damageLoggedEach cases
// more, and one when the count stops at maxNotedDamage. Later meetings
// say nothing. A read of a book that a restore replaces, or has replaced
// since (gen odd, or not the generation of now), notes nothing: what it
// saw may be part of a book, or a book no longer held, and the count is
// of the book the node holds. The generation is compared under the
// notes' lock, and a restore moves it on before it forgets the notes
// (under that lock too): a note is either of the book of now or
// forgotten with the book it was of, never left over from it
// (TestADamagedCaseReadBeforeARestoreIsNotCountedAfterIt).
func (b *Book) noteDamage(gen uint64, err error) bool {
	var d *DamageError
	if !errors.As(err, &d) {
		return false
	}
	if b.beforeNote != nil {
		b.beforeNote()
	}
	b.damaged.mu.Lock()
	if gen%2 == 1 || b.generation.Load() != gen {
		b.damaged.mu.Unlock()
		return true
	}
	_, seen := b.damaged.m[d.Case]
	n := len(b.damaged.m)
	if !seen && n < maxNotedDamage {
		if b.damaged.m == nil {
			b.damaged.m = map[string]struct{}{}
		}
		b.damaged.m[d.Case] = struct{}{}
		n++
	} else {
		seen = true
	}
	b.damaged.mu.Unlock()
	switch {
	case seen:
	case n <= damageLoggedEach:
		b.log().Error("case book: a case is damaged on this node's disk; it is not shown, acted on or sent from this node until its book is rebuilt or restored (docs/OPERATIONS.md, \"A node that stops: the case book on disk is damaged\")",
			"case", d.Case, "damage", d.What)
	case n == maxNotedDamage:
		b.log().Error("case book: this node found so many cases damaged on its disk that it counts no more: its book is lost; rebuild the node or restore it (docs/OPERATIONS.md)",
			"damaged_cases", n, "case", d.Case, "damage", d.What)
	case n%damageLoggedEach == 0:
		b.log().Error("case book: more cases damaged on this node's disk (the first were logged one by one; the check lists them all)",
			"damaged_cases", n, "case", d.Case, "damage", d.What)
	}
	return true
}

// DamagedCases is how many cases this node found damaged (a record
// without all its events) since it started or its book was replaced: by
// a read, a listing, a sweep, the mail, the check, or the book's stream
// (to a follower, or a backup); at most maxNotedDamage.
func (b *Book) DamagedCases() int {
	b.damaged.mu.Lock()
	defer b.damaged.mu.Unlock()
	return len(b.damaged.m)
}

// forgetDamage forgets the damaged cases noted: the book is replaced.
// It is called after the generation has moved on (noteDamage).
func (b *Book) forgetDamage() {
	b.damaged.mu.Lock()
	clear(b.damaged.m)
	b.damaged.mu.Unlock()
}

// streamCheck finds the damaged cases of a book as its stream walks it in
// key order (streamTxn): an event that reads back empty, and a case
// record at event n with fewer than n events held, the damage Read
// answers. The records (book/c/) sort before the events (book/e/), both
// by case number, so a second iterator walks the records beside the
// stream's events, one case at a time: the check holds one case, not
// the book, and reads the records once more (their last_seq only), not
// the events. It only notes what it finds: the stream is written whole,
// damaged cases and all (DESIGN.md, "A damaged book stops the apply,
// not the readers").
type streamCheck struct {
	recs    *badger.Iterator // the case records, at the first not yet met
	note    func(error)
	number  []byte // the case whose events the stream is in
	lastSeq uint32 // its record's last_seq (0: no record)
	held    uint32 // its events met so far
}

func newStreamCheck(txn *badger.Txn, note func(error)) *streamCheck {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = []byte(pCase)
	c := &streamCheck{recs: txn.NewIterator(opts), note: note}
	c.recs.Rewind()
	return c
}

// item checks one key and value of the stream.
func (c *streamCheck) item(k, v []byte) {
	if !bytes.HasPrefix(k, []byte(pEvent)) || len(k) < len(pEvent)+5 || k[len(k)-5] != 0 {
		return
	}
	number := k[len(pEvent) : len(k)-5]
	if !bytes.Equal(number, c.number) {
		c.endCase()
		c.number = append(c.number[:0], number...)
		c.lastSeq = c.recordsTo(number)
	}
	c.held++
	if len(v) == 0 { // no event is stored empty (loadEventsNoting)
		c.note(damage(string(number), "event %d: it reads back empty (its value is lost)", binary.BigEndian.Uint32(k[len(k)-4:])))
	}
}

// recordsTo notes the records before number's (cases without a single
// event) and returns the last_seq of number's own record, 0 if it has none.
func (c *streamCheck) recordsTo(number []byte) uint32 {
	for ; c.recs.Valid(); c.recs.Next() {
		rec := c.recs.Item().Key()[len(pCase):]
		switch cmp := bytes.Compare(rec, number); {
		case cmp > 0:
			return 0
		case cmp == 0:
			n := c.recordSeq()
			c.recs.Next()
			return n
		}
		if n := c.recordSeq(); n > 0 {
			c.note(damagedCase(string(rec), n, 0))
		}
	}
	return 0
}

// recordSeq is the last_seq of the record the records' iterator is at
// (0 when it cannot be read: the readers report a record that does not
// decode).
func (c *streamCheck) recordSeq() uint32 {
	var seq uint64
	c.recs.Item().Value(func(v []byte) error {
		for len(v) > 0 {
			num, typ, n := protowire.ConsumeTag(v)
			if n < 0 {
				return nil
			}
			v = v[n:]
			if num == lastSeqField && typ == protowire.VarintType {
				if seq, n = protowire.ConsumeVarint(v); n < 0 {
					seq = 0
					return nil
				}
			} else if n = protowire.ConsumeFieldValue(num, typ, v); n < 0 {
				return nil
			}
			v = v[n:]
		}
		return nil
	})
	return uint32(seq)
}

// lastSeqField is the field number of yizhanv1.Case's last_seq.
var lastSeqField = (&yizhanv1.Case{}).ProtoReflect().Descriptor().Fields().ByName("last_seq").Number()

// endCase notes the case the stream's events leave when its record is
// at an event it does not hold.
func (c *streamCheck) endCase() {
	if c.number != nil && c.held < c.lastSeq {
		c.note(damagedCase(string(c.number), c.lastSeq, int(c.held)))
	}
	c.number, c.lastSeq, c.held = c.number[:0], 0, 0
}

// finish notes the cases after the stream's last event (the records
// left, none with an event).
func (c *streamCheck) finish() {
	c.endCase()
	for ; c.recs.Valid(); c.recs.Next() {
		if n := c.recordSeq(); n > 0 {
			c.note(damagedCase(string(c.recs.Item().Key()[len(pCase):]), n, 0))
		}
	}
}
