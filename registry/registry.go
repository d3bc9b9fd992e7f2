// Package registry holds the registry replica: offices, departments, the item catalogue, grants, staff, calendars, the node directory.
//
// The registry is authored at the county and replayed, command by command,
// by every office below it (see DESIGN.md). This package is the in-memory
// model and its applier: it does no I/O, reads no clock and draws no random
// numbers, so that every replica that applies the same commands holds the
// same state. A raft FSM feeds it with Apply (at the county), Replay (below
// the county) and Restore (snapshots); servers read it with the query
// methods.
package registry

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// DefaultChangelogRetention is the number of changelog entries kept when
// Options.ChangelogRetention is not set.
const DefaultChangelogRetention = 10000

// Options configures a Registry.
type Options struct {
	// ChangelogRetention is the number of changelog entries kept for the
	// offices below; older entries are dropped and a subscriber that needs
	// them gets a snapshot instead. Zero or negative: DefaultChangelogRetention.
	ChangelogRetention int
}

// Registry is one replica of the registry. It is safe for concurrent use:
// one writer (the raft FSM calling Apply, Replay or Restore) and any number
// of readers. Everything it stores is a private clone and every value it
// returns is a fresh clone, so callers never alias its state.
type Registry struct {
	retention int // set by New, read-only afterwards

	// mu guards st: writers (Apply, Replay, Restore) hold it exclusively,
	// readers (Check, Snapshot, ChangelogSince and every query) hold it
	// shared. Objects reachable from st are only mutated under the write
	// lock and only cloned out under the read lock.
	mu       sync.RWMutex
	st       *state
	restores uint64 // how many times Restore replaced st; guarded by mu

	// digest caches Digest for one state at one index.
	digest atomic.Pointer[digestAt]
}

// state is the whole registry. It is replaced wholesale by Restore.
type state struct {
	index    uint64        // county index of the last applied command
	newestAt int64         // the latest at_unix_nano of the commands applied or kept (newestCommand)
	official *officialData // in force (PutOfficialCalendars), for the years no county calendar sets; nil: OfficialDataBefore

	offices      map[string]*yizhanv1.Office     // by code
	county       string                          // code of the county office, "" until created
	departments  map[string]*yizhanv1.Department // by code
	items        map[string][]*yizhanv1.Item     // by code: every version, oldest first (versions[i].Version == i+1)
	grants       map[string]*yizhanv1.Grant      // by id
	grantsByItem map[string][]*yizhanv1.Grant    // by item code, in registry index order
	staff        map[string]*yizhanv1.StaffMember
	credentials  map[string]string              // username → argon2id PHC hash (non-empty only)
	calendars    map[int32]*yizhanv1.Calendar   // by year: calendars set in the registry
	calendarDays map[int32]dayKinds             // by year: the exceptions of calendars, for lookups
	nodes        map[string]*yizhanv1.NodeEntry // by node name
	// queryCodeKeys are the keys of the HMACs cases keep of their query
	// codes, by id (see querykeys.go).
	queryCodeKeys map[uint32]*peerv1.QueryCodeKey
	// policy is the county's supervision policy, nil until set.
	policy *yizhanv1.SupervisionPolicy
	duty   *yizhanv1.DutyPolicy
	cases  *yizhanv1.CasePolicy

	// changelog holds the retained entries, oldest first; each entry's
	// PrevIndex is the Index of the one before it.
	changelog []*peerv1.ChangelogEntry
}

func newState() *state {
	return &state{
		offices:      map[string]*yizhanv1.Office{},
		departments:  map[string]*yizhanv1.Department{},
		items:        map[string][]*yizhanv1.Item{},
		grants:       map[string]*yizhanv1.Grant{},
		grantsByItem: map[string][]*yizhanv1.Grant{},
		staff:        map[string]*yizhanv1.StaffMember{},
		credentials:  map[string]string{},
		calendars:    map[int32]*yizhanv1.Calendar{},
		calendarDays: map[int32]dayKinds{},
		nodes:        map[string]*yizhanv1.NodeEntry{},

		queryCodeKeys: map[uint32]*peerv1.QueryCodeKey{},
	}
}

// New returns an empty registry at index 0.
func New(opts Options) *Registry {
	retention := opts.ChangelogRetention
	if retention <= 0 {
		retention = DefaultChangelogRetention
	}
	return &Registry{retention: retention, st: newState()}
}

// Index returns the registry index applied: the county raft index of the
// last applied command (0 for an empty registry).
func (r *Registry) Index() uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.st.index
}

