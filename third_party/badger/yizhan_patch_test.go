package badger

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/skl"
	"github.com/dgraph-io/badger/v4/y"
	"github.com/dgraph-io/ristretto/v2/z"
)

// yizhan patch (PATCHES.md): a MANIFEST change that could not be written
// leaves the manifest held in memory as the file has it.
func TestYizhanManifestChangeNotWrittenIsNotHeld(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(func(txn *Txn) error { return txn.Set([]byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	mf := db.manifest
	before := len(mf.manifest.Tables)
	good := mf.fp
	// A file that takes no write, as a full disk.
	ro, err := os.Open(filepath.Join(dir, ManifestFilename))
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	mf.fp = ro
	err = mf.addChanges([]*pb.ManifestChange{newCreateChange(999999, 6, 0, 0)}, db.opt)
	mf.fp = good
	if err == nil {
		t.Fatal("a MANIFEST change was written to a read-only file")
	}
	if _, ok := mf.manifest.Tables[999999]; ok || len(mf.manifest.Tables) != before {
		t.Fatalf("the manifest in memory holds a change the file does not (%d tables, %d before)", len(mf.manifest.Tables), before)
	}
	// The next change is written and held.
	if err := mf.addChanges([]*pb.ManifestChange{newCreateChange(999998, 6, 0, 0)}, db.opt); err != nil {
		t.Fatal(err)
	}
	if _, ok := mf.manifest.Tables[999998]; !ok {
		t.Fatal("a change written is not held")
	}
	delete(mf.manifest.Tables, 999998) // not a real table: keep Close from looking for it
	for _, l := range mf.manifest.Levels {
		delete(l.Tables, 999998)
	}
}

// yizhan patch (PATCHES.md): with no table builders' buffers kept, the
// DB holds none once its tables are written (upstream's pool of eight
// holds some), and the tables it wrote (flushes and compactions) read
// back.
func TestYizhanTableBuilderPoolOfNone(t *testing.T) {
	for _, pool := range []int{8, 0} {
		t.Run(fmt.Sprintf("pool=%d", pool), func(t *testing.T) {
			dir := t.TempDir()
			opt := DefaultOptions(dir).WithLogger(nil).
				WithMemTableSize(1 << 20).WithBaseTableSize(256 << 10).
				WithNumLevelZeroTables(1).WithNumLevelZeroTablesStall(2).
				WithTableBuilderPool(pool).WithValueThreshold(1 << 10)
			db, err := Open(opt)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			value := make([]byte, 200)
			const keys = 20_000 // about 4 MB: several memtable flushes
			for i := 0; i < keys; i += 500 {
				err := db.Update(func(txn *Txn) error {
					for k := i; k < i+500; k++ {
						if err := txn.Set([]byte(fmt.Sprintf("key-%06d", k)), value); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Flatten(2); err != nil {
				t.Fatal(err)
			}
			// The memtables are flushed in the background, each after a
			// sync of the value log (PATCHES.md): give them a moment.
			for deadline := time.Now().Add(5 * time.Second); len(db.Tables()) < 2 && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
			}
			if n := len(db.Tables()); n < 2 {
				t.Fatalf("%d tables written, want several", n)
			}
			kept := builderBuffersHeld(t)
			// A compaction still writing a table holds its builder's
			// buffer, pool or none: give the background a moment.
			for deadline := time.Now().Add(2 * time.Second); pool == 0 && kept != 0 && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
				kept = builderBuffersHeld(t)
			}
			switch {
			case pool == 0 && kept != 0:
				t.Errorf("%d table builders' buffers held with a pool of none", kept)
			case pool > 0 && kept == 0:
				t.Errorf("no table builder's buffer held with a pool of %d (the check would not see one)", pool)
			}
			err = db.View(func(txn *Txn) error {
				for k := 0; k < keys; k += 997 {
					if _, err := txn.Get([]byte(fmt.Sprintf("key-%06d", k))); err != nil {
						return fmt.Errorf("key-%06d: %w", k, err)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// builderBuffersHeld is how many table builders' buffers (z.Allocators
// tagged "Builder") the process holds.
func builderBuffersHeld(t *testing.T) int {
	for _, part := range strings.Split(z.Allocators(), " . ") {
		var tag string
		var n int
		if _, err := fmt.Sscanf(strings.TrimSpace(part), "Tag: %s Num: %d", &tag, &n); err == nil && tag == "Builder" {
			return n
		}
	}
	return 0
}

// yizhan patch (PATCHES.md): an entry written WithValueLog keeps its value
// in the value log however small, in the memtable and, once the memtable
// is written as a table (at close), after a reopen; others under the
// threshold stay in the LSM tree; an in-memory DB, which has no value
// log, ignores it.
func TestYizhanWithValueLog(t *testing.T) {
	dir := t.TempDir()
	opt := DefaultOptions(dir).WithLogger(nil).WithMemTableSize(1 << 20).WithValueThreshold(1 << 10)
	db, err := Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	value := bytes.Repeat([]byte("v"), 100)
	const keys = 1_000 // one transaction of a 1 MB memtable
	write := func(db *DB) {
		t.Helper()
		err := db.Update(func(txn *Txn) error {
			for k := range keys {
				e := NewEntry([]byte(fmt.Sprintf("key-%06d", k)), value)
				if k%2 == 0 {
					e = e.WithValueLog()
				}
				if err := txn.SetEntry(e); err != nil {
					return err
				}
			}
			return txn.SetEntry(NewEntry([]byte("empty"), nil).WithValueLog())
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check := func(db *DB, when string, inLog func(k int) bool) {
		t.Helper()
		err := db.View(func(txn *Txn) error {
			for k := range keys {
				item, err := txn.Get([]byte(fmt.Sprintf("key-%06d", k)))
				if err != nil {
					return err
				}
				if got := item.meta&bitValuePointer != 0; got != inLog(k) {
					t.Fatalf("%s: key-%06d in the value log: %v, want %v", when, k, got, inLog(k))
				}
				if v, err := item.ValueCopy(nil); err != nil || !bytes.Equal(v, value) {
					t.Fatalf("%s: key-%06d reads %q, %v", when, k, v, err)
				}
			}
			item, err := txn.Get([]byte("empty"))
			if err != nil {
				return err
			}
			if item.meta&bitValuePointer != 0 {
				t.Fatalf("%s: an empty value in the value log", when)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	even := func(k int) bool { return k%2 == 0 }
	write(db)
	check(db, "in the memtable", even)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = Open(opt); err != nil {
		t.Fatal(err)
	}
	check(db, "reopened", even)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	mem, err := Open(DefaultOptions("").WithInMemory(true).WithLogger(nil).WithValueThreshold(1 << 10))
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	write(mem)
	check(mem, "in memory", func(int) bool { return false })
}

// yizhan patch (PATCHES.md): a small memtable with a larger batch size
// than upstream's 15% takes transactions filled to that size, by bytes
// and by entries, through many memtable rotations, and every entry is
// there after the DB is reopened (its memtable logs replayed); a batch
// size the memtable's log could not hold twice is refused.
func TestYizhanMaxBatchSize(t *testing.T) {
	const memtable, batch = 1 << 20, 512 << 10
	dir := t.TempDir()
	opt := DefaultOptions(dir).WithLogger(nil).WithMemTableSize(memtable).WithMaxBatchSize(batch).WithValueThreshold(1 << 10)
	if _, err := Open(opt.WithMaxBatchSize(memtable/2 + 1)); err == nil || !strings.Contains(err.Error(), "MaxBatchSize") {
		t.Fatalf("a batch larger than half the memtable: %v, want it refused", err)
	}
	db, err := Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	if db.MaxBatchSize() != batch || db.MaxBatchCount() != batch/int64(skl.MaxNodeSize) {
		t.Fatalf("batch %d B, %d entries; want %d B, %d", db.MaxBatchSize(), db.MaxBatchCount(), batch, batch/int64(skl.MaxNodeSize))
	}
	// Transactions filled until badger refuses the next entry: values
	// just under the value threshold (the batch full by bytes), tiny ones
	// (full by entries), and values in the value log (pointers).
	want := map[string]int{}
	values := []int{1000, 1, 4 << 10}
	n := 0
	for round := range 12 {
		size := values[round%len(values)]
		txn := db.NewTransaction(true)
		held := 0
		for {
			k := fmt.Sprintf("k%08d", n)
			if err := txn.Set([]byte(k), bytes.Repeat([]byte{byte(n)}, size)); err == ErrTxnTooBig {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			want[k] = size
			n++
			held++
		}
		if err := txn.Commit(); err != nil {
			t.Fatalf("round %d (%d entries of %d B): %v", round, held, size, err)
		}
		if size == 1 && int64(held) < db.MaxBatchCount()*9/10 {
			t.Fatalf("a transaction of tiny values held %d entries, want nearly %d", held, db.MaxBatchCount())
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(txn *Txn) error {
		for k, size := range want {
			item, err := txn.Get([]byte(k))
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			if v, err := item.ValueCopy(nil); err != nil || len(v) != size {
				return fmt.Errorf("%s: %d bytes (%v), want %d", k, len(v), err, size)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 12*1000 {
		t.Fatalf("only %d entries written", n)
	}
}

// yizhan patch (PATCHES.md): a memtable log written with a larger
// memtable than the DB is opened with (a node's data directory from a
// release whose small profile had 4 MB memtables, the process killed with
// its memtable full) is replayed whole into a skiplist sized for it;
// upstream's arena, sized by the options, overran ("Arena too small").
func TestYizhanMemtableLogFromALargerMemtable(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(DefaultOptions(dir).WithLogger(nil).WithMemTableSize(4 << 20).WithValueThreshold(1 << 10).WithValueLogFileSize(16 << 20))
	if err != nil {
		t.Fatal(err)
	}
	const n = 25000 // about 2.8 MB of skiplist: under the 4 MB memtable, over a 1.25 MB one's 2.4 MB arena
	for i := 0; i < n; i += 500 {
		err := db.Update(func(txn *Txn) error {
			for j := i; j < i+500; j++ {
				if err := txn.Set([]byte(fmt.Sprintf("k%08d", j)), bytes.Repeat([]byte{byte(j)}, 64)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	held := db.mt.sl.MemSize()
	// The files as a kill -9 leaves them: the memtable log is a shared
	// mapping, its writes already in the page cache.
	crashed := t.TempDir()
	if err := os.CopyFS(crashed, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	small := DefaultOptions(crashed).WithLogger(nil).WithMemTableSize(1280 << 10).WithMaxBatchSize(600 << 10).WithValueThreshold(1 << 10).
		WithValueLogFileSize(16 << 20)
	if o := small; checkAndSetOptions(&o) != nil || arenaSize(o) >= held {
		t.Fatalf("the small options' arena (%d bytes) would hold the log's %d anyway", arenaSize(o), held)
	}
	db2, err := Open(small)
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	err = db2.View(func(txn *Txn) error {
		for i := range n {
			item, err := txn.Get([]byte(fmt.Sprintf("k%08d", i)))
			if err != nil {
				return fmt.Errorf("k%08d: %w", i, err)
			}
			if v, err := item.ValueCopy(nil); err != nil || len(v) != 64 || v[0] != byte(i) {
				return fmt.Errorf("k%08d: %q (%v)", i, v, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// yizhan patch (PATCHES.md): opening the database reads the last value
// log to its end, to find where its valid entries stop, into one buffer:
// it allocated each entry anew (a county's restart: the whole file's
// worth of garbage, 363 MB). A torn entry at the end is still found and
// cut off, and every value reads back.
func TestYizhanOpenScansTheLastValueLogInOneBuffer(t *testing.T) {
	dir := t.TempDir()
	opt := DefaultOptions(dir).WithLogger(nil).WithMemTableSize(1 << 20).WithValueThreshold(1 << 10)
	db, err := Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	const keys, size = 16_000, 2 << 10 // 32 MB of values in the value log
	value := func(k int) []byte { return bytes.Repeat([]byte{byte(k)}, size) }
	for batch := range keys / 100 {
		if err := db.Update(func(txn *Txn) error {
			for k := batch * 100; k < (batch+1)*100; k++ {
				if err := txn.Set([]byte(fmt.Sprintf("key-%06d", k)), value(k)); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	logs, err := filepath.Glob(filepath.Join(dir, "*.vlog"))
	if err != nil || len(logs) == 0 {
		t.Fatalf("value logs %q (%v)", logs, err)
	}
	last := logs[len(logs)-1]
	st, err := os.Stat(last)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() < keys*size {
		t.Fatalf("the last value log holds %d bytes, want the %d written", st.Size(), keys*size)
	}
	// A torn write at its end: half an entry's header and value.
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(append([]byte{0, 7, 200, 1}, value(1)[:100]...)); err != nil {
		t.Fatal(err)
	}
	f.Close()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if db, err = Open(opt); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("opening allocated %d KB with a %d KB value log to read", allocated>>10, st.Size()>>10)
	if allocated > 8<<20 {
		t.Errorf("opening allocated %d MB, reading a %d MB value log: want it read into one buffer", allocated>>20, st.Size()>>20)
	}
	if cut, err := os.Stat(last); err != nil || cut.Size() != st.Size() {
		t.Errorf("the last value log after opening: %v (%v), want it cut back to its %d bytes", cut.Size(), err, st.Size())
	}
	if err := db.View(func(txn *Txn) error {
		for k := 0; k < keys; k += 97 {
			item, err := txn.Get([]byte(fmt.Sprintf("key-%06d", k)))
			if err != nil {
				return err
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			if !bytes.Equal(v, value(k)) {
				return fmt.Errorf("key %d reads back %d bytes of %x", k, len(v), v[:1])
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// yizhan patch (PATCHES.md): an entry is encoded for the memtable and value
// logs without a hash or a writer made for it, into the same bytes as
// upstream's encoding (a header, the key, the value, the CRC-32C of the
// three), and reads back.
func TestYizhanEntryEncodedAsUpstream(t *testing.T) {
	upstream := func(e *Entry) []byte {
		h := header{klen: uint32(len(e.Key)), vlen: uint32(len(e.Value)), expiresAt: e.ExpiresAt, meta: e.meta, userMeta: e.UserMeta}
		var buf bytes.Buffer
		hash := crc32.New(y.CastagnoliCrcTable)
		w := io.MultiWriter(&buf, hash)
		var enc [maxHeaderSize]byte
		w.Write(enc[:h.Encode(enc[:])])
		w.Write(e.Key)
		w.Write(e.Value)
		var crc [crc32.Size]byte
		binary.BigEndian.PutUint32(crc[:], hash.Sum32())
		buf.Write(crc[:])
		return buf.Bytes()
	}
	entries := []*Entry{
		{Key: []byte("k")},
		{Key: y.KeyWithTs([]byte("book/c/450122000000-20261207-0001"), 42), Value: bytes.Repeat([]byte{7}, 600), UserMeta: 3, meta: bitTxn},
		{Key: y.KeyWithTs([]byte("book/e/x"), 1<<40), Value: bytes.Repeat([]byte("yz"), 1<<19), ExpiresAt: 1<<33 + 5, meta: bitValuePointer | bitTxn},
		{Key: y.KeyWithTs(txnKey, 9), Value: []byte("9"), meta: bitFinTxn},
	}
	lf := &logFile{}
	var buf bytes.Buffer
	buf.WriteString("something before") // as the value log's buffer holds the batch's earlier entries
	for i, e := range entries {
		start := buf.Len()
		n, err := lf.encodeEntry(&buf, e, 0)
		if err != nil {
			t.Fatal(err)
		}
		got, want := buf.Bytes()[start:], upstream(e)
		if n != len(got) || !bytes.Equal(got, want) {
			t.Fatalf("entry %d encoded as %d bytes (length %d), upstream %d bytes: not the same", i, len(got), n, len(want))
		}
		back, err := lf.decodeEntry(got, 0)
		if err != nil || !bytes.Equal(back.Key, e.Key) || !bytes.Equal(back.Value, e.Value) || back.ExpiresAt != e.ExpiresAt || back.UserMeta != e.UserMeta || back.meta != e.meta {
			t.Fatalf("entry %d reads back as %+v (%v)", i, back, err)
		}
	}
	if allocs := testing.AllocsPerRun(100, func() {
		buf.Reset()
		lf.encodeEntry(&buf, entries[1], 0)
	}); allocs != 0 {
		t.Errorf("encoding an entry into a buffer with room allocated %.0f times, want none", allocs)
	}
}

// yizhan patch (PATCHES.md): the batches of writes go to one goroutine
// that lives as long as the database (upstream started one per batch),
// and that goroutine ends with it. Transactions committed from many
// goroutines at once are all written, in their order of commit.
func TestYizhanWritesOnOneGoroutine(t *testing.T) {
	db, err := Open(DefaultOptions(t.TempDir()).WithLogger(nil).WithValueThreshold(64))
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 16, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				done := make(chan error, 1)
				txn := db.NewTransaction(true)
				if err := txn.Set([]byte(fmt.Sprintf("w%02d-%04d", w, i)), bytes.Repeat([]byte{byte(i)}, 10+i)); err != nil {
					t.Error(err)
					return
				}
				txn.CommitWith(func(err error) { done <- err })
				if err := <-done; err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// Meanwhile every batch is written by the same goroutine.
	writing := map[string]bool{}
	stop := make(chan struct{})
	go func() { wg.Wait(); close(stop) }()
	for sampling := true; sampling; {
		select {
		case <-stop:
			sampling = false
		default:
			for _, id := range goroutinesIn("(*DB).doWrites.func") {
				writing[id] = true
			}
			runtime.Gosched()
		}
	}
	if len(writing) != 1 {
		t.Errorf("%d goroutines wrote batches (%v), want one", len(writing), writing)
	}
	wg.Wait()
	err = db.View(func(txn *Txn) error {
		for w := range writers {
			for i := range each {
				item, err := txn.Get([]byte(fmt.Sprintf("w%02d-%04d", w, i)))
				if err != nil {
					return err
				}
				if v, err := item.ValueCopy(nil); err != nil || len(v) != 10+i || v[0] != byte(i) {
					return fmt.Errorf("w%02d-%04d: %d bytes (%v)", w, i, len(v), err)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if left := goroutinesIn("(*DB).doWrites"); len(left) != 0 {
		t.Errorf("goroutines %v of the writer left after Close", left)
	}
}

// goroutinesIn returns the IDs of the goroutines whose stack has a
// function named with fn.
func goroutinesIn(fn string) []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var ids []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			ids = append(ids, strings.Fields(g)[1])
		}
	}
	return ids
}

// yizhan patch (PATCHES.md): a goroutine made runnable after a commit is
// handed to the writer, which yields once before it runs (as gRPC's
// connection writer does), runs before the commit is written: on one
// CPU the answer to a commit goes out first.
func TestYizhanRunnableGoesBeforeTheWrite(t *testing.T) {
	db, err := Open(DefaultOptions(t.TempDir()).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	before := 0
	for i := range 20 {
		var committed atomic.Bool
		wake, saw := make(chan struct{}), make(chan bool)
		go func() {
			<-wake
			runtime.Gosched()
			saw <- committed.Load()
		}()
		txn := db.NewTransaction(true)
		if err := txn.Set([]byte(fmt.Sprintf("k%d", i)), []byte("v")); err != nil {
			t.Fatal(err)
		}
		txn.CommitWith(func(error) { committed.Store(true) })
		wake <- struct{}{}
		if !<-saw {
			before++
		}
		for !committed.Load() {
			runtime.Gosched()
		}
	}
	if before < 15 {
		t.Errorf("the goroutine made runnable after the commit ran before its write %d times in 20, want (nearly) always", before)
	}
}
