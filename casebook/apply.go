package casebook

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/reason"
)

// RequestMemory is how long an office remembers the request ID of a
// client's write, by the commands' own times (see raftgroup).
const RequestMemory = 24 * time.Hour

// MaxRequests bounds the request IDs of case writes remembered (give or
// take maxExpiredPerCommand: they are forgotten in batches); past it
// the oldest go first, whatever their age.
const MaxRequests = 50_000

// Limits of one command's writes, the same on every node whatever its
// badger options, so that every node of an office refuses the same
// commands: a command writing more is refused (ErrTooLarge) and writes
// nothing. They are sized to fit one badger transaction of the smallest
// profile a node uses (badgerstore's Small: 600 KB, with room for the
// request memory's expiry; TestCommandLimitsFitTheSmallestTransaction)
// with values over ValueThreshold counted as pointers; the mail sends a
// message that does not fit on its own and sets it aside if it still does
// not (federation/mail).
const (
	maxCommandBytes = 384 << 10
	maxCommandKeys  = 4000
	// ValueThreshold is the value size from which badger keeps a value in
	// its value log, not in the LSM tree: the book's DB must be opened
	// with it (badgerstore.BadgerOptions does) for the limits above.
	// Events go to the value log whatever their size (inValueLog).
	ValueThreshold = 1 << 10
)

// inValueLog reports whether the book keeps k's value in badger's value
// log whatever its size:
//   - a case's events, written once and read rarely (an event stored
//     without its signer chain is 150–500 bytes): in the LSM tree
//     compactions would rewrite them level by level;
//   - the request records (300–600 bytes, the answer in them): written
//     once, read only for a retry, deleted a day later. Their keys are
//     clients' IDs, random, so every compaction of the tree's first
//     levels met the whole day's records and rewrote them; in the value
//     log the tree holds only their keys and pointers (600,000 filings
//     in-process: compactions wrote 32% fewer bytes, the disk 12% fewer,
//     docs/BENCHMARKS.md, session 25). What they leave behind is garbage
//     in files that are mostly events, under the value log GC's
//     threshold: about 0.4 KB a filing stays on disk.
//
// The case record, rewritten at every event, stays in the tree, where its
// old versions go at the next compaction.
func inValueLog(k string) bool { return strings.HasPrefix(k, pEvent) || strings.HasPrefix(k, pRequest) }

// entry is the badger entry that writes v under k.
func entry(k, v []byte) *badger.Entry {
	e := badger.NewEntry(k, v)
	if inValueLog(string(k)) {
		e = e.WithValueLog()
	}
	return e
}

// ErrTooLarge is a case command that would write more than one
// transaction may hold.
var ErrTooLarge error = reason.New(reason.TooLarge, "casebook: the command writes too much for one transaction")

// Entry is one case command of the office's raft log.
type Entry struct {
	Index uint64
	// At is the command's time (unix nano, fixed by its proposer): it
	// moves the request memory's window on.
	At      int64
	Request Request
	Cmd     *peerv1.CaseCommand
	// Hashed: Cmd is an Append whose events were found to hash right
	// (casework.HashesMatch) by the node that proposed it, while raft
	// wrote the entry: they are not hashed again
	// (casework.ApplyCommandHashed).
	Hashed bool
}

// Request identifies a client's write: its ID and a hash of what it asks.
// The zero Request is a write without an ID.
type Request struct {
	ID   string
	Hash []byte
}

// Result is what applying one entry gave: the answer (first given, for a
// request ID remembered), the index that gave it, or the error that left
// the book unchanged.
type Result struct {
	Value proto.Message
	Index uint64
	Err   error
}

// ErrRequestConflict is a request ID already used for another request.
var ErrRequestConflict error = reason.New(reason.RequestIDReused, "casebook: the request ID was used for another request")

