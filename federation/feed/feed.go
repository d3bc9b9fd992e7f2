package feed

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/federation/forward"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/registry"
)

// feedChunkBytes is the size of the pieces a large feed message is sent
// in; feedBatchBytes how large a feed batch grows at most. Both keep every
// feed message well under forward.MaxPeerMessageBytes.
const (
	feedChunkBytes = 1 << 20
	feedBatchBytes = 1 << 20
)

// Config is what one node's feed works with.
type Config struct {
	Office string // this node's office
	County string // the county it belongs to
	Node   string // this node's name

	Registry *registry.Registry
	FSM      *raftgroup.FSM
	Group    *raftgroup.Group
	Peers    *forward.Peers
	Routes   *forward.Routes // UpTargets: where the feed comes from
	Logger   *slog.Logger

	Heartbeat      time.Duration // how often an idle feed says it is alive (default 1s)
	Batch          int           // entries per feed message (default 512)
	FallbackPeriod time.Duration // how long to stay on a fallback feed before retrying the parent (default 30s)
	// SnapshotsAtOnce is how many registry snapshots this node sends at
	// once (0: DefaultSnapshotsAtOnce); a subscriber asking for one
	// more is told to come back (Unavailable, with a RetryInfo).
	SnapshotsAtOnce int
	// IdleTimeout is how long a feed may stay silent (no batch, no
	// heartbeat) before the source is taken for hung and the next one is
	// tried (default 5 heartbeats, at least 3s).
	IdleTimeout time.Duration
	// Now is the node's clock, measured against the county's by the
	// heartbeats (clock.go); nil: time.Now.
	Now func() time.Time
	// Elapsed is the time gone by when Now read now, whatever setting of
	// the wall clock, a sleep of the machine counted (clock.go); nil:
	// the boot clock where the system has one (bootElapsed).
	Elapsed func(now time.Time) time.Duration
	// AskLeader asks this office's leader how stale its registry is (the
	// Progress RPC), which a follower asks each Heartbeat for
	// StaleSeconds; known is false when the leader does not say (an older
	// version). nil: a follower never asks.
	AskLeader func(ctx context.Context) (stale float64, known bool, err error)
}

// Feed is one node's part in the registry feed: it serves the registry's
// changelog to the offices below (Serve), and on the leader of an office
// below the county pulls it from above (Run).
type Feed struct {
	cfg Config
	reg *registry.Registry
	log *slog.Logger
	// snapshots is the registry snapshot the streams sending one share.
	snapshots snapshotCache

	mu     sync.Mutex // guards status, clock, told and savedAt
	status Status
	clock  clockEstimate
	// told is, on a follower, how stale its leader last said the
	// registry was (followLeader).
	told leaderWord
	// started is when this feed was made (the node started); held is
	// when the registry this node holds was last in sync before, as the
	// node kept it (saveInSync); savedAt when it last kept it.
	started time.Time
	held    heldInSync
	savedAt time.Time
}

// Status is where this office's registry comes from and how fresh it is.
type Status struct {
	Source        string // peer address of the upstream node
	SourceOffice  string
	LastContact   time.Time
	UpstreamIndex uint64
	InSyncAt      time.Time // when the registry last matched the upstream's
	// LastError is the feed's last error, kept after it recovers and
	// forgotten when this node stops pulling (it no longer leads).
	LastError   string
	LastErrorAt time.Time // when it happened
	// UpstreamStaleSeconds is how stale the source said it was itself in
	// its last heartbeat (its own StaleSeconds: a township cut off from
	// the county), at UpstreamStaleAt.
	UpstreamStaleSeconds float64
	UpstreamStaleAt      time.Time
	// SnapshotsInstalled counts registry snapshots taken from upstream
	// because this office was behind what the upstream's changelog keeps.
	SnapshotsInstalled int
}

