//go:build linux

package badger

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/dgraph-io/badger/v4/options"
)

// mappedLogsKB is how much of the memtable logs and value logs under dir
// is resident in this process's mappings, in KB (/proc/self/smaps).
func mappedLogsKB(t *testing.T, dir string) (mem, vlog int) {
	t.Helper()
	kb := mappedKB(t, dir)
	return kb[".mem"], kb[".vlog"]
}

// mappedKB is how much of the files under dir is resident in this
// process's mappings, in KB, by the files' extension (/proc/self/smaps).
func mappedKB(t *testing.T, dir string) map[string]int {
	t.Helper()
	kb := make(map[string]int)
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ext := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":"):
			ext = ""
			if len(fields) >= 6 && strings.HasPrefix(fields[5], dir) {
				ext = filepath.Ext(fields[5])
			}
		case len(fields) == 3 && fields[0] == "Rss:" && ext != "":
			n, _ := strconv.Atoi(fields[1])
			kb[ext] += n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return kb
}

// evictPageCache drops the clean pages of every file in dir from the
// kernel's page cache (posix_fadvise DONTNEED).
func evictPageCache(t *testing.T, dir string) {
	t.Helper()
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range files {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		err = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// yizhan patch (PATCHES.md): with DropLogPages the pages a memtable log or
// value log has written leave the process's mapping as it goes on being
// written, values are read without mapping any, opening the DB leaves
// none mapped, and what was written reads back, before and, from the
// disk, after the DB is reopened.
func TestYizhanDropLogPages(t *testing.T) {
	const (
		txns     = 200
		perTxn   = 40
		valueLen = 2 << 10 // each even key's in the value log: 8 MB in all
		smallLen = 512     // each odd key's in the memtable log only: 2 MB in all
	)
	value := func(i int) []byte {
		if i%2 == 1 {
			return bytes.Repeat([]byte{byte(i)}, smallLen)
		}
		return bytes.Repeat([]byte{byte(i)}, valueLen)
	}
	key := func(i int) []byte { return []byte(fmt.Sprintf("key-%06d", i)) }
	for _, tc := range []struct {
		drop bool
		// valueLogFile is the value log files' size: with 1.5 MB, five
		// files are written and rotated out, each with half a MB
		// written since the drop at its first MB, which only the
		// rotation drops.
		valueLogFile int64
	}{{false, 1 << 30}, {true, 1 << 30}, {true, 3 << 19}} {
		drop := tc.drop
		t.Run(fmt.Sprintf("drop=%v/file=%dKB", drop, tc.valueLogFile>>10), func(t *testing.T) {
			dir := t.TempDir()
			opt := DefaultOptions(dir).WithLogger(nil).WithValueThreshold(1 << 10).
				WithMemTableSize(16 << 20).WithValueLogFileSize(tc.valueLogFile).WithDropLogPages(drop)
			db, err := Open(opt)
			if err != nil {
				t.Fatal(err)
			}
			write := func(from, to int) {
				t.Helper()
				for tx := from; tx < to; tx++ {
					err := db.Update(func(txn *Txn) error {
						for i := tx * perTxn; i < (tx+1)*perTxn; i++ {
							if err := txn.Set(key(i), value(i)); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			write(0, txns)
			mem, vlog := mappedLogsKB(t, dir)
			inLog, inMem := txns*perTxn/2*valueLen>>10, txns*perTxn/2*smallLen>>10
			t.Logf("%d KB written to the value log, %d KB to the memtable's only: resident %d KB of memtable logs, %d KB of value logs",
				inLog, inMem, mem, vlog)
			if drop {
				// What is left is what was written since the last drop:
				// at most a MB and a page of each log.
				if mem > 1<<10+4 || vlog > 1<<10+4 {
					t.Errorf("dropping written pages: %d KB of memtable logs and %d KB of value logs resident, want at most 1 MB each", mem, vlog)
				}
			} else if vlog < inLog/2 || mem < inMem/2 {
				// Upstream keeps them: this test sees what it measures.
				t.Errorf("without dropping: %d KB of memtable logs and %d KB of value logs resident, want most of the %d and %d KB written",
					mem, vlog, inMem, inLog)
			}
			check := func(db *DB, when string, keys int) {
				t.Helper()
				err := db.View(func(txn *Txn) error {
					for i := range keys {
						item, err := txn.Get(key(i))
						if err != nil {
							return err
						}
						if v, err := item.ValueCopy(nil); err != nil || !bytes.Equal(v, value(i)) {
							return fmt.Errorf("%s reads %d bytes, %v", key(i), len(v), err)
						}
					}
					return nil
				})
				if err != nil {
					t.Fatalf("%s: %v", when, err)
				}
			}
			check(db, "written", txns*perTxn)
			// Values are read with pread(2): reading them all maps none
			// of the value log's pages, in the file being written or in
			// those rotated out.
			_, readVlog := mappedLogsKB(t, dir)
			write(txns, txns+txns/5)
			_, vlog = mappedLogsKB(t, dir)
			t.Logf("after reading every value: %d KB of value logs resident; after 1.6 MB more written: %d KB", readVlog, vlog)
			if drop && (readVlog > 1<<10+4 || vlog > 1<<10+4) {
				t.Errorf("dropping: read back, %d KB of value logs resident, then %d KB once 1.6 MB more was written; want at most 1 MB",
					readVlog, vlog)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			// Closed, every file is synced: evict its pages from the page
			// cache, so that what is read next comes from the disk.
			evictPageCache(t, dir)
			if db, err = Open(opt); err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			// Opening read the last value log to its end.
			if _, vlog := mappedLogsKB(t, dir); drop && vlog > 4 {
				t.Errorf("reopened: %d KB of value logs resident, want none", vlog)
			} else {
				t.Logf("reopened: %d KB of value logs resident", vlog)
			}
			check(db, "reopened", (txns+txns/5)*perTxn)
		})
	}
}

// yizhan patch (PATCHES.md): with ReadTableBlocks a compressed or
// encrypted table's blocks are read with pread(2), so that reading every
// entry of the tables (as a compaction does) leaves only their indexes
// mapped, and every entry reads back, from the page cache and from the
// disk.
func TestYizhanReadTableBlocks(t *testing.T) {
	const (
		entries  = 40000
		valueLen = 200 // in the tables (under the value threshold): about 9 MB, 4.7 compressed
	)
	key := func(i int) []byte { return []byte(fmt.Sprintf("key-%08d", i)) }
	value := func(i int) []byte {
		// Half random (seeded by the key), half compressible.
		v := make([]byte, valueLen)
		r := rand.New(rand.NewPCG(uint64(i), 1))
		for j := range valueLen / 2 {
			v[j] = byte(r.Uint32())
		}
		return v
	}
	encryptionKey := bytes.Repeat([]byte{7}, 32)
	for _, tc := range []struct {
		name        string
		read        bool
		compression options.CompressionType
		encrypted   bool
		// mapped: whether reading every entry leaves most of the
		// tables' bytes mapped.
		mapped bool
	}{
		{"mapped/snappy", false, options.Snappy, false, true},
		{"read/snappy", true, options.Snappy, false, false},
		{"read/zstd", true, options.ZSTD, false, false},
		{"read/encrypted", true, options.None, true, false},
		// A table neither compressed nor encrypted keeps its blocks as
		// slices of its mapping: the option does not change it.
		{"read/plain", true, options.None, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			opt := DefaultOptions(dir).WithLogger(nil).WithMemTableSize(2 << 20).WithValueThreshold(1 << 10).
				WithCompression(tc.compression).WithBlockCacheSize(256 << 10).
				WithReadTableBlocks(tc.read)
			if tc.encrypted {
				opt = opt.WithEncryptionKey(encryptionKey).WithIndexCacheSize(8 << 20)
			}
			db, err := Open(opt)
			if err != nil {
				t.Fatal(err)
			}
			for from := 0; from < entries; from += 500 {
				err := db.Update(func(txn *Txn) error {
					for i := from; i < from+500; i++ {
						if err := txn.Set(key(i), value(i)); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			tablesKB := 0
			files, err := os.ReadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range files {
				if filepath.Ext(e.Name()) == ".sst" {
					info, err := e.Info()
					if err != nil {
						t.Fatal(err)
					}
					tablesKB += int(info.Size() >> 10)
				}
			}
			check := func(db *DB, when string) {
				t.Helper()
				// Every entry, in order: every block of every table.
				err := db.View(func(txn *Txn) error {
					it := txn.NewIterator(DefaultIteratorOptions)
					defer it.Close()
					i := 0
					for it.Rewind(); it.Valid(); it.Next() {
						item := it.Item()
						v, err := item.ValueCopy(nil)
						if err != nil {
							return err
						}
						if !bytes.Equal(item.Key(), key(i)) || !bytes.Equal(v, value(i)) {
							return fmt.Errorf("entry %d: %q = %q", i, item.Key(), v)
						}
						i++
					}
					if i != entries {
						return fmt.Errorf("%d entries, want %d", i, entries)
					}
					for _, i := range []int{0, 1, entries / 3, entries - 1} {
						item, err := txn.Get(key(i))
						if err != nil {
							return err
						}
						if v, err := item.ValueCopy(nil); err != nil || !bytes.Equal(v, value(i)) {
							return fmt.Errorf("%s reads %q, %v", key(i), v, err)
						}
					}
					return nil
				})
				if err != nil {
					t.Fatalf("%s: %v", when, err)
				}
			}
			for _, fromDisk := range []bool{false, true} {
				if fromDisk {
					evictPageCache(t, dir)
				}
				db, err := Open(opt)
				if err != nil {
					t.Fatal(err)
				}
				check(db, fmt.Sprintf("from the disk: %v", fromDisk))
				sst := mappedKB(t, dir)[".sst"]
				t.Logf("%d KB of tables (%d, indexes %d KB); read end to end, %d KB of them resident in the mapping", tablesKB, len(db.Tables()), indexSize(db), sst)
				if tablesKB < 2<<10 {
					t.Fatalf("only %d KB of tables written: the test reads too little", tablesKB)
				}
				if tc.mapped && sst < tablesKB/2 {
					t.Errorf("read through the mapping: %d KB of %d KB resident, want most", sst, tablesKB)
				}
				// Read with pread, what stays mapped is each table's index
				// (its offsets and bloom filter, used in place) and what
				// the kernel maps around a fault (fault_around_bytes, 64
				// KiB by default): at most two such windows a table.
				indexKB, tables := indexSize(db), len(db.Tables())
				if most := indexKB + tables*(2*64+4); !tc.mapped && sst > most {
					t.Errorf("read with pread: %d KB of %d KB resident, want the %d tables' indexes only (%d KB, and what the kernel maps around them: at most %d KB)",
						sst, tablesKB, tables, indexKB, most)
				}
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// yizhan patch (PATCHES.md): with DropLogPages a log is iterated (value-log
// GC reading a file to rewrite it, the memtable logs and the last value log
// replayed at open) with pread, mapping none of its pages, and what GC
// rewrote reads back.
func TestYizhanIterateLogsWithPread(t *testing.T) {
	const (
		keys     = 4000
		valueLen = 2 << 10 // in the value log: 8 MB in all, in files of 1.5 MB
	)
	key := func(i int) []byte { return []byte(fmt.Sprintf("key-%06d", i)) }
	value := func(i, round int) []byte {
		return bytes.Repeat([]byte{byte(i), byte(round)}, valueLen/2)
	}
	dir := t.TempDir()
	opt := DefaultOptions(dir).WithLogger(nil).WithValueThreshold(1 << 10).
		WithMemTableSize(16 << 20).WithValueLogFileSize(3 << 19).WithDropLogPages(true).
		WithNumLevelZeroTables(1).WithNumLevelZeroTablesStall(3)
	db, err := Open(opt)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	write := func(round, from, to int) {
		t.Helper()
		for tx := from; tx < to; tx += 40 {
			err := db.Update(func(txn *Txn) error {
				for i := tx; i < tx+40 && i < to; i++ {
					if err := txn.Set(key(i), value(i, round)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	write(0, 0, keys)

	// Every value log, the one being written too, iterated end to end.
	db.vlog.filesLock.RLock()
	files := make([]*logFile, 0, len(db.vlog.filesMap))
	for _, lf := range db.vlog.filesMap {
		files = append(files, lf)
	}
	db.vlog.filesLock.RUnlock()
	if len(files) < 4 {
		t.Fatalf("%d value log files, want at least 4", len(files))
	}
	_, before := mappedLogsKB(t, dir)
	entries := 0
	for _, lf := range files {
		if _, err := lf.iterate(true, 0, func(e Entry, _ valuePointer) error {
			if !bytes.HasPrefix(e.Key, []byte("key-")) {
				return nil // a transaction's end mark
			}
			entries++
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	_, after := mappedLogsKB(t, dir)
	t.Logf("%d value log files: %d KB resident before iterating them all, %d KB after (%d entries read)",
		len(files), before, after, entries)
	if entries != keys {
		t.Errorf("iterating the value logs read %d entries, want %d", entries, keys)
	}
	if after > before+8 {
		t.Errorf("iterating the value logs left %d KB of them resident, %d KB before: want none mapped by the reading", after, before)
	}

	// Half the keys written again: the first files are mostly stale, and
	// GC rewrites what is live in them.
	// Their old versions are dropped, and counted as the value logs'
	// garbage, by a compaction merging the new versions' level 0 into
	// the level below, which holds the old ones.
	flush := func() {
		t.Helper()
		// Closing flushes the memtable to a level-0 table.
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if db, err = Open(opt); err != nil {
			t.Fatal(err)
		}
	}
	flush()
	write(1, 0, keys/2)
	flush()
	// Two level-0 tables, over the one the options allow: merged.
	if err := db.Flatten(1); err != nil {
		t.Fatal(err)
	}
	rewrites := 0
	for ; rewrites < 10; rewrites++ {
		if err := db.RunValueLogGC(0.3); err == ErrNoRewrite {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if rewrites == 0 {
		t.Fatal("value-log GC rewrote no file: the test reads nothing through GC")
	}
	check := func(when string) {
		t.Helper()
		err := db.View(func(txn *Txn) error {
			for i := range keys {
				round := 0
				if i < keys/2 {
					round = 1
				}
				item, err := txn.Get(key(i))
				if err != nil {
					return err
				}
				if v, err := item.ValueCopy(nil); err != nil || !bytes.Equal(v, value(i, round)) {
					return fmt.Errorf("%s reads %d bytes, %v", key(i), len(v), err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}
	check(fmt.Sprintf("after %d files rewritten by GC", rewrites))
	_, vlog := mappedLogsKB(t, dir)
	t.Logf("GC rewrote %d files: %d KB of value logs resident after", rewrites, vlog)
	if vlog > 1<<10+8 {
		t.Errorf("after GC: %d KB of value logs resident, want at most the MB being written", vlog)
	}
	// Opened again: the memtable log and the last value log replayed.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	evictPageCache(t, dir)
	if db, err = Open(opt); err != nil {
		t.Fatal(err)
	}
	if mem, vlog := mappedLogsKB(t, dir); mem > 8 || vlog > 8 {
		t.Errorf("reopened: %d KB of memtable logs and %d KB of value logs resident, want none", mem, vlog)
	}
	check("reopened")
}

// indexSize is the size of db's tables' indexes, in KB.
func indexSize(db *DB) int {
	kb := 0
	for _, ti := range db.Tables() {
		kb += ti.IndexSz >> 10
	}
	return kb
}
