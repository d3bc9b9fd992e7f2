package walstore

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/raft"

	"github.com/yizhan-gov/yizhan/federation/badgerstore"
)

// The stable keys hashicorp/raft v1.8 uses (raft.go: keyCurrentTerm,
// keyLastVoteTerm, keyLastVoteCand); it uses no others.
var (
	keyCurrentTerm  = []byte("CurrentTerm")
	keyLastVoteTerm = []byte("LastVoteTerm")
	keyLastVoteCand = []byte("LastVoteCand")
)

// stableKeys are the keys MigrateFromBadger knows how to copy: the uint64
// ones change encoding (badgerstore writes big-endian, raft-wal
// little-endian), so a key of unknown type cannot be copied as bytes.
var stableKeys = []struct {
	key    []byte
	uint64 bool
}{
	{keyCurrentTerm, true},
	{keyLastVoteTerm, true},
	{keyLastVoteCand, false},
}

// MarkerKey is the stable key, never used by raft, under which
// MigrateFromBadger records in the WAL that the WAL is the node's raft
// store: written last, after everything it copied is durable, and before
// anything is deleted from badger. Its value is JSON (marker).
var MarkerKey = []byte("yizhan/walstore/migrated")

// Migration batches: entries per StoreLogs (one fsync each), and bytes of
// Data per batch.
const (
	copyBatch      = 512
	copyBatchBytes = 16 << 20
)

// marker is the value under MarkerKey.
type marker struct {
	// Prefix is the badger prefix migrated from.
	Prefix string `json:"prefix"`
	// First and Last are the log entries copied; 0, 0 when badger held no
	// log (a new node, or only stable keys).
	First uint64 `json:"first"`
	Last  uint64 `json:"last"`
	// Term is the CurrentTerm copied (0 if none).
	Term uint64 `json:"term"`
	// Dropped counts entries before a gap in badger's log, not copied.
	Dropped uint64    `json:"dropped,omitempty"`
	At      time.Time `json:"at"`
}

// badgerRaft is what a previous release left in badger under a prefix.
type badgerRaft struct {
	store *badgerstore.Store
	// first and last are the lowest and highest index stored (0: none).
	first, last uint64
	// runStart is the first index of the contiguous run of entries that
	// ends at last; dropped counts the entries before it (before a gap).
	runStart, dropped uint64
	// stable holds the known stable keys present, by name, decoded
	// (uint64 ones as 8 little-endian bytes, ready for raft-wal's Set).
	stable map[string][]byte
	// stableKeys lists every key under prefix+"stable/" (full badger keys).
	stableKeys [][]byte
	term       uint64 // CurrentTerm, 0 if absent
	voteTerm   uint64 // LastVoteTerm, 0 if absent
}

func (b *badgerRaft) empty() bool { return b.last == 0 && len(b.stableKeys) == 0 }

// MigrateFromBadger moves the raft log and stable store a previous release
// kept in db under prefix (badgerstore's layout: prefix+"log/"+bigendian
// (index), prefix+"stable/"+key) into dst, once. Call it after opening dst
// and before raft starts; the node passes "raft/".
//
// It reports migrated true when it copied something this time. Badger
// holding no raft state (a new node, or an earlier migration) copies
// nothing.
//
// Crash-safe: every entry and stable key is durable in dst before
// MarkerKey is written in dst, and badger's keys are deleted only after
// that. Without the marker, dst's contents are a partial copy: the next
// call empties dst and copies again. With it, the WAL is the node's raft
// store: raft keys still in badger are what a crash during the deletion
// left, and are deleted (unless they are newer than what was copied, which
// means the previous release ran on badger after the migration; that is an
// error and nothing is touched).
//
// A log with a gap (raft installed a snapshot past the end of a follower's
// log; badgerstore allows it, raft-wal does not) is copied from the gap
// on: the entries before it are covered by that snapshot.
func MigrateFromBadger(db *badger.DB, prefix string, dst *Store, logger *slog.Logger) (migrated bool, err error) {
	if db == nil || dst == nil {
		return false, errors.New("walstore: migrate: nil badger database or WAL")
	}
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("component", "walstore", "dir", dst.Dir(), "badger_prefix", prefix)

	done, err := readMarker(dst)
	if err != nil {
		return false, err
	}
	src, err := readBadger(db, prefix)
	if err != nil {
		return false, err
	}

	if done != nil {
		if src.empty() {
			return false, nil
		}
		// A crash between the marker and the end of the deletion.
		if src.last > done.Last || src.term > done.Term || src.voteTerm > done.Term {
			return false, fmt.Errorf("walstore: badger under %q holds raft state newer than what was migrated to %s "+
				"(log to %d, term %d; migrated log to %d, term %d): was the previous release run after the migration? "+
				"Nothing was changed; resolve by hand", prefix, dst.Dir(), src.last, src.term, done.Last, done.Term)
		}
		logger.Info("deleting raft keys left in badger by an interrupted migration",
			"log_first", src.first, "log_last", src.last)
		return false, deleteBadgerRaft(db, prefix, src, logger)
	}

	if src.empty() {
		// Nothing to migrate: the WAL is the raft store from now on.
		return false, writeMarker(dst, &marker{Prefix: prefix, At: time.Now().UTC()})
	}

	start := time.Now()
	if err := resetWAL(dst, logger); err != nil {
		return false, err
	}
	if err := copyToWAL(src, dst); err != nil {
		return false, err
	}
	if err := verifyCopy(src, dst); err != nil {
		return false, err
	}
	m := &marker{Prefix: prefix, Term: src.term, Dropped: src.dropped, At: time.Now().UTC()}
	if src.last > 0 {
		m.First, m.Last = src.runStart, src.last
	}
	if err := writeMarker(dst, m); err != nil {
		return false, err
	}
	if src.dropped > 0 {
		logger.Warn("badger's raft log had a gap: the entries before it were not copied (a snapshot covers them)",
			"dropped", src.dropped, "badger_first", src.first, "copied_from", src.runStart)
	}
	entries := uint64(0)
	if m.Last > 0 {
		entries = m.Last - m.First + 1
	}
	logger.Info("migrated raft's log and stable store from badger to raft-wal",
		"entries", entries, "first", m.First, "last", m.Last, "term", src.term,
		"took", time.Since(start).Round(time.Millisecond))
	return true, deleteBadgerRaft(db, prefix, src, logger)
}

