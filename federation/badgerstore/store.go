// Package badgerstore opens the node's badger database (OpenDB), which
// holds the office's case book (package casebook), and keeps the raft log
// and stable store that releases before the move to raft-wal kept in it:
// Store reads them once, when federation/walstore migrates them.
package badgerstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/raft"
)

// ErrKeyNotFound is returned by Get and GetUint64 for a key never set. Its
// text is exactly "not found", without a package prefix, because
// hashicorp/raft recognises a missing stable key by that text
// (raft.go, api.go: err.Error() == "not found"), as raft-boltdb and raft's
// InmemStore return it.
var ErrKeyNotFound = errors.New("not found")

// ErrCorrupt is returned when a stored log entry or uint64 cannot be decoded.
var ErrCorrupt = errors.New("badgerstore: corrupt value")

// deleteChunk is how many keys DeleteRange reads before deleting them; it
// bounds the memory of deleting a long range.
const deleteChunk = 4096

// Store is a raft.LogStore and raft.StableStore in a badger database that
// may hold other data of the node: every key starts with the prefix given
// to New. Log entries live at prefix+"log/"+bigendian(index), stable keys
// at prefix+"stable/"+key. Writes are durable when the database was opened
// with SyncWrites (OpenDB does).
//
// Store is safe for concurrent use. raft appends from its main goroutine
// while compaction deletes from its snapshot goroutine; writeMu orders them
// so the cached bounds always match the keys.
type Store struct {
	db        *badger.DB
	logPrefix []byte
	kvPrefix  []byte

	// writeMu serialises StoreLogs, DeleteRange and the loading of the
	// bounds, so that first and last change only with the keys they
	// describe.
	writeMu sync.Mutex
	// loaded is set once first and last reflect the database.
	loaded atomic.Bool
	// first and last are the lowest and highest log index stored, 0 when
	// the log is empty. Written under writeMu, read without it.
	first, last atomic.Uint64
}

var (
	_ raft.LogStore    = (*Store)(nil)
	_ raft.StableStore = (*Store)(nil)
)

// New returns a store over db using keys under prefix. The db stays the
// caller's to close, after raft has shut down.
func New(db *badger.DB, prefix string) *Store {
	return &Store{
		db:        db,
		logPrefix: []byte(prefix + "log/"),
		kvPrefix:  []byte(prefix + "stable/"),
	}
}

func (s *Store) logKey(index uint64) []byte {
	k := make([]byte, len(s.logPrefix)+8)
	copy(k, s.logPrefix)
	binary.BigEndian.PutUint64(k[len(s.logPrefix):], index)
	return k
}

func (s *Store) indexOf(key []byte) uint64 {
	return binary.BigEndian.Uint64(key[len(s.logPrefix):])
}

func (s *Store) kvKey(key []byte) []byte {
	k := make([]byte, 0, len(s.kvPrefix)+len(key))
	return append(append(k, s.kvPrefix...), key...)
}

// bounds returns the cached first and last index, loading them from the
// database on first use.
func (s *Store) bounds() (first, last uint64, err error) {
	if !s.loaded.Load() {
		s.writeMu.Lock()
		err = s.loadLocked()
		s.writeMu.Unlock()
		if err != nil {
			return 0, 0, err
		}
	}
	return s.first.Load(), s.last.Load(), nil
}

// loadLocked reads the bounds from the database if they are not cached.
// Callers hold writeMu.
func (s *Store) loadLocked() error {
	if s.loaded.Load() {
		return nil
	}
	if err := s.reloadLocked(); err != nil {
		return err
	}
	s.loaded.Store(true)
	return nil
}

// reloadLocked reads the lowest and highest stored index with one seek
// each. Callers hold writeMu.
func (s *Store) reloadLocked() error {
	var first, last uint64
	err := s.db.View(func(txn *badger.Txn) error {
		var err error
		if first, err = s.edge(txn, false); err != nil {
			return err
		}
		last, err = s.edge(txn, true)
		return err
	})
	if err != nil {
		return fmt.Errorf("badgerstore: read log bounds: %w", err)
	}
	s.first.Store(first)
	s.last.Store(last)
	return nil
}

