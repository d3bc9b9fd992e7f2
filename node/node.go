// Package node assembles one Yizhan node: its badger store, its office's
// raft group, the registry, the federation links, and the servers (REST
// and gRPC for clients, mutual-TLS gRPC for peers).
package node

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/federation/feed"
	"github.com/yizhan-gov/yizhan/federation/forward"
	"github.com/yizhan-gov/yizhan/federation/netlimit"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/federation/raftnet"
	"github.com/yizhan-gov/yizhan/office"
	"github.com/yizhan-gov/yizhan/registry"
)

// Config is one node's configuration. cmd/yizhan fills it from flags and
// environment variables; tests and the demo fill it directly.
type Config struct {
	Office     string // 12-digit division code of the node's office
	OfficeName string // the county office's name, used when bootstrapping a county
	Name       string // node name, unique in the federation
	DataDir    string

	HTTPAddr string // REST, gRPC (h2c), web UI, /metrics, /healthz, /readyz
	PeerAddr string // node-to-node gRPC, mutual TLS
	RaftAddr string // raft, mutual TLS
	// MetricsAddr, when set, serves /metrics on this address only, not on
	// the HTTP port.
	MetricsAddr string
	// Pprof serves Go's profiles (/debug/pprof/: heap, CPU, goroutines)
	// and the case book's probe (/debug/book) on MetricsAddr, an
	// operator's port; never on the HTTP port.
	Pprof bool
	// BehindTLS says the HTTP port is reached through a proxy that
	// terminates TLS (an ingress): the session cookie is Secure, answers
	// carry Strict-Transport-Security, and the per-client limit counts
	// the client address the proxy appended to X-Forwarded-For, on a
	// connection from one of TrustedProxies.
	BehindTLS bool
	// TrustedProxies are the addresses of the proxies in front of the
	// HTTP port, with BehindTLS: X-Forwarded-For is believed only on a
	// connection from one of them, so that a client reaching the port
	// past the proxy cannot name another address to count against. None:
	// loopback and the private ranges (DefaultTrustedProxies).
	TrustedProxies []netip.Prefix
	// HTTP holds the HTTP port's time and concurrency limits (zero:
	// defaults).
	HTTP HTTPLimits
	// Advertise is the host other nodes use to reach this one. Empty: the
	// listen host, or the machine's host name when listening on all
	// interfaces.
	Advertise string

	Bootstrap bool     // start a new office group with this node as first voter
	Join      []string // peer addresses of nodes already in the office
	Upstream  []string // peer addresses of the parent office, then fallbacks
	// Rebuild, with Bootstrap on an empty data directory, starts an office
	// below the county that ran before and lost its data with no backup:
	// its book is marked restored from nothing, so that its leader takes
	// back every case its neighbours hold of it and numbers new cases
	// above any its lost disk may have handed out (--rebuild,
	// docs/OPERATIONS.md "An office that lost its data with no backup").
	Rebuild bool
	// PeerRoutes, by office code, are the peer addresses this node
	// reaches another office's nodes at instead of the directory's (an
	// office behind a NAT or port mapping; the fault harness's proxies).
	PeerRoutes map[string][]string
	// ForceNewCluster makes this node the only voter of its office, with
	// everything its log holds, before raft starts: the survivor of an
	// office that lost its majority (--force-new-cluster,
	// docs/OPERATIONS.md "An office that lost its majority").
	ForceNewCluster bool

	TLS *pki.Bundle
	// BootstrapAdminPassword, at a county's first start, creates the county
	// office and the "admin" account with this password.
	BootstrapAdminPassword string

	Logger             *slog.Logger
	Timing             raftgroup.Timing // zero: raftgroup.DefaultTiming()
	ChangelogRetention int              // registry changelog entries kept (0: default)
	FeedHeartbeat      time.Duration
	// Mail and feed tuning (zero: the federation's defaults): the largest
	// case message sent, how long a refused one is retried before it is
	// set aside, how long the parent office is out of reach before urgent
	// reports go past it, how long a silent feed source is waited for,
	// and one attempt of a read forwarded up the tree.
	MaxCaseMessageBytes   int
	QuarantineAfter       time.Duration
	UrgentPastAfter       time.Duration
	FeedIdleTimeout       time.Duration
	ForwardAttemptTimeout time.Duration
	SmallBadger           bool // tune badger for many nodes in one process
	// CheckBook walks the case book once the node has caught up with its
	// office's log and logs every index entry or counter that disagrees
	// with the cases (the metric yizhan_casebook_problems).
	CheckBook bool
	// CardSweepInterval is how often the office's leader evaluates the
	// time-driven supervision card rules (0: 5 minutes; negative: never,
	// for tests that sweep by hand).
	CardSweepInterval time.Duration
	// DutySweepInterval is how often the office's leader flags the duty
	// shifts nobody took over or handed over, and the first reports still
	// unsigned at their deadline (default 1 minute; negative: never).
	DutySweepInterval time.Duration
	// RerouteSweepInterval is how often the office's leader reroutes its
	// cases in flight whose next step's office lost the right (a grant
	// revoked, expired or moved: office.Service.SweepReroutes). Zero: a
	// minute; negative: never.
	RerouteSweepInterval time.Duration
	// CertReloadInterval is how often the node looks at its certificate
	// files for a renewed certificate (cert-manager renews it in the
	// Secret without a restart: pki.Bundle.Reload). Zero: 10 seconds;
	// negative: never.
	CertReloadInterval time.Duration
	TokenTTL           time.Duration
	// MaxTokenTTL is the longest token lifetime this node accepts,
	// whoever signed it (0: auth.DefaultMaxTokenTTL). TokenTTL may not
	// exceed it.
	MaxTokenTTL time.Duration
	// ScanQuota is how many bytes of scans no case names yet the staff
	// of one office may hold at this office, when this node leads it: an
	// upload of a new file past it is refused (SCAN_QUOTA). 0:
	// office.DefaultScanQuota (256 MiB); negative: no limit.
	ScanQuota int64
	// Dial, when set, opens this node's connections to other offices'
	// and its own office's peers (tests pass a link they can cut).
	Dial func(ctx context.Context, addr string) (net.Conn, error)
	Now  func() time.Time // nil: time.Now
	// ClockElapsed is the time gone by when Now read a time, whatever
	// setting of the wall clock, for the registry feed's measure of the
	// clock (federation.OfficeConfig.ClockElapsed); nil: the boot clock,
	// or, with Now given (tests moving time on), Now's own reading.
	ClockElapsed func(time.Time) time.Duration
}