// Apply applies the case commands of a batch of raft entries, through
// raft index through (the batch's last entry, whatever its kind), and
// returns one result per entry. Entries at or below the index the book
// reflects are skipped (a restart, or a snapshot newer than the log
// replayed after it): the book already holds them. Each entry is applied
// whole or not at all, in one badger transaction with the index it
// reaches; a batch usually shares one.
//
// A failure to write is a failure of the disk, not of the command: Apply
// panics then with a *DiskError, as the node cannot go on applying its
// log (etcd's backend does the same); the state machine stops the node
// on it. Started again, the node replays the log from the index the book
// reached.
func (b *Book) Apply(entries []Entry, through uint64, reg casework.Registry) []Result {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.settle()
	if b.statsStale.Load() && len(entries) > 0 && entries[len(entries)-1].Index > b.applied.Load() {
		if err := b.upgradeStats(reg); err != nil {
			// As a failure to write (see above); a damaged case it met
			// stays in the chain, and stops the node as damage.
			panic(failedWrite(entries[len(entries)-1].Index, err, "count the statistics again"))
		}
	}
	w := b.newWriter()
	out := make([]Result, len(entries))
	for i, e := range entries {
		out[i].Index = e.Index
		if e.Index <= b.applied.Load() {
			continue
		}
		o := newOverlay(b, w.txn, reg)
		o.expireRequests(e.At, b.requests.Load()+w.deltas.requests)
		v, first, err := o.apply(e, reg)
		if size, keys := o.size-o.expirySize, len(o.writes)-o.expiryKeys; err == nil && (size > maxCommandBytes || keys > maxCommandKeys) {
			v, err = nil, fmt.Errorf("%w: %d bytes in %d keys, more than %d bytes or %d keys", ErrTooLarge, size, keys, maxCommandBytes, maxCommandKeys)
		}
		out[i] = Result{Value: v, Index: first, Err: err}
		if err != nil {
			// Nothing of the command is written, not even the expiry:
			// the next command expires the same records.
			continue
		}
		if !w.fits(o) {
			w.commit(e.Index - 1)
			w = b.newWriter()
			o.txn = w.txn
		}
		w.add(o)
		b.noteChains(o)
		if o.expiryNext != nil {
			b.expiryFrom = o.expiryNext
		}
	}
	w.commit(max(through, b.applied.Load()))
	return out
}

// writer is one badger transaction of a batch.
type writer struct {
	b           *Book
	txn         *badger.Txn
	size, count int64
	deltas      counts
}

// counts are changes of the meta counts.
type counts struct {
	cases, outbox, quarantined, requests, needs int64
	// outboxAdded counts the outbox entries added (not replaced); only
	// their number is kept, not the entries (outboxFronts).
	outboxAdded int64
}

func (c *counts) add(d counts) {
	c.cases += d.cases
	c.needs += d.needs
	c.outbox += d.outbox
	c.quarantined += d.quarantined
	c.requests += d.requests
	c.outboxAdded += d.outboxAdded
}

func (b *Book) newWriter() *writer {
	return &writer{b: b, txn: b.db.NewTransaction(true)}
}

// fits reports whether o's writes fit in the transaction with what it
// holds, by badger's own estimate, with room for the meta keys.
func (w *writer) fits(o *overlay) bool {
	const metaRoom = 512
	return w.size+o.size+metaRoom < w.b.db.MaxBatchSize()*8/10 &&
		w.count+int64(len(o.writes))+8 < w.b.db.MaxBatchCount()*8/10
}

// add writes o's changes into the transaction.
func (w *writer) add(o *overlay) {
	for _, k := range o.order {
		v := o.writes[k]
		var err error
		if v.del {
			err = w.txn.Delete([]byte(k))
		} else {
			err = w.txn.SetEntry(entry([]byte(k), v.val))
		}
		if err != nil {
			panic(failedWrite(o.index, err, "write %q", k))
		}
		w.b.wrote(k, v)
	}
	w.size += o.size
	w.count += int64(len(o.writes))
	w.deltas.add(o.deltas)
}

