package walstore

import (
	"bytes"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/raft"

	"github.com/yizhan-gov/yizhan/federation/badgerstore"
)

var discard = slog.New(slog.DiscardHandler)

// openTestStore opens a store in dir with segments of segmentSize bytes
// (0: SegmentSize), closed when the test ends unless the test closed it.
func openTestStore(t testing.TB, dir string, segmentSize int) *Store {
	t.Helper()
	if segmentSize == 0 {
		segmentSize = SegmentSize
	}
	s, err := open(dir, discard, segmentSize)
	if err != nil {
		t.Fatalf("open %s: %v", dir, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// reopen closes s and opens its directory again, within a deadline: a
// bolt file left locked would make the second open wait forever.
func reopen(t testing.TB, s *Store, segmentSize int) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	done := make(chan *Store, 1)
	go func() {
		if segmentSize == 0 {
			segmentSize = SegmentSize
		}
		s2, err := open(s.Dir(), discard, segmentSize)
		if err != nil {
			t.Errorf("reopen %s: %v", s.Dir(), err)
		}
		done <- s2
	}()
	select {
	case s2 := <-done:
		if s2 == nil {
			t.FailNow()
		}
		t.Cleanup(func() { _ = s2.Close() })
		return s2
	case <-time.After(5 * time.Second):
		t.Fatalf("reopen %s: still waiting after 5s (bolt file still locked?)", s.Dir())
		return nil
	}
}

// openTestDB opens a small badger database in dir, as the node does.
func openTestDB(t testing.TB, dir string) *badger.DB {
	t.Helper()
	db, err := badgerstore.OpenDB(dir, badgerstore.DBOptions{Logger: discard, Small: true})
	if err != nil {
		t.Fatalf("OpenDB: %v", err)
	}
	t.Cleanup(func() {
		if !db.IsClosed() {
			_ = db.Close()
		}
	})
	return db
}

// testLog is the entry at i in the tests' logs: every field of raft.Log set
// and varying.
func testLog(i uint64) *raft.Log {
	l := &raft.Log{
		Index:      i,
		Term:       i/100 + 1,
		Type:       raft.LogCommand,
		Data:       fmt.Appendf(nil, "entry %d %s", i, bytes.Repeat([]byte{'x'}, int(i%50))),
		AppendedAt: time.Unix(1700000000+int64(i), int64(i)).UTC(),
	}
	switch i % 7 {
	case 0:
		l.Type = raft.LogConfiguration
	case 3:
		l.Type = raft.LogNoop
		l.Data = nil
	}
	if i%5 == 0 {
		l.Extensions = []byte{byte(i), byte(i >> 8)}
	}
	if i%11 == 0 {
		l.AppendedAt = time.Time{}
	}
	return l
}

// storeLogs stores testLog(lo..hi) in s in batches of batch.
func storeLogs(t testing.TB, s raft.LogStore, lo, hi uint64, batch int) {
	t.Helper()
	for from := lo; from <= hi; from += uint64(batch) {
		var logs []*raft.Log
		for i := from; i <= hi && i < from+uint64(batch); i++ {
			logs = append(logs, testLog(i))
		}
		if err := s.StoreLogs(logs); err != nil {
			t.Fatalf("StoreLogs(%d-%d): %v", from, logs[len(logs)-1].Index, err)
		}
	}
}

func checkBounds(t testing.TB, s raft.LogStore, first, last uint64) {
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

// checkLogs checks that lo..hi are stored in s exactly as testLog gives them.
func checkLogs(t testing.TB, s raft.LogStore, lo, hi uint64) {
	t.Helper()
	for i := lo; i <= hi; i++ {
		var l raft.Log
		if err := s.GetLog(i, &l); err != nil {
			t.Fatalf("GetLog(%d): %v", i, err)
		}
		if want := testLog(i); !sameLog(&l, want) {
			t.Fatalf("GetLog(%d) = %+v, want %+v", i, l, *want)
		}
	}
}

func checkMissing(t testing.TB, s raft.LogStore, idx ...uint64) {
	t.Helper()
	for _, i := range idx {
		var l raft.Log
		if err := s.GetLog(i, &l); err != raft.ErrLogNotFound {
			t.Fatalf("GetLog(%d) = %v, %+v; want raft.ErrLogNotFound unwrapped", i, err, l)
		}
	}
}

// badgerKeys counts the keys under prefix in db.
func badgerKeys(t testing.TB, db *badger.DB, prefix string) int {
	t.Helper()
	n := 0
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
