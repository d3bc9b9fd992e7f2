package table

import (
	"errors"
	"sync"

	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/y"
)

// yizhan patch (PATCHES.md): a table's blocks are read with pread(2), not
// through its mapping (Options.ReadBlocks).

// rawReads holds the buffers a block is read into before it is
// decompressed (or decrypted) into a buffer of its own: one a goroutine
// reading a block at a time.
var rawReads = sync.Pool{New: func() any { return new([]byte) }}

// readsBlocks reports whether t reads its blocks with pread: the option
// is set, t is a file (not a table built in memory), and a block read is
// copied anyway, decompressed or decrypted, so the raw bytes are needed
// only until then. A table neither compressed nor encrypted keeps its
// blocks as slices of the mapping, as upstream.
func (t *Table) readsBlocks() bool {
	return t.opt.ReadBlocks && t.Fd != nil &&
		(t.opt.Compression != options.None || t.shouldDecrypt())
}

// readBlock returns the sz bytes of t at off, and a func to call once
// they are no longer used. With Options.ReadBlocks they are read with
// pread into a pooled buffer: the table's pages are not mapped into the
// process by the read. Read through the mapping, each page read stayed
// mapped, and counted in the process's resident memory, for as long as
// the table lived: a compaction reading its input tables end to end held
// all of them until they were deleted (about 100 MB of a yizhan county's
// peak RSS, filing its millionth case).
func (t *Table) readBlock(off, sz int) ([]byte, func(), error) {
	if !t.readsBlocks() {
		b, err := t.read(off, sz)
		return b, func() {}, err
	}
	if off < 0 || sz < 0 || off+sz > t.tableSize {
		return nil, nil, y.Wrapf(errBlockOutOfTable,
			"reading %d bytes at %d of %d", sz, off, t.tableSize)
	}
	p := rawReads.Get().(*[]byte)
	if cap(*p) < sz {
		*p = make([]byte, sz)
	}
	b := (*p)[:sz]
	release := func() { rawReads.Put(p) }
	if _, err := t.Fd.ReadAt(b, int64(off)); err != nil {
		release()
		return nil, nil, err
	}
	return b, release, nil
}

var errBlockOutOfTable = errors.New("block out of the table")
