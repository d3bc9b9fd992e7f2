package casebook

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"math/bits"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// Check compares the index keys the book's records call for with those
// present in bounded memory: a digest of each side, per index and per
// part of its keys, rather than a map of every key (a million-case
// county has four million case-index keys, a hundred megabytes as a
// map). Only where the two digests differ does it walk the records
// again and hold the keys of the parts that differ, to name them.

// digestParts is how many parts each index's keys are split into by a
// hash of the key; namedParts is how many differing parts of an index a
// check names the keys of (each about 1/256 of the index).
const (
	digestParts = 256
	namedParts  = 8
)

// partSum is a multiset of keys in a few words: how many, and the sum
// modulo 2^128 of a SHA-256 of each key and its value. Two sides with
// the same sums hold the same keys and values but with a chance of
// 2^-128.
type partSum struct {
	n      uint64
	lo, hi uint64
}

// keyDigest is one side (the keys expected, or those present) of a set
// of indexes.
type keyDigest struct {
	seed     maphash.Seed
	prefixes []string
	parts    [][digestParts]partSum
	buf      []byte
}

func newKeyDigests(prefixes []string) (expected, present *keyDigest) {
	seed := maphash.MakeSeed()
	return &keyDigest{seed: seed, prefixes: prefixes, parts: make([][digestParts]partSum, len(prefixes))},
		&keyDigest{seed: seed, prefixes: prefixes, parts: make([][digestParts]partSum, len(prefixes))}
}

// indexOf is the position in d.prefixes of the index k is a key of, or
// -1.
func (d *keyDigest) indexOf(k []byte) int {
	for i, p := range d.prefixes {
		if bytes.HasPrefix(k, []byte(p)) {
			return i
		}
	}
	return -1
}

// partOf is the part of its index key k falls in: by the key alone, so
// that a key with the wrong value falls in the same part on both sides.
func (d *keyDigest) partOf(k []byte) int {
	return int(maphash.Bytes(d.seed, k) % digestParts)
}

// add counts key k of index i with its value v.
func (d *keyDigest) add(i int, k, v []byte) {
	d.buf = binary.BigEndian.AppendUint32(d.buf[:0], uint32(len(k)))
	d.buf = append(append(d.buf, k...), v...)
	sum := sha256.Sum256(d.buf)
	s := &d.parts[i][d.partOf(k)]
	var carry uint64
	s.n++
	s.lo, carry = bits.Add64(s.lo, binary.BigEndian.Uint64(sum[:8]), 0)
	s.hi, _ = bits.Add64(s.hi, binary.BigEndian.Uint64(sum[8:16]), carry)
}

// differing are the parts of each index whose sums differ between the
// two sides: at most namedParts of an index, and how many more there are.
type differing struct {
	parts [][]int
	more  []int
}

func compareDigests(expected, present *keyDigest) (d differing, any bool) {
	return differingParts(len(expected.prefixes), func(i, p int) bool { return expected.parts[i][p] == present.parts[i][p] })
}

// differingParts lists, for each of n indexes (or kinds of amounts), the
// parts p for which same(i, p) is false.
func differingParts(n int, same func(i, p int) bool) (d differing, any bool) {
	d = differing{parts: make([][]int, n), more: make([]int, n)}
	for i := range n {
		for p := range digestParts {
			if same(i, p) {
				continue
			}
			any = true
			if len(d.parts[i]) < namedParts {
				d.parts[i] = append(d.parts[i], p)
			} else {
				d.more[i]++
			}
		}
	}
	return d, any
}

// holds reports whether key k (of index i) falls in a part to name.
func (d *differing) holds(digest *keyDigest, i int, k []byte) bool {
	return i >= 0 && slices.Contains(d.parts[i], digest.partOf(k))
}

// indexCheck compares the keys of some indexes with those their records
// call for.
type indexCheck struct {
	prefixes []string
	// valued reports whether the values of index i are compared (they
	// are the records' numbers or names) or its keys alone.
	valued func(i int) bool
	// expect gives emit each index key the records call for, with its
	// value: walking them all, in key order or not. first is true on the
	// first walk, which reports whatever else is wrong with the records;
	// a second walk, to name the keys that differ, reports nothing.
	expect func(first bool, emit func(k, v []byte)) error
	// seen, if set, is given each key present on the first walk.
	seen func(i int, k, v []byte)
	// missing names an index key expected and not present.
	missing func(k []byte) string
	// owner is what an index key left over belongs to none of.
	owner string
}

