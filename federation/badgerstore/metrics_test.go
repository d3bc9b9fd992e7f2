package badgerstore

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// What badger wrote reaches the node's metrics: the bytes its writes put
// into the memtables, and those its compactions wrote, by level. The
// counters are the process's, so the test reads what they gained.
func TestBadgerWrittenBytes(t *testing.T) {
	// The county profile (badger's metrics on), with memtables and a
	// level 0 small enough for a few MB to be compacted.
	opts := BadgerOptions(t.TempDir(), DBOptions{Logger: slog.New(slog.DiscardHandler), County: true}).
		WithMemTableSize(1 << 20).WithNumLevelZeroTables(2).WithNumLevelZeroTablesStall(4)
	memtable0, compaction0 := MemtableWrittenBytes(), sum(CompactionWrittenBytes())
	db, err := badger.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	const n, size = 40000, 100
	rnd := rand.New(rand.NewPCG(1, 2))
	wb := db.NewWriteBatch()
	for range n {
		v := make([]byte, size) // random: the tables' compression keeps them
		for j := range v {
			v[j] = byte(rnd.Uint32())
		}
		if err := wb.Set(fmt.Appendf(nil, "k/%06d", rnd.IntN(n)), v); err != nil {
			t.Fatal(err)
		}
	}
	if err := wb.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := MemtableWrittenBytes() - memtable0; got < n*size {
		t.Errorf("memtables written: %d bytes, want at least the values' %d", got, n*size)
	}
	// Four MB of memtables make level 0 tables enough for a compaction,
	// which writes at least one table's worth (a memtable's, 1 MB).
	waitFor(t, "a compaction", func() bool { return sum(CompactionWrittenBytes())-compaction0 >= 1<<20 }, 30*time.Second)
	byLevel := CompactionWrittenBytes()
	for level := range byLevel {
		if level < 0 || level > 6 {
			t.Errorf("a compaction into level %d", level)
		}
	}
}

func sum(m map[int]int64) int64 {
	var s int64
	for _, v := range m {
		s += v
	}
	return s
}
