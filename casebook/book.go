// Package casebook keeps an office's case book on disk, in the node's
// badger: the cases and their events, the outbox, the request IDs of case
// writes, and the indexes and statistics counters that staff and
// supervision read, each raft entry applied in one transaction with the
// raft index it reached. The rules are casework's (casework.ApplyCommand
// over this package's Store); this package only stores and finds. See
// DESIGN.md.
package casebook

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// ErrDamaged is a book that lost keys it had written (a case's record
// without its events): the node stops rather than apply on it, and a
// reader is answered so (*DamageError, damage.go).
var ErrDamaged = errors.New("casebook: the case book on disk is damaged")

// Book is the cases an office holds, on disk. One writer (the office's
// raft state machine: Apply, Restore) and any number of readers, each
// read from one consistent view of the database.
type Book struct {
	office string
	db     *badger.DB

	// writeMu serialises the writers (Apply, Restore); readers take no lock.
	writeMu sync.Mutex
	// pending is Apply's last commit while badger may still be writing
	// it (nil once settled). Guarded by writeMu.
	pending *pendingCommit
	// commitTxn commits Apply's transactions: (*badger.Txn).CommitWith
	// (tests fail it, as a full disk would).
	commitTxn func(*badger.Txn, func(error))
	applied   atomic.Uint64 // the raft index the book reflects
	// Counts kept in book/m/, cached for the metrics.
	cases, outbox, quarantined, requests atomic.Int64
	// needs counts the book/n/ keys (the cases the office must act on by
	// itself), in memory only: counted at load, then kept by Apply, so
	// that the mail loop, which asks after every command, does not open
	// an iterator on the tree while there are none.
	needs atomic.Int64
	// oldestRequest is the time (unix nano) of the oldest request ID
	// remembered, 0 when none or not known: Apply skips the expiry scan
	// while it is recent enough.
	oldestRequest atomic.Int64
	// expiryFrom is where the expiry's scan of book/rt/ starts (nil: its
	// start): the key after the last record forgotten, so that the scan
	// does not walk the deletions of earlier commands until compaction
	// drops them. Only a command that was applied moves it on; it is
	// reset whenever a record may sort before it. Guarded by writeMu.
	expiryFrom []byte
	// statsStale: the counters were counted with older definitions
	// (keyStatsFormat), or their recount stopped part-way; Apply counts
	// them again first. Written under writeMu; Check reads it without.
	statsStale atomic.Bool
	// fronts is where each destination's messages in the outbox begin,
	// as last read, and the outbox's additions then (outbox_scan.go).
	fronts outboxFronts
	// generation is odd while Restore or Clear replaces the book's keys
	// (they drop them all first, then write the new ones outside any one
	// transaction): a read meanwhile sees part of a book (Generation).
	generation atomic.Uint64
	// statsEpoch is odd while the counters are being counted again
	// (keyStatsCounting): the statistics' readers check it before and
	// after they read (readStats), as a sequence lock.
	statsEpoch atomic.Uint64
	// formatsWritten: the database holds this binary's format and stats
	// format, so a commit need not write them again. Guarded by writeMu.
	formatsWritten bool
	readErrors     atomic.Uint64
	// unlisted counts index entries a listing met whose case was not
	// whole (no record, or no filing event): a case left out (Unlisted).
	unlisted atomic.Uint64
	// maxRequests is MaxRequests (tests lower it); expiryScans counts the
	// expiry's scans (tests read it).
	maxRequests int
	expiryScans atomic.Uint64
	// chainsStored are signer chains known to be in the database (or in
	// the transaction Apply is writing, which is committed or stops the
	// node), so Save need not look them up. Guarded by writeMu; emptied
	// whenever the book is dropped (Restore, Clear).
	chainsStored map[[sha256.Size]byte]struct{}
	// hot caches the keys nearly every command reads and writes again
	// (isHot: the counters, the daily series, the days' sequences) as
	// Apply last wrote or read them (memo.go). Guarded by writeMu.
	hot map[string]hotValue
	// numbers is what NextSeq reads, kept in memory (memo.go).
	numbers numbering
	// requestIDs filters the request IDs the book does not remember
	// (memo.go).
	requestIDs requestFilter
	// scans remembers the checks of the scanned files' stored bytes and
	// the files found damaged (attachments_check.go).
	scans scanChecks
	// damaged are the cases found damaged, logged once each (damage.go).
	damaged damagedCases
	// beforeNote, when set (tests), is called as noteDamage begins: a
	// restore made there is one that replaced the book between a read
	// and its note.
	beforeNote func()
	// logger receives what the book reports (nil: slog.Default()).
	logger atomic.Pointer[slog.Logger]
	// stop is how badger's goroutine stops the node on a failed commit
	// of Apply (StopOnFailedCommit; nil: it panics).
	stop atomic.Pointer[func(error)]
}

