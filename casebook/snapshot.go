package casebook

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/dgraph-io/badger/v4"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/reason"
)

// The book travels to a follower that fell behind as a stream of its
// keys and values, read from one consistent view of the database:
//
//	"yizhan-book-1\n"
//	(uvarint len(key), key, uvarint len(value), value)*   in key order
//	uvarint 0
//	SHA-256 of everything before it
//
// Restoring it gives the same keys and values (Digest compares two
// books), the raft index included.
const streamMagic = "yizhan-book-1\n"

// ErrBadStream is a book stream that is not whole or not one.
var ErrBadStream = errors.New("casebook: not a whole book stream")

// Stream writes the whole book to w and returns the raft index it
// reflects. Apply goes on meanwhile: the stream is one read view.
func (b *Book) Stream(w io.Writer) (uint64, error) {
	v := b.OpenView()
	defer v.Close()
	return v.Stream(w)
}

// streamTxn writes the book as txn sees it to w. note, if set, is given
// each damaged case the walk meets (streamCheck), more than once maybe.
func streamTxn(txn *badger.Txn, w io.Writer, note func(error)) (applied uint64, err error) {
	err = func() error {
		bw := bufio.NewWriterSize(w, 256<<10)
		h := sha256.New()
		out := io.MultiWriter(bw, h)
		if _, err := io.WriteString(out, streamMagic); err != nil {
			return err
		}
		var err error
		if applied, err = getUint(txn, keyApplied); err != nil {
			return err
		}
		opts := badger.DefaultIteratorOptions
		opts.Prefix = []byte(prefix)
		it := txn.NewIterator(opts)
		defer it.Close()
		var check *streamCheck
		if note != nil {
			check = newStreamCheck(txn, note)
			defer check.recs.Close()
		}
		var lenBuf [binary.MaxVarintLen64]byte
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			k := item.Key()
			if err := item.Value(func(v []byte) error {
				if check != nil {
					check.item(k, v)
				}
				for _, p := range [][]byte{k, v} {
					if _, err := out.Write(lenBuf[:binary.PutUvarint(lenBuf[:], uint64(len(p)))]); err != nil {
						return err
					}
					if _, err := out.Write(p); err != nil {
						return err
					}
				}
				return nil
			}); err != nil {
				return err
			}
		}
		if check != nil {
			check.finish()
		}
		if _, err := out.Write([]byte{0}); err != nil {
			return err
		}
		if _, err := bw.Write(h.Sum(nil)); err != nil {
			return err
		}
		return bw.Flush()
	}()
	if err != nil {
		return 0, fmt.Errorf("casebook: write stream: %w", err)
	}
	return applied, nil
}

// Generation changes whenever the book's keys are replaced whole (a
// snapshot from the office's leader restored on a follower that fell far
// behind, or an import started again), and is odd while that is under
// way: what a read sees then is part of a book (a case missing, an index
// half written), for as long as the restore takes (about 5 s for 100,000
// cases). A reader that finds it odd, or changed by the time it has
// read, must not answer from what it read (ErrReplacing; node's
// bookGate answers every client request so).
func (b *Book) Generation() uint64 { return b.generation.Load() }

// ErrReplacing is a read while the book's keys are being replaced whole
// (Generation). Nothing was done; ask again shortly, or another node of
// the office.
var ErrReplacing error = reason.Errorf(reason.BookRestoring, nil,
	"casebook: this node is restoring its office's case book from the leader's snapshot")

// Restore replaces the book with a stream written by Stream. The meta
// keys (the raft index among them) are written last, after everything
// else is in the database: a node stopped part-way starts with a book at
// index 0 and restores the stream again. On error the book is empty.
func (b *Book) Restore(r io.Reader) error {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.generation.Add(1) // odd: the readers may see part of a book
	defer b.generation.Add(1)
	b.settle()
	clear(b.chainsStored)
	b.forgetDamage()
	if err := b.db.DropPrefix([]byte(prefix)); err != nil {
		return fmt.Errorf("casebook: clear the book: %w", err)
	}
	err := b.load1(r)
	if err != nil {
		if derr := b.db.DropPrefix([]byte(prefix)); derr != nil {
			err = errors.Join(err, derr)
		}
	}
	if lerr := b.load(); lerr != nil && err == nil {
		err = lerr
	}
	return err
}

