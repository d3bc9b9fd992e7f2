// Package demo runs a small county on one machine: a county office of
// three nodes, one township and two villages, each node with its own data
// directory and ports, filled with sample data.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/node"
)

// Options configures the demo.
type Options struct {
	DataDir      string // each node gets DataDir/<node name>; the CA lives in DataDir/ca
	HTTPBasePort int    // node i serves HTTP on HTTPBasePort+i, peers on +100+i, raft on +200+i
	// Out receives the demo's progress in plain words while it starts:
	// which node is up, who leads each office, what it is waiting for.
	Out    io.Writer
	Logger *slog.Logger
	// Timing, when set, replaces raft's default timing (tests shorten it).
	Timing *node.Config
	// Now, when set, is every node's clock (a test moves it on to make
	// cases late); CardSweepInterval how often the leaders sweep the card
	// rules, DutySweepInterval the duty shifts and unsigned reports (0:
	// the node's default).
	Now               func() time.Time
	CardSweepInterval time.Duration
	DutySweepInterval time.Duration
}

// NodeSpec is one node of the demo county.
type NodeSpec struct {
	Name   string
	Office string
}

// officeLabels name the demo's offices in the progress lines.
var officeLabels = map[string]string{
	CountyCode:   "the county 青山县",
	TownshipCode: "the township 城关镇",
	DongcunCode:  "the village 东村",
	XicunCode:    "the village 西村",
}

// Nodes lists the demo's nodes in port order: county nodes first, then
// the township, then the villages.
var Nodes = []NodeSpec{
	{"county-1", CountyCode}, {"county-2", CountyCode}, {"county-3", CountyCode},
	{"chengguan-1", TownshipCode},
	{"dongcun-1", DongcunCode}, {"xicun-1", XicunCode},
}

// County is a running demo county.
type County struct {
	Nodes []*node.Node
	// Cases are the sample cases, with their query codes (from the first
	// run, kept in DataDir/sample-cases.txt).
	Cases []SampleCase
	opts  Options
	// log is the demo's own logger; the nodes log through stoppingHandler,
	// quiet once stopping is set.
	log      *slog.Logger
	stopping atomic.Bool
}

