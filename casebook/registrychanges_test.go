package casebook

import (
	"context"
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The audit trail keeps a registry write once, at its index, moving the
// book's applied index with it; it lists newest first, by page, by target
// and by actor; a reopened book has it.
func TestRegistryChanges(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	b := openBook(t, db, county)
	for i := uint64(1); i <= 30; i++ {
		target, actor := fmt.Sprintf("user%d", i%3), "admin"
		if i%5 == 0 {
			actor = "admin2"
		}
		b.RecordRegistryChange(&yizhanv1.RegistryChange{Index: i * 2, Kind: "staff", Op: "update", Target: target, Actor: actor})
	}
	if b.Applied() != 60 {
		t.Errorf("applied %d after the write at 60", b.Applied())
	}
	// Applied again after a restart: kept once.
	b.RecordRegistryChange(&yizhanv1.RegistryChange{Index: 20, Kind: "staff", Op: "disable", Target: "user1", Actor: "admin"})

	pages := func(q ChangesQuery) []uint64 {
		t.Helper()
		var out []uint64
		for range 100 {
			got, next, err := b.RegistryChanges(q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) > q.Limit {
				t.Fatalf("%d on a page of %d", len(got), q.Limit)
			}
			for _, c := range got {
				out = append(out, c.GetIndex())
				if c.GetIndex() == 20 && c.GetOp() != "update" {
					t.Errorf("the write at 20 recorded again: %v", c)
				}
			}
			if next == 0 {
				return out
			}
			q.Below = next
		}
		t.Fatal("the pages do not end")
		return nil
	}
	want := func(name string, got []uint64, keep func(i uint64) bool) {
		t.Helper()
		var w []uint64
		for i := uint64(60); i >= 2; i -= 2 {
			if keep(i) {
				w = append(w, i)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("%s: %v, want %v", name, got, w)
		}
	}
	want("all", pages(ChangesQuery{Limit: 7}), func(uint64) bool { return true })
	want("user1's", pages(ChangesQuery{Kind: "staff", Target: "user1", Limit: 4}), func(i uint64) bool { return (i/2)%3 == 1 })
	want("admin2's", pages(ChangesQuery{Actor: "admin2", Limit: 2}), func(i uint64) bool { return (i/2)%5 == 0 })
	want("by another kind", pages(ChangesQuery{Kind: "item", Limit: 5}), func(uint64) bool { return false })
	want("below 31", pages(ChangesQuery{Below: 31, Limit: 100}), func(i uint64) bool { return i < 31 })

	if problems, err := b.Check(context.Background(), newRegistry(t)); err != nil || len(problems) > 0 {
		t.Errorf("the book's check: %v %v", problems, err)
	}
	checkNamesDamage(t, b, newRegistry(t), pRegistryChangeByTarget)
	if err := db.Update(func(txn *badger.Txn) error { return txn.Delete(registryChangeTargetKey("staff", "user1", 20)) }); err != nil {
		t.Fatal(err)
	}
	if problems, err := b.Check(context.Background(), newRegistry(t)); err != nil || len(problems) != 1 {
		t.Errorf("the check of a book without one record's target key: %v %v", problems, err)
	}

	reopened := openBook(t, db, county)
	if got, _, err := reopened.RegistryChanges(ChangesQuery{Limit: 100}); err != nil || len(got) != 30 {
		t.Errorf("the reopened book: %d records (%v)", len(got), err)
	}
}