// Node is one running node.
type Node struct {
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	db   *badger.DB
	fsm  *raftgroup.FSM
	raft *raftnet.StreamLayer
	// holdRaft keeps other nodes' raft connections out until Start has
	// decided whether the office's book carries a first-start mark
	// (markFirstStart), which keeps them out from then on.
	holdRaft atomic.Bool

	office     *federation.Office
	svc        *office.Service // the office service layer: every write of the office
	peers      *forward.Peers
	issuer     *auth.Issuer
	authn      *auth.Authenticator
	logins     *attemptLimiter // sign-in attempts, on the deciding office's leader
	queryCodes *attemptLimiter // query-code attempts, where a case is checked
	argonSlots argonSlots
	exports    chan struct{} // a slot per workbook being built (exportSlot)
	uploads    chan struct{} // a slot per web form with files being read (takeUpload)
	writes     *slots        // client writes served at once and waiting (limitWrites)
	forwarded  *slots        // writes forwarded by other nodes, the same (limitForwardedWrites)
	listings   *slots        // cases of the listings served at once, and the listings waiting (takeListing)
	metrics    *metrics

	httpLn, peerLn, raftLn net.Listener
	metricsLn              net.Listener // nil without Config.MetricsAddr
	peerLimit              *netlimit.Listener
	anonymous              *netlimit.PerHost // anonymous requests in flight per client, REST and gRPC
	httpAddr, peerAddr     string            // advertised
	raftAddr               string

	peerServer    *grpc.Server
	publicServer  *grpc.Server
	httpServer    *httpServer
	metricsServer *httpServer // nil without Config.MetricsAddr

	ready atomic.Bool
	// noGroup is set by Start, before anything reads it: the data
	// directory holds no raft state and the node was given neither
	// --bootstrap nor --join, so it belongs to no raft group (whyNoLeader).
	noGroup bool
	// bookProblems is what the last check of the case book found (-1:
	// not checked).
	bookProblems atomic.Int64
	// bookCheckFailed is set when that check ended in an error (a read
	// that failed, the book unreadable): bookProblems stays -1.
	bookCheckFailed atomic.Bool
	stopping        atomic.Bool
	wg              sync.WaitGroup
	cancel          context.CancelFunc

	closeOnce sync.Once
	closeErr  error
}

