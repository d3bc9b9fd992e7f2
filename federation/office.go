package federation

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/federation/pki"
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

	Bundle *pki.Bundle
	Issuer *auth.Issuer // signs this node's statements
	Group  *Group
	FSM    *FSM
	Peers  *Peers
	Logger *slog.Logger

	FeedHeartbeat  time.Duration // how often an idle feed says it is alive (default 1s)
	FeedBatch      int           // entries per feed message (default 512)
	FallbackPeriod time.Duration // how long to stay on a fallback feed before retrying the parent (default 30s)
	// FeedIdleTimeout is how long a feed may stay silent (no batch, no
	// heartbeat) before the source is taken for hung and the next one is
	// tried (default 5 heartbeats, at least 3s).
	FeedIdleTimeout time.Duration

	// MaxCaseMessageBytes is the largest case message sent to another
	// office (default DefaultMaxCaseMessageBytes); a larger one is set
	// aside.
	MaxCaseMessageBytes int
	// QuarantineAfter is how long a case message may keep being refused
	// (or failing its call alone) before it is set aside (default 1h).
	QuarantineAfter time.Duration
	// ForwardAttemptTimeout bounds one attempt at a read forwarded to
	// another node when more nodes remain to be tried (default 3s).
	ForwardAttemptTimeout time.Duration
}

// Office is a node's view of the federation: its office's raft group,
// the registry feed from upstream, the feed it serves downstream, and where
// to forward what it may not do itself.
type Office struct {
	cfg    OfficeConfig
	county string
	reg    *registry.Registry
	log    *slog.Logger

	mu           sync.Mutex // guards feed and deliveryErrs
	feed         FeedStatus
	deliveryErrs map[string]DeliveryError // by destination office, while failing

	caseLocks caseLocks
	catchUp   catchUp
	// verifyChain checks a signer's certificate chain, remembering the
	// chains it accepted (events of one node all carry the same chain).
	verifyChain auth.ChainVerifier

	wg     sync.WaitGroup // the goroutines started by Start
	cancel context.CancelFunc
}

// FeedStatus is where this office's registry comes from and how fresh it is.
type FeedStatus struct {
	Source        string // peer address of the upstream node
	SourceOffice  string
	LastContact   time.Time
	UpstreamIndex uint64
	InSyncAt      time.Time // when the registry last matched the upstream's
	LastError     string    // the feed's last error, kept after it recovers
	LastErrorAt   time.Time // when it happened
	// SnapshotsInstalled counts registry snapshots taken from upstream
	// because this office was behind what the upstream's changelog keeps.
	SnapshotsInstalled int
}