// commit writes the meta keys (the index reached, the counts) and commits.
func (w *writer) commit(applied uint64) {
	defer w.txn.Discard()
	b := w.b
	if applied <= b.applied.Load() && w.count == 0 {
		return
	}
	next := counts{
		cases:       b.cases.Load() + w.deltas.cases,
		outbox:      b.outbox.Load() + w.deltas.outbox,
		quarantined: b.quarantined.Load() + w.deltas.quarantined,
		requests:    b.requests.Load() + w.deltas.requests,
		needs:       b.needs.Load() + w.deltas.needs,
	}
	set := func(k []byte, v uint64) {
		if err := w.txn.Set(k, be64(v)); err != nil {
			panic(failedWrite(applied, err, "write %s", k))
		}
	}
	// The formats once, and only the counts that moved: a filing's
	// transaction has some twenty keys, and each costs badger a skiplist
	// insert and a write to its memtable's log. A count of zero is no
	// key, so that nodes that committed the same entries in other
	// batches (a count that moved and came back within one) hold the
	// same keys.
	if !b.formatsWritten {
		set(keyFormat, format)
		set(keyStatsFormat, statsFormat)
	}
	set(keyApplied, applied)
	for _, c := range []struct {
		k           []byte
		delta, next int64
	}{
		{keyCases, w.deltas.cases, next.cases},
		{keyOutboxLen, w.deltas.outbox, next.outbox},
		{keyQuarantLen, w.deltas.quarantined, next.quarantined},
		{keyRequests, w.deltas.requests, next.requests},
	} {
		switch {
		case c.delta == 0:
		case c.next == 0:
			if err := w.txn.Delete(c.k); err != nil {
				panic(failedWrite(applied, err, "write %s", c.k))
			}
		default:
			set(c.k, uint64(c.next))
		}
	}
	// Badger writes the transaction while the state machine answers: the
	// answer does not wait for badger's writer goroutine. Whatever reads
	// the book next sees the commit all the same (a badger read waits for
	// the commits before it), and whatever writes next waits for it and
	// stops on its failure (settle): no later index is ever written over
	// a failed one.
	b.settle()
	p := &pendingCommit{index: applied, done: make(chan struct{}), stop: b.stop.Load()}
	b.pending = p
	b.commitTxn(w.txn, p.finish)
	b.formatsWritten = true // or the node stops (pendingCommit.finish)
	b.applied.Store(applied)
	b.cases.Store(next.cases)
	b.outbox.Store(next.outbox)
	// After the commit has its timestamp: a read that finds the count
	// unchanged sees every entry added before (outboxFronts).
	b.fronts.added(w.deltas.outboxAdded)
	b.quarantined.Store(next.quarantined)
	b.requests.Store(next.requests)
	b.needs.Store(next.needs)
}

// pendingCommit is the last commit of Apply, which badger may still be
// writing.
type pendingCommit struct {
	index uint64 // the raft index it reaches
	done  chan struct{}
	err   error            // set before done is closed
	stop  *func(err error) // the book's StopOnFailedCommit (nil: panic)
}

// finish is badger's callback, mostly in its own goroutine, where no
// recover of the state machine's reaches.
func (p *pendingCommit) finish(err error) {
	p.err = err
	if err == nil {
		close(p.done)
		return
	}
	// The node stops as it did when Apply waited (see Apply): nothing
	// would apply after this on the disk that failed. It stops here
	// before a writer waiting in settle is let go, so that the stop is
	// this one, whatever that writer's goroutine; done is closed all the
	// same when stop ends the goroutine (a test's).
	defer close(p.done)
	d := p.failed()
	if p.stop != nil {
		(*p.stop)(d)
	}
	panic(d)
}

// failed is the DiskError of the failed commit.
func (p *pendingCommit) failed() *DiskError {
	return failedWrite(p.index, p.err, "commit through raft index %d", p.index)
}

// settle waits for the last commit of Apply to be written, and panics if
// it failed, as Apply does on a failed write. The caller holds writeMu.
func (b *Book) settle() {
	p := b.pending
	if p == nil {
		return
	}
	<-p.done
	if p.err != nil {
		panic(p.failed())
	}
	b.pending = nil
}