// Apply applies a command authored at the county at county raft index
// index, which must be above Index() (gaps are allowed: the county's raft
// log holds other entries too). On error nothing changes and no changelog
// entry is made. On success it appends ChangelogEntry{Index: index,
// PrevIndex: the previous Index(), Command: cmd} and returns a clone of
// the stored entity: *yizhanv1.Office, *yizhanv1.Department, *yizhanv1.Item
// (the new version), *yizhanv1.Grant, *yizhanv1.StaffMember,
// *yizhanv1.Calendar or *yizhanv1.NodeEntry.
//
// Times written into the entity (created_at, updated_at, a grant's default
// valid_from, revoked_at) are cmd.AtUnixNano, left unset when it is 0;
// created_by/updated_by are cmd.Actor.
//
// Errors: *ValidationError (ErrInvalidArgument), ErrAlreadyExists,
// ErrNotFound, ErrConflict, ErrFailedPrecondition, ErrStaleIndex.
func (r *Registry) Apply(index uint64, cmd *peerv1.RegistryCommand) (proto.Message, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if index <= r.st.index {
		return nil, fmt.Errorf("apply at index %d, registry at %d: %w", index, r.st.index, ErrStaleIndex)
	}
	if err := r.st.check(cmd, false); err != nil {
		return nil, err
	}
	cmd = proto.CloneOf(cmd)
	e := &peerv1.ChangelogEntry{Index: index, PrevIndex: r.st.index, Command: cmd}
	out := r.st.apply(index, cmd)
	r.appendEntry(e)
	return proto.Clone(out), nil
}

// Check is the gate before the raft log: it checks cmd against the input
// limits (CheckLimits: lengths, entries, ranges, encoded size), then runs
// every validation of Apply against the current state, without changing
// anything. Proposers call it before a command enters the raft log; Apply
// checks again, since the state may have moved on, but not the limits:
// what is in the log applies alike on every node, whichever binary wrote
// it.
func (r *Registry) Check(cmd *peerv1.RegistryCommand) error {
	if err := CheckLimits(cmd); err != nil {
		return err
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if err := r.st.check(cmd, false); err != nil {
		return err
	}
	return r.st.checkNew(cmd)
}

// Replay applies an entry pulled from the upstream office's changelog.
// Entries with Index <= Index() were applied before and are skipped
// (nil). An entry whose PrevIndex is not Index() does not follow on:
// ErrGap. Unlike Apply, Replay accepts a staff credential whose hash was
// redacted by the feed (see RedactEntry). The entry is kept in this
// replica's changelog as received, for the offices below.
func (r *Registry) Replay(e *peerv1.ChangelogEntry) error {
	if e == nil {
		return &ValidationError{Violations: []FieldViolation{{Field: "entry", Description: "is required"}}}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.GetIndex() <= r.st.index {
		return nil
	}
	if e.GetPrevIndex() != r.st.index {
		return fmt.Errorf("entry %d follows %d, registry at %d: %w", e.GetIndex(), e.GetPrevIndex(), r.st.index, ErrGap)
	}
	if err := r.st.check(e.GetCommand(), true); err != nil {
		return fmt.Errorf("replay entry %d: %w", e.GetIndex(), err)
	}
	e = proto.CloneOf(e)
	r.st.apply(e.GetIndex(), e.GetCommand())
	r.appendEntry(e)
	return nil
}

// appendEntry adds e to the changelog, drops what retention no longer
// keeps and moves the index. Caller holds r.mu for writing.
func (r *Registry) appendEntry(e *peerv1.ChangelogEntry) {
	st := r.st
	st.changelog = append(st.changelog, e)
	st.newestCommand(e)
	if over := len(st.changelog) - r.retention; over > 0 {
		clear(st.changelog[:over]) // let the dropped entries be collected
		st.changelog = st.changelog[over:]
	}
	st.index = e.GetIndex()
}

// newestCommand keeps e's command time if it is the latest seen.
func (st *state) newestCommand(e *peerv1.ChangelogEntry) {
	st.newestAt = max(st.newestAt, e.GetCommand().GetAtUnixNano())
}

// NewestCommandTime is the latest time among the commands this registry
// applied, or kept in its changelog from a snapshot; zero before any.
// Every command is stamped by the county's leader when it accepts it
// (at_unix_nano), so the county's clock has reached this time at least:
// a node below whose clock reads well before it is behind, whether or not
// a heartbeat has measured it (federation.Office.ClockOffset).
func (r *Registry) NewestCommandTime() time.Time {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.st.newestAt == 0 {
		return time.Time{}
	}
	return time.Unix(0, r.st.newestAt)
}

// ChangelogSince returns up to max entries (max <= 0: all) with index >
// since, oldest first. needSnapshot is true when entries after since have
// been dropped by retention (since is below the first retained entry's
// PrevIndex, or nothing is retained while since is behind): the caller
// must be sent a snapshot first.
func (r *Registry) ChangelogSince(since uint64, max int) (entries []*peerv1.ChangelogEntry, needSnapshot bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	st := r.st
	if since >= st.index {
		return nil, false
	}
	if len(st.changelog) == 0 || since < st.changelog[0].GetPrevIndex() {
		return nil, true
	}
	// Entries are in index order: find the first one after since.
	lo, hi := 0, len(st.changelog)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if st.changelog[mid].GetIndex() <= since {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	rest := st.changelog[lo:]
	if max > 0 && len(rest) > max {
		rest = rest[:max]
	}
	entries = make([]*peerv1.ChangelogEntry, len(rest))
	for i, e := range rest {
		entries[i] = proto.CloneOf(e)
	}
	return entries, false
}

// ChangelogFirstIndex returns the index of the oldest retained changelog
// entry, or 0 when none is retained.
func (r *Registry) ChangelogFirstIndex() uint64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if len(r.st.changelog) == 0 {
		return 0
	}
	return r.st.changelog[0].GetIndex()
}
