// Package walstore keeps a raft group's log and stable store in
// hashicorp/raft-wal, in its own directory of the node (DATA/raft-wal), and
// moves the log and stable store a previous release kept in badger
// (federation/badgerstore) into it once (MigrateFromBadger). DESIGN.md says
// why and how.
package walstore

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/metrics"
	"github.com/hashicorp/raft-wal/segment"

	"github.com/yizhan-gov/yizhan/federation/raftnet"
)

// SegmentSize is the size of raft-wal's segment files: a soft limit (a
// segment is sealed by the append that crosses it, so one entry larger
// than a segment still fits) and the space each new segment preallocates
// on disk. raft-wal's default is 64 MiB; a node keeps a few MB to a few
// tens of MB of log (raft's trailing logs after a snapshot), and a village
// box or the demo county (hundreds of nodes on one disk) should not reserve
// 64 MiB per node for it. Head truncation after a snapshot frees whole
// segments only, so smaller segments also give disk back sooner. The cost
// is one rotation (a metadata commit and a new file, off the append path)
// per 8 MiB of log written.
const SegmentSize = 8 << 20

// MaxLogBytes is the largest Data plus Extensions of one entry StoreLogs
// accepts. raft-wal writes any size, but refuses to read back a record
// larger than segment.MaxEntrySize (64 MiB) as corrupt, which would wedge
// the group on an entry already committed; such an entry is refused before
// anything is written (ErrTooLarge). The margin covers the codec's header
// (varints and the time, under 70 bytes).
const MaxLogBytes = segment.MaxEntrySize - 128

// ErrTooLarge is returned by StoreLogs for an entry larger than
// MaxLogBytes; nothing of the batch is written.
var ErrTooLarge = errors.New("walstore: log entry larger than raft-wal can read back")

// ErrAppendFailed is the panic of an append to raft's log that the disk
// failed (StoreLogs): the node stops; started again, it recovers the log
// up to its last whole append.
var ErrAppendFailed = errors.New("walstore: an append to raft's log failed; started again, the node recovers the log from disk")

// Store is raft's LogStore and StableStore on raft-wal. It is a
// raft.MonotonicLogStore: raft deletes the whole log after installing a
// snapshot instead of leaving a gap (raft-wal allows no gaps).
//
// Missing keys answer as the raft.StableStore contract says and as raft
// accepts (it also accepts an error whose text is "not found", which
// badgerstore returns): Get returns nil and no error, GetUint64 returns 0
// and no error. A missing entry is raft.ErrLogNotFound, unwrapped.
//
// Store is safe for concurrent use.
type Store struct {
	dir  string
	wal  *wal.WAL
	meta *metadb.BoltMetaDB
	log  *slog.Logger

	closeOnce sync.Once
	closeErr  error

	firstCopied, lastCopied uint64 // a repair's log (repair.go)

	// staged are the entries raft's leader is appending (StageLogs): its
	// replicators read them while StoreLogs writes and syncs them.
	staged atomic.Pointer[[]*raft.Log]
}

var (
	_ raft.LogStore          = (*Store)(nil)
	_ raft.StableStore       = (*Store)(nil)
	_ raft.MonotonicLogStore = (*Store)(nil)
)

// Open opens the raft-wal in dir, creating dir (0700) and an empty log if
// there is none. A log left by a crash is recovered up to its last
// complete append. logger receives raft-wal's own errors (nil:
// slog.Default()). Close it after raft has shut down.
func Open(dir string, logger *slog.Logger) (*Store, error) {
	return open(dir, logger, SegmentSize)
}

func open(dir string, logger *slog.Logger, segmentSize int) (*Store, error) {
	if logger == nil {
		logger = slog.Default()
	}
	// A log that raft-wal v0.4.0 cannot read back is written again first
	// (repair.go).
	if err := repairUnindexed(dir, logger, segmentSize); err != nil {
		return nil, fmt.Errorf("walstore: repair %s: %w", dir, err)
	}
	return openWAL(dir, logger, segmentSize)
}

// openWAL opens raft-wal in dir as it is.
func openWAL(dir string, logger *slog.Logger, segmentSize int) (*Store, error) {
	logger = logger.With("component", "raft-wal", "dir", dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("walstore: %w", err)
	}
	// Our own meta store, so that Close can close it: raft-wal's Close
	// leaves its bolt file open and locked (v0.4.0), and opening the
	// directory again in the same process would then wait for the lock
	// forever.
	meta := &metadb.BoltMetaDB{}
	w, err := wal.Open(dir,
		wal.WithMetaStore(meta),
		wal.WithSegmentSize(segmentSize),
		wal.WithLogger(raftnet.NewHCLogger(logger, "raft-wal")),
		// raft-wal's default, said out loud: no global metrics (its
		// go-metrics collector would write to process-wide sinks, the
		// same for hundreds of nodes in one process).
		wal.WithMetricsCollector(&metrics.NoOpCollector{}),
	)
	if err != nil {
		_ = meta.Close()
		return nil, fmt.Errorf("walstore: open %s: %w", dir, err)
	}
	return &Store{dir: dir, wal: w, meta: meta, log: logger}, nil
}

// Dir is the directory the store was opened in.
func (s *Store) Dir() string { return s.dir }