// New opens the node's store and listeners and builds its parts. Start
// runs it.
func New(cfg Config) (_ *Node, err error) {
	if err := validateConfig(&cfg); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, now: cfg.Now}
	n.bookProblems.Store(-1)
	if n.now == nil {
		n.now = time.Now
	}
	n.log = cfg.Logger.With("office", cfg.Office, "node", cfg.Name)
	// The office's raft group, once open, stops before badger closes:
	// raft applies its entries to the case book, and snapshots it, in
	// badger.
	var group *raftgroup.Group
	defer func() {
		if err != nil {
			if group != nil {
				group.Close()
			}
			n.closeResources()
		}
	}()

	if n.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("node: listen http %s: %w", cfg.HTTPAddr, err)
	}
	if n.peerLn, err = net.Listen("tcp", cfg.PeerAddr); err != nil {
		return nil, fmt.Errorf("node: listen peer %s: %w", cfg.PeerAddr, err)
	}
	if n.raftLn, err = net.Listen("tcp", cfg.RaftAddr); err != nil {
		return nil, fmt.Errorf("node: listen raft %s: %w", cfg.RaftAddr, err)
	}
	if cfg.MetricsAddr != "" {
		if n.metricsLn, err = net.Listen("tcp", cfg.MetricsAddr); err != nil {
			return nil, fmt.Errorf("node: listen metrics %s: %w", cfg.MetricsAddr, err)
		}
	}
	// Unfinished handshakes on the peer port are limited per host, like
	// raft's (netlimit.Credentials below marks them finished).
	n.peerLimit = netlimit.NewListener(n.peerLn, netlimit.NewPerHost(peerHandshakesPerHost, peerHandshakesTotal), n.log, "peer")
	n.httpAddr = advertised(n.httpLn.Addr(), cfg.Advertise)
	n.peerAddr = advertised(n.peerLn.Addr(), cfg.Advertise)
	n.raftAddr = advertised(n.raftLn.Addr(), cfg.Advertise)

	if cfg.ForceNewCluster {
		// Refused before anything is made there.
		if entries, err := os.ReadDir(cfg.DataDir); err != nil || len(entries) == 0 {
			return nil, fmt.Errorf("node: --force-new-cluster on %s, an empty or missing data directory: it recovers an office from the data directory of the node that survived; start it there", cfg.DataDir)
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("node: data dir: %w", err)
	}
	tightenDataDir(cfg.DataDir, n.log)
	// Badger sized for the tier: a village point's or a township's small
	// PC gets the small profile, a county the bounded one.
	tier, _ := registry.TierOf(cfg.Office)
	n.db, err = badgerstore.OpenDB(filepath.Join(cfg.DataDir, "badger"), badgerstore.DBOptions{Logger: cfg.Logger,
		Small: cfg.SmallBadger || tier != yizhanv1.Tier_TIER_COUNTY, County: tier == yizhanv1.Tier_TIER_COUNTY})
	if err != nil {
		return nil, fmt.Errorf("node: open store: %w", err)
	}

	reg := registry.New(registry.Options{ChangelogRetention: cfg.ChangelogRetention})
	book, err := casebook.Open(n.db, cfg.Office)
	if err != nil {
		return nil, fmt.Errorf("node: open the case book: %w", err)
	}
	book.SetLogger(n.log)
	n.fsm = raftgroup.NewFSM(reg, book)
	// The raft address as advertised, not resolved: a bootstrapping
	// node's own entry in the office's configuration is this address,
	// and a pod's IP changes when it is recreated while its name stays.
	if _, _, err := net.SplitHostPort(n.raftAddr); err != nil {
		return nil, fmt.Errorf("node: raft address %s: %w", n.raftAddr, err)
	}
	n.raft = raftnet.NewStreamLayer(n.raftLn, raftnet.Address(n.raftAddr), cfg.TLS, cfg.Office, n.log)
	// A node bootstrapped on an empty data directory below the county
	// takes no raft connection from another node while its office does
	// not know whether it ran before (federation, firststart.go): under the
	// name and raft address of a node of its running office (its disk
	// lost, or pod 0 given --bootstrap again), that office's leader would
	// otherwise pull it in as a voter that forgot its term and vote, before
	// it could find out. The group it bootstrapped is itself alone.
	n.holdRaft.Store(cfg.Bootstrap && !cfg.Rebuild && len(cfg.Join) == 0 && tier != yizhanv1.Tier_TIER_COUNTY)
	n.raft.SetHold(func() bool {
		_, pending := book.FirstStart()
		return pending || n.holdRaft.Load()
	})
	transport := raftnet.NewTransport(n.raft, n.log)
	group, err = raftgroup.OpenGroup(raftgroup.GroupConfig{
		Office: cfg.Office, NodeID: cfg.Name, Dir: cfg.DataDir, DB: n.db,
		Transport: transport, FSM: n.fsm, Timing: cfg.Timing, Logger: n.log,
		HCLogger: raftnet.NewHCLogger(n.log, "raft"),
		WhoIsAt: func(addr string) (string, error) {
			id, err := n.raft.Identify(addr, 3*time.Second)
			return id.Node, err
		},
		ForceNewCluster: cfg.ForceNewCluster,
	})
	if err != nil {
		return nil, err
	}

	n.issuer = auth.NewIssuerFrom(cfg.TLS, cfg.Office, cfg.Name, cfg.TokenTTL, n.now)
	n.peers = forward.NewPeers(cfg.TLS, cfg.Dial)
	n.office = federation.NewOffice(federation.OfficeConfig{
		Office: cfg.Office, Node: cfg.Name,
		RaftAddr: n.raftAddr, PeerAddr: n.peerAddr, HTTPAddr: n.httpAddr,
		Join: cfg.Join, Upstream: cfg.Upstream, PeerRoutes: cfg.PeerRoutes,
		Bundle: cfg.TLS, Issuer: n.issuer, Group: group, FSM: n.fsm, Peers: n.peers,
		Logger: n.log, FeedHeartbeat: cfg.FeedHeartbeat, Now: n.now, ClockElapsed: clockElapsed(cfg.Now, cfg.ClockElapsed),
		MaxCaseMessageBytes: cfg.MaxCaseMessageBytes, QuarantineAfter: cfg.QuarantineAfter, UrgentPastAfter: cfg.UrgentPastAfter,
		FeedIdleTimeout: cfg.FeedIdleTimeout, ForwardAttemptTimeout: cfg.ForwardAttemptTimeout,
	})
	// Before anything is served: a node found running beside its office
	// refuses so from its first answer.
	if err := n.office.LoadFirstStartRefusal(); err != nil {
		return nil, err
	}
	n.svc = office.New(n.office, n.now, n.log)
	n.svc.SetScanQuota(cfg.ScanQuota)
	n.authn = &auth.Authenticator{
		Staff: staffDirectory{reg},
		VerifyChain: auth.CachedChainVerifier(func(chain [][]byte) (string, *x509.Certificate, error) {
			id, leaf, err := cfg.TLS.VerifyChain(chain)
			return id.Office, leaf, err
		}, 10*time.Minute, n.now),
		CanSignIn: registry.CanSignIn,
		Now:       n.now,
		MaxTTL:    cfg.MaxTokenTTL,
		Starting: func() error {
			if ok, _ := n.office.CaughtUp(); !ok {
				return federation.ErrCatchingUp
			}
			return nil
		},
	}
	n.logins = newAttemptLimiter("sign-in", loginLimits, n.now, n.log)
	n.queryCodes = newAttemptLimiter("query code", queryCodeLimits, n.now, n.log)
	n.argonSlots = newArgonSlots()
	n.exports = make(chan struct{}, maxExports)
	n.metrics = newMetrics(n)

	regSvc := &registryService{n: n}
	authSvc := &authService{n: n}
	clusterSvc := &clusterService{n: n}
	caseSvc := &caseService{n: n, filings: newFilingLimiter(n.now)}
	supSvc := &supervisionService{n: n, cases: caseSvc}
	dutySvc := &dutyService{n: n}
	rosterSvc := &dutyRosterService{n: n, duty: dutySvc}

	refusals := newPeerRefusals(n)
	// Both servers' Stop waits for the handlers running (their contexts
	// cancelled): Close closes badger next, and a handler still reading
	// the book then would panic in badger (a delivery's check did, seed
	// 1062 of the fault harness).
	gate := newBookGate(n)
	lim := cfg.HTTP.withDefaults()
	n.writes, n.forwarded, n.listings = newSlots(lim.Writes, lim.WriteQueue), newSlots(lim.Writes, lim.WriteQueue), newSlots(lim.Listed, lim.ListingQueue)
	peerUnary := []grpc.UnaryServerInterceptor{n.metrics.unaryInterceptor, refusals.unary, n.limitForwardedWrites, gate.unary, completeErrors, refuseUnknownFields}
	if hook := testHookPeerCall; hook != nil {
		peerUnary = append(peerUnary, func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			resp, err := handler(ctx, req)
			hook(n, ctx, info.FullMethod)
			return resp, err
		})
	}
	// Each gRPC server runs its calls on a few long-lived goroutines
	// (one per CPU, more only when they are all busy) instead of a new
	// one per call: a new goroutine's stack grows, by copying, as a
	// filing's call goes deeper, about 0.03 ms of a one-client gRPC
	// filing (profiled, docs/BENCHMARKS.md); a worker keeps the stack it
	// grew. grpc-go marks the option experimental.
	streamWorkers := grpc.NumStreamWorkers(uint32(runtime.GOMAXPROCS(0)))
	n.peerServer = grpc.NewServer(append(forward.PeerServerOptions(), grpc.Creds(netlimit.Credentials(credentials.NewTLS(cfg.TLS.ServerConfig()), n.peerLimit)),
		grpc.WaitForHandlers(true), streamWorkers,
		grpc.ConnectionTimeout(peerHandshakeTimeout), grpc.ChainUnaryInterceptor(peerUnary...),
		grpc.ChainStreamInterceptor(refusals.stream, gate.stream))...)
	peerv1.RegisterPeerServer(n.peerServer, federation.NewPeerServer(n.office))
	// Forwarded client requests arrive here too; they carry the client's
	// own bearer token, which is checked as if the client had come itself.
	yizhanv1.RegisterRegistryServiceServer(n.peerServer, regSvc)
	yizhanv1.RegisterAuthServiceServer(n.peerServer, authSvc)
	yizhanv1.RegisterClusterServiceServer(n.peerServer, clusterSvc)
	yizhanv1.RegisterCaseServiceServer(n.peerServer, caseSvc)
	yizhanv1.RegisterSupervisionServiceServer(n.peerServer, supSvc)
	yizhanv1.RegisterDutyServiceServer(n.peerServer, dutySvc)
	yizhanv1.RegisterDutyRosterServiceServer(n.peerServer, rosterSvc)

	// Client gRPC on the HTTP port (portMux sends it the connections that
	// open with HTTP/2's preface), within the HTTP port's limits.
	n.anonymous = netlimit.NewPerHost(cfg.HTTP.withDefaults().AnonymousPerClient, 0)
	n.uploads = make(chan struct{}, cfg.HTTP.withDefaults().Uploads)
	n.publicServer = grpc.NewServer(grpc.MaxRecvMsgSize(MaxRequestBody), grpc.WaitForHandlers(true), streamWorkers,
		grpc.InTapHandle(n.limitGRPC), grpc.ConnectionTimeout(readHeaderTimeout),
		grpc.MaxConcurrentStreams(maxClientStreams), grpc.MaxHeaderListSize(maxHeaderBytes),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: idleTimeout}),
		grpc.ChainUnaryInterceptor(n.metrics.unaryInterceptor, n.limitWrites, gate.unary, completeErrors, refuseUnknownFields), grpc.StreamInterceptor(gate.stream))
	yizhanv1.RegisterRegistryServiceServer(n.publicServer, regSvc)
	yizhanv1.RegisterAuthServiceServer(n.publicServer, authSvc)
	yizhanv1.RegisterClusterServiceServer(n.publicServer, clusterSvc)
	yizhanv1.RegisterCaseServiceServer(n.publicServer, caseSvc)
	yizhanv1.RegisterSupervisionServiceServer(n.publicServer, supSvc)
	yizhanv1.RegisterDutyServiceServer(n.publicServer, dutySvc)
	yizhanv1.RegisterDutyRosterServiceServer(n.publicServer, rosterSvc)

	n.httpServer, err = newHTTPServer(n, regSvc, authSvc, clusterSvc, caseSvc, supSvc, dutySvc, rosterSvc)
	if err != nil {
		return nil, err
	}
	if n.metricsLn != nil {
		n.metricsServer = newMetricsServer(n)
	}
	return n, nil
}

