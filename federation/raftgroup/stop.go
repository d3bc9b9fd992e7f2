package raftgroup

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"

	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"

	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/walstore"
)

// ExitBookDamaged is the exit status of a node that stopped because a
// command of its office's log met a case its book holds damaged
// (casebook.DamageError): docs/OPERATIONS.md, "A node that stops: the
// case book on disk is damaged".
const ExitBookDamaged = 3

// ExitDiskFailed is the exit status of a node that stopped because its
// data disk failed a write of the case book, of raft's log, or of raft's
// term or vote (full, or failing: casebook.DiskError,
// walstore.ErrAppendFailed). Unlike
// ExitBookDamaged, starting it again once the disk has room is right:
// docs/OPERATIONS.md, "A node that stops: the data disk failed a write".
const ExitDiskFailed = 4

// ExitUnknownKind is the exit status of a node that stopped because a
// command of its office's log holds a kind of command its release does
// not know (UnknownKindError): a node of a later release leads its
// office. Starting it again on the release the office's other nodes run
// is right: docs/OPERATIONS.md, "Upgrading to a new release".
const ExitUnknownKind = 5

// stopWith sets how the node stops (stop): log names the office (nil:
// slog.Default()), exit ends the process (nil: os.Exit). A commit of the
// book that badger fails in its own goroutine, after the apply returned,
// stops the node the same way.
func (f *FSM) stopWith(log *slog.Logger, exit func(code int)) {
	f.log, f.exit = log, exit
	f.cases.StopOnFailedCommit(func(err error) { f.stop(err, 0) })
}

// stopOnFailure, deferred by ApplyBatch, turns the case book's panic on
// a damaged case or a failed write into the node's stop (stop). at is
// the index being applied, for a failure that does not name its own.
func (f *FSM) stopOnFailure(at *uint64) {
	if r := recover(); r != nil {
		f.stop(r, *at)
	}
}

