package raftgroup

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/registry"
)

// ApplyResult is what applying one command gave: the stored entity or the
// error that left the state unchanged. Both travel back to the proposer
// through raft's ApplyFuture.
type ApplyResult struct {
	Index uint64        // the raft index of the command, or of the first one applied under its request ID
	Value proto.Message // e.g. the stored *yizhanv1.Item
	Err   error
	// Replayed: the command's request ID had been applied before (a
	// retry that raced its first attempt into the log), and Value is the
	// answer of that first application, at Index; nothing changed now.
	Replayed bool
}

// FSM is an office's raft state machine. It is thin: it decodes the
// command envelope and hands it to the registry's or the case book's
// applier, once per client request ID (requests.go). It reads no clock
// and no randomness; what a command needs, the proposer fixed.
//
// The registry lives in memory and goes into each raft snapshot; the case
// book lives on disk (casebook), applied with the raft index it reached,
// and goes into a snapshot only when one is sent to a follower
// (snapshots.go). So a restart reads the small registry part of the
// newest snapshot and replays the log after it, and the book skips the
// entries it already holds.
type FSM struct {
	reg      *registry.Registry
	cases    *casebook.Book
	requests *requestLog // the answers to clients' registry writes, by request ID
	// legacySnapshot says Recover found the newest snapshot in the format
	// of the release that kept the book in memory (set before raft starts).
	legacySnapshot bool
	// log and exit are how the node stops on a damaged book or a failed
	// write (stop.go), set by OpenGroup before raft starts; nil:
	// slog.Default(), os.Exit. stopping is set by the first stop.
	log      *slog.Logger
	exit     func(code int)
	stopping atomic.Bool

	// applyMu is held while entries are applied or a snapshot restored,
	// so that a backup sees the registry and the book at one raft index
	// (backup.go); lastIndex and lastTerm are the last entry applied.
	applyMu             sync.Mutex
	lastIndex, lastTerm uint64

	// committed, when set, is told the last index of each batch of
	// entries raft hands over, before they are applied: the group's
	// nudge of its followers (Group.committed).
	committed atomic.Pointer[func(last uint64)]

	// ahead holds the commands this node's proposers decoded while raft
	// wrote them (prepared.go); decodedAhead counts the entries applied
	// with one.
	ahead        prepared
	decodedAhead atomic.Uint64

	mu            sync.Mutex    // guards the fields below
	regChanged    chan struct{} // closed and replaced after every change of the registry
	casesChanged  chan struct{} // closed and replaced after every case command
	upstreamIndex uint64        // newest index the upstream office reported through replays and registry snapshots
}

// NewFSM returns the state machine of an office over reg and cases.
func NewFSM(reg *registry.Registry, cases *casebook.Book) *FSM {
	return &FSM{reg: reg, cases: cases, requests: newRequestLog(), regChanged: make(chan struct{}), casesChanged: make(chan struct{})}
}

// Registry is the registry this FSM applies to.
func (f *FSM) Registry() *registry.Registry { return f.reg }

// Answered looks up a client's write in the office's memory of requests
// (the registry's writes in memory, the case writes in the book): the
// answer and raft index of its first application and ok when it was
// applied, or ErrRequestConflict when its ID was used for another request.
func (f *FSM) Answered(r Request) (proto.Message, uint64, bool, error) {
	if v, i, ok, err := f.requests.answered(r); err != nil || ok {
		return v, i, ok, err
	}
	v, i, ok, err := f.cases.Answered(casebook.Request(r))
	if errors.Is(err, casebook.ErrRequestConflict) {
		err = fmt.Errorf("%w: %q", ErrRequestConflict, r.ID)
	}
	return v, i, ok, err
}

// Cases is the office's case book.
func (f *FSM) Cases() *casebook.Book { return f.cases }

// RegistryChanged returns a channel that is closed at the next change of
// the registry: a registry command, a replay or a registry snapshot
// applied, or a snapshot of the office restored. Case commands do not
// close it.
func (f *FSM) RegistryChanged() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.regChanged
}

// CasesChanged returns a channel that is closed at the next case command
// applied (whether or not it changed the case book) or snapshot of the
// office restored. Registry changes do not close it.
func (f *FSM) CasesChanged() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.casesChanged
}

// UpstreamIndex is the newest registry index the upstream office had when
// it sent the last replay applied here.
func (f *FSM) UpstreamIndex() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return max(f.upstreamIndex, f.reg.Index())
}

