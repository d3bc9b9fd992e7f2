package casebook

import (
	"bytes"
	"encoding/binary"
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/yizhan-gov/yizhan/registry"
)

// What the book keeps in memory beside the database: keys that nearly
// every filing reads, which in a book of years cost a lookup in every
// level of badger's tree each (the first version found need not be the
// newest, so badger looks further; a miss checks a bloom filter per
// table). Each is kept true the same way: Apply's writes go through it
// as they go into the transaction (Book.wrote), a command that fails
// writes nothing to it, and whatever writes the book otherwise (Restore,
// Clear, upgradeStats, MarkRestored) sets it again from the database
// (load) or empties it.

// isHot reports whether k is one of the keys nearly every command reads
// and writes again: the statistics counters, the daily series and the
// days' sequences (the hot cache, Book.hot).
func isHot(k []byte) bool {
	return bytes.HasPrefix(k, []byte(pStat)) || bytes.HasPrefix(k, []byte(pDaily)) || bytes.HasPrefix(k, []byte(pSeq))
}

// isHotKey is isHot of a key held as a string (without copying it).
func isHotKey(k string) bool {
	return strings.HasPrefix(k, pStat) || strings.HasPrefix(k, pDaily) || strings.HasPrefix(k, pSeq)
}

// maxHot bounds the hot cache: a county's commands of a day touch a few
// hundred counters; past the bound the cache starts again empty.
const maxHot = 4096

// hotValue is a hot key's value, or its absence (held false).
type hotValue struct {
	val  []byte
	held bool
}

// keepHot caches k's value as the writer's transaction has it (or will
// have it once a command's writes are added). The caller holds writeMu.
func (b *Book) keepHot(k string, w write) {
	if _, ok := b.hot[k]; !ok && len(b.hot) >= maxHot {
		clear(b.hot)
	}
	b.hot[k] = hotValue{val: w.val, held: !w.del}
}

// wrote notes a write Apply put into its transaction in what the book
// keeps in memory. The caller holds writeMu.
func (b *Book) wrote(k string, w write) {
	switch {
	case strings.HasPrefix(k, pSeq):
		b.keepHot(k, w)
		if !w.del {
			b.numbers.wrote(k[len(pSeq):], uint32(decodeUint(w.val)))
		}
	case isHotKey(k):
		b.keepHot(k, w)
	case k == string(keyRestored) || k == string(keySeqFloor) || k == string(keyFirstStart):
		b.numbers.setMarks(k, w)
	case strings.HasPrefix(k, pRequest):
		b.requestIDs.wrote(k[len(pRequest):], w.del)
	}
}

// numbering is what NextSeq reads for each filing, kept in memory for the
// leader's handlers (which read the book without its write lock): the
// highest sequence of each day the book holds, and the restored mark and
// sequence floor (restore.go), read from the database when the book is
// loaded and written through by Apply.
type numbering struct {
	mu sync.Mutex
	// gen counts the loads: a sequence read from the database while the
	// book was loaded again is not kept.
	gen uint64
	// seqs is the highest sequence held per day (YYYYMMDD), for the
	// days asked of or written since the load; sequences only rise
	// between loads, so the higher of two values is the newer.
	seqs map[string]uint32
	// restored and floor are book/m/restored's and book/m/seqfloor's
	// values, nil when absent.
	restored, floor []byte
	// firstStart is book/m/firststart's time (Unix ns), 0 when absent
	// (firststart.go): read at every filing, without mu.
	firstStart atomic.Int64
}

// maxNumberedDays bounds numbering.seqs: a leader numbers today's cases,
// and a few days' around midnight.
const maxNumberedDays = 64

// reset sets the marks from the database, forgets the sequences, and
// starts a new generation.
func (n *numbering) reset(txn *badger.Txn) {
	restored, floor := getRaw(txn, keyRestored), getRaw(txn, keySeqFloor)
	n.mu.Lock()
	defer n.mu.Unlock()
	n.gen++
	n.seqs = map[string]uint32{}
	n.restored, n.floor = restored, floor
	n.firstStart.Store(firstStartOf(getRaw(txn, keyFirstStart)))
}

// wrote keeps seq as day's highest if it is.
func (n *numbering) wrote(day string, seq uint32) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.keep(day, seq)
}

// keep keeps seq as day's highest if it is. The caller holds mu.
func (n *numbering) keep(day string, seq uint32) {
	if _, ok := n.seqs[day]; !ok && len(n.seqs) >= maxNumberedDays {
		clear(n.seqs)
	}
	n.seqs[day] = max(n.seqs[day], seq)
}

