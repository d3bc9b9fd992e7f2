package raftgroup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/walstore"
	"github.com/yizhan-gov/yizhan/reason"
)

var (
	// ErrNotLeader is returned by Group.Apply on a node that is not its
	// office's leader: the caller forwards to the leader.
	ErrNotLeader error = reason.New(reason.NotLeader, "federation: not the office leader")
	// ErrNoLeader is returned when the office has no leader to forward to.
	ErrNoLeader error = reason.New(reason.NoLeader, "federation: office has no leader")
	// ErrOutcomeUnknown is returned when leadership was lost while a
	// command was in flight: it may or may not have been applied. The
	// caller must not propose it again blindly, nor forward it to another
	// node; it tells the client (OUTCOME_UNKNOWN, not Unavailable), who
	// can look before retrying.
	ErrOutcomeUnknown error = reason.New(reason.OutcomeUnknown, "federation: leadership lost while the write was in flight; it may have been applied")
	// ErrTooLarge is returned for a command larger than a raft entry may
	// be; it was not proposed.
	ErrTooLarge error = reason.New(reason.TooLarge, "federation: too large")
)

// Timing is raft's timing for an office group.
type Timing struct {
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	// NudgeQuiet: a commit within NudgeQuiet of the leader's commit
	// before it is part of a stream of writes, whose followers are nudged
	// only once the stream has been quiet that long; any other is nudged
	// at once (Group.committed). Zero nudges every commit at once.
	NudgeQuiet time.Duration
	// LeaderHold is how long a write that finds its office with no
	// leader (an election under way) waits for one before it is answered
	// NO_LEADER (Group.AwaitLeader). Zero is three election timeouts:
	// an election takes one to two, and its vote a round trip.
	LeaderHold        time.Duration
	SnapshotInterval  time.Duration
	SnapshotThreshold uint64
	TrailingLogs      uint64
}

// DefaultTiming suits offices on one LAN or a county network.
func DefaultTiming() Timing {
	return Timing{
		HeartbeatTimeout:   1000 * time.Millisecond,
		ElectionTimeout:    1000 * time.Millisecond,
		LeaderLeaseTimeout: 500 * time.Millisecond,
		// A follower learns that an entry is committed from the leader's
		// next append, which an idle leader sends every CommitTimeout to
		// twice that: the follower applies a write that long after the
		// leader (p50 30 ms at 20 ms; 7.6 ms at 5 ms), and serves reads
		// that much behind. 5 ms costs an idle office of 3 about 1% of a
		// core per node more (BenchmarkFollowerApply, docs/BENCHMARKS.md).
		CommitTimeout: 5 * time.Millisecond,
		// One client writing one write after another commits one about
		// every millisecond: 2 ms keeps the nudge's barrier out of its
		// way (BenchmarkRegistryWrite), while a write on its own is
		// still nudged at once (BenchmarkCountyPropagation).
		NudgeQuiet:        2 * time.Millisecond,
		SnapshotInterval:  60 * time.Second,
		SnapshotThreshold: 8192,
		TrailingLogs:      10240,
	}
}

// GroupConfig configures an office's raft group on one node.
type GroupConfig struct {
	Office    string
	NodeID    string
	Dir       string     // raft's log is kept in Dir/raft-wal, snapshots in Dir/snapshots
	DB        *badger.DB // the node's badger: the case book; an older release's raft log under "raft/" is moved out
	Transport raft.Transport
	FSM       *FSM
	Timing    Timing
	Logger    *slog.Logger
	HCLogger  hclog.Logger // raft's own logs, bridged to slog
	// WhoIsAt tells which node answers at a raft address (the node its
	// certificate names; "" for a certificate shared by the office's
	// nodes), so that a join claiming a live member's address does not
	// take it out (AddVoter); nil: not asked.
	WhoIsAt func(addr string) (node string, err error)
	// ForceNewCluster makes this node, at the transport's address, the
	// only voter of its office before raft starts, with every entry of
	// its log applied: the survivor of an office that lost its majority
	// (recover.go, --force-new-cluster).
	ForceNewCluster bool
	// Exit ends the process when the state machine cannot apply the
	// office's log (a damaged case book, a write the disk failed:
	// stop.go); nil: os.Exit. Tests set it.
	Exit func(code int)
}

