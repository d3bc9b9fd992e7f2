package casebook

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// An office restored from a backup lacks what happened after the backup
// was taken. Its neighbours hold most of it: every case filed below an
// office is mirrored up to it and its parent, and the events of a case
// travel down to where it was filed. So the restored book carries a mark,
// book/m/restored (when the backup was taken, and the floor of its case
// numbers), until its leader has taken those cases back from every
// neighbour (federation, recover.go) and proposed FinishRecovery.
//
// What no neighbour holds (a case filed in the minutes before the disk
// died, not yet mirrored up) is lost, but its number must not be handed
// out again to another citizen's case: on the days from the backup's to
// the end of the recovery, the office numbers its cases above a floor
// (RestoredSeqGap above the highest number the backup held), like etcd's
// restore that bumps the revision.
//
//	book/m/restored  8 bytes: the backup's time (Unix ns); 4: the floor
//	book/m/seqfloor  8 bytes from day, 8 through day (YYYYMMDD); 4: the floor

// RestoredSeqGap is how far above the backup's highest case number of a
// day a restored office numbers its cases on the days the backup may have
// missed: more than an office numbers in a day.
const RestoredSeqGap = 5000

var (
	keyRestored = []byte(prefix + "m/restored")
	keySeqFloor = []byte(prefix + "m/seqfloor")
)

// OpenView is a consistent read view of the whole book, for a backup:
// Stream from it writes the book as it was when the view was opened,
// whatever is applied meanwhile. Close it when done.
func (b *Book) OpenView() *View {
	gen := b.generation.Load() // the book the view reads, for noteDamage
	return &View{txn: b.db.NewTransaction(false), b: b, gen: gen}
}

// View is a read view of the book (OpenView).
type View struct {
	txn *badger.Txn
	b   *Book
	gen uint64
}

// Applied is the raft index the view reflects.
func (v *View) Applied() (uint64, error) { return getUint(v.txn, keyApplied) }

// Stream writes the book as the view sees it to w (Book.Stream's format).
// A damaged case it meets is noted (logged once, counted: noteDamage)
// and written as it is.
func (v *View) Stream(w io.Writer) (uint64, error) {
	return streamTxn(v.txn, w, func(err error) { v.b.noteDamage(v.gen, err) })
}

// Close releases the view.
func (v *View) Close() { v.txn.Discard() }

// MarkRestored marks a book just restored from a backup taken at takenAt
// (raftgroup's restore, before raft starts): see above. The floor is
// RestoredSeqGap above the highest number of takenAt's day in the book.
// applied is the raft index the restored office starts from (a county's
// jumps: raftgroup.RegistryIndexBump). A restored office knows it ran
// before: a first-start mark the backup held goes (firststart.go).
func (b *Book) MarkRestored(takenAt time.Time, applied uint64) error {
	day := takenAt.In(registry.CST).Format("20060102")
	v := restoredMark(takenAt, uint64(b.NextSeq(day)-1)+RestoredSeqGap)
	if err := b.db.Update(func(txn *badger.Txn) error {
		if err := txn.Set(keyApplied, be64(applied)); err != nil {
			return err
		}
		if err := txn.Delete(keyFirstStart); err != nil {
			return err
		}
		return txn.Set(keyRestored, v)
	}); err != nil {
		return fmt.Errorf("casebook: mark the book restored: %w", err)
	}
	b.numbers.setMarks(string(keyRestored), write{val: v})
	b.numbers.setMarks(string(keyFirstStart), write{del: true})
	b.applied.Store(applied)
	return nil
}

// Restored reports whether the book was restored from a backup and its
// office has not yet taken back from its neighbours what they hold since
// (FinishRecovery), and if so when the backup was taken.
func (b *Book) Restored() (takenAt time.Time, ok bool) {
	var v []byte
	b.view(func(txn *badger.Txn) error {
		v = getRaw(txn, keyRestored)
		return nil
	})
	if len(v) != 12 {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v))), true
}

