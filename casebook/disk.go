package casebook

import (
	"errors"
	"fmt"
	"strings"
	"syscall"

	"github.com/dgraph-io/badger/v4"
)

// DiskError is a write of the case book that the database failed (its
// disk is full, or failing), or a read of Apply's that it failed (Read).
// Apply, and the calendar's and the registry's writes, panic with one
// (the node cannot go on applying its log on a disk that does not take
// it, nor refuse a command on this node alone because its disk failed a
// read: its book would differ from the office's), and so does badger's
// goroutine when a
// commit of Apply fails there, unless the book was told how to stop
// (StopOnFailedCommit). The state machine turns the panic into the
// node's stop (DESIGN.md, "A disk that fails stops the node").
type DiskError struct {
	// Index is the raft index whose write failed: the commit through it,
	// or the entry being written.
	Index uint64
	// Op is what failed, in words: "write book/c/…", "commit through raft
	// index 12".
	Op string
	// Err is the database's error; badger flattens the system's error
	// into its text (Fault reads both).
	Err error
	// Read is a read that failed, not a write.
	Read bool
}

func (e *DiskError) Error() string { return fmt.Sprintf("casebook: %s: %v", e.Op, e.Err) }

func (e *DiskError) Unwrap() error { return e.Err }

// Fault is what failed, in an operator's words: a full disk (ENOSPC, or
// a quota), a file grown past its limit (EFBIG), the disk's own failure
// (EIO), a file system mounted read-only, or the error itself.
func (e *DiskError) Fault() string {
	for _, f := range []struct {
		errno syscall.Errno
		words string
	}{
		{syscall.ENOSPC, "the disk is full (ENOSPC: no space left on device)"},
		{syscall.EDQUOT, "the disk quota is used up (EDQUOT)"},
		{syscall.EFBIG, "a file reached the largest size allowed (EFBIG: a file size limit, or the file system's)"},
		{syscall.EIO, "the disk failed (EIO: input/output error)"},
		{syscall.EROFS, "the file system is read-only (EROFS)"},
	} {
		if errors.Is(e.Err, f.errno) || strings.Contains(e.Err.Error(), f.errno.Error()) {
			return f.words
		}
	}
	if errors.Is(e.Err, badger.ErrBlockedWrites) || errors.Is(e.Err, badger.ErrDBClosed) {
		return "the database was closed under the write"
	}
	if e.Read {
		return "the read failed"
	}
	return "the write failed"
}

// failedWrite is the DiskError of a write the database refused: op, at
// raft index index.
func failedWrite(index uint64, err error, op string, args ...any) *DiskError {
	return &DiskError{Index: index, Op: fmt.Sprintf(op, args...), Err: err}
}

// failedRead is the DiskError of a read of Apply's that the database
// failed (neither a key it does not hold nor a damaged case: the disk,
// or the database, gave an error): at raft index index.
func failedRead(index uint64, err error, op string, args ...any) *DiskError {
	return &DiskError{Index: index, Op: fmt.Sprintf(op, args...), Err: err, Read: true}
}

// StopOnFailedCommit sets how the node stops when badger fails a commit
// of Apply in its own goroutine, after Apply has answered: stop is
// called there with the *DiskError, and must not return to the book (it
// ends the process, or the goroutine). Unset, that goroutine panics with
// the *DiskError. The state machine sets it before raft starts.
func (b *Book) StopOnFailedCommit(stop func(err error)) { b.stop.Store(&stop) }