// Group is one node's member of its office's raft group.
type Group struct {
	cfg       GroupConfig
	raft      *raft.Raft
	store     *walstore.Store
	snaps     raft.SnapshotStore
	transport raft.Transport
	log       *slog.Logger

	// nudge is signalled when this node, leading, has committed an entry
	// that nothing was appended after: nudgeFollowers tells the
	// followers it is committed.
	nudge chan struct{}
	// tailNudge is signalled instead when the entry's commit was part of
	// a stream: nudgeFollowers waits for NudgeQuiet without commits.
	tailNudge        chan struct{}
	committedThrough atomic.Uint64 // the last entry raft handed the state machine
	// lastCommit is when this node, leading, last committed an entry
	// (nanoseconds since started, a monotonic clock).
	lastCommit atomic.Int64
	started    time.Time
	stopNudges chan struct{}
	nudgesDone chan struct{}
	closeOnce  sync.Once
	peers      peerWatch // the followers' heartbeats, as the leader sees them (peers.go)
}

// OpenGroup starts raft for the office on this node from what is on disk.
// A new node has no state: call Bootstrap on the first node of a new
// office, or have an existing member add this node (Join).
func OpenGroup(cfg GroupConfig) (*Group, error) {
	if cfg.Timing == (Timing{}) {
		cfg.Timing = DefaultTiming()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.HCLogger == nil {
		cfg.HCLogger = hclog.NewNullLogger()
	}
	cfg.FSM.stopWith(cfg.Logger, cfg.Exit) // before anything applies (forceNewCluster, raft)
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.HeartbeatTimeout = cfg.Timing.HeartbeatTimeout
	rc.ElectionTimeout = cfg.Timing.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.Timing.LeaderLeaseTimeout
	rc.CommitTimeout = cfg.Timing.CommitTimeout
	rc.SnapshotInterval = cfg.Timing.SnapshotInterval
	rc.SnapshotThreshold = cfg.Timing.SnapshotThreshold
	rc.TrailingLogs = cfg.Timing.TrailingLogs
	rc.BatchApplyCh = true
	rc.Logger = cfg.HCLogger
	if err := raft.ValidateConfig(rc); err != nil {
		return nil, fmt.Errorf("federation: raft config: %w", err)
	}
	snapDir := filepath.Join(cfg.Dir, "snapshots")
	if err := os.MkdirAll(snapDir, 0o700); err != nil {
		return nil, fmt.Errorf("federation: %w", err)
	}
	files, err := raft.NewFileSnapshotStoreWithLogger(snapDir, 2, cfg.HCLogger)
	if err != nil {
		return nil, fmt.Errorf("federation: snapshot store %s: %w", snapDir, err)
	}
	removeSendCopies(snapDir)
	// The state machine recovers from the disk itself (the registry from
	// the newest snapshot, the book from the database): snapshots.go.
	if err := cfg.FSM.Recover(files); err != nil {
		return nil, err
	}
	rc.NoSnapshotRestoreOnStart = true
	snaps := &snapshotStore{FileSnapshotStore: files, fsm: cfg.FSM, dir: snapDir}
	// Raft's log and stable store: raft-wal, synced on every append
	// (walstore/DESIGN.md); an older release kept them in badger.
	store, err := walstore.Open(filepath.Join(cfg.Dir, "raft-wal"), cfg.Logger)
	if err != nil {
		return nil, fmt.Errorf("federation: %w", err)
	}
	if moved, err := walstore.MigrateFromBadger(cfg.DB, "raft/", store, cfg.Logger); err != nil {
		store.Close()
		return nil, fmt.Errorf("federation: move raft's log out of badger: %w", err)
	} else if moved {
		cfg.Logger.Info("moved raft's log from badger to raft-wal")
	}
	if err := checkBookWithinLog(cfg.FSM.cases, store, files); err != nil {
		store.Close()
		return nil, err
	}
	if cfg.ForceNewCluster {
		if err := forceNewCluster(cfg, store, files); err != nil {
			store.Close()
			return nil, err
		}
	}
	// raft's appends, terms and votes go through stoppingLogStore: one
	// the disk fails stops the node (stop.go).
	logs := stoppingLogStore{Store: store, fsm: cfg.FSM}
	r, err := raft.NewRaft(rc, cfg.FSM, logs, logs, snaps, cfg.Transport)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("federation: start raft: %w", err)
	}
	if t, ok := cfg.Transport.(interface{ Attach(*raft.Raft) }); ok {
		t.Attach(r) // raftnet.Transport: which heartbeats take its fast path
	}
	g := &Group{cfg: cfg, raft: r, store: store, snaps: snaps, transport: cfg.Transport,
		log:   cfg.Logger, // the caller's logger names the office and node
		nudge: make(chan struct{}, 1), tailNudge: make(chan struct{}, 1), stopNudges: make(chan struct{}), nudgesDone: make(chan struct{}),
		started: time.Now()}
	committed := g.committed
	cfg.FSM.committed.Store(&committed)
	g.peers.failing = map[raft.ServerID]time.Time{}
	go g.nudgeFollowers()
	go g.watchPeers()
	if cfg.FSM.legacySnapshot {
		go g.replaceLegacySnapshot()
	}
	return g, nil
}