// finishRecovery is FinishRecovery: the mark goes, the floor stays for the
// days from the backup's through through_day.
func (o *overlay) finishRecovery(f *peerv1.FinishRecovery) (proto.Message, error) {
	v, ok := o.get(keyRestored)
	if !ok || len(v) != 12 {
		return &peerv1.FinishRecovery{}, nil // finished before: a retry
	}
	through := f.GetThroughDay()
	if _, err := time.ParseInLocation("20060102", through, registry.CST); err != nil {
		return nil, registry.Invalid("through_day", reason.InvalidFormat, nil, "must be YYYYMMDD, got %q", through)
	}
	from := time.Unix(0, int64(binary.BigEndian.Uint64(v))).In(registry.CST).Format("20060102")
	through = max(through, from) // a leader's clock behind the backup's keeps the floor a day at least
	floor := append([]byte(from+through), v[8:12]...)
	o.set(keySeqFloor, floor)
	o.del(keyRestored)
	return proto.CloneOf(f), nil
}

// getRaw is the value at k, nil when there is none.
func getRaw(txn *badger.Txn, k []byte) []byte {
	item, err := txn.Get(k)
	if err != nil {
		return nil
	}
	v, err := item.ValueCopy(nil)
	if err != nil {
		return nil
	}
	return v
}

// casesThroughWalk bounds the index keys one page of CasesThrough walks,
// so that a page costs the same however few cases changed since.
const casesThroughWalk = 5000

// CasesThrough is a page of the cases this book holds that were filed at
// office or below it (so pass through it: the mail would take them there)
// and changed at or after since, as messages from this office with their
// whole logs: what an office restored from a backup takes back from its
// neighbours. It walks the cases touched by office's subtree from after
// (a page token from the previous page, "" for the first), up to
// maxCases messages or maxBytes of logs, walking at most
// casesThroughWalk index keys; next is "" after the last page.
// A case may come twice (touched by two offices of the subtree): the
// receiver keeps one.
func (b *Book) CasesThrough(office string, since time.Time, after string, maxCases, maxBytes int) (msgs []*peerv1.CaseMessage, next string, err error) {
	sub := registry.SubtreePrefix(office)
	if sub == "" {
		return nil, "", registry.Invalid("office_code", reason.InvalidFormat, nil, "%q is not a division code", office)
	}
	p := []byte(pTouched + sub)
	start := p
	if after != "" {
		k, derr := base64.RawURLEncoding.DecodeString(after)
		if derr != nil || !bytes.HasPrefix(k, p) {
			return nil, "", registry.Invalid("page_token", reason.InvalidFormat, nil, "not a token of this list")
		}
		start = append(k, 0) // the first key after it
	}
	seen := map[string]bool{}
	size := 0
	gen := b.generation.Load() // the book the view reads, for noteDamage
	err = b.db.View(func(txn *badger.Txn) error {
		opts := badger.DefaultIteratorOptions
		opts.Prefix = p
		opts.PrefetchValues = true
		it := txn.NewIterator(opts)
		defer it.Close()
		var last []byte // the last key walked
		walked := 0
		for it.Seek(start); it.Valid(); it.Next() {
			if len(msgs) >= maxCases || size >= maxBytes || walked >= casesThroughWalk {
				next = base64.RawURLEncoding.EncodeToString(last)
				return nil
			}
			walked++
			last = it.Item().KeyCopy(last[:0])
			number, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if seen[string(number)] {
				continue
			}
			seen[string(number)] = true
			c := &yizhanv1.Case{}
			if ok, err := getProto(txn, key(pCase, string(number)), c); err != nil {
				return err
			} else if !ok {
				continue // dropped under the view (a snapshot restored meanwhile)
			}
			if c.GetUpdatedAt().AsTime().Before(since) || !registry.IsAncestorOrSelf(office, c.GetOriginOffice()) {
				continue
			}
			events, err := loadWhole(txn, c.GetNumber(), c)
			if err != nil {
				b.noteDamage(gen, err) // logged once and counted; the neighbour is answered the error
				return err
			}
			m := &peerv1.CaseMessage{CaseNumber: c.GetNumber(), FromOffice: b.office, Events: events}
			size += proto.Size(m)
			msgs = append(msgs, m)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("casebook: cases through %s: %w", office, err)
	}
	return msgs, next, nil
}
