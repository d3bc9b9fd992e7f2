package raftgroup

import (
	"errors"
	"log/slog"
	"os"
	"runtime"

	"github.com/yizhan-gov/yizhan/casebook"
)

// ExitBookDamaged is the exit status of a node that stopped because a
// command of its office's log met a case its book holds damaged
// (casebook.DamageError): docs/OPERATIONS.md, "A node that stops: the
// case book on disk is damaged".
const ExitBookDamaged = 3

// stopOnDamage, deferred by ApplyBatch, turns the case book's panic on a
// damaged case into the node's stop: one line at error naming the office,
// the raft index, the case and what is missing, and the process exits
// with ExitBookDamaged, without a Go stack. The entry is not skipped:
// nothing after it is applied, and the next start meets it again, so the
// book never differs from the office's. Any other panic goes on as it
// was (a failed write: the Go stack). at is the index being applied,
// for a damage that does not name its own.
func (f *FSM) stopOnDamage(at *uint64) {
	r := recover()
	if r == nil {
		return
	}
	err, _ := r.(error)
	var d *casebook.DamageError
	if !errors.As(err, &d) {
		panic(r)
	}
	index := d.Index
	if index == 0 {
		index = *at
	}
	log := f.log // the node's: it names the office and the node
	if log == nil {
		log = slog.Default().With("office", f.cases.Office())
	}
	log.Error("the case book on disk is damaged: this node stops, at every start, until its book is rebuilt or restored",
		"raft_index", index, "case", d.Case, "damage", d.What,
		"do", "move this node's data directory aside and --join a node of its office with an empty one; an office of one node: restore it from its latest backup (docs/OPERATIONS.md, \"A node that stops: the case book on disk is damaged\")",
		"exit_status", ExitBookDamaged)
	exit := f.exit
	if exit == nil {
		exit = os.Exit
	}
	exit(ExitBookDamaged)
	// Only a test's exit returns: the apply goroutine ends here, never
	// returning to raft as if the entry were applied.
	runtime.Goexit()
}