func validateConfig(cfg *Config) error {
	if err := registry.ValidCode(cfg.Office); err != nil {
		return fmt.Errorf("node: --office: %w", err)
	}
	if cfg.Name == "" {
		return errors.New("node: --name is required")
	}
	if cfg.DataDir == "" {
		return errors.New("node: --data is required")
	}
	if cfg.TLS == nil {
		return errors.New("node: a TLS certificate is required (--tls-cert, --tls-key, --tls-ca)")
	}
	if cfg.TLS.Identity.Office != cfg.Office {
		return fmt.Errorf("node: the certificate names office %s, not %s", cfg.TLS.Identity.Office, cfg.Office)
	}
	if cfg.TLS.Identity.Node != "" && cfg.TLS.Identity.Node != cfg.Name {
		return fmt.Errorf("node: the certificate names node %s, not %s", cfg.TLS.Identity.Node, cfg.Name)
	}
	isCounty := federation.CountyOf(cfg.Office) == cfg.Office
	if !isCounty && len(cfg.Upstream) == 0 {
		return errors.New("node: --upstream is required below the county")
	}
	if cfg.Rebuild && (!cfg.Bootstrap || len(cfg.Join) > 0) {
		return errors.New("node: --rebuild starts anew an office that lost its data: it goes with --bootstrap, not --join (a node joining an office that runs takes its state from the office)")
	}
	if cfg.Rebuild && isCounty {
		return errors.New("node: --rebuild is for an office below the county: the county authors the registry, which no neighbour holds whole; restore the county from a backup (yizhan restore)")
	}
	if cfg.ForceNewCluster && (cfg.Bootstrap || len(cfg.Join) > 0) {
		return errors.New("node: --force-new-cluster makes the node on its own data directory the only voter of its office: it goes with neither --bootstrap nor --join (add the other nodes afterwards, each with --join)")
	}
	if cfg.BootstrapAdminPassword != "" && !isCounty {
		return errors.New("node: a bootstrap admin password is for the county only")
	}
	if cfg.BootstrapAdminPassword != "" && len([]rune(cfg.BootstrapAdminPassword)) < auth.MinPasswordLength {
		return fmt.Errorf("node: the bootstrap admin password needs at least %d characters", auth.MinPasswordLength)
	}
	if maxTTL := cmp.Or(cfg.MaxTokenTTL, auth.DefaultMaxTokenTTL); cmp.Or(cfg.TokenTTL, auth.DefaultTokenTTL) > maxTTL {
		return fmt.Errorf("node: a token lifetime of %s is longer than the %s tokens may last", cmp.Or(cfg.TokenTTL, auth.DefaultTokenTTL), maxTTL)
	}
	if cfg.HTTPAddr == "" {
		cfg.HTTPAddr = ":8080"
	}
	if cfg.PeerAddr == "" {
		cfg.PeerAddr = ":7070"
	}
	if cfg.RaftAddr == "" {
		cfg.RaftAddr = ":7000"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return nil
}

// advertised is the address others use to reach a listener.
func advertised(a net.Addr, host string) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	port := strconv.Itoa(tcp.Port)
	if host != "" {
		return net.JoinHostPort(host, port)
	}
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		if h, err := os.Hostname(); err == nil && h != "" {
			return net.JoinHostPort(h, port)
		}
		return net.JoinHostPort("127.0.0.1", port)
	}
	return net.JoinHostPort(tcp.IP.String(), port)
}