// edge returns the lowest (or, reverse, highest) stored index, 0 if none.
func (s *Store) edge(txn *badger.Txn, reverse bool) (uint64, error) {
	it := txn.NewIterator(badger.IteratorOptions{Prefix: s.logPrefix, Reverse: reverse})
	defer it.Close()
	seek := s.logKey(0)
	if reverse {
		seek = s.logKey(^uint64(0))
	}
	it.Seek(seek)
	if !it.Valid() {
		return 0, nil
	}
	k := it.Item().Key()
	if len(k) != len(s.logPrefix)+8 {
		return 0, fmt.Errorf("%w: log key of %d bytes", ErrCorrupt, len(k))
	}
	return s.indexOf(k), nil
}

// FirstIndex returns the lowest index stored, 0 for an empty log.
func (s *Store) FirstIndex() (uint64, error) {
	first, _, err := s.bounds()
	return first, err
}

// LastIndex returns the highest index stored, 0 for an empty log.
func (s *Store) LastIndex() (uint64, error) {
	_, last, err := s.bounds()
	return last, err
}

// GetLog reads the entry at index into l. A missing entry is
// raft.ErrLogNotFound, unwrapped, as raft compares it with ==.
func (s *Store) GetLog(index uint64, l *raft.Log) error {
	var val []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(s.logKey(index))
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return raft.ErrLogNotFound
	}
	if err != nil {
		return fmt.Errorf("badgerstore: get log %d: %w", index, err)
	}
	if err := decodeLog(val, l); err != nil {
		return fmt.Errorf("badgerstore: log %d: %w", index, err)
	}
	return nil
}

// StoreLog stores one entry durably.
func (s *Store) StoreLog(l *raft.Log) error {
	return s.StoreLogs([]*raft.Log{l})
}

