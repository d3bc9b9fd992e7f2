package badger

import (
	"bufio"
	"io"
	"os"

	"github.com/dgraph-io/badger/v4/y"
)

// yizhan patch (PATCHES.md): a log's pages leave the mapping once written
// or read (Options.DropLogPages).

// dropLogPagesEvery is how much a log is written between two drops: one
// madvise call a MB.
const dropLogPagesEvery = 1 << 20

var pageSize = uint32(os.Getpagesize())

// dropPagesBelow drops from lf's mapping every page below end, the offset
// up to which lf has been written, once a MB more than at the last drop
// has been written: the pages written, and any an iteration over the log
// mapped since (values are read with pread, readInto). The page
// holding end, which the next write goes on filling, stays. It is called
// by lf's only writer (the memtable's Put, valueLog.write), which is also
// the only one that remaps lf.Data (Truncate); a reader that touches a
// dropped page maps it again from the page cache.
func (lf *logFile) dropPagesBelow(end uint32) {
	if !lf.opt.DropLogPages {
		return
	}
	to := end &^ (pageSize - 1)
	if to < lf.dropped+dropLogPagesEvery || int(to) > len(lf.Data) {
		return
	}
	if err := dropPages(lf.Data[:to]); err != nil {
		// Nothing is lost: the pages stay mapped, as upstream keeps them.
		lf.opt.Warningf("while dropping the mapped pages of %s: %v", lf.path, err)
	}
	lf.dropped = to
}

// dropAllPages drops every page of lf from its mapping: lf has been
// written to its end (doneWriting, holding lf.lock), or read when the DB
// opened (valueLog.open, before any other use: every value log's header,
// the last one to its end).
func (lf *logFile) dropAllPages() {
	if !lf.opt.DropLogPages {
		return
	}
	if err := dropPages(lf.Data); err != nil {
		lf.opt.Warningf("while dropping the mapped pages of %s: %v", lf.path, err)
	}
}

// readInto reads the entry p points to with pread(2) into s, which the
// caller reuses (an Item's slice): with DropLogPages a value read does not
// map the log's pages, which would stay mapped (and counted in the
// process's RSS) until the log is written past them again, or for a log
// no longer written, until it is closed. lf.read has checked p against
// the file's size.
func (lf *logFile) readInto(p valuePointer, s *y.Slice) ([]byte, error) {
	buf := s.Resize(int(p.Len))
	if _, err := lf.Fd.ReadAt(buf, int64(p.Offset)); err != nil {
		return nil, y.Wrapf(err, "while reading %d bytes at %d of %s", p.Len, p.Offset, lf.path)
	}
	return buf, nil
}

// iterateReadSize is how much lf.iterate reads at a time with pread.
const iterateReadSize = 64 << 10

// iterateReader returns the reader lf.iterate reads the log with, from
// offset. With DropLogPages it reads the file with pread(2), 64 KB at a
// time, so that an iteration maps none of the log's pages: value-log GC
// reads a whole file to rewrite what is still live (16 MB at a village,
// a GB at a county), and every page it read stayed mapped until the file
// was deleted; opening the DB replays the memtable logs and reads the
// last value log to its end. Without the option it reads the mapping, as
// upstream. The log's writer writes through a shared mapping, whose pages
// are the page cache's, so pread sees what was written.
func (lf *logFile) iterateReader(offset uint32) *bufio.Reader {
	if !lf.opt.DropLogPages {
		return bufio.NewReader(lf.NewReader(int(offset)))
	}
	size := int64(len(lf.Data)) - int64(offset)
	if size < 0 {
		size = 0
	}
	return bufio.NewReaderSize(io.NewSectionReader(lf.Fd, int64(offset), size), iterateReadSize)
}