// SetLogger sets the logger the book reports to (a stored scan found
// damaged, or sound again); slog.Default() until it is set.
func (b *Book) SetLogger(l *slog.Logger) { b.logger.Store(l) }

func (b *Book) log() *slog.Logger {
	if l := b.logger.Load(); l != nil {
		return l
	}
	return slog.Default()
}

// Open returns the book of office kept in db, as far as it was applied.
func Open(db *badger.DB, office string) (*Book, error) {
	b := &Book{office: office, db: db, maxRequests: MaxRequests, commitTxn: (*badger.Txn).CommitWith,
		chainsStored: map[[sha256.Size]byte]struct{}{}, hot: map[string]hotValue{}}
	if err := b.checkOffice(); err != nil {
		return nil, err
	}
	if err := b.load(); err != nil {
		return nil, err
	}
	return b, nil
}

// checkOffice refuses a book of another office (keyOffice), and marks a
// book that names none (new, or of a release before the mark) as this
// office's.
func (b *Book) checkOffice() error {
	return b.db.Update(func(txn *badger.Txn) error {
		it, err := txn.Get(keyOffice)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return txn.Set(keyOffice, []byte(b.office))
		}
		if err != nil {
			return fmt.Errorf("casebook: read %s: %w", keyOffice, err)
		}
		held, err := it.ValueCopy(nil)
		if err != nil {
			return err
		}
		if string(held) != b.office {
			return fmt.Errorf("casebook: this data directory holds the book of office %s, not of office %s: start the node with --office %s, or restore office %s's own backup into a new data directory",
				held, b.office, held, b.office)
		}
		return nil
	})
}

// load reads the meta keys into the cache.
func (b *Book) load() error {
	return b.db.View(func(txn *badger.Txn) error {
		if v, err := getUint(txn, keyFormat); err != nil {
			return err
		} else if v > format {
			return fmt.Errorf("casebook: the book on disk has format %d; this binary reads up to %d", v, format)
		}
		if v, err := getUint(txn, keyStatsFormat); err != nil {
			return err
		} else if v > statsFormat {
			return fmt.Errorf("casebook: the statistics on disk were counted by a newer release (format %d); this binary counts up to %d: run the newer release, or restore a backup", v, statsFormat)
		}
		for _, m := range []struct {
			k []byte
			f func(uint64)
		}{
			{keyApplied, b.applied.Store},
			{keyCases, func(v uint64) { b.cases.Store(int64(v)) }},
			{keyOutboxLen, func(v uint64) { b.outbox.Store(int64(v)) }},
			{keyQuarantLen, func(v uint64) { b.quarantined.Store(int64(v)) }},
			{keyRequests, func(v uint64) { b.requests.Store(int64(v)) }},
		} {
			v, err := getUint(txn, m.k)
			if err != nil {
				return err
			}
			m.f(v)
		}
		needs := int64(0)
		if err := eachKey(txn, []byte(pNeeds), func(_, _ []byte) error {
			needs++
			return nil
		}); err != nil {
			return err
		}
		b.needs.Store(needs)
		b.oldestRequest.Store(0)
		b.expiryFrom = nil
		clear(b.hot)
		b.numbers.reset(txn)
		b.requestIDs.reset(txn)
		v, err := getUint(txn, keyStatsFormat)
		if err != nil {
			return err
		}
		// A recount stopped part-way is done again whatever the format
		// says (a later release's, stopped, then this one started).
		counting := hasKey(txn, keyStatsCounting)
		b.statsStale.Store(counting || v < statsFormat && (b.applied.Load() > 0 || b.cases.Load() > 0))
		if counting != (b.statsEpoch.Load()%2 == 1) {
			b.statsEpoch.Add(1)
		}
		stored, err := getUint(txn, keyFormat)
		if err != nil {
			return err
		}
		b.formatsWritten = stored == format && v == statsFormat
		return nil
	})
}