// readMarker returns the marker in dst, nil if there is none.
func readMarker(dst *Store) (*marker, error) {
	raw, err := dst.Get(MarkerKey)
	if err != nil {
		return nil, fmt.Errorf("walstore: read migration marker: %w", err)
	}
	if len(raw) == 0 {
		return nil, nil
	}
	var m marker
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("walstore: migration marker in %s: %w", dst.Dir(), err)
	}
	return &m, nil
}

func writeMarker(dst *Store, m *marker) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("walstore: encode migration marker: %w", err)
	}
	if err := dst.Set(MarkerKey, raw); err != nil {
		return fmt.Errorf("walstore: write migration marker: %w", err)
	}
	return nil
}

// readBadger reads the bounds, the last contiguous run and the stable keys
// under prefix. A stable key raft v1.8 does not use is an error: its type
// (and so its encoding in raft-wal) is unknown.
func readBadger(db *badger.DB, prefix string) (*badgerRaft, error) {
	src := &badgerRaft{store: badgerstore.New(db, prefix), stable: map[string][]byte{}}
	logPrefix := []byte(prefix + "log/")
	stablePrefix := []byte(prefix + "stable/")
	err := db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: logPrefix})
		defer it.Close()
		var prev, n uint64
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if len(k) != len(logPrefix)+8 {
				return fmt.Errorf("walstore: badger log key %q of %d bytes", k, len(k))
			}
			idx := binary.BigEndian.Uint64(k[len(logPrefix):])
			if n == 0 {
				src.first = idx
			}
			if n == 0 || idx != prev+1 {
				src.runStart, src.dropped = idx, n
			}
			prev, n = idx, n+1
		}
		src.last = prev

		it2 := txn.NewIterator(badger.IteratorOptions{Prefix: stablePrefix})
		defer it2.Close()
		for it2.Rewind(); it2.Valid(); it2.Next() {
			src.stableKeys = append(src.stableKeys, it2.Item().KeyCopy(nil))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walstore: read badger raft keys under %q: %w", prefix, err)
	}
	for _, k := range src.stableKeys {
		name := k[len(stablePrefix):]
		known := false
		for _, sk := range stableKeys {
			known = known || bytes.Equal(name, sk.key)
		}
		if !known {
			return nil, fmt.Errorf("walstore: badger holds stable key %q under %q, which raft v1.8 does not use: "+
				"its encoding is unknown, nothing was migrated", name, prefix)
		}
	}
	for _, sk := range stableKeys {
		if sk.uint64 {
			v, err := src.store.GetUint64(sk.key)
			if errors.Is(err, badgerstore.ErrKeyNotFound) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("walstore: read %s from badger: %w", sk.key, err)
			}
			src.stable[string(sk.key)] = binary.LittleEndian.AppendUint64(nil, v)
			switch {
			case bytes.Equal(sk.key, keyCurrentTerm):
				src.term = v
			case bytes.Equal(sk.key, keyLastVoteTerm):
				src.voteTerm = v
			}
			continue
		}
		v, err := src.store.Get(sk.key)
		if errors.Is(err, badgerstore.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("walstore: read %s from badger: %w", sk.key, err)
		}
		if v == nil {
			v = []byte{} // raft-wal deletes a key set to nil
		}
		src.stable[string(sk.key)] = v
	}
	return src, nil
}

