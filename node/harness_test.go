package node_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/node"
)

const (
	county   = "450122000000"
	township = "450122101000"
	dongcun  = "450122101203"
	xicun    = "450122101204"
	password = "correct-horse"
)

// link is a network link that a test can cut: while cut, dials fail and
// every connection made through it is closed. It can also hang the way to
// one address: connections to it stay open and take what is written, but
// nothing comes back (a stopped process, a black-holed route).
type link struct {
	mu    sync.Mutex // guards the fields below
	cut   bool
	conns map[net.Conn]struct{}
	hung  map[string]bool
	// blocked addresses: dials to them fail, connections to them close.
	blocked map[string]bool
	rate    int // bytes a second each connection may send; 0: no limit
}

// Throttle slows what each connection through the link sends to about
// rate bytes a second (0: no limit): a slow village line.
func (l *link) Throttle(rate int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rate = rate
}

func (l *link) rateNow() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rate
}

func newLink() *link {
	return &link{conns: map[net.Conn]struct{}{}, hung: map[string]bool{}, blocked: map[string]bool{}}
}

// Block cuts the way to addr alone: dials to it fail and connections to
// it close, the rest of the link works.
func (l *link) Block(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.blocked[addr] = true
	for c := range l.conns {
		if c.(*hangable).addr == addr {
			c.Close()
			delete(l.conns, c)
		}
	}
}

// Unblock lets dials to addr through again.
func (l *link) Unblock(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.blocked, addr)
}

// Hang stops everything coming back from addr, on connections old and new.
func (l *link) Hang(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hung[addr] = true
}

// Unhang lets what addr sent (and sends) through again.
func (l *link) Unhang(addr string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.hung, addr)
}

func (l *link) isHung(addr string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.hung[addr]
}

// hangable is a connection whose reads wait while its link hangs its
// address.
type hangable struct {
	net.Conn
	l      *link
	addr   string
	closed chan struct{}
	once   sync.Once
}

func (c *hangable) Read(p []byte) (int, error) {
	if err := c.waitWhileHung(); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	// What arrives while hung is held back too, also for a read that
	// began before.
	if werr := c.waitWhileHung(); werr != nil {
		return 0, werr
	}
	return n, err
}

// Write sends p, paced to the link's rate when it is throttled.
func (c *hangable) Write(p []byte) (int, error) {
	rate := c.l.rateNow()
	if rate <= 0 {
		return c.Conn.Write(p)
	}
	sent := 0
	for sent < len(p) {
		n := min(len(p)-sent, max(rate/20, 1024))
		w, err := c.Conn.Write(p[sent : sent+n])
		sent += w
		if err != nil {
			return sent, err
		}
		select {
		case <-c.closed:
			return sent, net.ErrClosed
		case <-time.After(time.Duration(n) * time.Second / time.Duration(rate)):
		}
	}
	return sent, nil
}

