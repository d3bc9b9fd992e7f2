package casebook

import (
	"encoding/binary"
	"fmt"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The registry's audit trail (操作记录). The registry lives in memory and
// its changelog keeps only the newest writes, for the feed; the audit
// trail keeps every write the office applied, for good, in the book:
// book/ga/<index> the record, book/iga/<kind>\0<target>\0<index> → nil
// for the writes to one entry. Each is written in one transaction with
// the raft index of its write, so a write is recorded once, even when a
// restart applies the log again.

// maxChangesScanned bounds the records one page reads when a filter skips
// most of them: the page then ends early, with a token to go on.
const maxChangesScanned = 20000

func registryChangeKey(index uint64) []byte { return key(pRegistryChange, be64(index)) }

func registryChangeTargetKey(kind, target string, index uint64) []byte {
	return key(pRegistryChangeByTarget, kind, target, be64(index))
}

// RecordRegistryChange keeps c, a registry write applied at raft index
// c.Index, in the audit trail, and moves the book's applied index to it.
// A write the book already holds (c.Index not above Applied) is skipped.
// Like Apply, a failure to write stops the node: the log has the write,
// and a book without it would differ from its office's other nodes.
func (b *Book) RecordRegistryChange(c *yizhanv1.RegistryChange) {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.settle()
	if c.GetIndex() <= b.applied.Load() {
		return
	}
	w := b.newWriter()
	w.addRegistryChange(c)
	w.commit(c.GetIndex())
}

// addRegistryChange writes registry change c into the transaction.
func (w *writer) addRegistryChange(c *yizhanv1.RegistryChange) {
	val, err := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	if err != nil {
		panic(fmt.Errorf("casebook: encode the registry change at index %d: %w", c.GetIndex(), err))
	}
	if err := w.txn.Set(registryChangeKey(c.GetIndex()), val); err != nil {
		panic(failedWrite(c.GetIndex(), err, "write the registry change at index %d", c.GetIndex()))
	}
	if c.GetKind() != "" && c.GetTarget() != "" {
		if err := w.txn.Set(registryChangeTargetKey(c.GetKind(), c.GetTarget(), c.GetIndex()), nil); err != nil {
			panic(failedWrite(c.GetIndex(), err, "write the registry change at index %d", c.GetIndex()))
		}
	}
	w.count += 2
}

// ChangesQuery selects records of the audit trail.
type ChangesQuery struct {
	Kind   string // only writes of this kind ("": all)
	Target string // only writes to this target (with Kind)
	Actor  string // only writes by this actor
	Below  uint64 // only writes below this index (0: from the newest)
	Limit  int    // at most this many (≥ 1)
}

// RegistryChanges lists the audit trail newest first as q selects, and
// the index to go on below (0: none left).
func (b *Book) RegistryChanges(q ChangesQuery) ([]*yizhanv1.RegistryChange, uint64, error) {
	var (
		out  []*yizhanv1.RegistryChange
		next uint64
	)
	err := b.db.View(func(txn *badger.Txn) error {
		byTarget := q.Kind != "" && q.Target != ""
		prefix := []byte(pRegistryChange)
		if byTarget {
			prefix = key(pRegistryChangeByTarget, q.Kind, q.Target, "")
		}
		opts := badger.DefaultIteratorOptions
		opts.Prefix, opts.Reverse = prefix, true
		opts.PrefetchValues = !byTarget
		it := txn.NewIterator(opts)
		defer it.Close()
		seek := append(append([]byte{}, prefix...), 0xff)
		if q.Below > 0 {
			seek = append(append([]byte{}, prefix...), be64(q.Below-1)...)
		}
		scanned := 0
		for it.Seek(seek); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != len(prefix)+8 {
				continue
			}
			index := binary.BigEndian.Uint64(k[len(prefix):])
			if len(out) == q.Limit || scanned == maxChangesScanned {
				next = index + 1
				return nil
			}
			scanned++
			c := &yizhanv1.RegistryChange{}
			if byTarget {
				// An index entry: the record is under its own key.
				if ok, err := getProto(txn, registryChangeKey(index), c); err != nil {
					return err
				} else if !ok {
					continue
				}
			} else if err := it.Item().Value(func(v []byte) error { return proto.Unmarshal(v, c) }); err != nil {
				return fmt.Errorf("casebook: decode the registry change at index %d: %w", index, err)
			}
			if (q.Kind != "" && c.GetKind() != q.Kind) || (q.Actor != "" && c.GetActor() != q.Actor) {
				continue
			}
			out = append(out, c)
		}
		return nil
	})
	return out, next, err
}
