package badger

// yizhan patch (PATCHES.md): a memtable's WAL is replayed at Open only as
// far as the values its entries point to are whole in the value log.
//
// Without SyncWrites the kernel writes a WAL's pages and the value log's
// back when it likes: after a power cut a WAL can hold transactions whose
// values never reached the disk (upstream #1954). Replayed, they gave
// keys whose values read back empty, and, for the case book, an applied
// index past them, so that raft's log did not give them again. The
// replay now stops at the first such transaction, and replays no later
// WAL: what it keeps is a prefix of the writes, whose index tells the
// book where to take up raft's log again.

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4/y"
)

// vlogChecker reads the value log's entries that a WAL's entries point
// to. It is used by one goroutine (Open's).
type vlogChecker struct {
	dir      string
	skip     bool                // encrypted logs: not checked
	files    map[uint32]*os.File // nil: the file is not there
	maxFid   int64               // the newest value log file there, -1: none
	stopped  bool                // a transaction did not hold: nothing more does
	reported bool                // report said so
}

func newVlogChecker(opt Options) *vlogChecker {
	c := &vlogChecker{dir: opt.ValueDir, skip: len(opt.EncryptionKey) > 0, files: map[uint32]*os.File{}, maxFid: -1}
	entries, _ := os.ReadDir(opt.ValueDir)
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".vlog")
		if !ok {
			continue
		}
		if fid, err := strconv.ParseInt(name, 10, 64); err == nil && fid > c.maxFid {
			c.maxFid = fid
		}
	}
	return c
}

// holdsAll reports whether every value the entries point to is whole in
// the value log: its entry there reads in full, with its checksum, under
// the same key. A value log file that is not there, older than one that
// is (value-log GC deleted it: the values were moved, and the entries
// pointing to them are replayed later), does not stop the replay; a
// newer one (created, never synced, and removed empty) does. Once it
// answers false it answers false for good.
func (c *vlogChecker) holdsAll(entries []*Entry) bool {
	if c.stopped {
		return false
	}
	for _, e := range entries {
		if c.skip || e.meta&bitValuePointer == 0 {
			continue
		}
		if !c.holds(e) {
			c.stopped = true
			return false
		}
	}
	return true
}

func (c *vlogChecker) holds(e *Entry) bool {
	var vp valuePointer
	if len(e.Value) < int(vptrSize) {
		return false
	}
	vp.Decode(e.Value)
	f, ok := c.files[vp.Fid]
	if !ok {
		f, _ = os.Open(vlogFilePath(c.dir, vp.Fid))
		c.files[vp.Fid] = f
	}
	if f == nil {
		return int64(vp.Fid) < c.maxFid
	}
	if vp.Len < crc32.Size+2 {
		return false
	}
	buf := make([]byte, vp.Len)
	if n, _ := f.ReadAt(buf, int64(vp.Offset)); n < len(buf) {
		return false
	}
	end := len(buf) - crc32.Size
	if crc32.Checksum(buf[:end], y.CastagnoliCrcTable) != binary.BigEndian.Uint32(buf[end:]) {
		return false
	}
	var h header
	hlen := h.Decode(buf)
	if hlen+int(h.klen)+int(h.vlen) != end {
		return false
	}
	return bytes.Equal(buf[hlen:hlen+int(h.klen)], e.Key)
}

// report warns, once, that the replay stopped in the WAL lf.
func (c *vlogChecker) report(lf *logFile) {
	if c.reported {
		return
	}
	c.reported = true
	lf.opt.Warningf("Replay of %s stopped: a transaction's value is not whole in the value log "+
		"(a power cut before it was synced); that transaction and every later write of the "+
		"memtables' logs are dropped", lf.path)
}

func (c *vlogChecker) close() {
	for _, f := range c.files {
		if f != nil {
			f.Close()
		}
	}
}