// Start starts every node, fills the registry at first start, and waits
// until every node is ready.
func Start(ctx context.Context, opts Options) (*County, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if err := os.MkdirAll(opts.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	pinned, err := checkPinnedPorts(opts.DataDir, opts.HTTPBasePort)
	if err != nil {
		return nil, err
	}
	caDir := filepath.Join(opts.DataDir, "ca")
	if _, err := os.Stat(filepath.Join(caDir, "ca.crt")); errors.Is(err, os.ErrNotExist) {
		if err := pki.InitCA(caDir, "Yizhan demo county CA"); err != nil {
			return nil, err
		}
	}
	port := func(i, offset int) string { return "127.0.0.1:" + strconv.Itoa(opts.HTTPBasePort+offset+i) }
	var countyPeers, townshipPeers []string
	for i, s := range Nodes {
		switch s.Office {
		case CountyCode:
			countyPeers = append(countyPeers, port(i, 100))
		case TownshipCode:
			townshipPeers = append(townshipPeers, port(i, 100))
		}
	}
	c := &County{log: opts.Logger}
	opts.Logger = slog.New(stoppingHandler{opts.Logger.Handler(), &c.stopping})
	c.opts = opts
	for i, s := range Nodes {
		dir := filepath.Join(opts.DataDir, s.Name)
		certDir := filepath.Join(dir, "tls")
		if _, err := os.Stat(filepath.Join(certDir, "node.crt")); errors.Is(err, os.ErrNotExist) {
			if err := pki.IssueNode(caDir, pki.Identity{Office: s.Office, Node: s.Name}, []string{"127.0.0.1", "localhost"}, certDir); err != nil {
				return nil, err
			}
		}
		bundle, err := pki.Load(filepath.Join(certDir, "node.crt"), filepath.Join(certDir, "node.key"), filepath.Join(certDir, "ca.crt"))
		if err != nil {
			c.Close()
			return nil, err
		}
		cfg := node.Config{
			Office: s.Office, Name: s.Name, DataDir: dir,
			HTTPAddr: port(i, 0), PeerAddr: port(i, 100), RaftAddr: port(i, 200),
			TLS: bundle, Logger: opts.Logger, SmallBadger: true,
			Now: opts.Now, CardSweepInterval: opts.CardSweepInterval, DutySweepInterval: opts.DutySweepInterval,
		}
		switch s.Office {
		case CountyCode:
			cfg.OfficeName = "青山县政务服务中心"
			if i == 0 {
				cfg.Bootstrap = true
				cfg.BootstrapAdminPassword = AdminPassword
			} else {
				cfg.Join = countyPeers
			}
		case TownshipCode:
			cfg.Bootstrap = true
			cfg.Upstream = countyPeers
		default:
			cfg.Bootstrap = true
			cfg.Upstream = append(append([]string{}, townshipPeers...), countyPeers...)
		}
		if opts.Timing != nil {
			cfg.Timing = opts.Timing.Timing
			cfg.FeedHeartbeat = opts.Timing.FeedHeartbeat
		}
		n, err := node.New(cfg)
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("demo: node %s: %w%s", s.Name, err, portsBusy(err, opts.HTTPBasePort, pinned))
		}
		if err := n.Start(); err != nil {
			n.Close()
			c.Close()
			return nil, fmt.Errorf("demo: node %s: %w", s.Name, err)
		}
		c.Nodes = append(c.Nodes, n)
		if !pinned {
			// The first node has started: its raft group now knows it by
			// its address, and the data directory keeps these ports. A
			// run that failed before (a port held by another program)
			// pinned nothing.
			if err := pinPorts(opts.DataDir, opts.HTTPBasePort); err != nil {
				c.Close()
				return nil, err
			}
			pinned = true
		}
		fmt.Fprintf(opts.Out, "%s is up (%s): http://%s\n", s.Name, officeLabels[s.Office], n.HTTPAddr())
	}
	if err := c.waitLeaders(ctx, 60*time.Second); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.seed(ctx); err != nil {
		c.Close()
		return nil, err
	}
	fmt.Fprintln(opts.Out, "waiting for every node to catch up with the registry …")
	if err := c.waitReady(ctx, 60*time.Second); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.sampleCases(ctx); err != nil {
		c.Close()
		return nil, err
	}
	fmt.Fprintln(opts.Out, "every node is ready.")
	return c, nil
}

// portsFile remembers the base port a demo data directory was made with:
// its raft groups know their members by address, so the ports cannot
// move under the same data. It is written once the first node has
// started on them.
const portsFile = "http-base-port"

// checkPinnedPorts refuses a base port other than the one dir's data was
// made with, and reports whether dir has one.
func checkPinnedPorts(dir string, base int) (pinned bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, portsFile))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("demo: %w", err)
	}
	if was := strings.TrimSpace(string(b)); was != strconv.Itoa(base) {
		return true, fmt.Errorf("demo: the data in %s was made with --http-base-port %s: use that port, or another --data directory", dir, was)
	}
	return true, nil
}

// pinPorts writes the base port the data in dir is made with.
func pinPorts(dir string, base int) error {
	if err := os.WriteFile(filepath.Join(dir, portsFile), []byte(strconv.Itoa(base)+"\n"), 0o600); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// portsBusy says, after a node's error, which ports the demo takes and
// how to move them, when the error is a port held by another program.
func portsBusy(err error, base int, pinned bool) string {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return ""
	}
	last := base + len(Nodes) - 1
	move := "free them, or move them all with --http-base-port N"
	if pinned {
		move = "free them, or run with another --data directory and --http-base-port N (a data directory keeps the ports it was made with)"
	}
	return fmt.Sprintf(" (the demo takes the ports %d–%d for HTTP, %d–%d for the peer links and %d–%d for raft: %s)",
		base, last, base+100, last+100, base+200, last+200, move)
}

