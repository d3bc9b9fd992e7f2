package badgerstore

import (
	"fmt"
	"log/slog"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

// The profiles set no index cache because badger would not use it: an
// unencrypted table's index and bloom filter are read in place from the
// mmapped table (db.go). Should a badger upgrade start caching them, this
// fails, and the profiles should size the cache again.
func TestBadgerUsesNoIndexCacheForUnencryptedTables(t *testing.T) {
	opts := BadgerOptions(t.TempDir(), DBOptions{Logger: slog.New(slog.DiscardHandler), Small: true}).
		WithIndexCacheSize(1 << 20)
	db, err := badger.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	key := func(i int) []byte { return fmt.Appendf(nil, "k/%06d", i) }
	for batch := range 4 {
		wb := db.NewWriteBatch()
		for i := range 5000 {
			if err := wb.Set(key(batch*5000+i), make([]byte, 100)); err != nil {
				t.Fatal(err)
			}
		}
		if err := wb.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	// Closing writes the memtable out: every key is now in a table.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = badger.Open(opts); err != nil {
		t.Fatal(err)
	}
	if len(db.Tables()) == 0 {
		t.Fatal("no table written")
	}
	err = db.View(func(txn *badger.Txn) error {
		for i := 0; i < 20000; i += 97 {
			if _, err := txn.Get(key(i)); err != nil {
				return fmt.Errorf("get %s: %w", key(i), err)
			}
		}
		_, err := txn.Get([]byte("k/absent")) // the bloom filters answer
		if err != badger.ErrKeyNotFound {
			return fmt.Errorf("get an absent key: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if m := db.IndexCacheMetrics(); m.Hits()+m.Misses() != 0 {
		t.Errorf("badger's index cache was used (%d hits, %d misses): size it in the profiles again", m.Hits(), m.Misses())
	}
	if m := db.BlockCacheMetrics(); m.Hits()+m.Misses() == 0 {
		t.Error("the block cache was not used either: the reads did not reach a table")
	}
}

// A county's tables written with badger's 4 KB blocks (releases before
// the county profile's 16 KB) are read as they are, and merged with the
// new ones: the block size is each table's own (its index says where
// its blocks start).
func TestCountyReadsTablesOfTheFormerBlockSize(t *testing.T) {
	dir := t.TempDir()
	county := BadgerOptions(dir, DBOptions{Logger: slog.New(slog.DiscardHandler), County: true})
	if county.BlockSize != countyBlockSize {
		t.Fatalf("county BlockSize %d, want %d", county.BlockSize, countyBlockSize)
	}
	key := func(i int) []byte { return fmt.Appendf(nil, "k/%06d", i) }
	value := func(i int) []byte { return fmt.Appendf(nil, "value of %d, %0100d", i, i) }
	write := func(opts badger.Options, from, to int) {
		t.Helper()
		db, err := badger.Open(opts)
		if err != nil {
			t.Fatal(err)
		}
		wb := db.NewWriteBatch()
		for i := from; i < to; i++ {
			if err := wb.Set(key(i), value(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := wb.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil { // the memtable into a table
			t.Fatal(err)
		}
	}
	write(county.WithBlockSize(4<<10), 0, 20000)
	write(county, 10000, 30000)
	// Level 0 merged at one table, so that flattening merges the two.
	db, err := badger.Open(county.WithNumLevelZeroTables(1).WithNumLevelZeroTablesStall(2))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	readAll := func(when string) {
		t.Helper()
		err := db.View(func(txn *badger.Txn) error {
			for i := range 30000 {
				it, err := txn.Get(key(i))
				if err != nil {
					return fmt.Errorf("get %s: %w", key(i), err)
				}
				if v, _ := it.ValueCopy(nil); string(v) != string(value(i)) {
					return fmt.Errorf("%s = %q", key(i), v)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}
	readAll("before the merge")
	if err := db.Flatten(1); err != nil {
		t.Fatal(err)
	}
	for _, ti := range db.Tables() {
		if ti.Level == 0 {
			t.Fatalf("table %d still in level 0 after flattening: the two were not merged", ti.ID)
		}
	}
	readAll("after the merge")
}

// Every profile keeps the pages of badger's logs out of the node's
// mapping (third_party/badger PATCHES.md): without it a county's
// resident memory held every page of its value log written or read.
func TestEveryProfileDropsLogPages(t *testing.T) {
	for _, opts := range []DBOptions{{}, {Small: true}, {County: true}} {
		if !BadgerOptions(t.TempDir(), opts).DropLogPages {
			t.Errorf("%+v: the log pages written or read stay mapped", opts)
		}
	}
}