// leaderWord is how stale an office's leader said its registry was
// (stale seconds), and when a follower heard it (at).
type leaderWord struct {
	stale float64
	at    time.Time
}

// New returns the feed of a node. Run pulls; Serve serves.
func New(cfg Config) *Feed {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 512
	}
	if cfg.FallbackPeriod <= 0 {
		cfg.FallbackPeriod = 30 * time.Second
	}
	if cfg.SnapshotsAtOnce <= 0 {
		cfg.SnapshotsAtOnce = DefaultSnapshotsAtOnce
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = max(5*cfg.Heartbeat, 3*time.Second)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Elapsed == nil {
		cfg.Elapsed = bootElapsed
	}
	f := &Feed{cfg: cfg, reg: cfg.Registry, log: cfg.Logger, started: time.Now()}
	if cfg.Office != cfg.County {
		f.held = loadInSync(cfg.Group, cfg.Logger)
	}
	return f
}

func (f *Feed) isCounty() bool { return f.cfg.Office == f.cfg.County }

// Status returns the state of the registry feed (below the county).
func (f *Feed) Status() Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

func (f *Feed) update(change func(*Status)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(&f.status)
}

// UpstreamIndex is the newest registry index this node has heard of.
func (f *Feed) UpstreamIndex() uint64 {
	if f.isCounty() {
		return f.reg.Index()
	}
	return max(f.Status().UpstreamIndex, f.cfg.FSM.UpstreamIndex(), f.reg.Index())
}

// StaleSeconds tells how long this node's registry may have missed
// changes made at the county: 0 at the county's leader, and below while
// the feed is in sync with a source that is in sync itself; otherwise
// the seconds since it last was. The source's heartbeats say how stale
// it is (a township cut off from the county feeds its villages what it
// has): the leader below the county is at least as stale as its source
// was then, plus the time since. A follower below the county is as
// stale as its leader said in its last answer (followLeader, each
// Heartbeat), plus the time since, and at least since it last heard
// from its leader: a follower of a township cut off from the county
// reads the township's staleness, and so do the villages it feeds. An
// answer not heard lately (the leader out of reach, or of a version
// that does not say) is no word of freshness: the last one ages. Never
// negative: a node not known in sync since it started counts from when
// it was before (syncedAt), or at least from its start.
func (f *Feed) StaleSeconds(now time.Time) float64 {
	g := f.cfg.Group
	if f.isCounty() {
		if g.IsLeader() {
			return 0
		}
		lc := g.LastContact()
		if lc.IsZero() {
			lc = f.started
		}
		if now.Sub(lc) > 2*time.Second {
			return now.Sub(lc).Seconds()
		}
		return 0
	}
	if g.IsLeader() {
		return f.leaderStale(now).Seconds()
	}
	var own, word time.Duration
	lc := g.LastContact()
	switch {
	case lc.IsZero():
		own = max(now.Sub(f.started), 0)
	case f.reg.Index() < f.cfg.FSM.UpstreamIndex() || now.Sub(lc) >= 2*time.Second:
		own = max(now.Sub(lc), 0)
	}
	if f.cfg.AskLeader != nil {
		f.mu.Lock()
		told := f.told
		f.mu.Unlock()
		if told.at.IsZero() {
			told.at = f.started // nothing heard since it started
		}
		if told.stale > 0 || now.Sub(told.at) >= f.wordLasts() {
			word = time.Duration(told.stale*float64(time.Second)) + max(now.Sub(told.at), 0)
		}
	}
	return max(own, word).Seconds()
}

// leaderStale is StaleSeconds on the leader of an office below the
// county: since its registry was last in sync with its feed's source,
// and at least as stale as the source said it was, plus the time since.
func (f *Feed) leaderStale(now time.Time) time.Duration {
	st := f.Status()
	var own, upstream time.Duration
	if f.reg.Index() < st.UpstreamIndex || now.Sub(st.LastContact) >= 3*f.cfg.Heartbeat {
		own = max(now.Sub(f.syncedAt(st)), 0)
	}
	if st.UpstreamStaleSeconds > 0 {
		upstream = time.Duration(st.UpstreamStaleSeconds*float64(time.Second)) + max(now.Sub(st.UpstreamStaleAt), 0)
	}
	return max(own, upstream)
}