// Close closes the log and its metadata file. Raft must have shut down:
// a call after Close answers raft-wal's ErrClosed. Closing twice is a
// no-op.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		err := s.wal.Close()
		if merr := s.meta.Close(); err == nil {
			err = merr
		}
		if err != nil {
			s.closeErr = fmt.Errorf("walstore: close %s: %w", s.dir, err)
		}
	})
	return s.closeErr
}

// FirstIndex returns the lowest index stored, 0 for an empty log.
func (s *Store) FirstIndex() (uint64, error) { return s.wal.FirstIndex() }

// LastIndex returns the highest index stored, 0 for an empty log.
func (s *Store) LastIndex() (uint64, error) { return s.wal.LastIndex() }

// GetLog reads the entry at index into l. An index outside the log is
// raft.ErrLogNotFound, unwrapped, as raft compares it with ==. (raft-wal
// alone still answers entries deleted from the head of the log while their
// segment file stays; raft never needs them, and the store answers what
// raft's contract says.)
func (s *Store) GetLog(index uint64, l *raft.Log) error {
	if p := s.staged.Load(); p != nil {
		if st := *p; index >= st[0].Index && index <= st[len(st)-1].Index {
			*l = *st[index-st[0].Index]
			return nil
		}
	}
	first, err := s.wal.FirstIndex()
	if err != nil {
		return err
	}
	last, err := s.wal.LastIndex()
	if err != nil {
		return err
	}
	if first == 0 || index < first || index > last {
		return raft.ErrLogNotFound
	}
	return s.wal.GetLog(index, l)
}

// StageLogs shows logs, which the leader's raft is about to append, to
// GetLog until StoreLogs has appended them (raft.LogStager, a patch of
// ours: third_party/raft/PATCHES.md). The leader's replicators send them
// to the followers meanwhile, so that its fsync and theirs overlap; raft
// counts the leader's own copy only once StoreLogs returns.
func (s *Store) StageLogs(logs []*raft.Log) {
	if len(logs) > 0 {
		s.staged.Store(&logs)
	}
}

// StoreLog stores one entry durably.
func (s *Store) StoreLog(l *raft.Log) error {
	return s.StoreLogs([]*raft.Log{l})
}

// StoreLogs appends entries and returns once they are on disk: raft-wal
// writes the batch and one commit frame, then fsyncs the segment file
// (and, on a segment's first append, its directory). Indexes must follow
// the last one stored without a gap (any index on an empty log).
//
// An append that fails on the disk (full, or failing) stops the process
// with a panic (ErrAppendFailed, the disk's error in its chain; raftgroup
// turns it into the node's stop), as raft does when it cannot store its
// term: raft-wal's
// writer has then moved past what is on disk (found by the fault harness:
// after a write failed with EFBIG, every later append was refused as
// "non-monotonic" and the office never had a leader again). Started
// again, the node recovers the log up to its last whole append, and no
// entry it acknowledged is lost, since none is acknowledged before its
// append returns.
func (s *Store) StoreLogs(logs []*raft.Log) error {
	// Staged entries are read from raft-wal once it has them: the stage
	// is cleared after the append, whatever its outcome.
	defer s.staged.Store(nil)
	last, err := s.wal.LastIndex()
	if err != nil {
		return err
	}
	for i, l := range logs {
		if n := len(l.Data) + len(l.Extensions); n > MaxLogBytes {
			return fmt.Errorf("%w: entry %d has %d bytes, at most %d", ErrTooLarge, l.Index, n, MaxLogBytes)
		}
		// The caller's mistakes are refused here, before raft-wal, so
		// that what it refuses below is the disk's.
		if (last > 0 || i > 0) && l.Index != last+1 {
			return fmt.Errorf("walstore: non-monotonic append: entry %d after %d", l.Index, last)
		}
		last = l.Index
	}
	err = s.wal.StoreLogs(logs)
	if err != nil && !errors.Is(err, wal.ErrClosed) {
		panic(fmt.Errorf("%w: %s: %w", ErrAppendFailed, s.dir, err))
	}
	return err
}

// DeleteRange deletes the entries from min to max inclusive. The range
// must be a prefix or a suffix of the log (raft deletes nothing else:
// compaction after a snapshot, truncation of a conflicting suffix, the
// whole log after installing a snapshot); any other is an error.
func (s *Store) DeleteRange(min, max uint64) error { return s.wal.DeleteRange(min, max) }

// IsMonotonic reports true: raft-wal stores no gaps (raft.MonotonicLogStore).
func (s *Store) IsMonotonic() bool { return s.wal.IsMonotonic() }

// Set stores val under key durably (a bolt transaction, fdatasync'd). A
// nil val deletes the key.
func (s *Store) Set(key, val []byte) error { return s.wal.Set(key, val) }

// Get returns the value of key; nil and no error when it was never set.
func (s *Store) Get(key []byte) ([]byte, error) { return s.wal.Get(key) }

// SetUint64 stores val under key (8 bytes, little-endian, raft-wal's
// encoding) durably.
func (s *Store) SetUint64(key []byte, val uint64) error { return s.wal.SetUint64(key, val) }

// GetUint64 returns the uint64 under key; 0 and no error when it was never
// set.
func (s *Store) GetUint64(key []byte) (uint64, error) { return s.wal.GetUint64(key) }