func (c *hangable) waitWhileHung() error {
	for c.l.isHung(c.addr) {
		select {
		case <-c.closed:
			return net.ErrClosed
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

func (c *hangable) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

func (l *link) Dial(ctx context.Context, addr string) (net.Conn, error) {
	l.mu.Lock()
	cut := l.cut || l.blocked[addr]
	l.mu.Unlock()
	if cut {
		return nil, errors.New("link cut")
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cut || l.blocked[addr] {
		c.Close()
		return nil, errors.New("link cut")
	}
	hc := &hangable{Conn: c, l: l, addr: addr, closed: make(chan struct{})}
	l.conns[hc] = struct{}{}
	return hc, nil
}

func (l *link) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = true
	for c := range l.conns {
		c.Close()
		delete(l.conns, c)
	}
}

func (l *link) Restore() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = false
}

// fed is an in-process federation of real nodes: real raft, badger on
// disk, TCP on 127.0.0.1 and mutual TLS.
type fed struct {
	t     testing.TB
	ca    *pki.CA
	dir   string
	nodes map[string]*node.Node
	cfgs  map[string]node.Config
	links map[string]*link
	// retention is the registry changelog length every node keeps.
	retention int
	// tune, when set, changes each node's configuration as it starts.
	tune func(name string, c *node.Config)
}

func newFed(t testing.TB) *fed {
	t.Helper()
	ca, err := pki.GenerateCA("test county CA")
	if err != nil {
		t.Fatal(err)
	}
	f := &fed{t: t, ca: ca, dir: t.TempDir(), nodes: map[string]*node.Node{}, cfgs: map[string]node.Config{}, links: map[string]*link{}}
	t.Cleanup(f.closeAll)
	return f
}

func (f *fed) bundle(office, name string) *pki.Bundle {
	f.t.Helper()
	certPEM, keyPEM, err := f.ca.Issue(pki.Identity{Office: office, Node: name}, []string{"127.0.0.1"})
	if err != nil {
		f.t.Fatal(err)
	}
	b, err := pki.LoadPEM(certPEM, keyPEM, f.ca.CertPEM())
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func fastTiming() raftgroup.Timing {
	return raftgroup.Timing{
		HeartbeatTimeout: 400 * time.Millisecond, ElectionTimeout: 400 * time.Millisecond,
		LeaderLeaseTimeout: 200 * time.Millisecond, CommitTimeout: 5 * time.Millisecond, NudgeQuiet: 2 * time.Millisecond,
		// A write waits this long for an election (a lost lease on a busy
		// machine) before it is answered NO_LEADER.
		LeaderHold:       3 * time.Second,
		SnapshotInterval: 2 * time.Second, SnapshotThreshold: 512, TrailingLogs: 256,
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("YIZHAN_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// start starts a node. mod may change its configuration.
func (f *fed) start(name, office string, mod func(*node.Config)) *node.Node {
	f.t.Helper()
	l := newLink()
	cfg := node.Config{
		Office: office, Name: name, DataDir: filepath.Join(f.dir, name),
		HTTPAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0", RaftAddr: "127.0.0.1:0",
		TLS: f.bundle(office, name), Logger: testLogger(),
		Timing: fastTiming(), FeedHeartbeat: 100 * time.Millisecond, SmallBadger: true,
		ChangelogRetention: f.retention, Dial: l.Dial,
	}
	if mod != nil {
		mod(&cfg)
	}
	if f.tune != nil {
		f.tune(name, &cfg)
	}
	f.links[name] = l
	return f.run(name, cfg)
}

func (f *fed) run(name string, cfg node.Config) *node.Node {
	f.t.Helper()
	n, err := node.New(cfg)
	if err != nil {
		f.t.Fatalf("start %s: %v", name, err)
	}
	if err := n.Start(); err != nil {
		f.t.Fatalf("start %s: %v", name, err)
	}
	// Keep the ports, so a restart comes back where the others expect it.
	cfg.HTTPAddr, cfg.PeerAddr, cfg.RaftAddr = n.HTTPAddr(), n.PeerAddr(), n.RaftAddr()
	f.nodes[name] = n
	f.cfgs[name] = cfg
	return n
}

// checkBook walks the node's case book: its indexes and counters must
// agree with its cases (casebook.Check), whatever the test did.
func (f *fed) checkBook(name string, n *node.Node) {
	f.t.Helper()
	// As --check-book does, once the node has applied what its office had
	// committed when it started: until then its registry (in memory,
	// replayed from the log) may lack what the book's entries were
	// applied with, such as the key the applicant index is hashed under.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok, _ := n.Office().CaughtUp(); ok {
			break
		}
	}
	problems, err := n.Office().Cases().Check(context.Background(), n.Office().Registry())
	if err != nil {
		f.t.Errorf("check the case book of %s: %v", name, err)
	}
	for _, p := range problems {
		f.t.Errorf("case book of %s: %s", name, p)
	}
}

// stop stops a node cleanly.
func (f *fed) stop(name string) {
	f.t.Helper()
	if n := f.nodes[name]; n != nil {
		f.checkBook(name, n)
		if err := n.Close(); err != nil {
			f.t.Errorf("close %s: %v", name, err)
		}
		delete(f.nodes, name)
	}
}

// restart starts a stopped node again from its data directory.
func (f *fed) restart(name string) *node.Node {
	f.t.Helper()
	cfg := f.cfgs[name]
	cfg.Bootstrap = false
	return f.run(name, cfg)
}

func (f *fed) closeAll() {
	for name, n := range f.nodes {
		f.checkBook(name, n)
		n.Close()
		delete(f.nodes, name)
	}
}

func (f *fed) peerAddrs(names ...string) []string {
	var out []string
	for _, n := range names {
		out = append(out, f.cfgs[n].PeerAddr)
	}
	return out
}

// startCounty starts a county office of size nodes, bootstrapped with an
// admin account, and waits for its registry to hold the county.
func (f *fed) startCounty(size int) {
	f.t.Helper()
	f.start("county-1", county, func(c *node.Config) {
		c.Bootstrap = true
		c.BootstrapAdminPassword = password
	})
	for i := 2; i <= size; i++ {
		f.start(fmt.Sprintf("county-%d", i), county, func(c *node.Config) { c.Join = f.peerAddrs("county-1") })
	}
	for i := 1; i <= size; i++ {
		n := f.nodes[fmt.Sprintf("county-%d", i)]
		waitFor(f.t, n.Name()+" ready", n.Ready, 20*time.Second)
		waitFor(f.t, n.Name()+" knows the admin", func() bool { _, err := n.Registry().Staff("admin"); return err == nil }, 20*time.Second)
	}
}

// startTree starts a township and two villages under the county, after
// creating their offices in the registry.
func (f *fed) startTree(admin *client) {
	f.t.Helper()
	for _, o := range []*yizhanv1.Office{
		{Code: township, Name: "城关镇便民服务中心"}, {Code: dongcun, Name: "东村便民服务站"}, {Code: xicun, Name: "西村便民服务站"},
	} {
		if _, err := admin.reg.CreateOffice(admin.ctx(), &yizhanv1.CreateOfficeRequest{Office: o}); err != nil {
			f.t.Fatalf("create office %s: %v", o.Code, err)
		}
	}
	counties := f.countyNames()
	f.start("chengguan-1", township, func(c *node.Config) {
		c.Bootstrap = true
		c.Upstream = f.peerAddrs(counties...)
	})
	for name, code := range map[string]string{"dongcun-1": dongcun, "xicun-1": xicun} {
		f.start(name, code, func(c *node.Config) {
			c.Bootstrap = true
			c.Upstream = append(f.peerAddrs("chengguan-1"), f.peerAddrs(counties...)...)
		})
	}
	reg := f.nodes[counties[0]].Registry()
	for _, name := range []string{"chengguan-1", "dongcun-1", "xicun-1"} {
		n := f.nodes[name]
		waitFor(f.t, name+" ready", n.Ready, 20*time.Second)
		// A node started on an empty data directory announces itself once
		// its office knows whether it ran before (federation,
		// firststart.go), about when it is ready: a test that cuts its
		// link next must not see the announcement land after the cut.
		waitFor(f.t, name+" in the county's directory", func() bool {
			return slices.ContainsFunc(reg.Nodes(n.Office().Code()), func(e *yizhanv1.NodeEntry) bool { return e.GetName() == name })
		}, 20*time.Second)
	}
}

func (f *fed) countyNames() []string {
	var out []string
	for i := 1; ; i++ {
		name := fmt.Sprintf("county-%d", i)
		if _, ok := f.cfgs[name]; !ok {
			return out
		}
		out = append(out, name)
	}
}

// leader returns the county node that leads, waiting for one.
func (f *fed) countyLeader() *node.Node {
	f.t.Helper()
	var leader *node.Node
	waitFor(f.t, "a county leader", func() bool {
		for _, name := range f.countyNames() {
			if n := f.nodes[name]; n != nil && n.Office().Group().IsLeader() {
				leader = n
				return true
			}
		}
		return false
	}, 20*time.Second)
	return leader
}

// client is a gRPC client of one node's public API, signed in or not.
type client struct {
	t     testing.TB
	conn  *grpc.ClientConn
	reg   yizhanv1.RegistryServiceClient
	auth  yizhanv1.AuthServiceClient
	token string
}

func dial(t testing.TB, n *node.Node) *client {
	t.Helper()
	conn, err := grpc.NewClient(n.HTTPAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &client{t: t, conn: conn, reg: yizhanv1.NewRegistryServiceClient(conn), auth: yizhanv1.NewAuthServiceClient(conn)}
}

func (c *client) login(username, pw string) *client {
	c.t.Helper()
	var resp *yizhanv1.LoginResponse
	waitFor(c.t, "sign in as "+username, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var err error
		resp, err = c.auth.Login(ctx, &yizhanv1.LoginRequest{Username: username, Password: pw})
		if err != nil && status.Code(err) != codes.Unavailable {
			c.t.Fatalf("sign in as %s: %v", username, err)
		}
		return err == nil
	}, 20*time.Second)
	c.token = resp.GetToken()
	return c
}

// ctx is a context with the client's token and a timeout.
func (c *client) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	c.t.Cleanup(cancel)
	if c.token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.token)
	}
	return ctx
}

// waitFor waits until cond holds, failing the test after timeout.
func waitFor(t testing.TB, what string, cond func() bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
