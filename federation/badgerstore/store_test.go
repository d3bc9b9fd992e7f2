package badgerstore

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/raft"

	"github.com/yizhan-gov/yizhan/casebook"
)

func testLog(i uint64) *raft.Log {
	return &raft.Log{
		Index:      i,
		Term:       i/10 + 1,
		Type:       raft.LogCommand,
		Data:       fmt.Appendf(nil, "entry %d", i),
		Extensions: []byte{byte(i)},
		AppendedAt: time.Unix(1700000000+int64(i), int64(i)),
	}
}

func storeRange(t *testing.T, s *Store, lo, hi uint64) {
	t.Helper()
	var logs []*raft.Log
	for i := lo; i <= hi; i++ {
		logs = append(logs, testLog(i))
	}
	if err := s.StoreLogs(logs); err != nil {
		t.Fatalf("StoreLogs(%d-%d): %v", lo, hi, err)
	}
}

func checkBounds(t *testing.T, s *Store, first, last uint64) {
	t.Helper()
	f, err := s.FirstIndex()
	if err != nil {
		t.Fatalf("FirstIndex: %v", err)
	}
	l, err := s.LastIndex()
	if err != nil {
		t.Fatalf("LastIndex: %v", err)
	}
	if f != first || l != last {
		t.Fatalf("bounds = %d-%d, want %d-%d", f, l, first, last)
	}
}

// checkPresent checks that exactly the indexes in want are stored among
// lo..hi, each with the content testLog gives it.
func checkPresent(t *testing.T, s *Store, lo, hi uint64, want func(uint64) bool) {
	t.Helper()
	for i := lo; i <= hi; i++ {
		var l raft.Log
		err := s.GetLog(i, &l)
		switch {
		case want(i) && err != nil:
			t.Fatalf("GetLog(%d): %v", i, err)
		case want(i) && !logsEqual(&l, testLog(i)):
			t.Fatalf("GetLog(%d) = %+v, want %+v", i, l, testLog(i))
		case !want(i) && err != raft.ErrLogNotFound:
			t.Fatalf("GetLog(%d) = %v, want raft.ErrLogNotFound", i, err)
		}
	}
}

func TestEmptyStore(t *testing.T) {
	s := New(openTestDB(t, t.TempDir()), "raft/")
	checkBounds(t, s, 0, 0)
	var l raft.Log
	if err := s.GetLog(1, &l); err != raft.ErrLogNotFound {
		t.Fatalf("GetLog on empty store = %v, want raft.ErrLogNotFound", err)
	}
	if _, err := s.Get([]byte("CurrentTerm")); err == nil || err.Error() != "not found" || !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("Get missing = %v, want the error text raft expects, \"not found\"", err)
	}
	if v, err := s.GetUint64([]byte("CurrentTerm")); v != 0 || err == nil || err.Error() != "not found" {
		t.Fatalf("GetUint64 missing = %d, %v; want 0, \"not found\"", v, err)
	}
	if err := s.DeleteRange(1, 10); err != nil {
		t.Fatalf("DeleteRange on empty store: %v", err)
	}
}

func TestStoreLogs(t *testing.T) {
	s := New(openTestDB(t, t.TempDir()), "raft/")

	if err := s.StoreLog(testLog(1)); err != nil {
		t.Fatalf("StoreLog: %v", err)
	}
	checkBounds(t, s, 1, 1)

	storeRange(t, s, 2, 64)
	checkBounds(t, s, 1, 64)
	checkPresent(t, s, 0, 70, func(i uint64) bool { return i >= 1 && i <= 64 })

	// Overwriting an index replaces the entry, as a follower does after a
	// conflict.
	repl := testLog(64)
	repl.Term, repl.Data = 99, []byte("replaced")
	if err := s.StoreLogs([]*raft.Log{repl}); err != nil {
		t.Fatalf("StoreLogs overwrite: %v", err)
	}
	var got raft.Log
	if err := s.GetLog(64, &got); err != nil || !logsEqual(&got, repl) {
		t.Fatalf("GetLog(64) after overwrite = %+v, %v", got, err)
	}
	checkBounds(t, s, 1, 64)

	// Empty batches are a no-op.
	if err := s.StoreLogs(nil); err != nil {
		t.Fatalf("StoreLogs(nil): %v", err)
	}
}

