package casebook

import (
	"bytes"
	"container/heap"

	"github.com/dgraph-io/badger/v4"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// listSubtree is List of an office with the offices below it: the
// offices' lists (book/it/<office>\0<filed at><number>) walked together,
// newest first. A case an office handed to another is in both their
// lists under the same <filed at><number>, so its entries meet one after
// the other and it is listed once; the page token is that part of the
// key, the same in every office's list.
func (b *Book) listSubtree(q ListQuery) ([]*yizhanv1.Case, string, error) {
	sub := registry.SubtreePrefix(q.Office)
	if sub == "" {
		return nil, "", registry.Invalid("office_code", reason.InvalidFormat, nil, "%q is not a division code", q.Office)
	}
	upper := []byte{0xff}
	if !q.FiledTo.IsZero() {
		upper = be64(uint64(max(q.FiledTo.UnixNano(), 0)))
	}
	if q.PageToken != "" {
		t, err := parsePageToken(historyPages, q.PageToken)
		if err != nil {
			return nil, "", err
		}
		if bytes.Compare(t, upper) < 0 {
			upper = t
		}
	}
	var lower []byte
	if !q.FiledFrom.IsZero() {
		lower = be64(uint64(max(q.FiledFrom.UnixNano(), 0)))
	}
	size := pageSize(q.PageSize)
	var (
		out  []*yizhanv1.Case
		next string
	)
	gen := b.generation.Load() // the book the view reads, for noteDamage
	err := b.db.View(func(txn *badger.Txn) error {
		h := &touchedWalks{}
		defer func() {
			for _, w := range h.walks {
				w.it.Close()
			}
		}()
		for _, office := range touchedOffices(txn, sub) {
			p := key(pTouched, office, "")
			opts := badger.DefaultIteratorOptions
			opts.Prefix, opts.Reverse, opts.PrefetchSize = p, true, 8
			w := &touchedWalk{it: txn.NewIterator(opts), prefix: len(p)}
			// Seek lands on the last key at or below upper: upper itself
			// (the page token's case) is passed over.
			for w.it.Seek(append(bytes.Clone(p), upper...)); w.it.Valid() && bytes.Compare(w.suffix(), upper) >= 0; w.it.Next() {
			}
			if w.it.Valid() && (lower == nil || bytes.Compare(w.suffix(), lower) >= 0) {
				h.walks = append(h.walks, w)
			} else {
				w.it.Close()
			}
		}
		heap.Init(h)
		var last []byte
		read := 0
		for len(h.walks) > 0 {
			w := h.walks[0]
			suffix := w.suffix()
			if last == nil || !bytes.Equal(suffix, last) { // not a case just listed from another office's list
				if len(out) == size || read == maxListRead {
					next = pageToken(historyPages, last) // a page that read its most ends short
					return nil
				}
				read++
				last = bytes.Clone(suffix)
				number, err := w.it.Item().ValueCopy(nil)
				if err != nil {
					return err
				}
				c, events, ok, err := loadCaseHead(txn, string(number))
				if err != nil && !b.noteDamage(gen, err) {
					return err
				}
				switch {
				case !ok:
					b.leftOut("office "+q.Office+" and below", string(number), c != nil)
				case matches(c, events, q):
					out = append(out, b.withMirror(c))
				}
			}
			if w.it.Next(); w.it.Valid() && (lower == nil || bytes.Compare(w.suffix(), lower) >= 0) {
				heap.Fix(h, 0)
			} else {
				w.it.Close()
				heap.Pop(h)
			}
		}
		return nil
	})
	return out, next, err
}

// touchedOffices are the offices whose codes start with sub that have a
// list of cases in the book (book/it/<office>\0…), each found by seeking
// past the one before.
func touchedOffices(txn *badger.Txn, sub string) []string {
	var out []string
	opts := badger.DefaultIteratorOptions
	opts.PrefetchValues = false
	opts.Prefix = []byte(pTouched + sub)
	it := txn.NewIterator(opts)
	defer it.Close()
	for it.Rewind(); it.Valid(); {
		k := it.Item().Key()[len(pTouched):]
		i := bytes.IndexByte(k, 0)
		if i < 0 {
			it.Next()
			continue
		}
		office := string(k[:i])
		out = append(out, office)
		it.Seek(append([]byte(pTouched+office), 1)) // past <office>\0…
	}
	return out
}

// touchedWalk is one office's list in listSubtree.
type touchedWalk struct {
	it     *badger.Iterator
	prefix int // the length of book/it/<office>\0
}

// suffix is the walk's next <filed at><number>.
func (w *touchedWalk) suffix() []byte { return w.it.Item().Key()[w.prefix:] }

// touchedWalks is a heap of office lists by their next key, the newest
// first.
type touchedWalks struct{ walks []*touchedWalk }

func (h *touchedWalks) Len() int { return len(h.walks) }
func (h *touchedWalks) Less(i, j int) bool {
	return bytes.Compare(h.walks[i].suffix(), h.walks[j].suffix()) > 0
}
func (h *touchedWalks) Swap(i, j int) { h.walks[i], h.walks[j] = h.walks[j], h.walks[i] }
func (h *touchedWalks) Push(x any)    { h.walks = append(h.walks, x.(*touchedWalk)) }
func (h *touchedWalks) Pop() any {
	w := h.walks[len(h.walks)-1]
	h.walks = h.walks[:len(h.walks)-1]
	return w
}
