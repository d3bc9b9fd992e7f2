package walstore

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/fs"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/hashicorp/raft-wal/segment"
	"github.com/hashicorp/raft-wal/types"
)

// Two states raft-wal v0.4.0 leaves behind and cannot go on from are
// repaired when the log is opened (sealedOnDisk has the second).
//
// raft-wal v0.4.0 truncates the log's tail (raft deletes a conflicting
// suffix after a change of leader) by marking the tail segment sealed
// without writing the index block a sealed segment is read by. The
// process goes on reading it from memory; opened again, every entry of
// that segment is "sealed segment has no index block", and raft panics at
// start reading its last entry (hashicorp/raft-wal#31; fixed in v0.4.2,
// which needs github.com/hashicorp/go-metrics/compat, gone from the
// go-metrics v0.7.0 that hashicorp/raft v1.8.0 requires). The fault
// harness met it: a county node killed after such a truncation never
// started again.
//
// So before raft-wal opens a directory, repairUnindexed looks for such
// segments in its metadata and, when there are any, writes the whole log
// again into a new directory: the entries of the unreadable segments read
// by scanning their files (segment.Filer.DumpSegment, as raft-wal's dump
// tool does), the others through raft-wal, and the stable keys; then swaps
// the directories. A crash at any point leaves either the old directory
// (repaired again at the next start) or the new one whole
// (finishRepair).

// stableKeysAll are every stable key the store holds: raft's and the
// migration marker, copied as bytes.
var stableKeysAll = [][]byte{keyCurrentTerm, keyLastVoteTerm, keyLastVoteCand, MarkerKey}

func repairUnindexed(dir string, logger *slog.Logger, segmentSize int) error {
	if err := finishRepair(dir); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, "wal-meta.db")); err != nil {
		return nil // no log yet
	}
	bad, tail, err := unindexedSegments(dir)
	if err != nil {
		return err
	}
	filer := segment.NewFiler(dir, fs.New())
	sealedTail := false
	if tail != nil {
		if sealedTail, err = sealedOnDisk(filer, *tail); err != nil {
			return err
		}
	}
	if len(bad) == 0 && !sealedTail {
		return nil
	}
	logger.Warn("raft's log has segments raft-wal cannot read back or append to: writing the log again",
		"unindexed", len(bad), "sealed_tail", sealedTail)

	// The entries of the unreadable segments, from their files.
	codec := &wal.BinaryCodec{}
	fromFiles := map[uint64]*raft.Log{}
	for _, si := range bad {
		// No upper bound: DumpSegment gives an entry once it has read the
		// commit frame after it, and stops at the bound without giving
		// the entries read since the last commit (a tail cut inside an
		// append). The entries past MaxIndex, deleted, are left out here.
		err := filer.DumpSegment(si.BaseIndex, si.ID, si.MinIndex-1, 0, func(_ types.SegmentInfo, e types.LogEntry) (bool, error) {
			if e.Index > si.MaxIndex {
				return true, nil
			}
			l := &raft.Log{}
			if err := codec.Decode(bytes.Clone(e.Data), l); err != nil {
				return false, fmt.Errorf("entry %d: %w", e.Index, err)
			}
			if l.Index != e.Index {
				return false, fmt.Errorf("the entry at %d says it is %d", e.Index, l.Index)
			}
			fromFiles[e.Index] = l
			return true, nil
		})
		if err != nil {
			return fmt.Errorf("read segment %d (base %d): %w", si.ID, si.BaseIndex, err)
		}
		for i := si.MinIndex; i <= si.MaxIndex; i++ {
			if fromFiles[i] == nil {
				return fmt.Errorf("segment %d (base %d) lacks entry %d", si.ID, si.BaseIndex, i)
			}
		}
	}

	old, err := openWAL(dir, logger, segmentSize)
	if err != nil {
		return err
	}
	defer old.Close()
	rebuilt := dir + ".rebuild"
	if err := os.RemoveAll(rebuilt); err != nil {
		return err
	}
	// One segment big enough for the whole log: the copy seals none, so
	// closing it cannot race raft-wal's rotation (sealedOnDisk).
	nw, err := openWAL(rebuilt, logger, max(segmentSize, walBytes(dir)+1<<20))
	if err != nil {
		return err
	}
	if err := copyLog(old, nw, fromFiles); err != nil {
		nw.Close()
		return err
	}
	if err := nw.Close(); err != nil {
		return err
	}
	if err := old.Close(); err != nil {
		return err
	}
	// Swap: dir → dir.old, dir.rebuild → dir, then drop dir.old.
	if err := os.Rename(dir, dir+".old"); err != nil {
		return err
	}
	if err := os.Rename(rebuilt, dir); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return err
	}
	logger.Info("raft's log written again", "first", nw.firstCopied, "last", nw.lastCopied)
	return os.RemoveAll(dir + ".old")
}

