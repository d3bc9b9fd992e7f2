package badgerstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// DBOptions tunes OpenDB.
type DBOptions struct {
	// Logger receives badger's warnings and errors (its info and debug
	// chatter is dropped). Nil means slog.Default().
	Logger *slog.Logger

	// Small tunes badger for many nodes in one process (the demo county,
	// in-process tests, a village box with little memory): a few MB of
	// memtables and caches instead of badger's hundreds. See DESIGN.md.
	Small bool
	// County bounds a county node's own memory whatever its book holds:
	// memtables and a block cache of tens of MB. Ignored with Small.
	County bool
}

// Sizes used by DBOptions.Small. Each node holds at most
// smallNumMemtables+1 memtable arenas (the +1 is the one being flushed),
// each smallMemTableSize and room for one more transaction's entries and
// their nodes (2.4 MB), so memtables cost at most about 7 MB, one arena
// (the one being filled) most of the time; the block cache 2 MB; the rest of the RSS is mmapped files that
// the kernel pages in and out.
//
// There is no index cache: badger v4 uses IndexCacheSize only for
// encrypted tables. An unencrypted table's index (its block offsets and
// bloom filter) is read in place from the table's mmapped file, so it is
// page cache, counted in the RSS while mapped and given back by the kernel
// under memory pressure (BenchmarkCountyBook reports its size).
const (
	smallMemTableSize = 1280 << 10 // badger default 64 MB
	// A transaction of the small profile holds up to 600 KB (badger's
	// estimate), what upstream gives a memtable of 4 MB (15%): the case
	// book's per-command limits are sized for it (casebook.maxCommandBytes).
	// A 4 MB memtable's arena (5.3 MB) was a third of a village's live heap
	// after 10,000 cases; this one's is 2.4 MB. Our badger patch
	// (WithMaxBatchSize) lets the batch be up to half the memtable.
	smallMaxBatchSize   = 600 << 10
	smallNumMemtables   = 2        // default 5
	valueThreshold      = 1 << 10  // default 1 MB; casebook.ValueThreshold (a test checks)
	smallBlockCacheSize = 2 << 20  // default 256 MB
	smallValueLogFile   = 16 << 20 // default 1 GB (mmapped)
	smallBaseTableSize  = 1 << 20  // default 2 MB
	smallBaseLevelSize  = 4 << 20  // default 10 MB
	smallNumCompactors  = 2        // default 4; badger refuses 1
	smallLevelZero      = 2        // default 5
	smallLevelZeroStall = 6        // default 15; must exceed smallLevelZero
	smallNumGoroutines  = 2        // default 8 (stream framework only)
	// No table builder's buffer is kept between tables (default 8, each as
	// large as the largest table it built): a village filing cases writes
	// tables all the time and kept 20 MB of them.
	smallTableBuilderPool = 0

	// Sizes used by DBOptions.County: about 3×(32 MB+15%) of memtables
	// and 64 MB of decompressed blocks at most, and, as Small, no table
	// builder's buffer kept between tables: kept, they held the heap
	// near the county's soft memory limit and the collector ran two to
	// three times as often (docs/BENCHMARKS.md, session 22).
	countyMemTableSize   = 32 << 20
	countyNumMemtables   = 2
	countyBlockCacheSize = 64 << 20
	// A county's tree has one level fewer between its level 0 and its
	// last. Badger sizes each level a tenth of the one below and starts
	// at the deepest level whose size is within BaseLevelSize: with the
	// default of 10 MB and a million cases (260 MB of tables), level 0
	// went to L4 (10 MB), then L5 (about 23 MB), then L6, three merges;
	// with 64 MB it goes to L5 (64 MB), then L6. The book's index keys
	// are spread over the whole key range (applicants' hashed IDs,
	// request IDs), so a table moved down overlaps as much of the level
	// below as the levels' ratio: about 10 from L5 to L6 before, about
	// 3 now. Filing in turns beside an empty book, the full book of a
	// million kept 83–87% of its rate over all the turns, against 63%
	// and 79% (docs/BENCHMARKS.md, session 26): larger compactions, less
	// often, and less written again.
	countyBaseLevelSize = 64 << 20
	// Level 0 is merged into the base level once it holds ten tables,
	// not five: each such merge rewrites the whole base level (the
	// book's index keys are spread over it all), so twice the tables a
	// merge halves how often the 64 MB are rewritten. Badger's writes
	// stall at twenty (its default 15 would leave five tables of room
	// for the memtables flushed while a merge of ten runs). Lookups
	// check at most ten level-0 tables' bloom filters, not five.
	countyLevelZero      = 10
	countyLevelZeroStall = 20
	// A county's tables are written in blocks of 16 KB, not 4: the
	// compactions handle a quarter of the blocks (each compressed,
	// checksummed, indexed and allocated apart), Snappy finds more to
	// take out of each, and the tables' indexes are half the size. A
	// lookup that misses the block cache decompresses 16 KB. Tables of
	// either size are read alike (each table's index says where its
	// blocks start).
	countyBlockSize      = 16 << 10
	defaultBadgerLogAttr = "badger"
)

