package federation

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/federation/feed"
	"github.com/yizhan-gov/yizhan/federation/forward"
	"github.com/yizhan-gov/yizhan/federation/mail"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// ErrNotCounty is returned by ProposeRegistry below the county: registry
// writes are authored only by the county office.
var ErrNotCounty error = reason.New(reason.NotCounty, "federation: registry writes are authored at the county")

// OfficeConfig configures a node's part in the federation.
type OfficeConfig struct {
	Office   string // this node's office (12-digit division code)
	Node     string // this node's name
	RaftAddr string // advertised addresses
	PeerAddr string
	HTTPAddr string
	// Join lists peer addresses of nodes already in this office.
	Join []string
	// Upstream lists peer addresses of the parent office's nodes, then
	// fallbacks (e.g. the county). Empty at the county.
	Upstream []string
	// PeerRoutes, by office, override the directory's peer addresses of
	// another office's nodes (forward.Routes.PeerRoutes).
	PeerRoutes map[string][]string

	Bundle *pki.Bundle
	Issuer *auth.Issuer // signs this node's statements
	Group  *raftgroup.Group
	FSM    *raftgroup.FSM
	Peers  *forward.Peers
	Logger *slog.Logger

	FeedHeartbeat  time.Duration // how often an idle feed says it is alive (default 1s)
	FeedBatch      int           // entries per feed message (default 512)
	FallbackPeriod time.Duration // how long to stay on a fallback feed before retrying the parent (default 30s)
	// FeedIdleTimeout is how long a feed may stay silent (no batch, no
	// heartbeat) before the source is taken for hung and the next one is
	// tried (default 5 heartbeats, at least 3s).
	FeedIdleTimeout time.Duration

	// Now is the office's clock: it stamps the commands of the office's
	// own case writes (AppendEvents) and of its mail (what is received: a
	// report's arrival time is its command's; the automatic steps'
	// events, receipts, what is set aside); nil: time.Now. A command's
	// time is what the book's rules and its memory of requests go by.
	Now func() time.Time
	// ClockElapsed is the time gone by when Now read now, counting a
	// sleep of the machine, whatever setting of the wall clock (the
	// registry feed measures the clock with it: feed.Config.Elapsed);
	// nil: the boot clock. A clock given in Now for tests gives its own
	// reading (feed.ClockReading).
	ClockElapsed func(now time.Time) time.Duration

	// MaxCaseMessageBytes is the largest case message sent to another
	// office (default mail.DefaultMaxCaseMessageBytes); a larger one is set
	// aside.
	MaxCaseMessageBytes int
	// QuarantineAfter is how long a case message may keep being refused
	// (or failing its call alone) before it is set aside (default 1h).
	QuarantineAfter time.Duration
	// UrgentPastAfter is how long the parent office must be out of reach
	// before urgent reports waiting for it go past it (default
	// mail.DefaultPastAfter).
	UrgentPastAfter time.Duration
	// ForwardAttemptTimeout bounds one attempt at a read forwarded to
	// another node when more nodes remain to be tried (default 3s).
	ForwardAttemptTimeout time.Duration
}

// Office is a node's view of the federation, the hub that ties its
// mechanisms together: its office's raft group (federation/raftgroup),
// the registry feed from upstream and the feed it serves downstream
// (federation/feed), case mail between offices (federation/mail), and
// where to forward what it may not do itself (federation/forward).
type Office struct {
	cfg    OfficeConfig
	county string
	reg    *registry.Registry
	log    *slog.Logger

	routes *forward.Routes
	fwd    *forward.Forwarder
	feed   *feed.Feed
	mail   *mail.Mail

	caseLocks caseLocks
	catchUp   catchUp
	// first is what this node knows of its office's first start on an
	// empty data directory (firststart.go).
	first firstStart
	// joinErr is why this node's last request to join its office failed
	// (joinLoop); nil before the first failure and once it is a member.
	joinErr atomic.Pointer[string]
	// staffWrites proposes the county's staff changes one at a time
	// (ProposeRegistry).
	staffWrites sync.Mutex
	// verifyChain checks a signer's certificate chain, remembering the
	// chains it accepted (events of one node all carry the same chain).
	verifyChain auth.ChainVerifier

	wg     sync.WaitGroup // the goroutines started by Start
	cancel context.CancelFunc
}