// unindexedSegments are the segments dir's metadata says are sealed but
// have no index block, and the tail segment (nil when there is none).
func unindexedSegments(dir string) (bad []types.SegmentInfo, tail *types.SegmentInfo, err error) {
	meta := &metadb.BoltMetaDB{}
	defer meta.Close()
	st, err := meta.Load(dir)
	if err != nil {
		return nil, nil, err
	}
	for _, si := range st.Segments {
		switch {
		case si.SealTime.IsZero():
			tail = &si
		case si.IndexStart == 0 && si.MaxIndex >= si.MinIndex && si.MaxIndex > 0:
			bad = append(bad, si)
		}
	}
	return bad, tail, nil
}

// sealedOnDisk reports whether the tail segment's file holds an index
// block though the metadata has it open: raft-wal seals a full segment by
// writing its index, then rotates to a new one in the background; a node
// stopped in between (a SIGTERM is enough) finds at its next start a tail
// that refuses every append ("segment is sealed"), as raft-wal v0.4.0
// recovers the seal but not the rotation. The fault harness met it: a
// county node that stopped again at every start.
func sealedOnDisk(filer *segment.Filer, tail types.SegmentInfo) (bool, error) {
	w, err := filer.RecoverTail(tail)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil // raft-wal makes it as it opens
	}
	if err != nil {
		return false, err
	}
	defer w.Close()
	sealed, _, err := w.Sealed()
	return sealed, err
}

// copyLog writes every entry and stable key of old into nw, taking the
// entries in fromFiles from there.
func copyLog(old, nw *Store, fromFiles map[uint64]*raft.Log) error {
	for _, k := range stableKeysAll {
		v, err := old.wal.Get(k)
		if err != nil && !errors.Is(err, wal.ErrNotFound) {
			return err
		}
		if v != nil {
			if err := nw.wal.Set(k, v); err != nil {
				return err
			}
		}
	}
	first, err := old.wal.FirstIndex()
	if err != nil {
		return err
	}
	last, err := old.wal.LastIndex()
	if err != nil {
		return err
	}
	if first == 0 {
		return nil
	}
	var batch []*raft.Log
	size := 0
	for i := first; i <= last; i++ {
		l := fromFiles[i]
		if l == nil {
			l = &raft.Log{}
			if err := old.wal.GetLog(i, l); err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
		}
		batch = append(batch, l)
		size += len(l.Data)
		if len(batch) == copyBatch || size >= copyBatchBytes || i == last {
			if err := nw.wal.StoreLogs(batch); err != nil {
				return err
			}
			batch, size = batch[:0], 0
		}
	}
	nw.firstCopied, nw.lastCopied = first, last
	return nil
}

// walBytes is the size of the log's segment files in dir.
func walBytes(dir string) int {
	files, _ := filepath.Glob(filepath.Join(dir, "*.wal"))
	n := 0
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			n += int(fi.Size())
		}
	}
	return n
}

// finishRepair completes or discards a repair a crash stopped: a whole
// rebuilt log waiting to be renamed into place is put there; one being
// written is dropped; the old log is dropped once replaced.
func finishRepair(dir string) error {
	rebuilt, old := dir+".rebuild", dir+".old"
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(rebuilt); err == nil {
			// dir was renamed away: the rebuilt log was closed whole
			// before that.
			if err := os.Rename(rebuilt, dir); err != nil {
				return err
			}
		} else if _, err := os.Stat(old); err == nil {
			return os.Rename(old, dir) // cannot happen, but never lose a log
		}
	}
	if err := os.RemoveAll(rebuilt); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

// syncDir makes a directory's entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
