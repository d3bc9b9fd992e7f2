package casebook

import (
	"bytes"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
)

// The outbox read a part at a time. The mail's sender chooses each call
// of at most 64 messages from the front of a destination's entries (the
// urgent records first); reading the whole outbox for each call made
// draining a backlog cost the square of its length (20,000 messages to
// one office: 16 s, three quarters of it reading). These read what the
// sender looks at and no more. A message receipted is deleted, and
// badger walks its deletion on each read from the front until compaction
// drops it: the book keeps where each destination's messages began when
// last read, and reads from there while no message has been added since
// (outboxFronts), as the expiry does with expiryFrom.

// outboxFronts is, for each place a read of a destination's messages
// starts from (its front, where its urgent records begin), where the
// first message from there was when last read, valid while no entry has
// been added since: a key is made only by an addition, so none sorts
// between the two then.
type outboxFronts struct {
	adds  atomic.Uint64 // entries added, as committed
	mu    sync.Mutex
	stamp frontStamp // what the fronts below are valid for (stampOf)
	// front is, by destination and case number read from (dest, 0,
	// from), the first case number from there when last read; "" with
	// found false when there was none.
	front map[string]outboxFront
	dests []string // the destinations, when read at stamp
	read  bool     // dests was read at stamp
}

type outboxFront struct {
	number string
	found  bool
}

// added notes n entries added by a commit.
func (f *outboxFronts) added(n int64) {
	if n > 0 {
		f.adds.Add(uint64(n))
	}
}

// frontStamp is what a read of the outbox is valid for: the additions
// committed and the book's generation (a restore replaces every key).
type frontStamp struct{ adds, generation uint64 }

// stampOf is what a read now is valid for, or ok false while a restore
// is under way.
func (b *Book) stampOf() (stamp frontStamp, ok bool) {
	gen := b.generation.Load()
	return frontStamp{b.fronts.adds.Load(), gen}, gen%2 == 0
}

// knownFront returns where the messages from at begin, if known for
// stamp.
func (f *outboxFronts) knownFront(at string, stamp frontStamp) (outboxFront, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fr, ok := f.front[at]
	return fr, ok && f.stamp == stamp
}

// keep notes what a read at stamp found (where the messages from at
// begin, unless at is "", and the destinations when readDests),
// forgetting what was noted at another stamp.
func (f *outboxFronts) keep(stamp frontStamp, at string, fr outboxFront, dests []string, readDests bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stamp != stamp || f.front == nil {
		f.stamp, f.front, f.dests, f.read = stamp, map[string]outboxFront{}, nil, false
	}
	if at != "" {
		f.front[at] = fr
	}
	if readDests {
		f.dests, f.read = dests, true
	}
}

// OutboxDestinations returns the offices the outbox holds messages
// for, in order: one seek each, whatever their number of messages.
func (b *Book) OutboxDestinations() []string {
	if b.outbox.Load() == 0 {
		return nil
	}
	stamp, valid := b.stampOf()
	if valid {
		b.fronts.mu.Lock()
		dests, read := b.fronts.dests, b.fronts.read && b.fronts.stamp == stamp
		b.fronts.mu.Unlock()
		if read {
			// Perhaps one with nothing left: its scan finds nothing.
			return slices.Clone(dests)
		}
	}
	var dests []string
	whole := false
	b.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = []byte(pOutbox)
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Rewind(); it.Valid(); {
			rest := it.Item().Key()[len(pOutbox):]
			end := bytes.IndexByte(rest, 0)
			if end < 0 {
				it.Next() // not an entry's key
				continue
			}
			dest := string(rest[:end])
			dests = append(dests, dest)
			it.Seek(key(pOutbox, dest+"\x01"))
		}
		whole = true
		return nil
	})
	if valid && whole {
		b.fronts.keep(stamp, "", outboxFront{}, slices.Clone(dests), true)
	}
	return dests
}

// OutboxScan calls f with the messages waiting for office dest whose
// case number is from or after it, in case number order, until f returns
// false or none is left.
func (b *Book) OutboxScan(dest, from string, f func(*peerv1.OutboxEntry) bool) {
	if b.outbox.Load() == 0 {
		return
	}
	// From where the first message from there was when last read, if
	// nothing was added since.
	stamp, front := b.stampOf()
	at := dest + "\x00" + from
	if front {
		if fr, ok := b.fronts.knownFront(at, stamp); ok {
			if !fr.found {
				return
			}
			from = fr.number
		}
	}
	first, found, whole := "", false, false
	b.view(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.PrefetchValues = false
		opts.Prefix = key(pOutbox, dest, "")
		it := txn.NewIterator(opts)
		defer it.Close()
		for it.Seek(key(pOutbox, dest, from)); it.Valid(); it.Next() {
			en := &peerv1.OutboxEntry{}
			if err := it.Item().Value(func(v []byte) error { return proto.Unmarshal(v, en) }); err != nil {
				return err
			}
			if !found {
				first, found = string(it.Item().Key()[len(opts.Prefix):]), true
			}
			if !f(en) {
				break
			}
		}
		whole = true // read without a failure
		return nil
	})
	if front && whole {
		b.fronts.keep(stamp, at, outboxFront{number: first, found: found}, nil, false)
	}
}

// OutboxEntry returns the message waiting for office dest of case
// number, and whether there is one.
func (b *Book) OutboxEntry(dest, number string) (*peerv1.OutboxEntry, bool) {
	if b.outbox.Load() == 0 {
		return nil, false
	}
	en := &peerv1.OutboxEntry{}
	var ok bool
	b.view(func(txn *badger.Txn) error {
		var err error
		ok, err = getProto(txn, outboxKey(dest, number), en)
		return err
	})
	return en, ok
}