func TestStoreLogsLargerThanATransaction(t *testing.T) {
	db := openTestDB(t, t.TempDir())
	s := New(db, "raft/")
	// 4000 entries of 1 KiB exceed badger's per-transaction limit in Small
	// mode (600 KB), so StoreLogs must split the batch.
	var logs []*raft.Log
	for i := uint64(1); i <= 4000; i++ {
		l := testLog(i)
		l.Data = bytes.Repeat([]byte{byte(i)}, 1024)
		logs = append(logs, l)
	}
	if int64(4000*1024) < db.MaxBatchSize() {
		t.Fatalf("test batch %d B does not exceed badger's limit %d B", 4000*1024, db.MaxBatchSize())
	}
	if err := s.StoreLogs(logs); err != nil {
		t.Fatalf("StoreLogs: %v", err)
	}
	checkBounds(t, s, 1, 4000)
	for _, i := range []uint64{1, 2000, 4000} {
		var got raft.Log
		if err := s.GetLog(i, &got); err != nil || !logsEqual(&got, logs[i-1]) {
			t.Fatalf("GetLog(%d) = %v", i, err)
		}
	}

	// An entry above the value threshold goes to the value log.
	big := testLog(4001)
	big.Data = bytes.Repeat([]byte("v"), 1<<20)
	if err := s.StoreLog(big); err != nil {
		t.Fatalf("StoreLog 1 MiB: %v", err)
	}
	var got raft.Log
	if err := s.GetLog(4001, &got); err != nil || !logsEqual(&got, big) {
		t.Fatalf("GetLog(4001) = %v", err)
	}
}

func TestDeleteRange(t *testing.T) {
	tests := []struct {
		name        string
		min, max    uint64
		first, last uint64 // bounds after
		gone        func(uint64) bool
	}{
		{name: "prefix (compaction)", min: 1, max: 40, first: 41, last: 100, gone: func(i uint64) bool { return i <= 40 }},
		{name: "suffix (conflict)", min: 61, max: 100, first: 1, last: 60, gone: func(i uint64) bool { return i >= 61 }},
		{name: "everything", min: 1, max: 100, first: 0, last: 0, gone: func(uint64) bool { return true }},
		{name: "wider than the log", min: 0, max: 1 << 62, first: 0, last: 0, gone: func(uint64) bool { return true }},
		{name: "middle", min: 30, max: 39, first: 1, last: 100, gone: func(i uint64) bool { return i >= 30 && i <= 39 }},
		{name: "one entry", min: 50, max: 50, first: 1, last: 100, gone: func(i uint64) bool { return i == 50 }},
		{name: "first entry", min: 1, max: 1, first: 2, last: 100, gone: func(i uint64) bool { return i == 1 }},
		{name: "last entry", min: 100, max: 100, first: 1, last: 99, gone: func(i uint64) bool { return i == 100 }},
		{name: "above the log", min: 101, max: 200, first: 1, last: 100, gone: func(uint64) bool { return false }},
		{name: "min above max", min: 60, max: 50, first: 1, last: 100, gone: func(uint64) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(openTestDB(t, t.TempDir()), "raft/")
			storeRange(t, s, 1, 100)
			if err := s.DeleteRange(tt.min, tt.max); err != nil {
				t.Fatalf("DeleteRange(%d, %d): %v", tt.min, tt.max, err)
			}
			checkBounds(t, s, tt.first, tt.last)
			checkPresent(t, s, 1, 100, func(i uint64) bool { return !tt.gone(i) })

			// The log goes on after the deletion.
			storeRange(t, s, 101, 102)
			wantFirst := tt.first
			if wantFirst == 0 {
				wantFirst = 101
			}
			checkBounds(t, s, wantFirst, 102)
		})
	}
}

func TestDeleteRangeManyChunks(t *testing.T) {
	s := New(openTestDB(t, t.TempDir()), "raft/")
	const n = 3*deleteChunk + 17
	for lo := uint64(1); lo <= n; lo += 1000 {
		storeRange(t, s, lo, min(lo+999, n))
	}
	// Compaction from the start, then truncation from the end, each
	// spanning several chunks.
	if err := s.DeleteRange(1, 2*deleteChunk+5); err != nil {
		t.Fatalf("DeleteRange prefix: %v", err)
	}
	checkBounds(t, s, 2*deleteChunk+6, n)
	if err := s.DeleteRange(2*deleteChunk+10, n); err != nil {
		t.Fatalf("DeleteRange suffix: %v", err)
	}
	checkBounds(t, s, 2*deleteChunk+6, 2*deleteChunk+9)
	checkPresent(t, s, 2*deleteChunk, 2*deleteChunk+12, func(i uint64) bool {
		return i >= 2*deleteChunk+6 && i <= 2*deleteChunk+9
	})
}

func TestStableStore(t *testing.T) {
	s := New(openTestDB(t, t.TempDir()), "raft/")
	tests := []struct {
		name string
		key  []byte
		val  []byte
	}{
		{name: "candidate", key: []byte("LastVoteCand"), val: []byte("node-2")},
		{name: "binary", key: []byte{0, 1, 2}, val: []byte{0xff, 0}},
		{name: "empty value", key: []byte("empty"), val: []byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.Set(tt.key, tt.val); err != nil {
				t.Fatalf("Set: %v", err)
			}
			got, err := s.Get(tt.key)
			if err != nil || !bytes.Equal(got, tt.val) || got == nil {
				t.Fatalf("Get = %q, %v; want %q", got, err, tt.val)
			}
		})
	}

	// Set copies the value: the caller may reuse its buffer.
	buf := []byte("node-1")
	if err := s.Set([]byte("k"), buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXXX")
	if got, _ := s.Get([]byte("k")); string(got) != "node-1" {
		t.Fatalf("Get after caller reused buffer = %q", got)
	}

	for _, v := range []uint64{0, 1, 1 << 63, ^uint64(0)} {
		if err := s.SetUint64([]byte("CurrentTerm"), v); err != nil {
			t.Fatalf("SetUint64: %v", err)
		}
		if got, err := s.GetUint64([]byte("CurrentTerm")); err != nil || got != v {
			t.Fatalf("GetUint64 = %d, %v; want %d", got, err, v)
		}
	}

	if _, err := s.GetUint64([]byte("LastVoteCand")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("GetUint64 of a 6-byte value = %v, want ErrCorrupt", err)
	}
}