// run walks the records and the indexes once, and again where their
// digests differ, to name the keys; it returns how many keys it held to
// name them.
func (c indexCheck) run(walk func(p []byte, f func(k, v []byte) error) error, bad func(string, ...any)) (held int, err error) {
	expected, present := newKeyDigests(c.prefixes)
	value := func(i int, v []byte) []byte {
		if c.valued != nil && c.valued(i) {
			return v
		}
		return nil
	}
	if err := c.expect(true, func(k, v []byte) {
		i := expected.indexOf(k)
		if i < 0 {
			panic("casebook: an index key expected outside the indexes checked: " + string(k))
		}
		expected.add(i, k, value(i, v))
	}); err != nil {
		return 0, err
	}
	presentKeys := func(f func(i int, k, v []byte)) error {
		for i, p := range c.prefixes {
			if err := walk([]byte(p), func(k, v []byte) error {
				f(i, k, v)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	}
	if err := presentKeys(func(i int, k, v []byte) {
		present.add(i, k, value(i, v))
		if c.seen != nil {
			c.seen(i, k, v)
		}
	}); err != nil {
		return 0, err
	}
	d, differ := compareDigests(expected, present)
	if !differ {
		return 0, nil
	}
	want := map[string][]byte{}
	if err := c.expect(false, func(k, v []byte) {
		if d.holds(expected, expected.indexOf(k), k) {
			want[string(k)] = bytes.Clone(value(expected.indexOf(k), v))
		}
	}); err != nil {
		return 0, err
	}
	held = len(want)
	named := 0
	note := func(format string, args ...any) {
		named++
		bad(format, args...)
	}
	if err := presentKeys(func(i int, k, v []byte) {
		if !d.holds(present, i, k) {
			return
		}
		w, ok := want[string(k)]
		switch {
		case !ok:
			note("index key %q (→ %q) belongs to no %s", k, v, c.owner)
		case !bytes.Equal(w, value(i, v)):
			note("index key %q holds %q, not %q", k, v, w)
		}
		delete(want, string(k))
	}); err != nil {
		return held, err
	}
	for _, k := range slices.Sorted(maps.Keys(want)) {
		note("%s", c.missing([]byte(k)))
	}
	for i, p := range c.prefixes {
		if named == 0 && len(d.parts[i]) > 0 {
			bad("index %s differs from what the records call for in %d parts of its keys, and no key could be named (one expected twice?)", p, len(d.parts[i])+d.more[i])
		}
		if d.more[i] > 0 {
			bad("index %s differs in %d more parts of its keys, not named here (%d of %d named)", p, d.more[i], len(d.parts[i]), digestParts)
		}
	}
	return held, nil
}

// recordWalk is one walk of some records for checkIndexes: the first
// reports what is wrong with them and counts them; the second, to name
// the index keys that differ, only gives their keys again.
type recordWalk struct {
	first  bool
	report func(format string, args ...any) // bad on the first walk, nothing on the second
	emit   func(k []byte)                   // an index key the record calls for
}

// checkIndexes checks that the keys under prefixes are exactly those
// expect gives (the index keys the records make, values not compared),
// naming what for the problems.
func checkIndexes(txn *badger.Txn, what string, bad func(string, ...any), expect func(w recordWalk) error, prefixes ...string) error {
	_, err := indexCheck{
		prefixes: prefixes,
		expect: func(first bool, emit func(k, v []byte)) error {
			w := recordWalk{first: first, report: bad, emit: func(k []byte) { emit(k, nil) }}
			if !first {
				w.report = func(string, ...any) {}
			}
			return expect(w)
		},
		missing: func(k []byte) string { return fmt.Sprintf("%s index key %q is missing", what, k) },
		owner:   what + " record",
	}.run(func(p []byte, f func(k, v []byte) error) error { return eachKey(txn, p, f) }, bad)
	return err
}

// checkQueueKey checks the value of a case's book/kq/ key, v, against the
// queue key the case calls for, w: the same owner, state, department and
// case (the rank, a due time, is not checked: computed at the case's
// last change or the last calendar write, whichever came later).
func checkQueueKey(number string, v, w []byte, bad func(string, ...any)) {
	if part := len(w) - 8 - len(number); part < 0 || !bytes.HasPrefix(v, w[:part]) || !bytes.HasSuffix(v, []byte(number)) {
		bad("%q names queue key %q, not one under %q", key(pQueueKey, number), v, w[:max(part, 0)])
	}
}

// checkStepKey checks the value of a case's book/ks/ key, v: a key of
// the cases by their open step's end (book/is/) of the same case (the
// end, a time, is not checked, as the queue's rank is not).
func checkStepKey(number string, v []byte, bad func(string, ...any)) {
	if len(v) != len(pStepDue)+8+len(number) || !bytes.HasPrefix(v, []byte(pStepDue)) || !bytes.HasSuffix(v, []byte(number)) {
		bad("%q names step key %q, not one of case %s", key(pStepKey, number), v, number)
	}
}

// queueKeyOfByDue is the queue key (book/iq/) a key of the queue by due
// time (book/ir/) and its value go with: byDueKeyOf the other way.
func queueKeyOfByDue(k, v []byte) ([]byte, error) {
	rest, ok := bytes.CutPrefix(k, []byte(pQueueByDue))
	i := bytes.IndexByte(rest, 0)
	if !ok || i < 0 || len(rest)-i-1 < 8 {
		return nil, errors.New("malformed")
	}
	q := key(pQueue, string(rest[:i]), string(v), string(rest[i+1:]))
	if dk, dv, ok := byDueKeyOf(q); !ok || !bytes.Equal(dk, k) || !bytes.Equal(dv, v) {
		return nil, errors.New("its value is not a state and department")
	}
	return q, nil
}

// amountDigest is one side of the statistics (the amounts the records
// count, or the counters and daily series held): per part of the keys,
// partSum's words, here the sum of the amounts (n) and the sum modulo
// 2^128 of each amount times a 128-bit hash of its key and field (lo,
// hi). The sums are linear, so a counter the records add to a hundred
// times sums as the counter held once, and the side the records count
// needs no map of the counters: a county's grow with every day it
// serves (about a hundred thousand a year), not with its cases. Two
// sides with the same sums hold the same amounts but with a chance of
// 2^-64 (an amount's factors of two take bits off the hash).
type amountDigest struct {
	// seeds are the part's seed and, for the two fields of an amount
	// (a counter has one), the hash's low and high words'.
	seeds [5]maphash.Seed
	parts [2][digestParts]partSum // of the counters (pStat), of the daily series (pDaily)
}

// newAmountDigest is a digest with new seeds; the other side takes its
// seeds (amountDigest{seeds: d.seeds}).
func newAmountDigest() *amountDigest {
	d := &amountDigest{}
	for i := range d.seeds {
		d.seeds[i] = maphash.MakeSeed()
	}
	return d
}

// kindOf is 0 for a counter's key, 1 for a daily series'.
func kindOf(k string) int {
	if strings.HasPrefix(k, pDaily) {
		return 1
	}
	return 0
}

func (d *amountDigest) partOf(k string) int {
	return int(maphash.String(d.seeds[0], k) % digestParts)
}

// add adds the amounts a (a counter's, or a daily series' first field)
// and b (a daily series' second field) under key k.
func (d *amountDigest) add(k string, a, b uint64) {
	s := &d.parts[kindOf(k)][d.partOf(k)]
	for f, n := range [2]uint64{a, b} {
		if n == 0 {
			continue
		}
		lo, hi := maphash.String(d.seeds[1+2*f], k), maphash.String(d.seeds[2+2*f], k)
		// (hi, lo) × n modulo 2^128
		mhi, mlo := bits.Mul64(lo, n)
		mhi += hi * n
		var carry uint64
		s.n += n
		s.lo, carry = bits.Add64(s.lo, mlo, 0)
		s.hi, _ = bits.Add64(s.hi, mhi, carry)
	}
}

// differingAmounts are the parts of each kind (kindOf) whose sums differ
// between the two sides.
func differingAmounts(expected, present *amountDigest) (d differing, any bool) {
	return differingParts(2, func(kind, p int) bool { return expected.parts[kind][p] == present.parts[kind][p] })
}