// wordLasts is how long a follower takes its leader's word that the
// registry is in sync for fresh: a few of the Heartbeats it asks at.
func (f *Feed) wordLasts() time.Duration { return max(3*f.cfg.Heartbeat, 2*time.Second) }

// followLeader keeps, each Heartbeat until ctx ends, how stale this
// office's leader says its registry is (told, for StaleSeconds on a
// follower). While this node leads, its own word stands in, so that
// when it stops leading it holds what it knew until the new leader
// answers. A leader that does not say (an older version) leaves the last
// word to age: this node then does not know.
func (f *Feed) followLeader(ctx context.Context) {
	t := time.NewTicker(f.cfg.Heartbeat)
	defer t.Stop()
	silent := false // the leader did not say, and this node logged it
	for {
		g := f.cfg.Group
		now := time.Now()
		switch _, leader := g.Leader(); {
		case g.IsLeader():
			f.tell(f.leaderStale(now).Seconds(), now)
		case leader != "":
			stale, known, err := f.cfg.AskLeader(ctx)
			switch {
			case err != nil:
				f.log.Debug("asking the office's leader how stale the registry is", "leader", leader, "err", err)
			case !known:
				if !silent {
					f.log.Info("the office's leader does not say how stale its registry is (an older version): this node counts it stale from when it last knew", "leader", leader)
					silent = true
				}
			default:
				f.tell(stale, time.Now())
				silent = false
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tell keeps how stale the leader said the registry was, heard at at.
func (f *Feed) tell(stale float64, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.told = leaderWord{stale: max(stale, 0), at: at}
}

// syncedAt is when the registry of this node, leading, was last known
// in sync: when its feed last was (Status.InSyncAt); before its feed has
// been, the latest of when the registry it holds was before a restart
// (saveInSync) and when it last heard from its office's leader before it
// led, or else when it started (the registry was in sync before, when
// is not known: a lower bound).
func (f *Feed) syncedAt(st Status) time.Time {
	if !st.InSyncAt.IsZero() {
		return st.InSyncAt
	}
	at := f.cfg.Group.LastContact()
	if h := f.held; !h.at.IsZero() && h.index <= f.reg.Index() && h.at.After(at) {
		at = h.at
	}
	if at.IsZero() {
		return f.started
	}
	return at
}

// heldInSync is a time the registry was in sync with its source, and its
// index then: a registry at that index or past it was at least as fresh.
type heldInSync struct {
	at    time.Time
	index uint64
}

// inSyncKey is where saveInSync keeps heldInSync (raftgroup's
// SetLocalValue: with raft's state on this node's disk); inSyncSaveEvery
// how often at most, so that a restart loses at most that much of it.
const (
	inSyncKey       = "feed_in_sync"
	inSyncSaveEvery = time.Minute
)

// saveInSync keeps, at most every inSyncSaveEvery, that the registry was
// in sync at index at at, for StaleSeconds after a restart.
func (f *Feed) saveInSync(at time.Time, index uint64) {
	f.mu.Lock()
	due := at.Sub(f.savedAt) >= inSyncSaveEvery || at.Before(f.savedAt)
	if due {
		f.savedAt = at
	}
	f.mu.Unlock()
	if !due {
		return
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(at.UnixNano()))
	binary.BigEndian.PutUint64(b[8:], index)
	if err := f.cfg.Group.SetLocalValue(inSyncKey, b[:]); err != nil {
		f.log.Warn("keeping when the registry was in sync", "err", err)
	}
}

// loadInSync reads what saveInSync kept (zero when nothing).
func loadInSync(g *raftgroup.Group, log *slog.Logger) heldInSync {
	if g == nil {
		return heldInSync{}
	}
	b, err := g.LocalValue(inSyncKey)
	if err != nil {
		log.Warn("reading when the registry was last in sync", "err", err)
	}
	if len(b) != 16 {
		return heldInSync{}
	}
	return heldInSync{at: time.Unix(0, int64(binary.BigEndian.Uint64(b[:8]))), index: binary.BigEndian.Uint64(b[8:])}
}

// Serve streams the registry changelog to a node of an office below
// this one: a snapshot first when the subscriber is behind what the
// changelog keeps, then batches of entries, and a heartbeat when idle.
// It wakes at each change of the registry (FSM.RegistryChanged); case
// commands do not wake it. Each subscriber gets only the password hashes
// its office may use.
func (f *Feed) Serve(req *peerv1.FeedRequest, stream grpc.ServerStreamingServer[peerv1.FeedMessage]) error {
	ctx := stream.Context()
	id, err := pki.PeerIdentity(ctx)
	if err != nil {
		return status.Error(codes.Unauthenticated, err.Error())
	}
	sub := req.GetOfficeCode()
	if id.Office != sub {
		return status.Errorf(codes.PermissionDenied, "certificate names office %s, request claims %s", id.Office, sub)
	}
	if sub == f.cfg.Office || !registry.IsAncestorOrSelf(f.cfg.Office, sub) {
		return status.Errorf(codes.PermissionDenied, "office %s is not below office %s", sub, f.cfg.Office)
	}
	since := req.GetSinceIndex()
	f.log.Info("feed subscriber", "subscriber", sub, "subscriber_node", req.GetNode(), "since", since)
	hb := time.NewTicker(f.cfg.Heartbeat)
	defer hb.Stop()
	for {
		changed := f.cfg.FSM.RegistryChanged()
		entries, needSnapshot := f.reg.ChangelogSince(since, f.cfg.Batch)
		switch {
		case needSnapshot:
			index, err := f.sendSnapshot(stream, sub)
			if err != nil {
				return err
			}
			since = index
			continue
		case len(entries) > 0:
			// Cut by bytes, not only by count: a batch must travel.
			batch := &peerv1.FeedBatch{UpstreamIndex: f.UpstreamIndex()}
			size := 0
			for _, e := range entries {
				r := registry.RedactEntry(e, sub)
				n := proto.Size(r)
				if len(batch.Entries) > 0 && size+n > feedBatchBytes {
					break
				}
				batch.Entries = append(batch.Entries, r)
				size += n
			}
			if err := sendFeed(stream, &peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Batch{Batch: batch}}); err != nil {
				return err
			}
			since = batch.Entries[len(batch.Entries)-1].GetIndex()
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-hb.C:
			hbm := &peerv1.FeedHeartbeat{UpstreamIndex: f.UpstreamIndex(), UpstreamStaleSeconds: f.StaleSeconds(time.Now())}
			if t := f.countyTime(f.cfg.Now()); !t.IsZero() {
				hbm.CountyTimeUnixNano = t.UnixNano()
			}
			if err := stream.Send(&peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Heartbeat{Heartbeat: hbm}}); err != nil {
				return err
			}
		}
	}
}

// sendFeed sends msg on a feed, in FeedChunk pieces when it is larger
// than feedChunkBytes, so that no feed message nears the gRPC limit
// whatever the size of the registry or of one entry.
func sendFeed(stream grpc.ServerStreamingServer[peerv1.FeedMessage], msg *peerv1.FeedMessage) error {
	if proto.Size(msg) <= feedChunkBytes {
		return stream.Send(msg)
	}
	data, err := proto.Marshal(msg)
	if err != nil {
		return fmt.Errorf("federation: encode feed message: %w", err)
	}
	for off := 0; off < len(data); off += feedChunkBytes {
		end := min(off+feedChunkBytes, len(data))
		chunk := &peerv1.FeedChunk{Data: data[off:end], Last: end == len(data)}
		if err := stream.Send(&peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Chunk{Chunk: chunk}}); err != nil {
			return err
		}
	}
	return nil
}

// feedAssembler puts chunked feed messages back together.
type feedAssembler struct{ buf []byte }

// add takes one message off the stream and returns the whole message it
// completes, or nil while a chunked message is still incomplete.
func (a *feedAssembler) add(msg *peerv1.FeedMessage) (*peerv1.FeedMessage, error) {
	c := msg.GetChunk()
	if c == nil {
		if len(a.buf) > 0 {
			return nil, errors.New("federation: feed message inside a chunked one")
		}
		return msg, nil
	}
	if len(a.buf)+len(c.GetData()) > raftgroup.MaxSnapshotBytes {
		return nil, fmt.Errorf("federation: chunked feed message over %d bytes", raftgroup.MaxSnapshotBytes)
	}
	a.buf = append(a.buf, c.GetData()...)
	if !c.GetLast() {
		return nil, nil
	}
	whole := &peerv1.FeedMessage{}
	err := proto.Unmarshal(a.buf, whole)
	a.buf = nil
	if err != nil {
		return nil, fmt.Errorf("federation: decode chunked feed message: %w", err)
	}
	if whole.GetChunk() != nil {
		return nil, errors.New("federation: chunk inside a chunk")
	}
	return whole, nil
}

// Run runs the feed puller while this node leads an office below the
// county, and asks the leader how stale the registry is while it follows
// (followLeader), until ctx ends.
func (f *Feed) Run(ctx context.Context) {
	if f.cfg.AskLeader != nil {
		done := make(chan struct{})
		defer func() { <-done }()
		go func() { defer close(done); f.followLeader(ctx) }()
	}
	var running *puller
	defer func() { running.stop() }()
	check := time.NewTicker(250 * time.Millisecond)
	defer check.Stop()
	for {
		leading := f.cfg.Group.IsLeader()
		if leading && running == nil {
			running = f.startPuller(ctx)
		} else if !leading && running != nil {
			running.stop()
			running = nil
			// What the feed met while this node led is no longer its
			// to report (the metric yizhan_registry_feed_failing): the
			// new leader pulls.
			f.update(func(s *Status) {
				s.LastError, s.LastErrorAt = "", time.Time{}
				s.UpstreamStaleSeconds, s.UpstreamStaleAt = 0, time.Time{}
			})
		}
		select {
		case <-ctx.Done():
			return
		case <-f.cfg.Group.LeaderCh():
		case <-check.C:
		}
	}
}

// puller is a running pullLoop.
type puller struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (f *Feed) startPuller(ctx context.Context) *puller {
	ctx, cancel := context.WithCancel(ctx)
	p := &puller{cancel: cancel, done: make(chan struct{})}
	go func() { defer close(p.done); f.pullLoop(ctx) }()
	return p
}

func (p *puller) stop() {
	if p != nil {
		p.cancel()
		<-p.done
	}
}

// pullLoop pulls the registry from upstream until ctx ends, trying each
// source in turn and backing off when none answers. A source that failed
// without giving anything is passed over for a while, so that a hung
// parent costs one idle timeout, not one per round.
func (f *Feed) pullLoop(ctx context.Context) {
	backoff := 200 * time.Millisecond
	failedAt := map[string]time.Time{}
	lastCause := ""
	for ctx.Err() == nil {
		progressed, heldAtUnknownKind := false, false
		var busyFor time.Duration // a source sending as many snapshots as it does at once
		sources := f.cfg.Routes.UpTargets()
		for i, src := range sources {
			if ctx.Err() != nil {
				return
			}
			if t, failed := failedAt[src.Addr]; failed && time.Since(t) < feedRetryAfter && i < len(sources)-1 {
				continue
			}
			preferred := i == 0 || src.Office == registry.ParentCode(f.cfg.Office)
			n, err := f.pullFrom(ctx, src, preferred)
			if n > 0 {
				progressed = true
				delete(failedAt, src.Addr)
			}
			if errors.Is(err, ErrUnknownKind) {
				heldAtUnknownKind = true
			}
			if d, busy := busyRetryAfter(err); busy && ctx.Err() == nil {
				// Not a failure: it asks this office to come back, and the
				// next source (the county) would only be asked the same.
				// So too after it fed some (a stream that came to need
				// the registry whole): asked again at once, it would only
				// answer the same.
				cause := src.Addr + " busy"
				level := slog.LevelInfo
				if cause == lastCause {
					level = slog.LevelDebug
				}
				f.log.Log(ctx, level, "registry feed source is sending the registry whole to as many offices as it does at once: asking it again later", "source", src.Addr, "wait", d)
				lastCause, busyFor = cause, d
				break
			}
			if err != nil && ctx.Err() == nil {
				if n == 0 || errors.Is(err, errFeedIdle) {
					failedAt[src.Addr] = time.Now()
				}
				// Each new cause once at warn; the same again at debug.
				cause := src.Addr + " " + status.Code(err).String()
				if cause != lastCause && heldAtUnknownKind {
					f.log.Warn("registry feed stopped at an entry of a kind this release does not know: upgrade this office's nodes to the release of the office above", "source", src.Addr, "err", err)
					lastCause = cause
				} else if cause != lastCause {
					f.log.Warn("registry feed failed: trying the next source", "source", src.Addr, "err", err)
					lastCause = cause
				} else {
					f.log.Debug("registry feed failed", "source", src.Addr, "err", err)
				}
				now := time.Now()
				f.update(func(s *Status) { s.LastError, s.LastErrorAt = fmt.Sprintf("%s: %v", src.Addr, err), now })
			}
			if progressed || heldAtUnknownKind {
				break
			}
		}
		wait := backoff
		switch {
		case busyFor > 0:
			wait = busyFor
		case heldAtUnknownKind:
			// Every source feeds the same entry: ask again now and
			// then, not at once, until this node is upgraded.
			wait = unknownKindRetry
		case progressed:
			backoff = 200 * time.Millisecond
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// feedRetryAfter is how long a feed source that failed without giving
// anything is passed over while others remain.
const feedRetryAfter = 30 * time.Second

// errFeedIdle ends a feed session whose source has gone silent.
var errFeedIdle = errors.New("federation: the feed source went silent")

// pullFrom follows one source's feed until it breaks, ctx ends, or (for a
// fallback source) FallbackPeriod has passed. It returns how many messages
// it received.
func (f *Feed) pullFrom(ctx context.Context, src forward.Target, preferred bool) (int, error) {
	conn, err := f.cfg.Peers.Conn(src.Addr, src.Office)
	if err != nil {
		return 0, err
	}
	if !preferred {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.cfg.FallbackPeriod)
		defer cancel()
	}
	// A source that says nothing, not even its heartbeat, for
	// IdleTimeout is taken for hung (a stopped process or a
	// black-holed link keeps a stream open without end).
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(f.cfg.IdleTimeout, func() { cancel(errFeedIdle) })
	defer idle.Stop()
	stream, err := peerv1.NewPeerClient(conn).Feed(sctx, &peerv1.FeedRequest{
		OfficeCode: f.cfg.Office, Node: f.cfg.Node, SinceIndex: f.reg.Index(),
	})
	if err != nil {
		if context.Cause(sctx) == errFeedIdle && ctx.Err() == nil {
			return 0, fmt.Errorf("%w after %s", errFeedIdle, f.cfg.IdleTimeout)
		}
		return 0, err
	}
	received := 0
	var chunks feedAssembler
	for {
		idle.Reset(f.cfg.IdleTimeout)
		piece, err := stream.Recv()
		idle.Stop()
		if err != nil {
			if ctx.Err() != nil {
				return received, nil
			}
			if context.Cause(sctx) == errFeedIdle {
				return received, fmt.Errorf("%w after %s", errFeedIdle, f.cfg.IdleTimeout)
			}
			if errors.Is(err, io.EOF) {
				return received, nil
			}
			return received, err
		}
		msg, err := chunks.add(piece)
		if err != nil {
			return received, err
		}
		if msg == nil {
			f.update(func(s *Status) { s.LastContact = time.Now() })
			continue // more pieces to come
		}
		if received == 0 {
			// Only an office above this one may feed it.
			pr, _ := peer.FromContext(stream.Context())
			id, err := forward.ServerIdentity(pr)
			if err != nil {
				return 0, err
			}
			if id.Office == f.cfg.Office || !registry.IsAncestorOrSelf(id.Office, f.cfg.Office) {
				return 0, fmt.Errorf("feed source %s serves office %s, not an office above %s", src.Addr, id.Office, f.cfg.Office)
			}
			f.update(func(s *Status) { s.Source, s.SourceOffice = src.Addr, id.Office })
		}
		received++
		if err := f.applyKnown(ctx, msg); err != nil {
			return received, err
		}
		now := time.Now()
		var upstream uint64
		switch k := msg.Kind.(type) {
		case *peerv1.FeedMessage_Snapshot:
			f.log.Info("installing registry snapshot from upstream", "source", src.Addr, "raft_index", k.Snapshot.GetIndex())
			if err := f.applyFeed(ctx, &peerv1.Command{Kind: &peerv1.Command_InstallSnapshot{
				InstallSnapshot: &peerv1.InstallRegistrySnapshot{Snapshot: k.Snapshot}}}); err != nil {
				return received, err
			}
			upstream = k.Snapshot.GetIndex()
			f.update(func(s *Status) { s.SnapshotsInstalled++ })
		case *peerv1.FeedMessage_Batch:
			if err := f.applyFeed(ctx, &peerv1.Command{Kind: &peerv1.Command_Replay{Replay: &peerv1.ReplayRegistry{
				Entries: k.Batch.GetEntries(), UpstreamIndex: k.Batch.GetUpstreamIndex()}}}); err != nil {
				return received, err
			}
			upstream = k.Batch.GetUpstreamIndex()
		case *peerv1.FeedMessage_Heartbeat:
			upstream = k.Heartbeat.GetUpstreamIndex()
		}
		hb, _ := msg.Kind.(*peerv1.FeedMessage_Heartbeat)
		if hb != nil && hb.Heartbeat.GetCountyTimeUnixNano() > 0 {
			f.mu.Lock()
			at := f.cfg.Now()
			f.clock.add(time.Unix(0, hb.Heartbeat.GetCountyTimeUnixNano()), at, f.cfg.Elapsed(at))
			f.mu.Unlock()
		}
		index, inSync := f.reg.Index(), false
		f.update(func(s *Status) {
			s.LastContact = now
			if upstream > s.UpstreamIndex {
				s.UpstreamIndex = upstream
			}
			if index >= s.UpstreamIndex {
				s.InSyncAt, inSync = now, true
			}
			if hb != nil {
				s.UpstreamStaleSeconds, s.UpstreamStaleAt = hb.Heartbeat.GetUpstreamStaleSeconds(), now
			}
		})
		if inSync {
			f.saveInSync(now, index)
		}
	}
}

func (f *Feed) applyFeed(ctx context.Context, cmd *peerv1.Command) error {
	res, err := f.cfg.Group.Apply(ctx, cmd)
	if err != nil {
		return err
	}
	if res.Err != nil {
		// A gap or a rejected entry: the next session starts again from
		// this office's index, which is what it asks for.
		return res.Err
	}
	return nil
}