// Start runs the node's servers and background work.
func (n *Node) Start() error {
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	hasState, err := n.office.Group().HasState()
	if err != nil {
		return err
	}
	if n.cfg.Bootstrap {
		// Both on an empty data directory (a unit file copied from the
		// first node, for a machine that replaces a dead one) would start
		// a second raft group of the office beside the one its nodes run:
		// two counties answering writes, each never seeing the other's.
		if !hasState && len(n.cfg.Join) > 0 {
			return errors.New("node: --bootstrap and --join on an empty data directory: --bootstrap starts a new raft group for the office, --join joins the one its nodes run; give --join alone to add this node to the office (--bootstrap is ignored once the data directory holds raft state)")
		}
		if n.cfg.Rebuild && !hasState {
			// Before raft has a configuration: nothing applies meanwhile.
			if err := n.markRebuilt(); err != nil {
				return err
			}
		} else if n.cfg.Rebuild {
			n.log.Warn("--rebuild is ignored: the data directory holds raft state (the office was rebuilt, or runs); remove the flag")
		} else if !hasState && !n.office.IsCounty() {
			if err := n.markFirstStart(); err != nil {
				return err
			}
		}
		if err := n.office.Group().Bootstrap(); err != nil {
			return err
		}
	}
	// From here the book's first-start mark alone holds other nodes' raft
	// connections (New).
	n.holdRaft.Store(false)
	// Neither flag on an empty data directory (a restarted or restored
	// node has raft state): only a join makes a node a member, so no
	// leader will ever come. It runs, to say so on /readyz.
	if n.noGroup = !hasState && !n.cfg.Bootstrap && len(n.cfg.Join) == 0; n.noGroup {
		n.log.Warn(noGroupReason)
	} else if why := n.notMember(); why != "" && len(n.cfg.Join) == 0 {
		n.log.Warn(why)
	}
	n.serve("peer", func() error { return n.peerServer.Serve(n.peerLimit) })
	n.serve("http", func() error { return n.httpServer.serve(n.httpLn) })
	if n.metricsServer != nil {
		n.serve("metrics", func() error { return n.metricsServer.serve(n.metricsLn) })
	}
	n.office.Start(ctx)
	if n.office.IsCounty() {
		n.wg.Add(1)
		go func() { defer n.wg.Done(); n.bootstrapCounty(ctx) }()
	}
	n.wg.Add(1)
	go func() { defer n.wg.Done(); n.watchReady(ctx) }()
	n.wg.Add(1)
	go func() { defer n.wg.Done(); n.collectValueLog(ctx) }()
	if n.cfg.CardSweepInterval >= 0 {
		n.wg.Add(1)
		go func() { defer n.wg.Done(); n.sweepCards(ctx) }()
	}
	if n.cfg.DutySweepInterval >= 0 {
		n.wg.Add(1)
		go func() { defer n.wg.Done(); n.sweepDuty(ctx) }()
	}
	if n.cfg.RerouteSweepInterval >= 0 {
		n.wg.Add(1)
		go func() { defer n.wg.Done(); n.sweepReroutes(ctx) }()
	}
	if n.cfg.CheckBook {
		n.wg.Add(1)
		go func() { defer n.wg.Done(); n.checkBookWhenCaughtUp(ctx) }()
	}
	if n.cfg.CertReloadInterval >= 0 {
		n.wg.Add(1)
		go func() { defer n.wg.Done(); n.reloadCertificate(ctx) }()
	}
	n.log.Info("node started", "http", n.httpAddr, "peer", n.peerAddr, "raft", n.raftAddr)
	return nil
}