// setMarks notes a write of the restored mark, the floor or the
// first-start mark.
func (n *numbering) setMarks(k string, w write) {
	v := w.val
	if w.del {
		v = nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	switch k {
	case string(keyRestored):
		n.restored = v
	case string(keyFirstStart):
		n.firstStart.Store(firstStartOf(v))
	default:
		n.floor = v
	}
}

// firstStartOf is book/m/firststart's value v as Unix ns (0: none).
func firstStartOf(v []byte) int64 {
	if len(v) != 8 {
		return 0
	}
	return max(1, int64(binary.BigEndian.Uint64(v)))
}

// NextSeq returns the next free case sequence of this office for day
// (YYYYMMDD), from the numbers it holds, and above the floor of an office
// restored from a backup (restore.go).
func (b *Book) NextSeq(day string) uint32 {
	n := &b.numbers
	n.mu.Lock()
	seq, known := n.seqs[day]
	floor := seqFloor(n.restored, n.floor, day)
	gen := n.gen
	n.mu.Unlock()
	if !known {
		var held uint64
		var err error
		b.view(func(txn *badger.Txn) error {
			held, err = getUint(txn, key(pSeq, day))
			return err
		})
		if err != nil {
			return max(1, floor) // as before: a failed read reads as nothing held
		}
		n.mu.Lock()
		if n.gen == gen {
			n.keep(day, uint32(held))
			seq = n.seqs[day]
		} else {
			seq = uint32(held)
		}
		n.mu.Unlock()
	}
	return max(seq+1, floor)
}

// seqFloor is the lowest next case number of day (0: none), from the
// restored mark while the book has one, or from the floor FinishRecovery
// left.
func seqFloor(restored, floor []byte, day string) uint32 {
	if len(restored) == 12 {
		from := time.Unix(0, int64(binary.BigEndian.Uint64(restored))).In(registry.CST).Format("20060102")
		if day >= from {
			return binary.BigEndian.Uint32(restored[8:]) + 1
		}
		return 0
	}
	if len(floor) == 20 && day >= string(floor[:8]) && day <= string(floor[8:16]) {
		return binary.BigEndian.Uint32(floor[16:]) + 1
	}
	return 0
}

// requestFilter holds a 32-bit hash of every request ID the book
// remembers (book/r/), so that a write whose ID the book does not hold —
// nearly every write — is not looked up, twice (Answered before it is
// proposed, the overlay when it is applied): in a book of years such a
// miss checks a bloom filter in every table that may hold the key. The
// filter may say "maybe" for an ID the book does not hold (a hash shared
// with one it holds; with 32-bit hashes, one write in about 86,000 when
// the book remembers MaxRequests IDs); then the lookup answers. It never
// says "no" for an ID the book holds: it is built from the keys
// themselves when the book is loaded, and every write of the book's
// request records goes through it (Book.wrote) before it is committed.
// About 12 bytes an ID (a hash and its count, 8 bytes a map slot, and the
// map's slack): at most MaxRequests (50,000), 594 KB. With 64-bit hashes
// a slot took 16 bytes, 1.15 MB at 50,000: after 10,000 filings, the
// second largest part of a village's live heap in its profile.
type requestFilter struct {
	mu   sync.RWMutex
	seed maphash.Seed
	// held counts, per hash, the records that have it.
	held map[uint32]uint32
}

func (f *requestFilter) hash(id string) uint32 { return uint32(maphash.String(f.seed, id)) }

// reset builds the filter from the request records in txn.
func (f *requestFilter) reset(txn *badger.Txn) {
	held := map[uint32]uint32{}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.held == nil {
		f.seed = maphash.MakeSeed()
	}
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = []byte(pRequest)
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		held[f.hash(string(it.Item().Key()[len(pRequest):]))]++
	}
	f.held = held
}

// mayHold reports whether the book may remember id.
func (f *requestFilter) mayHold(id string) bool {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.held[f.hash(id)] > 0
}

// wrote notes a write of id's record (set or deleted).
func (f *requestFilter) wrote(id string, del bool) {
	h := f.hash(id)
	f.mu.Lock()
	defer f.mu.Unlock()
	switch n := f.held[h]; {
	case !del:
		f.held[h] = n + 1
	case n > 1:
		f.held[h] = n - 1
	default:
		delete(f.held, h)
	}
}