// NewOffice returns the federation part of a node. Start runs it.
func NewOffice(cfg OfficeConfig) *Office {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	o := &Office{
		verifyChain: auth.CachedChainVerifier(func(chain [][]byte) (string, *x509.Certificate, error) {
			id, leaf, err := cfg.Bundle.VerifyChain(chain)
			return id.Office, leaf, err
		}, 10*time.Minute, nil),
		cfg:    cfg,
		county: CountyOf(cfg.Office),
		reg:    cfg.FSM.Registry(),
		log:    cfg.Logger, // the caller's logger names the office and node
	}
	o.routes = &forward.Routes{
		Office: cfg.Office, County: o.county, Node: cfg.Node, PeerAddr: cfg.PeerAddr,
		Join: cfg.Join, Upstream: cfg.Upstream, PeerRoutes: cfg.PeerRoutes,
		Directory: o.reg, Leadership: cfg.Group,
	}
	o.fwd = forward.NewForwarder(cfg.Peers, cfg.ForwardAttemptTimeout)
	o.feed = feed.New(feed.Config{
		Office: cfg.Office, County: o.county, Node: cfg.Node,
		Registry: o.reg, FSM: cfg.FSM, Group: cfg.Group, Peers: cfg.Peers, Routes: o.routes, Logger: cfg.Logger,
		Heartbeat: cfg.FeedHeartbeat, Batch: cfg.FeedBatch, FallbackPeriod: cfg.FallbackPeriod, IdleTimeout: cfg.FeedIdleTimeout,
		Now: cfg.Now, Elapsed: cfg.ClockElapsed, AskLeader: o.leaderStale,
	})
	o.mail = mail.New(mail.Config{
		Office: cfg.Office, Node: cfg.Node,
		FSM: cfg.FSM, Group: cfg.Group, Owner: o, Peers: cfg.Peers, Routes: o.routes, Logger: cfg.Logger,
		MaxCaseMessageBytes: cfg.MaxCaseMessageBytes, QuarantineAfter: cfg.QuarantineAfter, PastAfter: cfg.UrgentPastAfter, Now: cfg.Now,
	})
	return o
}

// CountyOf returns the code of the county an office belongs to.
func CountyOf(office string) string {
	if len(office) != 12 {
		return ""
	}
	return office[:6] + "000000"
}

// Code is this node's office.
func (o *Office) Code() string { return o.cfg.Office }

// NodeName is this node's name.
func (o *Office) NodeName() string { return o.cfg.Node }

// IsCounty reports whether this node serves the county office.
func (o *Office) IsCounty() bool { return o.cfg.Office == o.county }

// Registry is this node's registry replica.
func (o *Office) Registry() *registry.Registry { return o.reg }

// Group is this node's raft group.
func (o *Office) Group() *raftgroup.Group { return o.cfg.Group }

// Start runs the office's background work until Close: catching up after
// a restart, joining the office (a new node given --join), announcing this
// node in the directory, on the leader the case mail and automatic steps
// and taking out of the directory the names no member of the office
// (directory.go),
// on the leader of an office below the county, pulling the registry
// feed, on the leader of an office restored from a backup, taking back
// from its neighbours what changed since (recover.go), on the leader of
// an office started on an empty data directory, finding out whether it
// ran before (firststart.go), and on any leader,
// keeping itself in the office's raft configuration at the raft address
// it advertises (raftgroup.KeepOwnAddress). The node has read before
// whether an earlier run found its office running elsewhere
// (LoadFirstStartRefusal).
func (o *Office) Start(ctx context.Context) {
	ctx, o.cancel = context.WithCancel(ctx)
	o.wg.Add(4)
	go func() { defer o.wg.Done(); o.catchUpLoop(ctx) }()
	go func() { defer o.wg.Done(); o.joinLoop(ctx) }()
	go func() { defer o.wg.Done(); o.announceLoop(ctx) }()
	go func() { defer o.wg.Done(); o.mail.Run(ctx) }()
	o.wg.Add(4)
	go func() { defer o.wg.Done(); o.firstStartLoop(ctx) }()
	go func() { defer o.wg.Done(); o.recoverLoop(ctx) }()
	go func() { defer o.wg.Done(); o.tidyDirectoryLoop(ctx) }()
	go func() { defer o.wg.Done(); o.cfg.Group.KeepOwnAddress(ctx) }()
	if !o.IsCounty() {
		o.wg.Add(1)
		go func() { defer o.wg.Done(); o.feed.Run(ctx) }()
	}
}