// getUint reads a big-endian counter; a missing key is 0.
func getUint(txn *badger.Txn, k []byte) (uint64, error) {
	it, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("casebook: read %s: %w", k, err)
	}
	var v uint64
	err = it.Value(func(val []byte) error {
		if len(val) != 8 {
			return fmt.Errorf("casebook: %s holds %d bytes, not 8", k, len(val))
		}
		v = binary.BigEndian.Uint64(val)
		return nil
	})
	return v, err
}

// getProto decodes the value at k into m; ok is false when k is absent.
func getProto(txn *badger.Txn, k []byte, m proto.Message) (bool, error) {
	it, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("casebook: read %q: %w", k, err)
	}
	if err := it.Value(func(val []byte) error { return proto.Unmarshal(val, m) }); err != nil {
		return false, fmt.Errorf("casebook: decode %q: %w", k, err)
	}
	return true, nil
}

// view runs f in a read transaction. A storage error (a closed or failing
// database) reads as nothing held: the readers of the book are lookups
// and listings that answer "not found" then, and the error is counted
// (ReadErrors) for the metrics and logged by the caller that cares.
func (b *Book) view(f func(txn *badger.Txn) error) {
	gen := b.generation.Load()
	if err := b.db.View(f); err != nil {
		b.readErrors.Add(1)
		b.noteDamage(gen, err)
	}
}

// ReadErrors is how many reads of the book failed on its storage.
func (b *Book) ReadErrors() uint64 { return b.readErrors.Load() }

// Unlisted is how many times a listing met an index entry whose case it
// could not read whole (no case record, or no filing event) and left the
// case out. Never more than 0 in a book that agrees with itself (Check):
// the index and the case are written in one transaction.
func (b *Book) Unlisted() uint64 { return b.unlisted.Load() }

// leftOut counts and logs a case a listing left out (Unlisted): the
// first ten, then every thousandth, so that a listing asked again and
// again does not flood the log.
func (b *Book) leftOut(listing, number string, held bool) {
	n := b.unlisted.Add(1)
	if n <= 10 || n%1000 == 0 {
		slog.Warn("case book listing left out a case it could not read whole", "listing", listing, "case", number,
			"case_record", held, "times", n)
	}
}

// Office returns the office whose book this is.
func (b *Book) Office() string { return b.office }

// Applied returns the raft index the book reflects.
func (b *Book) Applied() uint64 { return b.applied.Load() }

// Len returns the number of cases the book holds.
func (b *Book) Len() int { return int(b.cases.Load()) }

// OutboxLen returns the number of entries waiting for a receipt.
func (b *Book) OutboxLen() int { return int(b.outbox.Load()) }

// QuarantinedLen returns the number of outbox entries set aside.
func (b *Book) QuarantinedLen() int { return int(b.quarantined.Load()) }

// loadCase reads a case and its log in txn. A record whose events are
// not all there is ErrDamaged (damagedCase).
func loadCase(txn *badger.Txn, number string) (*yizhanv1.Case, []*yizhanv1.CaseEvent, bool, error) {
	c := &yizhanv1.Case{}
	ok, err := getProto(txn, caseKey(number), c)
	if err != nil || !ok {
		return nil, nil, false, err
	}
	events, err := loadWhole(txn, number, c)
	if err != nil {
		return nil, nil, false, err
	}
	return c, events, true, nil
}

// loadWhole reads the log of case c, whose record is held: all of it,
// or a *DamageError saying what is missing.
func loadWhole(txn *badger.Txn, number string, c *yizhanv1.Case) ([]*yizhanv1.CaseEvent, error) {
	events, err := loadEvents(txn, number, c.GetLastSeq())
	if err == nil && uint32(len(events)) != c.GetLastSeq() {
		err = damagedCase(number, c.GetLastSeq(), len(events))
	}
	return events, err
}

// loadEvents reads the first upto events of a case.
func loadEvents(txn *badger.Txn, number string, upto uint32) ([]*yizhanv1.CaseEvent, error) {
	return loadEventsNoting(txn, number, upto, nil)
}