// notify wakes the waiters on the registry (reg) and on the case book
// (cases), and keeps upstream, the upstream office's index that a replay
// or snapshot came with, when it is newer.
func (f *FSM) notify(reg, cases bool, upstream uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if upstream > f.upstreamIndex {
		f.upstreamIndex = upstream
	}
	if reg {
		close(f.regChanged)
		f.regChanged = make(chan struct{})
	}
	if cases {
		close(f.casesChanged)
		f.casesChanged = make(chan struct{})
	}
}

// Apply applies one committed raft log entry.
func (f *FSM) Apply(l *raft.Log) any { return f.ApplyBatch([]*raft.Log{l})[0] }

// ApplyBatch applies committed raft log entries in order (raft's
// BatchingFSM): the case commands between two registry commands go to the
// book together, in one badger transaction when they fit.
func (f *FSM) ApplyBatch(logs []*raft.Log) []any {
	if h := f.committed.Load(); h != nil && len(logs) > 0 {
		(*h)(logs[len(logs)-1].Index)
	}
	// A command on a case the book holds damaged, or a write the disk
	// failed, stops the node here (stop.go), its entry not applied; at is
	// the entry being applied.
	var at uint64
	defer f.stopOnFailure(&at)
	f.applyMu.Lock()
	defer f.applyMu.Unlock()
	// The last index applied moves only when the batch is: not while a
	// stop unwinds (the lock is let go before the stop logs and exits).
	applied := false
	if n := len(logs); n > 0 {
		defer func() {
			if applied {
				f.lastIndex, f.lastTerm = logs[n-1].Index, logs[n-1].Term
			}
		}()
	}
	out := make([]any, len(logs))
	var (
		pending []casebook.Entry
		slots   []int // out[slots[i]] is pending[i]'s result
	)
	flush := func(through uint64) {
		if len(pending) == 0 && through <= f.cases.Applied() {
			return
		}
		at = through
		for i, r := range f.cases.Apply(pending, through, f.reg) {
			res := &ApplyResult{Index: r.Index, Value: r.Value, Err: r.Err, Replayed: r.Err == nil && r.Index != pending[i].Index}
			if errors.Is(r.Err, casebook.ErrRequestConflict) {
				res.Err = fmt.Errorf("%w: %q", ErrRequestConflict, pending[i].Request.ID)
			}
			out[slots[i]] = res
		}
		if len(pending) > 0 {
			f.notify(false, true, 0)
		}
		pending, slots = pending[:0], slots[:0]
	}
	for i, l := range logs {
		if l.Type != raft.LogCommand {
			out[i] = &ApplyResult{Index: l.Index}
			continue
		}
		cmd, hashed := &peerv1.Command{}, false
		if d := f.ahead.take(l.Data); d != nil {
			cmd, hashed = d.cmd, d.hashed
			f.decodedAhead.Add(1)
		} else if err := proto.Unmarshal(l.Data, cmd); err != nil {
			// A command this binary cannot read must not be skipped silently:
			// every node of the office would skip it alike, but the proposer
			// must hear of it.
			out[i] = &ApplyResult{Index: l.Index, Err: fmt.Errorf("federation: decode command at index %d: %w", l.Index, err)}
			continue
		}
		if why := unknownCommand(cmd); why != "" {
			// Proposed by a node of a later release: applied in part, or
			// refused here alone, this node would differ from the
			// office. It stops (stop.go), the command not applied, and
			// applies it once it runs that release.
			flush(l.Index - 1)
			at = l.Index
			panic(&UnknownKindError{Index: l.Index, What: why})
		}
		if c, ok := cmd.Kind.(*peerv1.Command_Cases); ok {
			r := requestOf(c.Cases)
			if _, _, known, err := f.requests.answered(r); r.ID != "" && (known || err != nil) {
				// An ID a registry write used: the same request cannot be
				// a case write too.
				out[i] = &ApplyResult{Index: l.Index, Err: fmt.Errorf("%w: %q", ErrRequestConflict, r.ID)}
				continue
			}
			pending = append(pending, casebook.Entry{Index: l.Index, At: c.Cases.GetAtUnixNano(), Request: casebook.Request(r), Cmd: c.Cases, Hashed: hashed})
			slots = append(slots, i)
			continue
		}
		flush(l.Index - 1)
		at = l.Index
		out[i] = f.applyRegistry(l, cmd)
	}
	if n := len(logs); n > 0 {
		flush(logs[n-1].Index)
	}
	applied = true
	return out
}