// StoreLogs stores entries in one transaction (badger splits a batch
// larger than its transaction limit into several, each synced) and returns
// once they are on disk. Entries may overwrite existing indexes.
func (s *Store) StoreLogs(logs []*raft.Log) (err error) {
	if len(logs) == 0 {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.loadLocked(); err != nil {
		return err
	}
	// A failure after a first transaction committed leaves the bounds
	// unknown: read them again next time.
	defer s.forgetBoundsOnError(&err)

	lo, hi := logs[0].Index, logs[0].Index
	txn := s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	for _, l := range logs {
		lo, hi = min(lo, l.Index), max(hi, l.Index)
		// Each value keeps its own buffer: badger holds the slices
		// until Commit.
		val := encodeLog(make([]byte, 0, 32+len(l.Data)+len(l.Extensions)), l)
		e := badger.NewEntry(s.logKey(l.Index), val)
		err := txn.SetEntry(e)
		if errors.Is(err, badger.ErrTxnTooBig) {
			if err = txn.Commit(); err != nil {
				return fmt.Errorf("badgerstore: store logs up to %d: %w", l.Index-1, err)
			}
			txn = s.db.NewTransaction(true)
			err = txn.SetEntry(e)
		}
		if err != nil {
			return fmt.Errorf("badgerstore: store log %d: %w", l.Index, err)
		}
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("badgerstore: store logs %d-%d: %w", lo, hi, err)
	}
	if first := s.first.Load(); first == 0 || lo < first {
		s.first.Store(lo)
	}
	if hi > s.last.Load() {
		s.last.Store(hi)
	}
	return nil
}

// DeleteRange deletes the entries from min to max inclusive. A range that
// reaches the end of the log is deleted from the top down, any other from
// the bottom up, so that a crash part-way (a long range takes several
// transactions) still leaves a contiguous log: raft truncates the end of the
// log on a conflict and compacts its start after a snapshot.
func (s *Store) DeleteRange(min, max uint64) (err error) {
	if min > max {
		return nil
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := s.loadLocked(); err != nil {
		return err
	}
	defer s.forgetBoundsOnError(&err)
	first, last := s.first.Load(), s.last.Load()
	if first == 0 || max < first || min > last {
		return nil
	}
	topDown := max >= last
	for {
		keys, err := s.keysIn(min, max, topDown)
		if err != nil {
			return err
		}
		if len(keys) == 0 {
			break
		}
		if err := s.deleteKeys(keys); err != nil {
			return err
		}
		// Narrow the range past what was deleted.
		edge := s.indexOf(keys[len(keys)-1])
		if topDown {
			if edge == 0 || edge <= min {
				break
			}
			max = edge - 1
		} else {
			if edge >= max {
				break
			}
			min = edge + 1
		}
		if len(keys) < deleteChunk {
			break
		}
	}
	return s.reloadLocked()
}

// forgetBoundsOnError drops the cached bounds if *err is set, so that the
// next call reads them from the database. Callers hold writeMu.
func (s *Store) forgetBoundsOnError(err *error) {
	if *err != nil {
		s.loaded.Store(false)
	}
}

// keysIn returns up to deleteChunk stored log keys in [min, max], in
// descending order if topDown.
func (s *Store) keysIn(min, max uint64, topDown bool) ([][]byte, error) {
	var keys [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: s.logPrefix, Reverse: topDown})
		defer it.Close()
		start := min
		if topDown {
			start = max
		}
		for it.Seek(s.logKey(start)); it.Valid() && len(keys) < deleteChunk; it.Next() {
			k := it.Item().KeyCopy(nil)
			if len(k) != len(s.logPrefix)+8 {
				return fmt.Errorf("%w: log key of %d bytes", ErrCorrupt, len(k))
			}
			if i := s.indexOf(k); i < min || i > max {
				break
			}
			keys = append(keys, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("badgerstore: list logs %d-%d: %w", min, max, err)
	}
	return keys, nil
}

// deleteKeys deletes keys in order, in as few transactions as badger allows.
func (s *Store) deleteKeys(keys [][]byte) error {
	txn := s.db.NewTransaction(true)
	defer func() { txn.Discard() }()
	for _, k := range keys {
		err := txn.Delete(k)
		if errors.Is(err, badger.ErrTxnTooBig) {
			if err = txn.Commit(); err != nil {
				return fmt.Errorf("badgerstore: delete logs: %w", err)
			}
			txn = s.db.NewTransaction(true)
			err = txn.Delete(k)
		}
		if err != nil {
			return fmt.Errorf("badgerstore: delete log %d: %w", s.indexOf(k), err)
		}
	}
	if err := txn.Commit(); err != nil {
		return fmt.Errorf("badgerstore: delete logs: %w", err)
	}
	return nil
}

// Set stores val under key durably.
func (s *Store) Set(key, val []byte) error {
	v := append([]byte(nil), val...)
	if err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(s.kvKey(key), v)
	}); err != nil {
		return fmt.Errorf("badgerstore: set %q: %w", key, err)
	}
	return nil
}

// Get returns the value of key, or ErrKeyNotFound.
func (s *Store) Get(key []byte) ([]byte, error) {
	var val []byte
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(s.kvKey(key))
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrKeyNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("badgerstore: get %q: %w", key, err)
	}
	if val == nil {
		val = []byte{}
	}
	return val, nil
}

// SetUint64 stores val under key as 8 big-endian bytes.
func (s *Store) SetUint64(key []byte, val uint64) error {
	return s.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

// GetUint64 returns the uint64 under key, or 0 and ErrKeyNotFound (as
// raft-boltdb does; raft treats that as 0).
func (s *Store) GetUint64(key []byte) (uint64, error) {
	val, err := s.Get(key)
	if err != nil {
		return 0, err
	}
	if len(val) != 8 {
		return 0, fmt.Errorf("%w: %q holds %d bytes, not a uint64", ErrCorrupt, key, len(val))
	}
	return binary.BigEndian.Uint64(val), nil
}