func (b *Book) load1(r io.Reader) error {
	br := bufio.NewReaderSize(r, 256<<10)
	h := sha256.New()
	magic := make([]byte, len(streamMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != streamMagic {
		return fmt.Errorf("%w: no header", ErrBadStream)
	}
	h.Write(magic)
	wb := b.db.NewWriteBatch()
	defer wb.Cancel()
	var meta [][2][]byte
	for {
		k, err := readPart(br, h)
		if err != nil {
			return err
		}
		if len(k) == 0 {
			break
		}
		if !bytes.HasPrefix(k, []byte(prefix)) {
			return fmt.Errorf("%w: key %q is not the book's", ErrBadStream, k)
		}
		v, err := readPart(br, h)
		if err != nil {
			return err
		}
		if bytes.HasPrefix(k, []byte(prefix+"m/")) {
			meta = append(meta, [2][]byte{k, v})
			continue
		}
		if err := wb.SetEntry(entry(k, v)); err != nil {
			return fmt.Errorf("casebook: restore %q: %w", k, err)
		}
	}
	sum := make([]byte, sha256.Size)
	if _, err := io.ReadFull(br, sum); err != nil || !bytes.Equal(sum, h.Sum(nil)) {
		return fmt.Errorf("%w: the checksum does not match", ErrBadStream)
	}
	if err := wb.Flush(); err != nil {
		return fmt.Errorf("casebook: restore: %w", err)
	}
	// The stream names its office (a release before the mark's does not:
	// then it is this book's office, whose stream it was given).
	office := []byte(b.office)
	for _, kv := range meta {
		if bytes.Equal(kv[0], keyOffice) {
			office = kv[1]
		}
	}
	if string(office) != b.office {
		return fmt.Errorf("%w: the stream is the book of office %s, not of office %s", ErrBadStream, office, b.office)
	}
	if err := b.db.Update(func(txn *badger.Txn) error {
		for _, kv := range meta {
			if err := txn.Set(kv[0], kv[1]); err != nil {
				return err
			}
		}
		return txn.Set(keyOffice, office)
	}); err != nil {
		return fmt.Errorf("casebook: restore the meta keys: %w", err)
	}
	return b.db.Sync()
}

// readPart reads one length-prefixed part (a zero length is the end).
func readPart(br *bufio.Reader, h hash.Hash) ([]byte, error) {
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadStream, err)
	}
	var lenBuf [binary.MaxVarintLen64]byte
	h.Write(lenBuf[:binary.PutUvarint(lenBuf[:], n)])
	if n > 64<<20 {
		return nil, fmt.Errorf("%w: a part of %d bytes", ErrBadStream, n)
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(br, p); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadStream, err)
	}
	h.Write(p)
	return p, nil
}

// Clear empties the book (an import that stopped part-way starts again).
func (b *Book) Clear() error {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.generation.Add(1)
	defer b.generation.Add(1)
	b.settle()
	clear(b.chainsStored)
	b.forgetDamage()
	if err := b.db.DropPrefix([]byte(prefix)); err != nil {
		return fmt.Errorf("casebook: clear the book: %w", err)
	}
	return b.load()
}

// Digest is a SHA-256 of every key and value of the book and the raft
// index it reflects, read from one view: two nodes of an office at the
// same index hold the same book when their digests are equal.
func (b *Book) Digest() (sum []byte, applied uint64, err error) {
	h := sha256.New()
	applied, err = b.Stream(h)
	return h.Sum(nil), applied, err
}

// Sync makes what the book holds durable (the node's badger writes
// without syncing: the raft log is the durable record until a raft
// snapshot, which syncs the book first). It waits first for Apply's last
// commit, which badger may still be writing.
func (b *Book) Sync() error {
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	b.settle()
	return b.db.Sync()
}

// ImportLegacy fills an empty book from the case book of a snapshot
// written by a release that kept the book in memory, as of raft index
// applied, with the answers of the case writes it remembered: each case
// is saved as Apply would have, indexes and counters included, with the
// registry as the snapshot left it.
func (b *Book) ImportLegacy(s *peerv1.CaseBookSnapshot, requests []*peerv1.RequestRecord, applied uint64, reg casework.Registry) (err error) {
	// A read the database fails stops an apply (overlay.readFailed); here,
	// restoring a snapshot, it is the import's error, as it was before.
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if d, ok := r.(*DiskError); ok && d.Read {
			err = d
			return
		}
		panic(r)
	}()
	if b.Len() != 0 || b.Applied() != 0 {
		return fmt.Errorf("casebook: import into a book that holds %d cases at index %d", b.Len(), b.Applied())
	}
	// The in-memory book checks the snapshot (chains, folds, outbox).
	mem := casework.NewBook(b.office)
	if err := mem.Restore(s); err != nil {
		return err
	}
	b.writeMu.Lock()
	defer b.writeMu.Unlock()
	w := b.newWriter()
	flush := func(o *overlay) error {
		if o.err != nil {
			return o.err
		}
		if !w.fits(o) {
			w.commit(0)
			w = b.newWriter()
		}
		w.add(o)
		b.noteChains(o)
		return nil
	}
	for _, r := range s.GetCases() {
		o := newOverlay(b, w.txn, reg)
		c, _ := mem.Case(r.GetNumber())
		c.Mirror = false
		_, _, pending := casework.Pending(c, r.GetEvents(), b.office)
		o.cases[r.GetNumber()] = &loaded{}
		o.Save(r.GetNumber(), c, r.GetEvents(), len(r.GetEvents()), pending)
		if err := flush(o); err != nil {
			return err
		}
	}
	o := newOverlay(b, w.txn, reg)
	for _, en := range mem.Outbox() {
		o.PutOutboxEntry(en)
	}
	for _, q := range mem.Quarantined() {
		o.PutQuarantinedEntry(q)
	}
	for _, d := range s.GetSequences() {
		if k := key(pSeq, d.GetDay()); uint64(d.GetSeq()) > o.getUint(k) {
			o.set(k, be64(uint64(d.GetSeq())))
		}
	}
	for _, rec := range requests {
		if !IsCaseAnswer(rec) {
			continue
		}
		if _, ok := o.get(key(pRequest, rec.GetId())); ok {
			continue
		}
		o.setProto(key(pRequest, rec.GetId()), rec)
		o.set(requestTimeKey(rec.GetAtUnixNano(), rec.GetIndex()), []byte(rec.GetId()))
		o.deltas.requests++
	}
	if err := flush(o); err != nil {
		return err
	}
	w.commit(applied)
	b.settle()
	return b.db.Sync()
}

// IsCaseAnswer reports whether a remembered answer is a case write's (it
// belongs in the book), not a registry write's.
func IsCaseAnswer(rec *peerv1.RequestRecord) bool {
	return rec.GetAnswer().MessageName() == (&yizhanv1.Case{}).ProtoReflect().Descriptor().FullName()
}