// changesCalendar reports whether a registry command changes working
// days: a county's calendar for a year, or the official calendars put in
// force.
func changesCalendar(c *peerv1.RegistryCommand) bool {
	switch c.GetOp().(type) {
	case *peerv1.RegistryCommand_PutCalendar, *peerv1.RegistryCommand_PutOfficialCalendars:
		return true
	}
	return false
}

// mayChangeCalendar reports whether cmd may change the working-day
// calendar: a calendar write (changesCalendar), a replay holding one, a
// registry snapshot.
func mayChangeCalendar(cmd *peerv1.Command) bool {
	switch k := cmd.Kind.(type) {
	case *peerv1.Command_Registry:
		return changesCalendar(k.Registry)
	case *peerv1.Command_Replay:
		for _, e := range k.Replay.GetEntries() {
			if changesCalendar(e.GetCommand()) {
				return true
			}
		}
	case *peerv1.Command_InstallSnapshot:
		return true
	}
	return false
}

// applyRegistry applies a command for the registry (in memory).
func (f *FSM) applyRegistry(l *raft.Log, cmd *peerv1.Command) *ApplyResult {
	res := &ApplyResult{Index: l.Index}
	// A command that may change the working-day calendar: the book judges
	// again, with the calendar it leaves, what it judged with the one
	// before (casebook.CalendarChanged), at this point of the log.
	var (
		calendar     = mayChangeCalendar(cmd)
		calendarWas  registry.Workdays
		calendarTime int64 // when the write was made, if known
	)
	if calendar {
		calendarWas = f.reg.Workdays()
	}
	calendarChange := func() (casebook.CalendarChange, bool) {
		if !calendar {
			return casebook.CalendarChange{}, false
		}
		from, through, changed := registry.ChangedDays(calendarWas, f.reg.Workdays())
		ch := casebook.CalendarChange{Before: registry.WithWorkdays{Registry: f.reg, Days: calendarWas}, From: from, Through: through}
		if calendarTime != 0 {
			ch.At = time.Unix(0, calendarTime)
		}
		return ch, changed
	}
	switch k := cmd.Kind.(type) {
	case *peerv1.Command_Registry:
		before := f.reg.Before(k.Registry)
		calendarTime = k.Registry.GetAtUnixNano()
		res.Value, res.Index, res.Err = f.requests.once(requestOf(k.Registry), l.Index, k.Registry.GetAtUnixNano(), func() (proto.Message, error) {
			return f.reg.Apply(l.Index, k.Registry)
		})
		res.Replayed = res.Err == nil && res.Index != l.Index
		if res.Err == nil && res.Index == l.Index {
			// Applied here, not a retry answered from memory: the audit
			// trail keeps it (once: the book skips an index it holds).
			audit := registry.Describe(l.Index, k.Registry, before, res.Value)
			if ch, changed := calendarChange(); changed {
				f.cases.CalendarChanged(l.Index, f.reg, ch, audit)
			} else {
				f.cases.RecordRegistryChange(audit)
			}
		}
		if res.Err == nil {
			f.notify(true, false, 0)
		}
	case *peerv1.Command_Replay:
		for _, e := range k.Replay.GetEntries() {
			if changesCalendar(e.GetCommand()) && e.GetIndex() > f.reg.Index() {
				calendarTime = e.GetCommand().GetAtUnixNano()
			}
			if err := f.reg.Replay(e); err != nil {
				res.Err = fmt.Errorf("federation: replay registry entry %d: %w", e.GetIndex(), err)
				break
			}
		}
		if ch, changed := calendarChange(); changed {
			f.cases.CalendarChanged(l.Index, f.reg, ch, nil)
		}
		f.notify(true, false, k.Replay.GetUpstreamIndex())
	case *peerv1.Command_InstallSnapshot:
		if k.InstallSnapshot.GetSnapshot().GetIndex() < f.reg.Index() {
			// From a source behind this office (a fallback that lags):
			// installing it would take the registry back.
			break
		}
		if err := f.reg.Restore(k.InstallSnapshot.GetSnapshot()); err != nil {
			res.Err = fmt.Errorf("federation: install registry snapshot: %w", err)
			break
		}
		if log := k.InstallSnapshot.GetSnapshot().GetChangelog(); len(log) > 0 {
			calendarTime = log[len(log)-1].GetCommand().GetAtUnixNano()
		}
		if ch, changed := calendarChange(); changed {
			f.cases.CalendarChanged(l.Index, f.reg, ch, nil)
		}
		f.notify(true, false, k.InstallSnapshot.GetSnapshot().GetIndex())
	default:
		res.Err = fmt.Errorf("federation: unknown command at index %d", l.Index)
	}
	return res
}