func (n *Node) serve(name string, f func() error) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := f(); err != nil && !n.stopping.Load() {
			n.log.Error("server stopped", "server", name, "err", err)
		}
	}()
}

// HTTPAddr is the advertised REST address (host:port).
func (n *Node) HTTPAddr() string { return n.httpAddr }

// PeerAddr is the advertised node-to-node address.
func (n *Node) PeerAddr() string { return n.peerAddr }

// RaftAddr is the advertised raft address.
func (n *Node) RaftAddr() string { return n.raftAddr }

// MetricsAddr is the address /metrics is served on when Config.MetricsAddr
// is set (its listener's address), else "".
func (n *Node) MetricsAddr() string {
	if n.metricsLn == nil {
		return ""
	}
	return n.metricsLn.Addr().String()
}

// Office is the node's federation part.
func (n *Node) Office() *federation.Office { return n.office }

// Registry is the node's registry replica.
func (n *Node) Registry() *registry.Registry { return n.office.Registry() }

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Ready reports whether the node serves: its office has a leader, the
// node has applied what its office had committed when it started, and its
// registry holds its own office.
func (n *Node) Ready() bool { return n.ready.Load() }

func (n *Node) checkReady() (bool, string) {
	reason, why := n.readiness()
	return reason == readyReason, why
}

// readiness is what /readyz says: a reason from a fixed set (the label
// of the metric yizhan_not_ready_reason) and, in words, why (its
// "reason" field).
func (n *Node) readiness() (reason, why string) {
	if n.stopping.Load() {
		return notReadyStopping, "shutting down"
	}
	if _, id := n.office.Group().Leader(); id == "" {
		return n.whyNoLeader()
	}
	if _, err := newBookGate(n).Enter(); err != nil {
		return notReadyRestoring, "restoring the office's case book from the leader's snapshot"
	}
	if ok, why := n.office.CaughtUp(); !ok {
		if n.office.StateForeign() {
			return notReadyForeignState, why
		}
		return notReadyCatchingUp, why
	}
	if _, err := n.office.Registry().Office(n.cfg.Office); err != nil {
		if f := n.office.Feed(); f.LastError != "" && n.office.UpstreamIndex() == 0 {
			return notReadyNoUpstream, "registry does not hold this office yet: no upstream reachable: " + f.LastError
		}
		return notReadyRegistry, "registry does not hold this office yet"
	}
	if err := n.office.CanNumber(); err != nil {
		return notReadyFirstStart, err.Error()
	}
	if n.cfg.BootstrapAdminPassword != "" {
		if _, err := n.office.Registry().Staff("admin"); err != nil {
			return notReadyRegistry, "the admin account is not created yet"
		}
	}
	if _, _, ok := n.office.Registry().NewestQueryCodeKey(); !ok && n.office.IsCounty() {
		return notReadyRegistry, "the registry's query-code key is not created yet"
	}
	return readyReason, "ok"
}

// The reasons readiness gives: a ready node's, then one for each wait
// /readyz names (docs/OPERATIONS.md, "A node that is never ready").
const (
	readyReason          = "ready"
	notReadyStopping     = "shutting_down"
	notReadyNoGroup      = "no_raft_group"        // neither --bootstrap nor --join on an empty data directory
	notReadyJoinFailing  = "join_failing"         // its requests to join fail
	notReadyJoining      = "joining"              // asking to join (--join), no failure yet
	notReadyNotMember    = "not_member"           // its name is not among its data directory's members
	notReadyNoLeader     = "no_leader"            // a member: an election, or too few members up
	notReadyRestoring    = "restoring"            // the book is being replaced by the leader's snapshot
	notReadyForeignState = "foreign_state"        // its state is not its office's log's (federation.Office.StateForeign)
	notReadyCatchingUp   = "catching_up"          // applying what its office had committed when it started
	notReadyNoUpstream   = "registry_unreachable" // its registry lacks its office and no upstream answers
	notReadyRegistry     = "registry_incomplete"  // its office, the admin account or the query-code key not there yet
	notReadyFirstStart   = "first_start"          // started on an empty data directory: finding out whether its office ran before, or found it runs elsewhere
)