func TestReopen(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir)
	s := New(db, "raft/")
	storeRange(t, s, 1, 50)
	if err := s.DeleteRange(1, 10); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUint64([]byte("CurrentTerm"), 7); err != nil {
		t.Fatal(err)
	}
	if err := s.Set([]byte("LastVoteCand"), []byte("n1")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = New(openTestDB(t, dir), "raft/")
	checkBounds(t, s, 11, 50)
	checkPresent(t, s, 1, 51, func(i uint64) bool { return i >= 11 && i <= 50 })
	if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != 7 {
		t.Fatalf("GetUint64 after reopen = %d, %v", v, err)
	}
	if v, err := s.Get([]byte("LastVoteCand")); err != nil || string(v) != "n1" {
		t.Fatalf("Get after reopen = %q, %v", v, err)
	}
}

func TestPrefixesShareOneDB(t *testing.T) {
	db := openTestDB(t, t.TempDir())
	// Other data of the node, sorting before, between and after the log
	// (keys under "raft/log/" are the store's own).
	if err := db.Update(func(txn *badger.Txn) error {
		for _, k := range []string{"a", "raft/lof", "raft/log", "raft/log.", "raft/lop", "raft/log0", "raft/stable", "z"} {
			if err := txn.Set([]byte(k), []byte("other")); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	a := New(db, "raft/")
	b := New(db, "raft2/")
	checkBounds(t, a, 0, 0)
	storeRange(t, a, 5, 9)
	storeRange(t, b, 100, 101)
	checkBounds(t, a, 5, 9)
	checkBounds(t, b, 100, 101)
	if err := a.SetUint64([]byte("CurrentTerm"), 3); err != nil {
		t.Fatal(err)
	}
	if _, err := b.GetUint64([]byte("CurrentTerm")); !errors.Is(err, ErrKeyNotFound) {
		t.Fatalf("store b sees store a's stable key: %v", err)
	}
	if err := a.DeleteRange(0, ^uint64(0)); err != nil {
		t.Fatal(err)
	}
	checkBounds(t, a, 0, 0)
	checkBounds(t, b, 100, 101)
	if err := db.View(func(txn *badger.Txn) error {
		_, err := txn.Get([]byte("raft/log."))
		return err
	}); err != nil {
		t.Fatalf("other data under the prefix lost: %v", err)
	}
}

func TestOpenDBTwiceFails(t *testing.T) {
	dir := t.TempDir()
	openTestDB(t, dir)
	if db, err := OpenDB(dir, DBOptions{Small: true}); err == nil {
		_ = db.Close()
		t.Fatal("second OpenDB of the same directory succeeded")
	}
}

// The node's badger holds the case book, synced at each raft snapshot
// (raft's log, synced on every append, is in raft-wal), with the value
// threshold the book's limits of one command's writes assume.
func TestOpenDBOptionsForTheCaseBook(t *testing.T) {
	for _, small := range []bool{false, true} {
		o := BadgerOptions(t.TempDir(), DBOptions{Small: small})
		if o.SyncWrites {
			t.Errorf("Small=%v: SyncWrites is on: an fsync on the commit path that raft-wal already pays", small)
		}
		if o.ValueThreshold != casebook.ValueThreshold {
			t.Errorf("Small=%v: ValueThreshold %d, the case book assumes %d", small, o.ValueThreshold, casebook.ValueThreshold)
		}
	}
}

// Villages, townships and counties keep no table builder's buffer
// between tables (each as large as the table it built: in the Go heap,
// they held a county near its soft memory limit); badger's default
// profile, for tools, keeps upstream's eight.
func TestNodeProfilesKeepNoTableBuilders(t *testing.T) {
	for _, opts := range []DBOptions{{Small: true}, {County: true}} {
		if got := BadgerOptions(t.TempDir(), opts).TableBuilderPool; got != 0 {
			t.Errorf("%+v: TableBuilderPool %d, want 0", opts, got)
		}
	}
	if got := BadgerOptions(t.TempDir(), DBOptions{}).TableBuilderPool; got != 8 {
		t.Errorf("the default profile: TableBuilderPool %d, want upstream's 8", got)
	}
}