// checkBookWithinLog refuses to start a node whose case book reflects raft
// entries that neither its log nor its newest snapshot holds. The book
// writes an entry's effects and its index only after raft has synced the
// entry, so a book past the log means the log lost entries it had
// acknowledged (a damaged disk, a copied or half-restored data directory).
// Started anyway, the node would take the new entries raft writes at
// those indexes for the ones the book already holds and skip them:
// acknowledged writes would vanish without a word. etcd stops the same
// way ("Was the raft log corrupted, truncated, or lost?").
func checkBookWithinLog(book *casebook.Book, logs raft.LogStore, snaps raft.SnapshotStore) error {
	applied := book.Applied()
	if applied == 0 {
		return nil
	}
	last, err := logs.LastIndex()
	if err != nil {
		return fmt.Errorf("federation: raft's log: %w", err)
	}
	var snapshot uint64
	if list, err := snaps.List(); err != nil {
		return fmt.Errorf("federation: list snapshots: %w", err)
	} else if len(list) > 0 {
		snapshot = list[0].Index
	}
	if applied > max(last, snapshot) {
		return fmt.Errorf("%w: the case book reflects raft index %d, but raft's log ends at %d and the newest snapshot is at %d: "+
			"the log lost entries it had acknowledged. Restore this node from a backup, or, in an office of several nodes, "+
			"remove its data directory and join it again (docs/OPERATIONS.md)", ErrLogBehindBook, applied, last, snapshot)
	}
	return nil
}

// ErrLogBehindBook is a data directory whose raft log lost entries the
// case book had applied (checkBookWithinLog).
var ErrLogBehindBook = errors.New("federation: raft's log is behind the case book")

// replaceLegacySnapshot takes a snapshot of the new format as soon as
// raft has applied an entry past the newest snapshot, which is still of
// the release that kept the book in memory: until then this node could
// not bring a follower up to date by snapshot (a follower refuses the old
// format), and every start reads that whole snapshot again.
func (g *Group) replaceLegacySnapshot() {
	for g.raft.State() != raft.Shutdown {
		time.Sleep(2 * time.Second)
		err := g.raft.Snapshot().Error()
		if err == nil {
			g.log.Info("took the first snapshot of the new format, after the upgrade")
			return
		}
		if !errors.Is(err, raft.ErrNothingNewToSnapshot) && g.raft.State() != raft.Shutdown {
			g.log.Warn("snapshot after the upgrade", "err", err)
		}
	}
}