// notReadyReasons are the reasons of a node that is not ready.
var notReadyReasons = []string{notReadyStopping, notReadyNoGroup, notReadyJoinFailing, notReadyJoining, notReadyNotMember,
	notReadyNoLeader, notReadyRestoring, notReadyForeignState, notReadyCatchingUp, notReadyNoUpstream, notReadyRegistry, notReadyFirstStart}

// noGroupReason is why a node with an empty data directory started with
// neither --bootstrap nor --join is never ready.
const noGroupReason = "this node belongs to no raft group: its data directory holds no raft state and it was started with neither --bootstrap (the first node of a new office) nor --join (a node added to an office that runs)"

// whyNoLeader says why this node knows no leader of its office (a
// readiness reason, and in words): an election under way, or what no
// election mends, a node that belongs to no raft group, whose join
// fails, or whose name is not a member's.
func (n *Node) whyNoLeader() (reason, why string) {
	if n.noGroup {
		return notReadyNoGroup, noGroupReason
	}
	if why := n.office.JoinError(); why != "" {
		return notReadyJoinFailing, "not a member of the office's raft group yet: " + why
	}
	if why := n.notMember(); why != "" {
		if len(n.cfg.Join) > 0 {
			return notReadyJoining, "not a member of the office's raft group yet: asking " + strings.Join(n.cfg.Join, ", ") + " (--join) to add this node"
		}
		return notReadyNotMember, why
	}
	return notReadyNoLeader, "office has no raft leader"
}

// notMember says that this node's name is not among the members of the
// office's raft configuration in its data directory, naming them: a
// one-node office moved to a machine of another host name (--name
// defaults to it) is no member of its own office and waits for ever
// for a leader. "" when it is a member, or when the data directory holds
// no configuration (a new node).
func (n *Node) notMember() string {
	servers, err := n.office.Group().Members()
	if err != nil || len(servers) == 0 {
		return ""
	}
	members := make([]string, 0, len(servers))
	for _, s := range servers {
		if string(s.ID) == n.cfg.Name {
			return ""
		}
		members = append(members, fmt.Sprintf("%s (raft %s)", s.ID, s.Address))
	}
	return fmt.Sprintf("this node, %s, is not a member of the office's raft group: the members its data directory holds are %s; "+
		"start it under one of their names (--name), or add it to the office with an empty data directory and --join",
		n.cfg.Name, strings.Join(members, ", "))
}

func (n *Node) watchReady(ctx context.Context) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		ok, _ := n.checkReady()
		n.ready.Store(ok)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// bootstrapCounty creates the county office and the first admin account