// loadEventsNoting is loadEvents, and adds to refs (if not nil) the
// signer chains the events refer to.
func loadEventsNoting(txn *badger.Txn, number string, upto uint32, refs map[[sha256.Size]byte]bool) ([]*yizhanv1.CaseEvent, error) {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = eventPrefix(number)
	opts.PrefetchSize = int(min(upto, 100))
	it := txn.NewIterator(opts)
	defer it.Close()
	events := make([]*yizhanv1.CaseEvent, 0, upto)
	for it.Rewind(); it.Valid() && uint32(len(events)) < upto; it.Next() {
		e := &yizhanv1.CaseEvent{}
		err := it.Item().Value(func(v []byte) error {
			if len(v) == 0 {
				// No event is stored empty: badger hands over an entry
				// of its value log it cannot read back as nothing,
				// without an error (it logs it).
				return errors.New("it reads back empty (its value is lost)")
			}
			return proto.Unmarshal(v, e)
		})
		if err != nil {
			return nil, damage(number, "event %d: %v", len(events)+1, err)
		}
		if refs != nil && isChainRef(e.GetSignerChain()) {
			refs[[sha256.Size]byte(e.GetSignerChain()[0][1:])] = true
		}
		if err := restoreChain(txn, e); errors.Is(err, ErrDamaged) {
			return nil, damage(number, "event %d: %s", len(events)+1, strings.TrimPrefix(err.Error(), ErrDamaged.Error()+": "))
		} else if err != nil {
			return nil, fmt.Errorf("casebook: event %d of %s: %w", len(events)+1, number, err)
		}
		if e.GetSeq() != uint32(len(events)+1) {
			return nil, damage(number, "event %d on disk has seq %d", len(events)+1, e.GetSeq())
		}
		events = append(events, e)
	}
	return events, nil
}

// withMirror sets c.Mirror for this office.
func (b *Book) withMirror(c *yizhanv1.Case) *yizhanv1.Case {
	c.Mirror = c.GetOwnerOffice() != b.office
	return c
}

// Case returns the case with the given number, Mirror set when another
// office owns it. Deadlines are not set: see casework.Clocks.
func (b *Book) Case(number string) (*yizhanv1.Case, bool) {
	c := &yizhanv1.Case{}
	var ok bool
	b.view(func(txn *badger.Txn) (err error) {
		ok, err = getProto(txn, caseKey(number), c)
		return err
	})
	if !ok {
		return nil, false
	}
	return b.withMirror(c), true
}

// Events returns the case's log (nil when the book does not hold it, or
// cannot read all of it: Read says why).
func (b *Book) Events(number string) []*yizhanv1.CaseEvent {
	var events []*yizhanv1.CaseEvent
	b.view(func(txn *badger.Txn) error {
		_, ev, _, err := loadCase(txn, number)
		events = ev
		return err
	})
	return events
}

// Read returns the case with the given number and its log, read
// together; ok is false when the book does not hold the case. A case
// whose record the book holds without all its events, or with one it
// cannot read back, is ErrDamaged, naming the case and what is missing:
// the database lost what it had acknowledged, and the case cannot be
// shown or acted on from this node's book (docs/OPERATIONS.md). A read
// while a restore replaces the book is ErrReplacing (what it saw may be
// part of a book); another failure of the database is returned as it is.
func (b *Book) Read(number string) (*yizhanv1.Case, []*yizhanv1.CaseEvent, bool, error) {
	gen := b.generation.Load()
	var (
		c      *yizhanv1.Case
		events []*yizhanv1.CaseEvent
		ok     bool
	)
	err := b.db.View(func(txn *badger.Txn) (err error) {
		c, events, ok, err = loadCase(txn, number)
		return err
	})
	if gen%2 == 1 || b.generation.Load() != gen {
		return nil, nil, false, ErrReplacing
	}
	if err != nil {
		b.readErrors.Add(1)
		b.noteDamage(gen, err)
		return nil, nil, false, err
	}
	if !ok {
		return nil, nil, false, nil
	}
	return b.withMirror(c), events, true, nil
}