// HasState reports whether this node already belongs to a raft group.
func (g *Group) HasState() (bool, error) {
	return raft.HasExistingState(g.store, g.store, g.snaps)
}

// Bootstrap makes this node the first voter of a new office group. It does
// nothing when the node already has raft state.
func (g *Group) Bootstrap() error {
	has, err := g.HasState()
	if err != nil {
		return fmt.Errorf("federation: %w", err)
	}
	if has {
		return nil
	}
	cfg := raft.Configuration{Servers: []raft.Server{{
		Suffrage: raft.Voter, ID: raft.ServerID(g.cfg.NodeID), Address: g.transport.LocalAddr(),
	}}}
	if err := g.raft.BootstrapCluster(cfg).Error(); err != nil && !errors.Is(err, raft.ErrCantBootstrap) {
		return fmt.Errorf("federation: bootstrap: %w", err)
	}
	g.log.Info("bootstrapped a new office raft group")
	return nil
}

// Apply proposes cmd and waits until it is applied here. It answers
// ErrNotLeader on a follower. An error other than ErrNotLeader leaves it
// unknown whether the command was applied; the result's Err is the
// applier's verdict.
func (g *Group) Apply(ctx context.Context, cmd *peerv1.Command) (*ApplyResult, error) {
	if g.raft.State() != raft.Leader {
		return nil, ErrNotLeader
	}
	data, err := proto.Marshal(cmd)
	if err != nil {
		return nil, fmt.Errorf("federation: encode command: %w", err)
	}
	limit := MaxEntryBytes
	if cmd.GetInstallSnapshot() != nil {
		limit = MaxSnapshotBytes
	}
	if len(data) > limit {
		// Refused before it enters the log: nothing this large may be
		// committed, for it could not travel on down the tree.
		return nil, reason.Errorf(reason.TooLarge, reason.Meta{"bytes": reason.Itoa(len(data)), "max": reason.Itoa(limit)},
			"%w: the command is %d bytes, more than the %d a raft entry may have", ErrTooLarge, len(data), limit)
	}
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	// Decoded here while raft writes and syncs it (prepared.go).
	ahead := g.cfg.FSM.ahead.add(data)
	defer g.cfg.FSM.ahead.drop(ahead)
	f := g.raft.Apply(data, timeout)
	// Waited for in a goroutine of its own. Waiting in this one instead
	// (tried in session 29, with a raft future that also takes the
	// context) saves a goroutine and a wake-up a write, but cost many
	// clients' writes their batching: the leader, free sooner, synced
	// batches of two entries instead of seven (64 clients, 2 vCPUs), at
	// about 0.1 ms of CPU an fsync: 4,000 filings a second instead of
	// 5,600, for one client's filing 0.02 ms faster at most
	// (docs/BENCHMARKS.md).
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	ahead.decode()
	select {
	case err = <-done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err != nil {
		switch {
		case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
			// Refused before it entered the log: safe to send elsewhere.
			return nil, fmt.Errorf("%w: %v", ErrNotLeader, err)
		case errors.Is(err, raft.ErrLeadershipLost):
			return nil, fmt.Errorf("%w: %v", ErrOutcomeUnknown, err)
		}
		return nil, fmt.Errorf("federation: apply: %w", err)
	}
	res, ok := f.Response().(*ApplyResult)
	if !ok {
		return nil, fmt.Errorf("federation: unexpected apply response %T", f.Response())
	}
	return res, nil
}

// committed is told by the state machine, before it applies them, that
// raft committed the entries through last. hashicorp/raft sends a
// follower the commit index only with its next append; when the writes
// stop, the leader sends one only after CommitTimeout (to twice that,
// later on a busy machine), and until then the followers neither apply
// the write nor serve it. So when nothing was appended after last (an
// entry appended later is sent with this commit index, or is committed
// later and told here), the leader nudges the followers: it appends a
// barrier (an entry the state machine never sees) whose append carries
// the commit index, and they apply the write a round trip after the
// leader, about when the leader answers its client.
//
// Not after every write of a stream, though: a client writing one write
// after another would have a barrier appended, and synced on every node,
// between each write and the next, which waits for it (a quarter slower,
// one client at a county of 3). A commit within Timing.NudgeQuiet of the
// one before is nudged only once the writes have stopped that long; until
// then the next write's append tells the followers.
func (g *Group) committed(last uint64) {
	g.committedThrough.Store(last)
	if g.raft.State() != raft.Leader {
		return
	}
	now := int64(time.Since(g.started))
	prev := g.lastCommit.Swap(now)
	if g.raft.LastIndex() != last {
		return
	}
	if servers, err := g.Members(); err != nil || len(servers) < 2 {
		// No one to tell: not even a wake-up for the nudger, on every
		// write of an office of one node.
		return
	}
	nudge := g.nudge
	if prev != 0 && now-prev < int64(g.cfg.Timing.NudgeQuiet) {
		nudge = g.tailNudge
	}
	select {
	case nudge <- struct{}{}:
	default: // a nudge is due already
	}
}

// sinceLastCommit is how long ago this node, leading, last committed an
// entry.
func (g *Group) sinceLastCommit() time.Duration {
	return time.Since(g.started) - time.Duration(g.lastCommit.Load())
}

// quiet waits until the leader has committed nothing for NudgeQuiet. It
// returns false when the group is closing.
func (g *Group) quiet() bool {
	t := time.NewTimer(g.cfg.Timing.NudgeQuiet)
	defer t.Stop()
	for {
		since := g.sinceLastCommit()
		if since >= g.cfg.Timing.NudgeQuiet {
			return true
		}
		t.Reset(g.cfg.Timing.NudgeQuiet - since)
		select {
		case <-g.stopNudges:
			return false
		case <-t.C:
		}
	}
}

// nudgeFollowers appends the barriers committed asks for, one at a time.
// Entries committed while a barrier was on its way may have been sent
// before they were committed with nothing after them to carry it (the
// barrier itself was appended after them): when nothing follows the
// barrier, one more tells the followers: at once, or once the writes
// have stopped if they are a stream (else one client's stream would have
// a barrier after each write again). An office of one node has no one to
// tell.
func (g *Group) nudgeFollowers() {
	defer close(g.nudgesDone)
	for {
		tail := false
		select {
		case <-g.stopNudges:
			return
		case <-g.nudge:
		case <-g.tailNudge:
			tail = true
		}
		// GetConfiguration is a copy of raft's latest configuration, not
		// a trip through its main loop: cheap enough for every write.
		if servers, err := g.Members(); err != nil || len(servers) < 2 {
			continue
		}
		if tail {
			if !g.quiet() {
				return
			}
			if g.raft.LastIndex() != g.committedThrough.Load() {
				// Appended since, and its commit nudges (or not); or a
				// barrier already carried the last commit.
				continue
			}
		}
		for {
			through := g.committedThrough.Load()
			done := make(chan error, 1)
			b := g.raft.Barrier(100 * time.Millisecond)
			go func() { done <- b.Error() }()
			var err error
			select {
			case <-g.stopNudges:
				return
			case err = <-done:
			}
			if err != nil || g.committedThrough.Load() == through || g.raft.LastIndex() != g.raft.AppliedIndex() {
				break
			}
			// Committed while the barrier was on its way, nothing after:
			// one more barrier, once the writes stop if they are a stream.
			if g.sinceLastCommit() < g.cfg.Timing.NudgeQuiet {
				if !g.quiet() {
					return
				}
				if g.raft.LastIndex() != g.raft.AppliedIndex() {
					break // appended since: its commit nudges, or not
				}
			}
		}
	}
}

// Snapshot takes a raft snapshot of the office's state now (tests, and an
// operator about to copy a data directory).
func (g *Group) Snapshot() error { return g.raft.Snapshot().Error() }

// TransferLeadership hands this leader's office over to another voter
// and waits until it leads (or the attempt fails): what Close does
// before a leader stops, for a node that runs on.
func (g *Group) TransferLeadership() error { return g.raft.LeadershipTransfer().Error() }

// LocalValue returns what SetLocalValue kept under key on this node (nil
// when nothing was).
func (g *Group) LocalValue(key string) ([]byte, error) {
	return g.store.Get([]byte(localKeyPrefix + key))
}

// SetLocalValue keeps val under key on this node's disk, with raft's own
// state (its term and vote, in raft-wal's metadata, synced): a few bytes
// written now and then that this node reads after a restart. It is not
// replicated, nor in snapshots or backups.
func (g *Group) SetLocalValue(key string, val []byte) error {
	return g.store.Set([]byte(localKeyPrefix+key), val)
}

// localKeyPrefix sets SetLocalValue's keys apart from raft's own.
const localKeyPrefix = "yizhan/"

// Barrier waits until every committed entry is applied here (leader only).
func (g *Group) Barrier(timeout time.Duration) error { return g.raft.Barrier(timeout).Error() }

// IsLeader reports whether this node leads its office.
func (g *Group) IsLeader() bool { return g.raft.State() == raft.Leader }

// Leader returns the leader's raft address and ID ("" when none is known).
func (g *Group) Leader() (addr, id string) {
	a, i := g.raft.LeaderWithID()
	return string(a), string(i)
}

// AwaitLeader returns the office's leader as Leader does, waiting for
// one while there is none, for at most the timing's LeaderHold or until
// ctx ends: a write that meets an election is carried through it rather
// than answered "no leader" (id "" when none came in time).
func (g *Group) AwaitLeader(ctx context.Context) (addr, id string) {
	hold := g.cfg.Timing.LeaderHold
	if hold <= 0 {
		hold = 3 * g.cfg.Timing.ElectionTimeout
	}
	if !Poll(ctx, hold, func() bool { addr, id = g.Leader(); return id != "" }) {
		return "", ""
	}
	return addr, id
}

// Poll reports whether cond holds, asking it at once and then every 5 ms
// until it does, limit has passed or ctx ends: the wait for something
// raft says only when asked (a leader known, a leader's barrier applied).
func Poll(ctx context.Context, limit time.Duration, cond func() bool) bool {
	if cond() {
		return true
	}
	timer := time.NewTimer(limit)
	defer timer.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return false
		case <-tick.C:
			if cond() {
				return true
			}
		}
	}
}