// when this node leads a new county whose registry is empty, and the
// registry's query-code key when it has none.
func (n *Node) bootstrapCounty(ctx context.Context) {
	reg := n.office.Registry()
	for ctx.Err() == nil {
		_, officeErr := reg.Office(n.cfg.Office)
		_, adminErr := reg.Staff("admin")
		_, _, haveKey := reg.NewestQueryCodeKey()
		official := !registry.OfficialNewer(registry.OfficialData(), reg.OfficialInForce())
		if officeErr == nil && haveKey && official && (n.cfg.BootstrapAdminPassword == "" || adminErr == nil) {
			if n.cfg.BootstrapAdminPassword == "" {
				n.warnNoAdmin(ctx)
			}
			return
		}
		if n.office.Group().IsLeader() {
			if err := n.bootstrapCountyOnce(ctx, officeErr != nil, adminErr != nil); err != nil {
				n.log.Warn("bootstrap county registry", "err", err)
			}
			if err := n.ensureQueryCodeKey(ctx); err != nil {
				n.log.Warn("create the query-code key", "err", err)
			}
			if officeErr == nil {
				if err := n.ensureOfficialCalendars(ctx); err != nil {
					n.log.Warn("put this release's official calendars in force", "err", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// warnNoAdmin warns, once the node has applied what its office had
// committed when it started, when the county's registry holds no enabled
// admin account and the node was given no password to create one: the
// county runs and is ready, but nobody can sign in to write its registry
// (a county bootstrapped without --bootstrap-admin-password-file).
func (n *Node) warnNoAdmin(ctx context.Context) {
	for {
		if ok, _ := n.office.CaughtUp(); ok {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
	for _, m := range n.office.Registry().StaffList(n.cfg.Office) {
		if !m.GetDisabled() && slices.Contains(m.GetRoles(), yizhanv1.Role_ROLE_ADMIN) {
			return
		}
	}
	n.log.Warn("the county's registry holds no admin account and this node was started without --bootstrap-admin-password-file: " +
		"nobody can sign in to write the registry; restart the county's nodes one at a time with --bootstrap-admin-password-file: the first that leads with it creates the admin account")
}

func (n *Node) bootstrapCountyOnce(ctx context.Context, needOffice, needAdmin bool) error {
	if !n.cfg.Bootstrap && needOffice {
		// Only the node started with --bootstrap fills an empty registry:
		// an empty registry on a joined node means it has not caught up.
		return nil
	}
	at := n.now().UnixNano()
	if needOffice {
		name := n.cfg.OfficeName
		if name == "" {
			name = "县政务服务中心"
		}
		_, _, err := n.office.ProposeRegistry(ctx, &peerv1.RegistryCommand{AtUnixNano: at, Actor: "node:" + n.cfg.Name,
			Op: &peerv1.RegistryCommand_CreateOffice{CreateOffice: &peerv1.CreateOffice{Office: &yizhanv1.Office{
				Code: n.cfg.Office, Name: name}}}})
		if err != nil && !errors.Is(err, registry.ErrAlreadyExists) {
			return err
		}
		n.log.Info("created the county office", "name", name)
	}
	if needAdmin && n.cfg.BootstrapAdminPassword != "" {
		hash, err := auth.HashPassword(n.cfg.BootstrapAdminPassword)
		if err != nil {
			return err
		}
		_, _, err = n.office.ProposeRegistry(ctx, &peerv1.RegistryCommand{AtUnixNano: at, Actor: "node:" + n.cfg.Name,
			Op: &peerv1.RegistryCommand_CreateStaff{CreateStaff: &peerv1.CreateStaff{
				Staff: &yizhanv1.StaffMember{Username: "admin", Name: "系统管理员", OfficeCode: n.cfg.Office,
					Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_ADMIN}},
				Credential: &peerv1.StaffCredential{Username: "admin", PasswordHash: hash},
			}}})
		if err != nil && !errors.Is(err, registry.ErrAlreadyExists) {
			return err
		}
		n.log.Info("created the admin account")
	}
	return nil
}

// clockElapsed is how the registry feed tells time gone by from a clock
// set (feed.Config.Elapsed): the boot clock for the machine's own clock;
// a clock given to the node (tests, moved on to days later by Add) its
// own reading, so that moving it on is time gone by, not a clock set.
func clockElapsed(now func() time.Time, given func(time.Time) time.Duration) func(time.Time) time.Duration {
	if given != nil || now == nil {
		return given
	}
	return feed.ClockReading
}

// clockOffsetSeconds is the office's ClockOffset in seconds (0 unknown).
func clockOffsetSeconds(o *federation.Office) float64 {
	off, _ := o.ClockOffset()
	return off.Seconds()
}

// registryStatus is GET /v1/registry/status.
func (n *Node) registryStatus() *yizhanv1.RegistryStatus {
	o := n.office
	reg := o.Registry()
	_, leader := o.Group().Leader()
	up := o.UpstreamIndex()
	index, digest := reg.Digest()
	st := &yizhanv1.RegistryStatus{
		OfficeCode: o.Code(), Node: o.NodeName(), Index: index, UpstreamIndex: up,
		Lag: up - min(up, index), StaleSeconds: o.StaleSeconds(time.Now()), Leader: leader,
		ClockOffsetSeconds:  clockOffsetSeconds(o),
		ChangelogFirstIndex: reg.ChangelogFirstIndex(), Digest: digest,
	}
	if !o.IsCounty() {
		f := o.Feed()
		st.FeedSource, st.FeedSourceOffice = f.Source, f.SourceOffice
		if !f.LastContact.IsZero() {
			st.LastContact = timestampOf(f.LastContact)
		}
		st.FeedError = f.LastError
		if !f.LastErrorAt.IsZero() {
			st.FeedErrorAt = timestampOf(f.LastErrorAt)
		}
	}
	book := o.Cases()
	st.OutboxEntries = uint32(book.OutboxLen())
	for _, q := range book.Quarantined() {
		st.Quarantined = append(st.Quarantined, &yizhanv1.QuarantinedMessage{
			DestOffice: q.GetEntry().GetDestOffice(), CaseNumber: q.GetEntry().GetCaseNumber(),
			UptoSeq: q.GetEntry().GetUptoSeq(), Reason: q.GetReason(), At: timestampOf(time.Unix(0, q.GetAtUnixNano())),
		})
	}
	for _, e := range o.DeliveryErrors() {
		st.DeliveryErrors = append(st.DeliveryErrors, &yizhanv1.DeliveryError{DestOffice: e.Dest, Error: e.Err, At: timestampOf(e.At)})
	}
	return st
}

// testHookPeerCall, when set (tests only: export_test.go), runs in the
// handler of each peer call a node started afterwards serves, after the
// call, with the call's context.
var testHookPeerCall func(n *Node, ctx context.Context, method string)

// Close stops the node. The order matters: stop taking requests and
// report not ready (so load balancers move on), stop the background work,
// hand raft leadership over and shut raft down, then close badger, which
// raft writes to until it stops.
func (n *Node) Close() error {
	n.closeOnce.Do(func() {
		n.stopping.Store(true)
		n.ready.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if n.httpServer != nil {
			n.httpServer.shutdown(ctx)
		}
		if n.metricsServer != nil {
			n.metricsServer.shutdown(ctx)
		}
		if n.cancel != nil {
			n.cancel()
		}
		if n.office != nil {
			n.office.Close()
		}
		if n.publicServer != nil {
			n.publicServer.Stop()
		}
		if n.peerServer != nil {
			n.peerServer.Stop() // feeds are endless streams: no graceful wait
		}
		n.wg.Wait()
		if n.office != nil {
			if err := n.office.Group().Close(); err != nil {
				n.closeErr = err
			}
		}
		n.closeResources()
		n.log.Info("node stopped")
	})
	return n.closeErr
}

func (n *Node) closeResources() {
	if n.peers != nil {
		n.peers.Close()
	}
	for _, ln := range []net.Listener{n.httpLn, n.peerLn, n.raftLn, n.metricsLn} {
		if ln != nil {
			ln.Close()
		}
	}
	if n.db != nil {
		if err := n.db.Close(); err != nil && n.closeErr == nil {
			n.closeErr = fmt.Errorf("node: close store: %w", err)
		}
		n.db = nil
	}
}

// staffDirectory adapts the registry to auth.StaffDirectory.
type staffDirectory struct{ reg *registry.Registry }

func (d staffDirectory) StaffMember(username string) (*yizhanv1.StaffMember, bool) {
	return d.reg.StaffView(username) // the authenticator only reads it
}