// NewOffice returns the federation part of a node. Start runs it.
func NewOffice(cfg OfficeConfig) *Office {
	if cfg.FeedHeartbeat <= 0 {
		cfg.FeedHeartbeat = time.Second
	}
	if cfg.FeedBatch <= 0 {
		cfg.FeedBatch = 512
	}
	if cfg.FallbackPeriod <= 0 {
		cfg.FallbackPeriod = 30 * time.Second
	}
	if cfg.FeedIdleTimeout <= 0 {
		cfg.FeedIdleTimeout = max(5*cfg.FeedHeartbeat, 3*time.Second)
	}
	if cfg.MaxCaseMessageBytes <= 0 {
		cfg.MaxCaseMessageBytes = DefaultMaxCaseMessageBytes
	}
	if cfg.QuarantineAfter <= 0 {
		cfg.QuarantineAfter = time.Hour
	}
	if cfg.ForwardAttemptTimeout <= 0 {
		cfg.ForwardAttemptTimeout = 3 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Office{
		verifyChain: auth.CachedChainVerifier(func(chain [][]byte) (string, *x509.Certificate, error) {
			id, leaf, err := cfg.Bundle.VerifyChain(chain)
			return id.Office, leaf, err
		}, 10*time.Minute, nil),
		cfg:    cfg,
		county: CountyOf(cfg.Office),
		reg:    cfg.FSM.Registry(),
		log:    cfg.Logger, // the caller's logger names the office and node
	}
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
func (o *Office) Group() *Group { return o.cfg.Group }

// Start runs the office's background work until Close: joining the office
// (a new node given --join), announcing this node in the directory, and on
// the leader of an office below the county, pulling the registry feed.
func (o *Office) Start(ctx context.Context) {
	ctx, o.cancel = context.WithCancel(ctx)
	o.wg.Add(4)
	go func() { defer o.wg.Done(); o.catchUpLoop(ctx) }()
	go func() { defer o.wg.Done(); o.joinLoop(ctx) }()
	go func() { defer o.wg.Done(); o.announceLoop(ctx) }()
	go func() { defer o.wg.Done(); o.caseLoop(ctx) }()
	if !o.IsCounty() {
		o.wg.Add(1)
		go func() { defer o.wg.Done(); o.leaderLoop(ctx) }()
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
	if !o.IsCounty() {
		return nil, 0, ErrNotCounty
	}
	if !o.cfg.Group.IsLeader() {
		return nil, 0, ErrNotLeader
	}
	if err := o.reg.Check(cmd); err != nil {
		return nil, 0, err
	}
	res, err := o.cfg.Group.Apply(ctx, &peerv1.Command{Kind: &peerv1.Command_Registry{Registry: cmd}})
	if err != nil {
		return nil, 0, err
	}
	return res.Value, res.Index, res.Err
}

// Answered looks a client's write up in the office's memory of requests
// (see FSM.Answered): its first answer and raft index when the office
// applied it already.
func (o *Office) Answered(r Request) (proto.Message, uint64, bool, error) {
	return o.cfg.FSM.Answered(r)
}

// ForwardRegistry sends a registry write on toward the county leader:
// from a county follower to the leader, from below to the county's nodes,
// falling back to the upstream chain. call makes the request on conn;
// when a target is unreachable the next is tried. A status error from a
// reached node is returned as it is.
func (o *Office) ForwardRegistry(ctx context.Context, call func(ctx context.Context, conn *grpc.ClientConn) error) error {
	targets := o.registryTargets()
	if len(targets) == 0 {
		if o.IsCounty() {
			return reason.Status(reason.NoLeader, "the county office has no leader: try again shortly", reason.Meta{"office": o.cfg.Office}, 0).Err()
		}
		return reason.Err(reason.Unreachable, "no county node known to forward the write to")
	}
	return o.forwardTo(ctx, targets, call)
}

type target struct{ addr, office string }

// registryTargets lists where a registry write goes from here, best first.
func (o *Office) registryTargets() []target {
	var ts []target
	add := func(addr, office string) {
		if addr == "" || addr == o.cfg.PeerAddr {
			return
		}
		for _, t := range ts {
			if t.addr == addr {
				return
			}
		}
		ts = append(ts, target{addr, office})
	}
	county := o.reg.Nodes(o.county)
	if o.IsCounty() {
		// Within the county only the leader can take the write. With no
		// leader known (an election), answer at once: passing the write
		// round the other county nodes would only bounce it.
		_, id := o.cfg.Group.Leader()
		if id == "" {
			return nil
		}
		for _, n := range county {
			if n.GetName() == id {
				add(n.GetPeerAddress(), o.county)
			}
		}
		if len(ts) == 0 {
			// The directory does not know the leader's address yet.
			for _, a := range o.cfg.Join {
				add(a, o.county)
			}
		}
		return ts
	}
	for _, n := range shuffled(county) {
		add(n.GetPeerAddress(), o.county)
	}
	for _, a := range o.cfg.Upstream {
		add(a, "")
	}
	return ts
}

// leaderTarget is the peer address of this office's leader, or the join
// addresses when the directory does not know it yet.
func (o *Office) leaderTargets() []target {
	var ts []target
	if _, id := o.cfg.Group.Leader(); id != "" && id != o.cfg.Node {
		for _, n := range o.reg.Nodes(o.cfg.Office) {
			if n.GetName() == id {
				ts = append(ts, target{n.GetPeerAddress(), o.cfg.Office})
			}
		}
	}
	for _, a := range o.cfg.Join {
		if a != o.cfg.PeerAddr {
			ts = append(ts, target{a, o.cfg.Office})
		}
	}
	return ts
}

func shuffled(ns []*yizhanv1.NodeEntry) []*yizhanv1.NodeEntry {
	ns = slices.Clone(ns)
	rand.Shuffle(len(ns), func(i, j int) { ns[i], ns[j] = ns[j], ns[i] })
	return ns
}

// Feed returns the state of the registry feed (below the county).
func (o *Office) Feed() FeedStatus {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.feed
}

func (o *Office) updateFeed(f func(*FeedStatus)) {
	o.mu.Lock()
	defer o.mu.Unlock()
	f(&o.feed)
}

// UpstreamIndex is the newest registry index this node has heard of.
func (o *Office) UpstreamIndex() uint64 {
	if o.IsCounty() {
		return o.reg.Index()
	}
	return max(o.Feed().UpstreamIndex, o.cfg.FSM.UpstreamIndex(), o.reg.Index())
}

// StaleSeconds tells how long this node's registry may have missed
// changes: 0 at the county and while the feed is in sync; otherwise the
// seconds since it last was. A follower below the county is as fresh as
// its leader was when it last heard from it.
func (o *Office) StaleSeconds(now time.Time) float64 {
	g := o.cfg.Group
	if o.IsCounty() {
		if g.IsLeader() {
			return 0
		}
		if lc := g.LastContact(); !lc.IsZero() && now.Sub(lc) > 2*time.Second {
			return now.Sub(lc).Seconds()
		}
		return 0
	}
	if g.IsLeader() {
		f := o.Feed()
		if o.reg.Index() >= f.UpstreamIndex && now.Sub(f.LastContact) < 3*o.cfg.FeedHeartbeat {
			return 0
		}
		if f.InSyncAt.IsZero() {
			return -1
		}
		return now.Sub(f.InSyncAt).Seconds()
	}
	lc := g.LastContact()
	if lc.IsZero() {
		return -1
	}
	if o.reg.Index() >= o.cfg.FSM.UpstreamIndex() && now.Sub(lc) < 2*time.Second {
		return 0
	}
	return now.Sub(lc).Seconds()
}

// ForwardUp sends a request to the offices above this one: the parent's
// nodes first, then the configured upstream, then the county.
func (o *Office) ForwardUp(ctx context.Context, call func(ctx context.Context, conn *grpc.ClientConn) error) error {
	return o.forwardTo(ctx, o.feedSources(), call)
}

// ReadUp sends a read to the offices above this one, like ForwardUp, but
// passes over a node that does not answer within ForwardAttemptTimeout: a
// read is safe to ask again elsewhere.
func (o *Office) ReadUp(ctx context.Context, call func(ctx context.Context, conn *grpc.ClientConn) error) error {
	return o.forward(ctx, o.feedSources(), true, call)
}

// ForwardToLeader sends a request to this office's leader.
func (o *Office) ForwardToLeader(ctx context.Context, call func(ctx context.Context, conn *grpc.ClientConn) error) error {
	if _, id := o.cfg.Group.Leader(); id == "" {
		return reason.Status(reason.NoLeader, fmt.Sprintf("office %s has no leader", o.cfg.Office), reason.Meta{"office": o.cfg.Office}, 0).Err()
	}
	return o.forwardTo(ctx, o.leaderTargets(), call)
}