// LeaderCh is notified of leadership changes of this node.
func (g *Group) LeaderCh() <-chan bool { return g.raft.LeaderCh() }

// State is this node's raft state.
func (g *Group) State() raft.RaftState { return g.raft.State() }

// Stats are raft's statistics.
func (g *Group) Stats() map[string]string { return g.raft.Stats() }

// AppliedIndex is the last raft index applied here.
func (g *Group) AppliedIndex() uint64 { return g.raft.AppliedIndex() }

// CommitIndex is the last raft index this node knows to be committed.
func (g *Group) CommitIndex() uint64 { return g.raft.CommitIndex() }

// CurrentTerm is this node's current raft term.
func (g *Group) CurrentTerm() uint64 { return g.raft.CurrentTerm() }

// LastContact is when this follower last heard from its leader.
func (g *Group) LastContact() time.Time { return g.raft.LastContact() }

// Members returns the office's raft configuration.
func (g *Group) Members() ([]raft.Server, error) {
	f := g.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, fmt.Errorf("federation: configuration: %w", err)
	}
	return f.Configuration().Servers, nil
}

// AddVoter adds a node to the office (leader only). Adding a node that is
// already a voter at the same address does nothing.
func (g *Group) AddVoter(id, addr string) error {
	if !g.IsLeader() {
		return ErrNotLeader
	}
	servers, err := g.Members()
	if err != nil {
		return err
	}
	for _, s := range servers {
		if string(s.ID) == id && string(s.Address) == addr && s.Suffrage == raft.Voter {
			return nil
		}
		if string(s.ID) != id && string(s.Address) == addr && g.cfg.WhoIsAt != nil {
			// A new name at a member's address: a machine that replaced
			// it (the member's name no longer answers there), or a node
			// started with that member's --advertise by mistake, which
			// must not take a live member out.
			if who, err := g.cfg.WhoIsAt(addr); err == nil && who == string(s.ID) {
				return fmt.Errorf("%w: %s is the raft address of member %s, which answers there: the joining node %s advertises another's address (check its --advertise)",
					ErrAddressInUse, addr, s.ID, id)
			}
		}
		if string(s.ID) == id || string(s.Address) == addr {
			// The node came back with a new address or a new name: drop the
			// stale entry first.
			if err := g.raft.RemoveServer(s.ID, 0, 10*time.Second).Error(); err != nil {
				return fmt.Errorf("federation: remove stale member %s: %w", s.ID, err)
			}
		}
	}
	if err := g.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, 10*time.Second).Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) {
			return fmt.Errorf("%w: %v", ErrNotLeader, err)
		}
		return fmt.Errorf("federation: add voter %s: %w", id, err)
	}
	g.log.Info("added node to office", "member", id, "raft_address", addr)
	return nil
}