// Close stops the background work and waits for it.
func (o *Office) Close() {
	if o.cancel != nil {
		o.cancel()
	}
	o.wg.Wait()
}

// ProposeRegistry authors a registry change. Only the county leader can:
// elsewhere it answers ErrNotCounty or ErrNotLeader and the caller
// forwards the request with ForwardRegistry.
func (o *Office) ProposeRegistry(ctx context.Context, cmd *peerv1.RegistryCommand) (proto.Message, uint64, error) {
	v, index, _, err := o.ProposeRegistryOnce(ctx, cmd)
	return v, index, err
}

// ProposeRegistryOnce is ProposeRegistry for a command under a client's
// request ID (cmd.RequestId): replayed when the county had applied that
// request before the command reached the log (a retry racing its first
// attempt past the registry's checks), and the answer and index are then
// the first application's; the command changed nothing.
func (o *Office) ProposeRegistryOnce(ctx context.Context, cmd *peerv1.RegistryCommand) (v proto.Message, index uint64, replayed bool, err error) {
	if !o.IsCounty() {
		return nil, 0, false, ErrNotCounty
	}
	if !o.cfg.Group.IsLeader() {
		return nil, 0, false, raftgroup.ErrNotLeader
	}
	if cmd.GetUpdateStaff() != nil {
		// A rule for new writes only (registry's checkNew: the county keeps
		// an enabled admin) is checked against the registry as applied, so
		// the staff changes it reads are proposed one at a time: two admins
		// disabling each other at once would both pass.
		o.staffWrites.Lock()
		defer o.staffWrites.Unlock()
	}
	if err := o.reg.Check(cmd); err != nil {
		return nil, 0, false, err
	}
	res, err := o.cfg.Group.Apply(ctx, &peerv1.Command{Kind: &peerv1.Command_Registry{Registry: cmd}})
	if err != nil {
		return nil, 0, false, err
	}
	return res.Value, res.Index, res.Replayed, res.Err
}

// Answered looks a client's write up in the office's memory of requests
// (see raftgroup.FSM.Answered): its first answer and raft index when the
// office applied it already.
func (o *Office) Answered(r raftgroup.Request) (proto.Message, uint64, bool, error) {
	return o.cfg.FSM.Answered(r)
}

// ForwardRegistry sends a registry write on toward the county leader:
// from a county follower to the leader, from below to the county's nodes,
// falling back to the upstream chain. call makes the request on conn;
// when a target is unreachable the next is tried. A status error from a
// reached node is returned as it is.
func (o *Office) ForwardRegistry(ctx context.Context, call func(ctx context.Context, conn *grpc.ClientConn) error) error {
	var targets []forward.Target
	if o.IsCounty() {
		targets = o.leaderTargets(ctx, o.routes.RegistryTargets)
	} else {
		targets = o.routes.RegistryTargets()
	}
	if len(targets) == 0 {
		if o.IsCounty() {
			return reason.Status(reason.NoLeader, "the county office has no leader: try again shortly", reason.Meta{"office": o.cfg.Office}, 0).Err()
		}
		return reason.Err(reason.Unreachable, "no county node known to forward the write to")
	}
	return o.fwd.Send(ctx, targets, call)
}

// Arrivals is how many cases came into this office's hands by mail
// through this node since it started (mail.Mail.Arrivals).
func (o *Office) Arrivals() uint64 { return o.mail.Arrivals() }

// Feed returns the state of the registry feed (below the county).
func (o *Office) Feed() feed.Status { return o.feed.Status() }

// UpstreamIndex is the newest registry index this node has heard of.
func (o *Office) UpstreamIndex() uint64 { return o.feed.UpstreamIndex() }

// StaleSeconds tells how long this node's registry may have missed
// changes (see feed.Feed.StaleSeconds).
func (o *Office) StaleSeconds(now time.Time) float64 { return o.feed.StaleSeconds(now) }

// MaxClockOffset is how far a node's clock may be from the county's
// before its office writes nothing (ClockOff).
const MaxClockOffset = 5 * time.Minute