// overlay is one command's writes over the batch's transaction: read
// back by the command itself, written into the transaction only when the
// command succeeded. It is the casework.Store the rules apply to.
type overlay struct {
	b      *Book
	txn    *badger.Txn
	reg    casework.Registry
	writes map[string]write
	order  []string // keys in the order first written
	size   int64    // badger's estimate of the writes
	deltas counts
	// cases loaded or saved by this command, by number.
	cases map[string]*loaded
	err   error // the first storage error: the command fails with it
	// noBase makes reads see only the overlay's own writes (Check
	// recounting from zero).
	noBase bool
	// The writes of the request memory's expiry, left out of the
	// command's limits: bounded apart (maxExpiredPerCommand).
	expirySize int64
	expiryKeys int
	// expiryNext, when set, is the Book's expiryFrom once the command is
	// applied.
	expiryNext []byte
	// at is the command's time (unix nano): the time-driven card rules
	// are evaluated at it; index its raft index.
	at    int64
	index uint64
	// chains are the signer chains the command's events refer to that
	// the Book does not know to be stored: once the command's writes
	// are in the transaction, they are (Book.chainsStored).
	chains [][sha256.Size]byte
}

type write struct {
	val []byte
	del bool
}

// loaded is a case as the command sees it.
type loaded struct {
	c       *yizhanv1.Case // nil: not held
	events  []*yizhanv1.CaseEvent
	pending bool // book/n/<number> is set
}

func newOverlay(b *Book, txn *badger.Txn, reg casework.Registry) *overlay {
	return &overlay{b: b, txn: txn, reg: reg, writes: map[string]write{}, cases: map[string]*loaded{}}
}

func (o *overlay) fail(err error) {
	if o.err == nil {
		o.err = err
	}
}

// readFailed is a read of the command's that the database failed (not a
// key it does not hold): a fault of this node's disk, not of the
// command, which the office's other nodes apply. Refusing the command
// here alone would make this node's book differ from the office's, so
// the apply stops, as on a failed write (a *DiskError). Check's
// recounts (noBase), which read nothing of the database's through the
// overlay, fail as before.
func (o *overlay) readFailed(err error, what string, args ...any) {
	if o.noBase {
		o.fail(err)
		return
	}
	panic(failedRead(o.index, err, what, args...))
}

// get reads k as the command left it; ok is false when absent.
func (o *overlay) get(k []byte) ([]byte, bool) {
	if w, ok := o.writes[string(k)]; ok {
		return w.val, !w.del
	}
	if o.noBase {
		return nil, false
	}
	hot := isHot(k)
	if hot {
		if h, ok := o.b.hot[string(k)]; ok {
			return h.val, h.held
		}
	}
	it, err := o.txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		if hot {
			o.b.keepHot(string(k), write{del: true})
		}
		return nil, false
	}
	if err != nil {
		o.readFailed(err, "read %q", k)
		return nil, false
	}
	v, err := it.ValueCopy(nil)
	if err != nil {
		o.readFailed(err, "read the value of %q", k)
		return nil, false
	}
	if hot {
		o.b.keepHot(string(k), write{val: v})
	}
	return v, true
}

func (o *overlay) note(k string, w write) {
	if _, ok := o.writes[k]; !ok {
		o.order = append(o.order, k)
	}
	o.writes[k] = w
	// badger's estimate (Txn.checkSize): key, value or a value pointer,
	// two meta bytes, ten for the version.
	v := int64(len(w.val))
	if v >= ValueThreshold || (v > 0 && inValueLog(k)) {
		v = 12
	}
	o.size += int64(len(k)) + v + 2 + 10
}

func (o *overlay) set(k, v []byte) { o.note(string(k), write{val: v}) }

func (o *overlay) del(k []byte) { o.note(string(k), write{del: true}) }