// stop ends the process on r, a panic of the case book or of raft's log
// store: one line at error naming the office, the raft index, what
// failed and what to do, and the exit status, without a Go stack.
//   - A damaged case (casebook.DamageError, also when a failed write
//     met one) exits with ExitBookDamaged: the entry is not skipped, so
//     the next start meets it again and the book never differs from the
//     office's.
//   - A command of a kind this release does not know (UnknownKindError)
//     exits with ExitUnknownKind: skipped, or refused on this node
//     alone, it would leave this node's state different from the
//     office's; the next start, on the later release, applies it.
//   - A failed write (casebook.DiskError, also of raft's term or vote:
//     stoppingLogStore; walstore.ErrAppendFailed), or a read of the
//     apply's that the disk failed (DiskError.Read), exits with
//     ExitDiskFailed. No acknowledged write is lost: the book's failed
//     write is of an entry raft's log holds, applied again at the next
//     start from the index the book reached; an append to the log that
//     failed was never acknowledged.
//
// Any other panic goes on as it was, with its Go stack (a bug). Only the
// first stop of the process logs: a second one (the commit's goroutine
// and the next apply meeting the same failure) ends its goroutine.
func (f *FSM) stop(r any, at uint64) {
	err, _ := r.(error)
	var (
		d       *casebook.DamageError
		disk    *casebook.DiskError
		unknown *UnknownKindError
	)
	switch {
	case errors.As(err, &unknown):
	case errors.As(err, &d):
	case errors.As(err, &disk):
	case errors.Is(err, walstore.ErrAppendFailed):
		disk = &casebook.DiskError{Index: at, Op: "append to raft's log", Err: err}
	default:
		panic(r)
	}
	if f.stopping.Swap(true) {
		runtime.Goexit() // the first stop logs and exits
	}
	log := f.log // the node's: it names the office and the node
	if log == nil {
		log = slog.Default().With("office", f.cases.Office())
	}
	code := ExitDiskFailed
	switch {
	case unknown != nil:
		code = ExitUnknownKind
		log.Error("a command of the office's log is of a kind this node's release does not know: this node stops, at every start, until it runs the release its office's other nodes run (nothing is lost: raft's log holds the command)",
			"raft_index", unknown.Index, "unknown", unknown.What,
			"do", "start this node with the release the office's leader runs: every node of an office is upgraded together (docs/OPERATIONS.md, \"Upgrading to a new release\")",
			"exit_status", code)
	case d != nil:
		code = ExitBookDamaged
		index := d.Index
		if index == 0 {
			index = at
		}
		log.Error("the case book on disk is damaged: this node stops, at every start, until its book is rebuilt or restored",
			"raft_index", index, "case", d.Case, "damage", d.What,
			"do", "move this node's data directory aside and --join a node of its office with an empty one; an office of one node: restore it from its latest backup (docs/OPERATIONS.md, \"A node that stops: the case book on disk is damaged\")",
			"exit_status", code)
	default:
		index := disk.Index
		if index == 0 {
			index = at
		}
		msg, do := "the data disk failed a write: this node stops (no acknowledged data is lost: raft's log holds it)",
			"free space on, or check, the disk of the node's --data directory and start it again: it applies raft's log again from where its book stopped (docs/OPERATIONS.md, \"A node that stops: the data disk failed a write\")"
		if disk.Read {
			msg, do = "the data disk failed a read: this node stops, rather than refuse the command on this node alone (no acknowledged data is lost: raft's log holds it)",
				"check the disk of the node's --data directory (the kernel's log names I/O errors) and start it again; a disk that cannot read back what it wrote: move the data directory aside and --join a node of its office with an empty one, or restore an office of one node from its latest backup (docs/OPERATIONS.md, \"A node that stops: the data disk failed a write\")"
		}
		log.Error(msg, "raft_index", index, "fault", disk.Fault(), "op", disk.Op, "err", disk.Err, "do", do, "exit_status", code)
	}
	exit := f.exit
	if exit == nil {
		exit = os.Exit
	}
	exit(code)
	// Only a test's exit returns: the goroutine ends here, never
	// returning to raft as if the entry were applied or stored.
	runtime.Goexit()
}

// stoppingLogStore is raft's log and stable store, whose failed append
// stops the node as a failed write of the book does (stop): walstore
// panics on it, in raft's goroutine, where nothing else would recover
// it. A term or vote the disk fails to store stops the node too: raft
// panics, with its Go stack, on a term it cannot store, and a candidate
// that cannot store its vote for itself tries again and again, never
// elected.
type stoppingLogStore struct {
	*walstore.Store
	fsm *FSM
}

// Set stores a key of raft's stable store (its vote), or stops the node.
func (s stoppingLogStore) Set(key, val []byte) error {
	return s.stable(s.Store.Set(key, val), key)
}

// SetUint64 stores a key of raft's stable store (its term, the term of
// its vote), or stops the node.
func (s stoppingLogStore) SetUint64(key []byte, val uint64) error {
	return s.stable(s.Store.SetUint64(key, val), key)
}

// stable stops the node on err, a failed write of key; nil and the
// closed store's error (the node is stopping) are returned as they are.
func (s stoppingLogStore) stable(err error, key []byte) error {
	if err == nil || errors.Is(err, wal.ErrClosed) {
		return err
	}
	last, _ := s.Store.LastIndex()
	s.fsm.stop(&casebook.DiskError{Index: last, Op: fmt.Sprintf("store raft's %s", key), Err: err}, last)
	return err // not reached: stop ends the goroutine
}

func (s stoppingLogStore) StoreLogs(logs []*raft.Log) error {
	if len(logs) > 0 {
		defer func() {
			if r := recover(); r != nil {
				s.fsm.stop(r, logs[0].Index)
			}
		}()
	}
	return s.Store.StoreLogs(logs)
}

func (s stoppingLogStore) StoreLog(l *raft.Log) error { return s.StoreLogs([]*raft.Log{l}) }