// ErrAddressInUse refuses a join at the raft address of a member that
// answers there (AddVoter).
var ErrAddressInUse = errors.New("federation: the raft address is a live member's")

// ErrNotMember is a node that is not a member of the office's group.
var ErrNotMember = errors.New("federation: not a member of the office")

// ErrLastVoter refuses to take out the office's last voter.
var ErrLastVoter = errors.New("federation: the office's last voter stays")

// RemoveMember takes node id out of the office's group (leader only): a
// node whose machine is gone for good, or one the office no longer runs;
// the leader itself too (it steps down once the change is committed).
// The last voter stays (ErrLastVoter).
func (g *Group) RemoveMember(id string) error {
	if !g.IsLeader() {
		return ErrNotLeader
	}
	servers, err := g.Members()
	if err != nil {
		return err
	}
	voters, found, voter := 0, false, false
	for _, s := range servers {
		if s.Suffrage == raft.Voter {
			voters++
		}
		if string(s.ID) == id {
			found, voter = true, s.Suffrage == raft.Voter
		}
	}
	switch {
	case !found:
		return fmt.Errorf("%w: %s (members: %d)", ErrNotMember, id, len(servers))
	case voter && voters <= 1:
		return fmt.Errorf("%w: %s", ErrLastVoter, id)
	}
	if err := g.raft.RemoveServer(raft.ServerID(id), 0, 10*time.Second).Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) {
			return fmt.Errorf("%w: %v", ErrNotLeader, err)
		}
		return fmt.Errorf("federation: remove member %s: %w", id, err)
	}
	g.log.Info("removed node from office", "member", id)
	return nil
}

// Close leaves the office cleanly: a leader of a group with other voters
// hands leadership over first, so writes go on without an election; then
// raft shuts down. The caller closes badger after this.
func (g *Group) Close() error {
	g.closeOnce.Do(func() { close(g.stopNudges) })
	<-g.nudgesDone
	if g.IsLeader() {
		if servers, err := g.Members(); err == nil && len(servers) > 1 {
			if err := g.raft.LeadershipTransfer().Error(); err != nil {
				g.log.Warn("leadership transfer failed", "err", err)
			} else {
				g.log.Info("handed leadership over")
			}
		}
	}
	if err := g.raft.Shutdown().Error(); err != nil {
		g.store.Close()
		return fmt.Errorf("federation: shutdown raft: %w", err)
	}
	if err := g.store.Close(); err != nil {
		return fmt.Errorf("federation: close raft's log: %w", err)
	}
	return nil
}