// CaseAndEvents returns the case and its log read together; ok is false
// when the book does not hold the case or cannot read all of it (Read
// says why).
func (b *Book) CaseAndEvents(number string) (*yizhanv1.Case, []*yizhanv1.CaseEvent, bool) {
	var (
		c      *yizhanv1.Case
		events []*yizhanv1.CaseEvent
		ok     bool
	)
	b.view(func(txn *badger.Txn) (err error) {
		c, events, ok, err = loadCase(txn, number)
		return err
	})
	if !ok {
		return nil, nil, false
	}
	return b.withMirror(c), events, true
}

// Pending is casework.Pending for the case with the given number, for
// this office.
func (b *Book) Pending(number string) (casework.Action, string, bool) {
	c, events, ok := b.CaseAndEvents(number)
	if !ok {
		return casework.ActionUnspecified, "", false
	}
	return casework.Pending(c, events, b.office)
}

// NeedsAction returns the numbers of the cases this office owns and must
// act on by itself (Pending), sorted.
func (b *Book) NeedsAction() []string {
	if b.needs.Load() == 0 {
		return nil
	}
	var out []string
	b.view(func(txn *badger.Txn) error {
		return eachKey(txn, []byte(pNeeds), func(k, _ []byte) error {
			out = append(out, string(k[len(pNeeds):]))
			return nil
		})
	})
	return out
}

// eachKey calls f for every key under p, in order, with its value (nil
// values are not fetched when f ignores them: keys only).
func eachKey(txn *badger.Txn, p []byte, f func(k, v []byte) error) error {
	opts := badger.DefaultIteratorOptions
	opts.Prefix = p
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		item := it.Item()
		v, err := item.ValueCopy(nil)
		if err != nil {
			return err
		}
		if err := f(item.KeyCopy(nil), v); err != nil {
			return err
		}
	}
	return nil
}

// Outbox returns the messages waiting for a receipt, by destination and
// case number.
func (b *Book) Outbox() []*peerv1.OutboxEntry {
	if b.outbox.Load() == 0 {
		return nil
	}
	var out []*peerv1.OutboxEntry
	b.view(func(txn *badger.Txn) error {
		return eachKey(txn, []byte(pOutbox), func(_, v []byte) error {
			en := &peerv1.OutboxEntry{}
			if err := proto.Unmarshal(v, en); err != nil {
				return err
			}
			out = append(out, en)
			return nil
		})
	})
	return out
}

// Quarantined returns the outbox entries set aside, by destination and
// case number.
func (b *Book) Quarantined() []*peerv1.QuarantinedEntry {
	var out []*peerv1.QuarantinedEntry
	b.view(func(txn *badger.Txn) error {
		return eachKey(txn, []byte(pQuarantine), func(_, v []byte) error {
			q := &peerv1.QuarantinedEntry{}
			if err := proto.Unmarshal(v, q); err != nil {
				return err
			}
			out = append(out, q)
			return nil
		})
	})
	return out
}

// Message returns the message that delivers an outbox entry: the case's
// log up to the entry's upto_seq, from this office, handed to dest when
// the entry is a handoff; or the record it names (carried.go). ok is false when
// the book does not hold the case.
func (b *Book) Message(en *peerv1.OutboxEntry) (*peerv1.CaseMessage, bool) {
	if m, isRecord, ok := b.recordMessage(en); isRecord {
		return m, ok
	}
	var events []*yizhanv1.CaseEvent
	b.view(func(txn *badger.Txn) (err error) {
		events, err = loadEvents(txn, en.GetCaseNumber(), en.GetUptoSeq())
		return err
	})
	if len(events) == 0 || uint32(len(events)) < en.GetUptoSeq() {
		// Fewer events than were queued: the book lost some (Read says
		// which), and a part of the log is not sent for the whole.
		return nil, false
	}
	m := &peerv1.CaseMessage{CaseNumber: en.GetCaseNumber(), FromOffice: b.office, Events: events}
	if en.GetHandoff() {
		m.HandoffTo = en.GetDestOffice()
	}
	return m, true
}

// Each calls f with every case the book holds, by number, Mirror set,
// from one view of the database; an error from f stops the walk.
func (b *Book) Each(f func(c *yizhanv1.Case) error) error {
	return b.db.View(func(txn *badger.Txn) error {
		return eachKey(txn, []byte(pCase), func(_, v []byte) error {
			c := &yizhanv1.Case{}
			if err := proto.Unmarshal(v, c); err != nil {
				return err
			}
			return f(b.withMirror(c))
		})
	})
}