// resetWAL empties dst's log and raft's stable keys: what a migration
// that did not finish left there.
func resetWAL(dst *Store, logger *slog.Logger) error {
	first, err := dst.FirstIndex()
	if err != nil {
		return fmt.Errorf("walstore: %w", err)
	}
	last, err := dst.LastIndex()
	if err != nil {
		return fmt.Errorf("walstore: %w", err)
	}
	if last > 0 {
		logger.Info("emptying the WAL an unfinished migration left", "first", first, "last", last)
		if err := dst.DeleteRange(first, last); err != nil {
			return fmt.Errorf("walstore: empty the WAL before migrating: %w", err)
		}
	}
	for _, sk := range stableKeys {
		if err := dst.Set(sk.key, nil); err != nil {
			return fmt.Errorf("walstore: clear %s before migrating: %w", sk.key, err)
		}
	}
	return nil
}

// copyToWAL copies the last contiguous run of src's log into dst, in
// batches (each fsynced by raft-wal), then the stable keys (each a synced
// bolt transaction).
func copyToWAL(src *badgerRaft, dst *Store) error {
	if src.last > 0 {
		batch := make([]*raft.Log, 0, copyBatch)
		size := 0
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			if err := dst.StoreLogs(batch); err != nil {
				return fmt.Errorf("walstore: migrate logs %d-%d: %w", batch[0].Index, batch[len(batch)-1].Index, err)
			}
			batch, size = batch[:0], 0
			return nil
		}
		for i := src.runStart; i <= src.last; i++ {
			l := new(raft.Log)
			if err := src.store.GetLog(i, l); err != nil {
				return fmt.Errorf("walstore: read badger log %d: %w", i, err)
			}
			if l.Index != i {
				return fmt.Errorf("walstore: badger log key %d holds entry %d", i, l.Index)
			}
			batch = append(batch, l)
			size += len(l.Data) + len(l.Extensions)
			if len(batch) == copyBatch || size >= copyBatchBytes {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
	}
	for _, sk := range stableKeys {
		v, ok := src.stable[string(sk.key)]
		if !ok {
			continue
		}
		if err := dst.Set(sk.key, v); err != nil {
			return fmt.Errorf("walstore: migrate %s: %w", sk.key, err)
		}
	}
	return nil
}

// verifyCopy reads back the bounds, the edge entries and the stable keys.
func verifyCopy(src *badgerRaft, dst *Store) error {
	first, err := dst.FirstIndex()
	if err != nil {
		return fmt.Errorf("walstore: verify: %w", err)
	}
	last, err := dst.LastIndex()
	if err != nil {
		return fmt.Errorf("walstore: verify: %w", err)
	}
	wantFirst := src.runStart
	if src.last == 0 {
		wantFirst = 0
	}
	if first != wantFirst || last != src.last {
		return fmt.Errorf("walstore: verify: WAL holds %d-%d after migrating %d-%d", first, last, wantFirst, src.last)
	}
	for _, i := range []uint64{first, last} {
		if i == 0 {
			continue
		}
		var a, b raft.Log
		if err := src.store.GetLog(i, &a); err != nil {
			return fmt.Errorf("walstore: verify: badger log %d: %w", i, err)
		}
		if err := dst.GetLog(i, &b); err != nil {
			return fmt.Errorf("walstore: verify: WAL log %d: %w", i, err)
		}
		if !sameLog(&a, &b) {
			return fmt.Errorf("walstore: verify: log %d differs after migration", i)
		}
	}
	for _, sk := range stableKeys {
		want := src.stable[string(sk.key)]
		got, err := dst.Get(sk.key)
		if err != nil {
			return fmt.Errorf("walstore: verify %s: %w", sk.key, err)
		}
		if !bytes.Equal(got, want) {
			return fmt.Errorf("walstore: verify: %s differs after migration", sk.key)
		}
	}
	return nil
}

func sameLog(a, b *raft.Log) bool {
	return a.Index == b.Index && a.Term == b.Term && a.Type == b.Type &&
		bytes.Equal(a.Data, b.Data) && bytes.Equal(a.Extensions, b.Extensions) &&
		a.AppendedAt.Equal(b.AppendedAt)
}

// deleteBadgerRaft deletes the raft keys under prefix: the log (synced
// transactions of tombstones, top down), the stable keys (one synced
// transaction), then DropPrefix of both namespaces to give the space back.
// A failed DropPrefix only costs space until compaction: it is logged.
func deleteBadgerRaft(db *badger.DB, prefix string, src *badgerRaft, logger *slog.Logger) error {
	if src.last > 0 {
		if err := src.store.DeleteRange(src.first, src.last); err != nil {
			return fmt.Errorf("walstore: delete migrated log from badger: %w", err)
		}
	}
	if len(src.stableKeys) > 0 {
		err := db.Update(func(txn *badger.Txn) error {
			for _, k := range src.stableKeys {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("walstore: delete migrated stable keys from badger: %w", err)
		}
	}
	if err := db.DropPrefix([]byte(prefix+"log/"), []byte(prefix+"stable/")); err != nil {
		logger.Warn("badger kept the space of the migrated raft keys (deleted, not yet dropped)", "err", err)
	}
	return nil
}
