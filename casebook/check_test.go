package casebook

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/supervision"
)

// Check names each case-index key that differs from what the cases call
// for (one missing, one left over, one with the wrong value, an open case
// out of the queue), and holds only the keys of the few parts of each
// index where the digests differ, not the whole index: a book that agrees
// with itself holds none.
func TestCheckNamesIndexKeysHoldingFew(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	o.step = 0
	var open []string
	for i := range 600 {
		item := licence
		if i%2 == 1 {
			item = service
		}
		n := o.file(item, i%97, Request{})
		if i%3 == 0 {
			o.act(n, casework.ActionAccept, nil)
		}
		open = append(open, n)
	}
	if problems, held, err := o.book.check(t.Context(), reg); err != nil || len(problems) > 0 || held != 0 {
		t.Fatalf("the check of a sound book: %q, %d keys held (%v)", problems, held, err)
	}
	indexKeys := 0
	var touched, applicant []byte
	err := o.book.db.View(func(txn *badger.Txn) error {
		for _, p := range caseIndexes {
			if err := eachKey(txn, []byte(p), func(k, _ []byte) error {
				indexKeys++
				switch {
				case touched == nil && bytes.HasPrefix(k, []byte(pTouched)):
					touched = k
				case applicant == nil && bytes.HasPrefix(k, []byte(pApplicant+"n")):
					applicant = k
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	outOfQueue := open[len(open)-1]
	stray := key(pApplicant, "n某某", "450122000000-20260302-9999")
	err = o.book.db.Update(func(txn *badger.Txn) error {
		if err := txn.Delete(touched); err != nil {
			return err
		}
		if err := txn.Set(applicant, []byte("someone else")); err != nil {
			return err
		}
		if err := txn.Set(stray, []byte("450122000000-20260302-9999")); err != nil {
			return err
		}
		return txn.Delete(key(pQueueKey, outOfQueue))
	})
	if err != nil {
		t.Fatal(err)
	}
	problems, held, err := o.book.check(t.Context(), reg)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(problems, "\n")
	for _, want := range []string{
		fmt.Sprintf("index key %q", touched) + " is missing",
		fmt.Sprintf("index key %q", applicant) + ` holds "someone else", not`,
		fmt.Sprintf("index key %q", stray) + ` (→ "450122000000-20260302-9999") belongs to no case`,
		"case " + outOfQueue + " is open and not in the queue",
		"case " + outOfQueue + " has no queue key",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the check did not report %s; it reported:\n%s", want, got)
		}
	}
	if len(problems) != 5 {
		t.Errorf("%d problems for the five made, want five:\n%s", len(problems), got)
	}
	// Four parts of 4×256 differ: about 4/256 of the keys of their
	// indexes, held to name them.
	if held == 0 || held > indexKeys/16 {
		t.Errorf("the check held %d of %d index keys to name four", held, indexKeys)
	}
}

// An index lost whole is named a few parts at a time: the keys of the
// first namedParts parts that differ, and a count of the others, not a
// second copy of the index in memory.
func TestCheckNamesALostIndexInPart(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	o.step = 0
	for i := range 400 {
		o.file(licence, i, Request{})
	}
	lost := 0
	err := o.book.db.Update(func(txn *badger.Txn) error {
		return eachKey(txn, []byte(pTouched), func(k, _ []byte) error {
			lost++
			return txn.Delete(k)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	problems, held, err := o.book.check(t.Context(), reg)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(problems, "\n")
	if !strings.Contains(got, "is missing") || !strings.Contains(got, "index book/it/ differs in ") {
		t.Errorf("the check of a book without its touched index reported:\n%s", got)
	}
	if held == 0 || held > lost/4 {
		t.Errorf("the check held %d keys to name some of %d lost", held, lost)
	}
}

// A case indexed under plain SHA-256 and again under the registry's key
// (an applicant key left over) is named: one of the two is expected.
func TestCheckNamesAnApplicantKeyHeldTwice(t *testing.T) {
	o := newOffice(t, county, newRegistryKeyed(t, false))
	first := o.file(licence, 1, Request{})
	o.reg = newRegistry(t) // the same registry, and then the key
	o.file(licence, 2, Request{})
	o.check()
	c, events, _ := o.book.CaseAndEvents(first)
	keyed := applicantKeys(events[0].GetFiling().GetApplicant(), first, o.reg)
	if err := o.book.db.Update(func(txn *badger.Txn) error { return txn.Set(keyed[0], []byte(c.GetNumber())) }); err != nil {
		t.Fatal(err)
	}
	problems, err := o.book.Check(t.Context(), o.reg)
	if err != nil || len(problems) != 1 || !strings.Contains(problems[0], "belongs to no case") {
		t.Errorf("the check of a case indexed under both hashes: %q (%v)", problems, err)
	}
}

// checkNamesDamage fails the test unless Check names the first key of
// each index under prefixes when it is deleted, and a key left over
// beside it (the key with a byte more): for the indexes checked by
// lookups from both ends and by digest alike. The book is left as it was.
func checkNamesDamage(t *testing.T, b *Book, reg casework.Registry, prefixes ...string) {
	t.Helper()
	for _, p := range prefixes {
		var k, v []byte
		err := b.db.View(func(txn *badger.Txn) error {
			return eachKey(txn, []byte(p), func(key, val []byte) error {
				if k == nil {
					k, v = key, val
				}
				return nil
			})
		})
		if err != nil || k == nil {
			t.Errorf("index %s: no key to damage (%v)", p, err)
			continue
		}
		stray := append(bytes.Clone(k), 'x')
		for _, damage := range []struct {
			what  string
			named []byte
			do    func(txn *badger.Txn) error
			undo  func(txn *badger.Txn) error
		}{
			{"deleted", k, func(txn *badger.Txn) error { return txn.Delete(k) }, func(txn *badger.Txn) error { return txn.Set(k, v) }},
			{"left over", stray, func(txn *badger.Txn) error { return txn.Set(stray, v) }, func(txn *badger.Txn) error { return txn.Delete(stray) }},
		} {
			if err := b.db.Update(damage.do); err != nil {
				t.Fatal(err)
			}
			problems, err := b.Check(t.Context(), reg)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(problems, "\n"); !strings.Contains(got, fmt.Sprintf("%q", damage.named)) {
				t.Errorf("index %s, a key %s: the check did not name %q; it reported:\n%s", p, damage.what, damage.named, got)
			}
			if err := b.db.Update(damage.undo); err != nil {
				t.Fatal(err)
			}
		}
	}
	if problems, err := b.Check(t.Context(), reg); err != nil || len(problems) > 0 {
		t.Errorf("the book mended again: %q (%v)", problems, err)
	}
}

// The statistics of cases filed over a year and more (a counter a day for
// each office, item, department and outcome) are checked without a
// recount of every counter in memory: a sound book holds none, and five
// counters and series damaged are each named, holding only the keys of
// the parts of them that differ.
func TestCheckNamesCountersHoldingFew(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	o.step = 13 * time.Hour
	for i := range 900 {
		item := licence
		if i%2 == 1 {
			item = service
		}
		n := o.file(item, i%97, Request{})
		if i%3 == 0 {
			o.act(n, casework.ActionAccept, nil)
		}
	}
	if problems, held, err := o.book.check(t.Context(), reg); err != nil || len(problems) > 0 || held != 0 {
		t.Fatalf("the check of a sound book: %q, %d keys held (%v)", problems, held, err)
	}
	var counters, series [][]byte
	err := o.book.db.View(func(txn *badger.Txn) error {
		if err := eachKey(txn, []byte(pStat), func(k, _ []byte) error {
			counters = append(counters, bytes.Clone(k))
			return nil
		}); err != nil {
			return err
		}
		return eachKey(txn, []byte(pDaily), func(k, _ []byte) error {
			series = append(series, bytes.Clone(k))
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(counters) < 1000 || len(series) < 1000 {
		t.Fatalf("%d counters and %d daily series: the test means many days' worth", len(counters), len(series))
	}
	changed, lost, seriesChanged, seriesLost := counters[100], counters[len(counters)/2], series[10], series[len(series)/2]
	stray := statKey(string(rune(Day))+"20350101", county, licence, "yc", supervision.Received)
	var was []byte
	err = o.book.db.Update(func(txn *badger.Txn) error {
		item, err := txn.Get(changed)
		if err != nil {
			return err
		}
		v, _ := item.ValueCopy(nil)
		if err := txn.Set(changed, be64(decodeUint(v)+5)); err != nil {
			return err
		}
		if item, err = txn.Get(lost); err != nil {
			return err
		}
		if was, err = item.ValueCopy(nil); err != nil {
			return err
		}
		if err := txn.Delete(lost); err != nil {
			return err
		}
		if err := txn.Set(stray, be64(3)); err != nil {
			return err
		}
		if err := txn.Set(seriesChanged, binary.BigEndian.AppendUint64(be64(40), 2)); err != nil {
			return err
		}
		return txn.Delete(seriesLost)
	})
	if err != nil {
		t.Fatal(err)
	}
	problems, held, err := o.book.check(t.Context(), reg)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(problems, "\n")
	for _, want := range []string{
		fmt.Sprintf("counter %q is ", changed),
		fmt.Sprintf("counter %q is missing, a recount gives %d", lost, decodeUint(was)),
		fmt.Sprintf("counter %q is 3, a recount gives 0", stray),
		fmt.Sprintf("daily series %q is [40 2], a recount gives", seriesChanged),
		fmt.Sprintf("daily series %q is missing", seriesLost),
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the check did not report %s; it reported:\n%s", want, got)
		}
	}
	if len(problems) != 5 {
		t.Errorf("%d problems for the five made, want five:\n%s", len(problems), got)
	}
	// At most five parts of 2×256 differ: about 5/256 of the keys.
	if all := len(counters) + len(series); held == 0 || held > all/16 {
		t.Errorf("the check held %d of %d counters and series to name five", held, all)
	}
}

// Counters lost by the hundred are named a few parts at a time, the
// rest counted.
func TestCheckNamesLostCountersInPart(t *testing.T) {
	reg := newRegistry(t)
	o := newOffice(t, county, reg)
	o.step = 13 * time.Hour
	for i := range 300 {
		o.file(licence, i, Request{})
	}
	lost := 0
	err := o.book.db.Update(func(txn *badger.Txn) error {
		return eachKey(txn, []byte(pStat), func(k, _ []byte) error {
			if lost++; lost <= 200 {
				return txn.Delete(k)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	problems, held, err := o.book.check(t.Context(), reg)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(problems, "\n")
	named := strings.Count(got, "is missing, a recount gives")
	if named == 0 || named >= 200 || !strings.Contains(got, "the counter keys differ from a recount in ") {
		t.Errorf("the check of a book without 200 of its counters named %d; it reported:\n%s", named, got)
	}
	if held == 0 || held > lost/4 {
		t.Errorf("the check held %d counters to name some of the 200 lost of %d", held, lost)
	}
}