// waitLeaders waits until each office has a leader, and says who it is
// as soon as it is known.
func (c *County) waitLeaders(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	told := map[string]bool{} // offices whose leader was told
	for {
		var waiting []string
		for _, s := range Nodes {
			if told[s.Office] {
				continue
			}
			for i, n := range c.Nodes {
				if Nodes[i].Office == s.Office && n.Office().Group().IsLeader() {
					fmt.Fprintf(c.opts.Out, "%s leads %s\n", n.Name(), officeLabels[s.Office])
					told[s.Office] = true
					break
				}
			}
			if !told[s.Office] && !slices.Contains(waiting, s.Office) {
				waiting = append(waiting, s.Office)
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: no leader after %s in offices %s", timeout, strings.Join(waiting, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *County) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		var waiting []string
		for _, n := range c.Nodes {
			if !n.Ready() || !c.knowsEveryNode(n) {
				waiting = append(waiting, n.Name())
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("demo: nodes not ready after %s: %s", timeout, strings.Join(waiting, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// knowsEveryNode reports whether n's registry holds the directory entry
// of every node of the demo: until it does, a sample case it hands on to
// another office could find no node to send it to, and say so in a
// warning.
func (c *County) knowsEveryNode(n *node.Node) bool {
	for _, s := range Nodes {
		if !slices.ContainsFunc(n.Registry().Nodes(s.Office), func(e *yizhanv1.NodeEntry) bool { return e.GetName() == s.Name }) {
			return false
		}
	}
	return true
}

// dialCounty opens a gRPC client connection to the first county node.
func (c *County) dialCounty() (*grpc.ClientConn, error) {
	return grpc.NewClient(c.Nodes[0].HTTPAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
}

// seed fills the registry through the public API, as a county admin
// would. Everything that already exists is left as it is, so a second
// run over the same data changes nothing.
func (c *County) seed(ctx context.Context) error {
	conn, err := c.dialCounty()
	if err != nil {
		return err
	}
	defer conn.Close()
	au := yizhanv1.NewAuthServiceClient(conn)
	var token string
	deadline := time.Now().Add(60 * time.Second)
	// The first county node creates the admin account once it leads:
	// signing in before would be a failed sign-in, which the node logs as
	// a warning.
	for {
		if _, err := c.Nodes[0].Registry().Staff("admin"); err == nil || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	for {
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := au.Login(lctx, &yizhanv1.LoginRequest{Username: "admin", Password: AdminPassword})
		cancel()
		if err == nil {
			token = resp.GetToken()
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("demo: sign in as admin: %w", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	reg := yizhanv1.NewRegistryServiceClient(conn)
	if _, err := reg.GetItem(ctx, &yizhanv1.GetItemRequest{Code: items[len(items)-1].Code}); err == nil {
		if _, err := reg.GetOffice(ctx, &yizhanv1.GetOfficeRequest{Code: XicunCode}); err == nil {
			return nil // seeded by an earlier run
		}
	}
	fmt.Fprintln(c.opts.Out, "filling the registry with sample data (first run only) …")
	create := func(what string, call func(ctx context.Context) error) error {
		for attempt := 0; ; attempt++ {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			err := call(cctx)
			cancel()
			switch status.Code(err) {
			case codes.OK, codes.AlreadyExists:
				return nil
			case codes.Unavailable:
				if attempt < 50 {
					time.Sleep(200 * time.Millisecond)
					continue
				}
			}
			return fmt.Errorf("demo: create %s: %w", what, err)
		}
	}
	for _, o := range offices {
		if err := create("office "+o.Code, func(ctx context.Context) error {
			_, err := reg.CreateOffice(ctx, &yizhanv1.CreateOfficeRequest{Office: o})
			return err
		}); err != nil {
			return err
		}
	}
	for _, d := range departments {
		if err := create("department "+d.Code, func(ctx context.Context) error {
			_, err := reg.CreateDepartment(ctx, &yizhanv1.CreateDepartmentRequest{Department: d})
			return err
		}); err != nil {
			return err
		}
	}
	for _, it := range items {
		if err := create("item "+it.Code, func(ctx context.Context) error {
			_, err := reg.CreateItem(ctx, &yizhanv1.CreateItemRequest{Item: it})
			return err
		}); err != nil {
			return err
		}
		if days, ok := promiseCuts[it.Code]; ok {
			if err := create("item "+it.Code+" version 2", func(ctx context.Context) error {
				// One request ID: a retry after a lost answer makes no
				// third version.
				_, err := reg.UpdateItem(ctx, &yizhanv1.UpdateItemRequest{RequestId: "demo-" + it.Code + "-v2",
					Item:       &yizhanv1.Item{Code: it.Code, PromisedLimitDays: days, ChangeNote: "依县政府提速要求压缩承诺时限"},
					UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"promised_limit_days"}}})
				return err
			}); err != nil {
				return err
			}
		}
	}
	existing, err := reg.ListGrants(ctx, &yizhanv1.ListGrantsRequest{IncludeInactive: true})
	if err != nil {
		return fmt.Errorf("demo: list grants: %w", err)
	}
	if len(existing.GetGrants()) == 0 {
		for _, g := range grants() {
			if err := create("grant for "+g.ItemCode, func(ctx context.Context) error {
				_, err := reg.CreateGrant(ctx, &yizhanv1.CreateGrantRequest{Grant: g})
				return err
			}); err != nil {
				return err
			}
		}
	}
	for _, s := range staff {
		if err := create("staff "+s.Username, func(ctx context.Context) error {
			_, err := reg.CreateStaff(ctx, &yizhanv1.CreateStaffRequest{Staff: s, Password: AdminPassword})
			return err
		}); err != nil {
			return err
		}
	}
	// The township and the villages have one member of staff on a post:
	// one person may accept, review and decide there. The appeal notices
	// name the county's government and court.
	return create("case policy", func(ctx context.Context) error {
		_, err := reg.PutCasePolicy(ctx, &yizhanv1.PutCasePolicyRequest{Policy: &yizhanv1.CasePolicy{
			SingleHandedOffices: []string{TownshipCode, DongcunCode, XicunCode},
			ReconsiderationBody: "青山县人民政府", Court: "青山县人民法院", ComprehensiveWindowAccepts: true}})
		return err
	})
}

// PrintNodes writes a table of the nodes: office, name, raft role, URL.
func (c *County) PrintNodes(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OFFICE\tNAME\tNODE\tROLE\tURL")
	for _, n := range c.Nodes {
		name := ""
		if o, err := n.Registry().Office(n.Office().Code()); err == nil {
			name = o.GetName()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\thttp://%s\n", n.Office().Code(), name, n.Name(), n.Office().Group().State(), n.HTTPAddr())
	}
	tw.Flush()
}

// Close stops the nodes: villages first, the county last. The whole
// county goes down at once, so what its nodes say of each other while
// they stop (a county leader's heartbeats its stopped followers no
// longer answer, ERROR "failed to appendEntries"; its leadership it
// cannot hand over, WARN "leadership transfer failed") is no news: it is
// logged at debug. A node that fails to close is still an error.
func (c *County) Close() {
	c.stopping.Store(true)
	for i := len(c.Nodes) - 1; i >= 0; i-- {
		if err := c.Nodes[i].Close(); err != nil && c.log != nil {
			c.log.Error("demo: stop node", "node", c.Nodes[i].Name(), "err", err)
		}
	}
}

// stoppingHandler logs at debug what the nodes log once the demo county
// stops (County.Close).
type stoppingHandler struct {
	slog.Handler
	stopping *atomic.Bool
}

func (h stoppingHandler) Enabled(ctx context.Context, l slog.Level) bool {
	if h.stopping.Load() {
		l = min(l, slog.LevelDebug)
	}
	return h.Handler.Enabled(ctx, l)
}

func (h stoppingHandler) Handle(ctx context.Context, r slog.Record) error {
	if h.stopping.Load() && r.Level > slog.LevelDebug {
		if !h.Handler.Enabled(ctx, slog.LevelDebug) {
			return nil
		}
		r.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, r)
}

func (h stoppingHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return stoppingHandler{h.Handler.WithAttrs(as), h.stopping}
}

func (h stoppingHandler) WithGroup(name string) slog.Handler {
	return stoppingHandler{h.Handler.WithGroup(name), h.stopping}
}