func (o *overlay) setProto(k []byte, m proto.Message) {
	v, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		o.fail(err)
		return
	}
	o.set(k, v)
}

func (o *overlay) getProto(k []byte, m proto.Message) bool {
	v, ok := o.get(k)
	if !ok {
		return false
	}
	if err := proto.Unmarshal(v, m); err != nil {
		o.fail(fmt.Errorf("casebook: decode %q: %w", k, err))
		return false
	}
	return true
}

func (o *overlay) getUint(k []byte) uint64 {
	v, ok := o.get(k)
	if !ok || len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// apply applies one entry's command, once per request ID.
func (o *overlay) apply(e Entry, reg casework.Registry) (proto.Message, uint64, error) {
	if e.Request.ID != "" {
		if v, first, ok, err := o.answered(e.Request); err != nil || ok {
			return v, first, err
		}
	}
	o.at, o.index = e.At, e.Index
	var v proto.Message
	var err error
	// Supervision's and duty's commands: cards, follow-ups, orders,
	// consultations and urgent reports are the book's records, not the
	// case rules'.
	if ev := e.Cmd.GetEvaluateCards(); ev != nil {
		o.evaluateCards(ev)
	} else if st := e.Cmd.GetSupervision(); st != nil {
		v, err = o.step(st)
	} else if pc := e.Cmd.GetPutConsultation(); pc != nil {
		v, err = o.putConsultation(pc)
	} else if pr := e.Cmd.GetPutReport(); pr != nil {
		v, err = o.putReport(pr)
	} else if pa := e.Cmd.GetPutReportAck(); pa != nil {
		v, err = o.putAck(pa)
	} else if ps := e.Cmd.GetPutShifts(); ps != nil {
		v, err = o.putShifts(ps)
	} else if pl := e.Cmd.GetPutLogEntry(); pl != nil {
		v, err = o.putLogEntry(pl)
	} else if pz := e.Cmd.GetPutZeroReport(); pz != nil {
		v, err = o.putZeroReport(pz)
	} else if fu := e.Cmd.GetFlagUnsignedReport(); fu != nil {
		v, err = o.flagUnsigned(fu)
	} else if pa := e.Cmd.GetPutAttachmentPart(); pa != nil {
		v, err = o.putAttachmentPart(pa)
	} else if du := e.Cmd.GetDropUnnamedAttachments(); du != nil {
		v, err = o.dropUnnamed(du)
	} else if fr := e.Cmd.GetFinishRecovery(); fr != nil {
		v, err = o.finishRecovery(fr)
	} else if af := e.Cmd.GetAnswerFirstStart(); af != nil {
		v, err = o.answerFirstStart(af)
	} else if rc := e.Cmd.GetReceive(); rc != nil && carriesRecords(rc) {
		v, err = o.receive(rc, e.Cmd, reg)
	} else {
		apply := casework.ApplyCommand
		if e.Hashed {
			apply = casework.ApplyCommandHashed
		}
		v, err = apply(o, o.b.office, e.Cmd, reg)
	}
	if o.err != nil {
		return nil, e.Index, fmt.Errorf("casebook: apply raft index %d: %w", e.Index, o.err)
	}
	if err != nil {
		return nil, e.Index, err
	}
	if e.Request.ID != "" {
		o.remember(e, v)
	}
	return v, e.Index, nil
}

// Load is casework.Store's.
func (o *overlay) Load(number string) (*yizhanv1.Case, []*yizhanv1.CaseEvent, bool) {
	l := o.load(number)
	if l.c == nil {
		return nil, nil, false
	}
	return proto.CloneOf(l.c), l.events, true
}

func (o *overlay) load(number string) *loaded {
	if l, ok := o.cases[number]; ok {
		return l
	}
	l := &loaded{}
	c := &yizhanv1.Case{}
	if o.getProto(caseKey(number), c) {
		events, err := loadEvents(o.txn, number, c.GetLastSeq())
		if err == nil && uint32(len(events)) != c.GetLastSeq() && !o.noBase {
			// The record is here and its events are not: the database
			// lost keys it had acknowledged. Applying on would make this
			// node's book differ from the office's: stop, as on a failed
			// write (see Apply), naming what is wrong and the entry.
			// The state machine turns the panic into the node's stop
			// (raftgroup.FSM.ApplyBatch).
			d := damagedCase(number, c.GetLastSeq(), len(events))
			d.Index = o.index
			panic(d)
		}
		if d := (*DamageError)(nil); errors.As(err, &d) && !o.noBase {
			// An event the database cannot read back (lost, or its
			// signer chain): refusing the command here alone would make
			// this node's book differ from the office's just the same.
			d.Index = o.index
			panic(d)
		}
		if err != nil {
			o.readFailed(err, "read the events of case %s", number)
		} else {
			l.c, l.events = c, events
			_, l.pending = o.get(key(pNeeds, number))
		}
	}
	o.cases[number] = l
	return l
}

// Save is casework.Store's: the case, its new events, and every index
// and counter they change.
func (o *overlay) Save(number string, c *yizhanv1.Case, events []*yizhanv1.CaseEvent, added int, pending bool) {
	before := o.load(number)
	isNew := before.c == nil
	o.setProto(caseKey(number), c)
	for _, e := range events[len(events)-added:] {
		o.saveEvent(number, e)
	}
	if pending != before.pending {
		if pending {
			o.set(key(pNeeds, number), nil)
			o.deltas.needs++
		} else {
			o.del(key(pNeeds, number))
			o.deltas.needs--
		}
	}
	if isNew {
		o.deltas.cases++
		if office, day, seq, err := casework.ParseCaseNumber(number); err == nil && office == o.b.office {
			if k := key(pSeq, day); uint64(seq) > o.getUint(k) {
				o.set(k, be64(uint64(seq)))
			}
		}
		o.indexApplicant(number, events[0].GetFiling().GetApplicant())
	}
	for _, a := range casework.Attachments(events[len(events)-added:]) {
		o.set(key(pAttachmentNamed, a.GetSha256()), nil) // kept: a case names it
		if _, listed := o.get(unnamedKey(a.GetSha256())); listed {
			o.del(unnamedKey(a.GetSha256())) // off the sweep's list
		}
		if _, unnamed := o.get(key(pAttachmentUnnamed, a.GetSha256())); unnamed {
			o.del(key(pAttachmentUnnamed, a.GetSha256())) // out of its office's quota
		}
	}
	o.indexQueue(number, c, events, isNew)
	o.indexStep(number, c, events, isNew)
	o.indexTouched(number, c, events, added)
	o.count(c, events, added)
	o.cardsOnEvents(c, events, added)
	o.openFollowUps(c, events, added)
	o.cases[number] = &loaded{c: c, events: events, pending: pending}
}

// saveEvent writes one event of a case, its signer chain stored once
// (chains.go).
func (o *overlay) saveEvent(number string, e *yizhanv1.CaseEvent) {
	chain := e.GetSignerChain()
	if isChainRef(chain) {
		// Only the book writes references; one given to it would point
		// at a chain it may not hold.
		o.fail(fmt.Errorf("casebook: event %d of case %s carries a reference for its signer chain", e.GetSeq(), number))
		return
	}
	enc, k, ref, sum, ok := chainRef(chain)
	if !ok {
		o.setProto(eventKey(number, e.GetSeq()), e)
		return
	}
	if _, known := o.b.chainsStored[sum]; !known {
		if _, held := o.get(k); !held {
			o.set(k, enc)
		}
		o.chains = append(o.chains, sum)
	}
	// A copy: the event is the command's, and may be read elsewhere.
	stored := proto.CloneOf(e)
	stored.SignerChain = [][]byte{ref}
	o.setProto(eventKey(number, e.GetSeq()), stored)
}

// OutboxEntry is casework.Store's.
func (o *overlay) OutboxEntry(dest, number string) *peerv1.OutboxEntry {
	en := &peerv1.OutboxEntry{}
	if !o.getProto(outboxKey(dest, number), en) {
		return nil
	}
	return en
}

// PutOutboxEntry is casework.Store's.
func (o *overlay) PutOutboxEntry(en *peerv1.OutboxEntry) {
	k := outboxKey(en.GetDestOffice(), en.GetCaseNumber())
	if _, ok := o.get(k); !ok {
		o.deltas.outbox++
		o.deltas.outboxAdded++
	}
	o.setProto(k, en)
}

// DeleteOutboxEntry is casework.Store's.
func (o *overlay) DeleteOutboxEntry(dest, number string) {
	k := outboxKey(dest, number)
	if _, ok := o.get(k); ok {
		o.deltas.outbox--
		o.del(k)
	}
}

// CardIssued is casework.Store's.
func (o *overlay) CardIssued(number string, r yizhanv1.CardRule) bool {
	_, ok := o.get(cardKey(number, r))
	return ok
}

// QuarantinedEntry is casework.Store's.
func (o *overlay) QuarantinedEntry(dest, number string) *peerv1.QuarantinedEntry {
	q := &peerv1.QuarantinedEntry{}
	if !o.getProto(quarantineKey(dest, number), q) {
		return nil
	}
	return q
}

// PutQuarantinedEntry is casework.Store's.
func (o *overlay) PutQuarantinedEntry(q *peerv1.QuarantinedEntry) {
	k := quarantineKey(q.GetEntry().GetDestOffice(), q.GetEntry().GetCaseNumber())
	if _, ok := o.get(k); !ok {
		o.deltas.quarantined++
	}
	o.setProto(k, q)
}

// DeleteQuarantinedEntry is casework.Store's.
func (o *overlay) DeleteQuarantinedEntry(dest, number string) {
	k := quarantineKey(dest, number)
	if _, ok := o.get(k); ok {
		o.deltas.quarantined--
		o.del(k)
	}
}

// answered looks a request up in the overlay's view.
func (o *overlay) answered(r Request) (proto.Message, uint64, bool, error) {
	if _, written := o.writes[string(key(pRequest, r.ID))]; !written && !o.b.requestIDs.mayHold(r.ID) {
		return nil, 0, false, nil
	}
	rec := &peerv1.RequestRecord{}
	if !o.getProto(key(pRequest, r.ID), rec) {
		return nil, 0, false, nil
	}
	return AnswerOf(rec, r)
}

// AnswerOf is the answer rec remembers for r, with the raft index that
// gave it, or ErrRequestConflict when r is another request under the
// same ID. The registry's request memory (raftgroup) answers with it too.
func AnswerOf(rec *peerv1.RequestRecord, r Request) (proto.Message, uint64, bool, error) {
	if string(rec.GetHash()) != string(r.Hash) {
		return nil, 0, false, fmt.Errorf("%w: %q", ErrRequestConflict, r.ID)
	}
	var v proto.Message
	if rec.GetAnswer() != nil {
		m, err := rec.GetAnswer().UnmarshalNew()
		if err != nil {
			return nil, 0, false, fmt.Errorf("casebook: decode remembered answer of %q: %w", r.ID, err)
		}
		v = m
	}
	return v, rec.GetIndex(), true, nil
}

// remember keeps the answer to a client's write.
func (o *overlay) remember(e Entry, v proto.Message) {
	rec := &peerv1.RequestRecord{Id: e.Request.ID, Hash: e.Request.Hash, AtUnixNano: e.At, Index: e.Index}
	if v != nil {
		if a, err := anypb.New(v); err == nil {
			rec.Answer = a
		}
	}
	o.setProto(key(pRequest, e.Request.ID), rec)
	tk := requestTimeKey(e.At, e.Index)
	o.set(tk, []byte(e.Request.ID))
	// The scan must see this record: a cursor past it, the book's or
	// the one this command's own scan found (commands' times need not
	// rise with their indexes: proposers stamp them before raft orders
	// them), goes.
	if o.b.expiryFrom != nil && bytes.Compare(tk, o.b.expiryFrom) < 0 {
		o.b.expiryFrom = nil
	}
	if o.expiryNext != nil && bytes.Compare(tk, o.expiryNext) < 0 {
		o.expiryNext = nil
		o.b.expiryFrom = nil
	}
	o.deltas.requests++
	if oldest := o.b.oldestRequest.Load(); oldest != 0 && e.At < oldest {
		o.b.oldestRequest.Store(0) // a proposer's clock behind an earlier one's
	}
}

func requestTimeKey(at int64, index uint64) []byte {
	return key(pReqTime, be64(uint64(at)), be64(index))
}

// maxExpiredPerCommand bounds the request records one command forgets: a
// quiet weekend after a busy day leaves thousands to forget, and the
// commands after it forget them a few hundred at a time (2 keys, about
// 100 bytes each), whatever their own size.
const maxExpiredPerCommand = 256

// expireRequests forgets the request IDs older than RequestMemory before
// at, and the oldest beyond MaxRequests, at most maxExpiredPerCommand. It
// reads no clock: at is the command's time, so every node forgets the
// same records at the same entry.
func (o *overlay) expireRequests(at int64, count int64) {
	if count == 0 {
		return
	}
	size, keys := o.size, len(o.writes)
	defer func() { o.expirySize, o.expiryKeys = o.size-size, len(o.writes)-keys }()
	// The oldest time is cached while it is known: most commands then
	// need no scan. It is dropped (0) whenever records go, since the
	// command may yet fail and leave them.
	// Past MaxRequests the count waits for maxExpiredPerCommand more
	// before a scan forgets down to MaxRequests: one scan (a badger
	// iterator over every table) per few hundred commands, not one per
	// command. Below that, a scan (the cache was dropped) forgets by age
	// only.
	keep := int64(o.b.maxRequests) + maxExpiredPerCommand
	if count > keep {
		keep = int64(o.b.maxRequests)
	} else if oldest := o.b.oldestRequest.Load(); oldest != 0 && at-oldest <= int64(RequestMemory) {
		return
	}
	o.b.expiryScans.Add(1)
	opts := badger.DefaultIteratorOptions
	opts.Prefix = []byte(pReqTime)
	it := o.txn.NewIterator(opts)
	defer it.Close()
	if o.b.expiryFrom != nil {
		it.Seek(o.b.expiryFrom)
	} else {
		it.Rewind()
	}
	var last []byte
	for deleted := 0; it.Valid(); it.Next() {
		k := it.Item().KeyCopy(nil)
		t := int64(binary.BigEndian.Uint64(k[len(pReqTime):]))
		if deleted == maxExpiredPerCommand || (count <= keep && at-t <= int64(RequestMemory)) {
			if deleted == 0 {
				o.b.oldestRequest.Store(t)
			}
			o.expiryNext = k
			return
		}
		id, err := it.Item().ValueCopy(nil)
		if err != nil {
			o.readFailed(err, "read the request ID of %q", k)
			return
		}
		o.del(k)
		o.del(key(pRequest, string(id)))
		o.deltas.requests--
		count--
		deleted++
		last = k
		o.b.oldestRequest.Store(0)
	}
	if last != nil {
		o.expiryNext = append(last, 0) // every record forgotten
	}
}

// Answered looks a client's case write up in the book: the answer and
// raft index of its first application and ok when it was applied, or
// ErrRequestConflict when its ID was used for another request.
func (b *Book) Answered(r Request) (proto.Message, uint64, bool, error) {
	if r.ID == "" || !b.requestIDs.mayHold(r.ID) {
		return nil, 0, false, nil
	}
	rec := &peerv1.RequestRecord{}
	var ok bool
	var err error
	b.view(func(txn *badger.Txn) error {
		ok, err = getProto(txn, key(pRequest, r.ID), rec)
		return nil
	})
	if err != nil || !ok {
		return nil, 0, false, err
	}
	return AnswerOf(rec, r)
}