// BadgerOptions returns the badger options OpenDB uses for dir. It is exported so
// that tools opening the same directory (backups, inspection) agree with the
// node on every setting.
func BadgerOptions(dir string, opts DBOptions) badger.Options {
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	o := badger.DefaultOptions(dir).
		// Badger holds the office's state machine (the case book), not
		// raft's log (raft-wal, synced on every append): what it applied
		// since the last sync is applied again from the log after a power
		// cut, and each raft snapshot syncs it first. So no fsync of
		// badger's is on the commit path.
		WithSyncWrites(false).
		// Values of 1 KiB or more go to the value log (and the case
		// book's events whatever their size: casebook.inValueLog): a
		// transaction then counts them as pointers, and one raft
		// entry's writes fit in one transaction (casebook.ValueThreshold).
		WithValueThreshold(valueThreshold).
		// The pages of badger's logs (memtable logs, value logs:
		// written through a shared mapping) leave the process's mapping
		// once written, a MB at a time, and values are read with pread:
		// the pages stay in the page cache, written back as any file's,
		// and the node's resident memory no longer holds every page of
		// the value log it wrote or read (a GB at a county of a million
		// cases; third_party/badger PATCHES.md).
		WithDropLogPages(true).
		// A table's blocks are read with pread, not through its
		// mapping: a compaction reads its inputs end to end, and every
		// page it read stayed mapped until the inputs were deleted
		// (about 100 MB of a county's peak RSS while filing its
		// millionth case: 422 MB, 316–343 with pread; docs/BENCHMARKS.md,
		// session 35); lookups that missed the block cache left theirs
		// mapped for as long as the table lived. Only the tables'
		// indexes and bloom filters are read through the mapping now
		// (third_party/badger PATCHES.md).
		WithReadTableBlocks(true).
		// Every writer of the database is the only one of its keys and
		// writes under its own lock (the case book's Apply, the raft
		// log store), so badger's conflict detection finds nothing; it
		// keeps the keys of every transaction committed while any
		// older one is open, and a long read (the book's check, a
		// snapshot's stream, an upgrade's walk of every case: minutes at
		// a county) held them all, millions of keys, until it ended.
		WithDetectConflicts(false).
		WithLogger(slogBadger{l: logger.With("component", defaultBadgerLogAttr, "dir", dir)})
	if opts.County && !opts.Small {
		o = o.
			WithMemTableSize(countyMemTableSize).
			WithNumMemtables(countyNumMemtables).
			WithBlockCacheSize(countyBlockCacheSize).
			WithTableBuilderPool(0).
			WithBaseLevelSize(countyBaseLevelSize).
			WithNumLevelZeroTables(countyLevelZero).
			WithNumLevelZeroTablesStall(countyLevelZeroStall).
			WithBlockSize(countyBlockSize)
	}
	if opts.Small {
		o = o.
			WithMemTableSize(smallMemTableSize).
			WithMaxBatchSize(smallMaxBatchSize).
			WithNumMemtables(smallNumMemtables).
			WithBlockCacheSize(smallBlockCacheSize).
			WithValueLogFileSize(smallValueLogFile).
			WithBaseTableSize(smallBaseTableSize).
			WithBaseLevelSize(smallBaseLevelSize).
			WithNumCompactors(smallNumCompactors).
			WithNumLevelZeroTables(smallLevelZero).
			WithNumLevelZeroTablesStall(smallLevelZeroStall).
			WithNumGoroutines(smallNumGoroutines).
			WithTableBuilderPool(smallTableBuilderPool).
			// badger's metrics are process-wide expvars: with hundreds
			// of DBs in one process they cost locks and tell nothing.
			WithMetricsEnabled(false)
	}
	return o
}

// OpenDB opens (or creates) the badger database of a node in dir: the
// case book's, written without syncing (BadgerOptions says why).
func OpenDB(dir string, opts DBOptions) (*badger.DB, error) {
	if err := removeEmptyLogs(dir); err != nil {
		return nil, fmt.Errorf("badgerstore: open %s: %w", dir, err)
	}
	db, err := badger.Open(BadgerOptions(dir, opts))
	if err != nil {
		return nil, fmt.Errorf("badgerstore: open %s: %w", dir, err)
	}
	return db, nil
}

// removeEmptyLogs removes the empty value-log and memtable files a full
// disk leaves behind. badger creates a new one of either by creating the
// file and then growing it to its full mapped size; when the growth fails
// (EFBIG, ENOSPC) the commit fails, the node stops, and the file stays
// with no bytes, not even its header. badger then refuses to open the
// directory ("Open existing file: … Create a new file" for a value log,
// "while opening fid" for a memtable). An empty file holds nothing that
// anything points to: removing it is safe.
func removeEmptyLogs(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !(strings.HasSuffix(name, ".vlog") || strings.HasSuffix(name, ".mem")) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		if info.Size() == 0 {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return err
			}
		}
	}
	return nil
}

// slogBadger is badger's Logger writing to slog: errors and warnings pass,
// info and debug (compaction chatter, "Replaying file id") are dropped.
type slogBadger struct{ l *slog.Logger }

func (s slogBadger) Errorf(f string, args ...any) { s.log(slog.LevelError, f, args) }

func (s slogBadger) Warningf(f string, args ...any) { s.log(slog.LevelWarn, f, args) }

func (slogBadger) Infof(string, ...any) {}

func (slogBadger) Debugf(string, ...any) {}

func (s slogBadger) log(level slog.Level, f string, args []any) {
	ctx := context.Background()
	if !s.l.Enabled(ctx, level) {
		return
	}
	s.l.Log(ctx, level, strings.TrimSpace(fmt.Sprintf(f, args...)))
}