// ClockOffset is the county's time less this node's clock (the office's,
// Config.Now), as the registry feed's heartbeats tell it
// (feed.Feed.ClockOffset); ok is false at the county.
//
// Before the first heartbeat that told it (a village PC booted with its
// clock battery flat, its link down for days), it is what the registry
// tells: the county's clock has reached at least the registry's newest
// command (registry.NewestCommandTime), so a clock reading more than
// MaxClockOffset before it is behind by that much at least, and ClockOff
// refuses writes. A clock ahead, or behind by less, is not known until a
// heartbeat comes: ok is false.
func (o *Office) ClockOffset() (offset time.Duration, ok bool) {
	now := o.cfg.Now()
	if off, ok := o.feed.ClockOffset(now); ok || o.IsCounty() {
		return off, ok
	}
	if behind := o.reg.NewestCommandTime().Sub(now); behind > MaxClockOffset {
		return behind, true
	}
	return 0, false
}

// ClockOff is nil unless this node's clock is known to be more than
// MaxClockOffset from the county's: then every case, deadline, card and
// figure it would date would be dated wrong for good (a village PC whose
// clock battery went flat starts in some year's 1 January), so the office
// layer writes nothing (office.Service.Leading) until the clock is set
// right; the next heartbeat, or the wall clock's move itself, tells it.
// Before the first heartbeat only a clock behind is known (ClockOffset).
func (o *Office) ClockOff() error {
	off, ok := o.ClockOffset()
	if !ok || off.Abs() <= MaxClockOffset {
		return nil
	}
	now := o.cfg.Now()
	minutes := int64(off.Abs() / time.Minute)
	way := "behind"
	if off < 0 {
		way = "ahead of"
	}
	least := ""
	if _, measured := o.feed.ClockOffset(now); !measured {
		least = "at least " // behind the registry's newest command; no heartbeat yet
	}
	return reason.Errorf(reason.ClockOff, reason.Meta{
		"offsetMinutes": strconv.FormatInt(minutes, 10),
		"countyTime":    now.Add(off).In(registry.CST).Format("2006-01-02 15:04"),
		"nodeTime":      now.In(registry.CST).Format("2006-01-02 15:04"),
	}, "federation: this node's clock is %s%d minutes %s the county's: it writes nothing until it is set right", least, minutes, way)
}

// DeliveryErrors returns the last case-mail delivery error of each
// destination that is failing now, by destination.
func (o *Office) DeliveryErrors() []mail.DeliveryError { return o.mail.DeliveryErrors() }

// ForwardUp sends a request to the offices above this one: the parent's
// nodes first, then the configured upstream, then the county.
func (o *Office) ForwardUp(ctx context.Context, call func(ctx context.Context, conn *grpc.ClientConn) error) error {
	return o.fwd.Send(ctx, o.routes.UpTargets(), call)
}

// ReadUp sends a read to the offices above this one, like ForwardUp, but
// passes over a node that does not answer within ForwardAttemptTimeout: a
// read is safe to ask again elsewhere.
func (o *Office) ReadUp(ctx context.Context, call func(ctx context.Context, conn *grpc.ClientConn) error) error {
	return o.fwd.Read(ctx, o.routes.UpTargets(), call)
}

// ForwardToLeader sends a request to this office's leader.
func (o *Office) ForwardToLeader(ctx context.Context, call func(ctx context.Context, conn *grpc.ClientConn) error) error {
	targets := o.leaderTargets(ctx, o.routes.LeaderTargets)
	if len(targets) == 0 {
		return reason.Status(reason.NoLeader, fmt.Sprintf("office %s has no leader", o.cfg.Office), reason.Meta{"office": o.cfg.Office}, 0).Err()
	}
	return o.fwd.Send(ctx, targets, call)
}

// leaderTargets lists where this office's leader is reached (found by
// routes). During an election it waits for the leader (Group.AwaitLeader,
// a bounded hold) rather than answer at once or send the call round the
// other nodes; none when none came. When this node is the leader (it won
// the election, or won it since the caller tried here), the call goes to
// its own peer server, as to any leader: the caller's local attempt was
// refused before.
func (o *Office) leaderTargets(ctx context.Context, routes func() []forward.Target) []forward.Target {
	_, id := o.cfg.Group.AwaitLeader(ctx)
	switch id {
	case "":
		return nil
	case o.routes.Node:
		return []forward.Target{{Addr: o.routes.PeerAddr, Office: o.cfg.Office}}
	}
	return routes()
}

// ForwardToOffice sends a request to a node of another office, known from
// the directory.
func (o *Office) ForwardToOffice(ctx context.Context, office string, call func(ctx context.Context, conn *grpc.ClientConn) error) error {
	return o.fwd.Send(ctx, o.routes.OfficeTargets(office), call)
}
