package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/node"
	officesvc "github.com/yizhan-gov/yizhan/office"
	"github.com/yizhan-gov/yizhan/registry"
)

func runNode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	host, _ := os.Hostname()
	var (
		office     = fs.String("office", "", "12-digit division code of this node's office (required)")
		officeName = fs.String("office-name", "", "name of the county office, when bootstrapping a county (default 县政务服务中心)")
		name       = fs.String("name", host, "node name, unique in the federation")
		data       = fs.String("data", "", "data directory (required)")
		httpAddr   = fs.String("http-addr", ":8080", "REST, gRPC, web UI, /metrics, /healthz, /readyz")
		peerAddr   = fs.String("peer-addr", ":7070", "node-to-node gRPC (mutual TLS)")
		raftAddr   = fs.String("raft-addr", ":7000", "raft (mutual TLS)")
		metrics    = fs.String("metrics-addr", "", "serve /metrics on this address only, not on the HTTP port (default: on the HTTP port)")
		behindTLS  = fs.Bool("behind-tls", false, "the HTTP port is reached through a proxy that terminates TLS: Secure session cookie, Strict-Transport-Security, and the per-client limit counts the last X-Forwarded-For address (on a connection from --trusted-proxies)")
		proxies    = fs.String("trusted-proxies", "", "with --behind-tls: comma-separated addresses or CIDR ranges of the proxies in front of the HTTP port, whose X-Forwarded-For is believed (default: loopback and the private ranges 10/8, 172.16/12, 192.168/16, fc00::/7)")
		advertise  = fs.String("advertise", "", "host name other nodes use to reach this node (default: the listen host, or the host name)")
		bootstrap  = fs.Bool("bootstrap", false, "start a new raft group for the office with this node as its first voter (ignored once the data directory holds raft state)")
		rebuild    = fs.Bool("rebuild", false, "with --bootstrap: start anew an office below the county that ran before and lost its data with no backup; it takes back from its neighbouring offices every case they hold of it, and numbers new cases above any its lost disk handed out (docs/OPERATIONS.md, \"An office that lost its data with no backup\")")
		join       = fs.String("join", "", "comma-separated peer addresses (host:port) of nodes already in this office")
		forceNew   = fs.Bool("force-new-cluster", false, "make this node, on its own data directory, the only voter of its office with everything its raft log holds: the survivor of an office that lost its majority for good; then remove the flag and add nodes with --join (docs/OPERATIONS.md, \"An office that lost its majority\")")
		upstream   = fs.String("upstream", "", "comma-separated peer addresses (host:port) of the parent office's nodes, then fallbacks such as the county (required below the county)")
		tlsCert    = fs.String("tls-cert", "", "node certificate, naming the office (required)")
		tlsKey     = fs.String("tls-key", "", "node key (required)")
		tlsCA      = fs.String("tls-ca", "", "county CA certificate (required)")
		adminFile  = fs.String("bootstrap-admin-password-file", "", "county only, first start: create the county office and the admin account with the password in this file")
		logLevel   = fs.String("log-level", "info", "debug, info, warn or error")
		pprofOn    = fs.Bool("pprof", false, "serve Go's profiles under /debug/pprof/ and the case book's probe /debug/book?office=<code>&case=<number> on --metrics-addr (required), for an operator's look at memory, CPU and the book; keep that port private")
		scanQuota  = fs.Int64("scan-quota-mib", officesvc.DefaultScanQuota>>20, "MiB of scanned files no case names yet that the staff of one office may hold at this office: an upload of a new file (or of one held whole, sent again) past it is refused (SCAN_QUOTA) until cases name them, or they are dropped a day on; 0: no limit")
		checkBook  = fs.Bool("check-book", false, "once caught up with the office's raft log, walk the case book and log every index entry or counter that disagrees with the cases (a slow walk on a large book)")
	)
	routes := peerRoutes{}
	fs.Var(routes, "peer-route", "OFFICE=ADDR[,ADDR…]: reach that office's nodes at these peer addresses instead of those in the node directory (an office behind a NAT or port mapping); repeatable")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	// Every flag is checked before the node says it starts: a node that
	// will not run logs nothing of starting.
	if *office == "" {
		return fmt.Errorf("--office is required: the 12-digit division code of this node's office")
	}
	if *data == "" {
		return fmt.Errorf("--data is required: the node's data directory")
	}
	joinAddrs, err := peerAddrs(flagLabel(fs, "join"), *join)
	if err != nil {
		return err
	}
	upstreamAddrs, err := peerAddrs(flagLabel(fs, "upstream"), *upstream)
	if err != nil {
		return err
	}
	trusted, err := parseTrustedProxies(flagLabel(fs, "trusted-proxies"), *proxies)
	if err != nil {
		return err
	}
	if *scanQuota < 0 || *scanQuota > 1<<20 {
		return fmt.Errorf("%s %d: a quota is from 1 to 1048576 MiB, or 0 (no limit)", flagLabel(fs, "scan-quota-mib"), *scanQuota)
	}
	quota := *scanQuota << 20
	if *scanQuota == 0 {
		quota = -1 // no limit
	}
	if *pprofOn && *metrics == "" {
		return fmt.Errorf("--pprof needs --metrics-addr: the profiles are not served on the HTTP port")
	}
	bundle, err := loadTLS(*tlsCert, *tlsKey, *tlsCA, ": nodes talk only over mutual TLS")
	if err != nil {
		return err
	}
	privateFiles()
	logger, err := newLogger(stderr, *logLevel, flagLabel(fs, "log-level"))
	if err != nil {
		return err
	}
	logger.Info("yizhan node starting", append([]any{"office", *office, "node", *name}, readBuildInfo().logAttrs()...)...)
	if limit, ok := memoryLimitFor(*office); ok {
		logger.Info("soft memory limit for the tier (GOMEMLIMIT overrides it)", "bytes", limit)
	}
	if tier, err := registry.TierOf(*office); err == nil && tier == yizhanv1.Tier_TIER_COUNTY && len(upstreamAddrs) > 0 {
		logger.Warn("--upstream has no use at the county: the county is the top office and writes the registry itself; leave it out", "upstream", *upstream)
	}
	if *proxies != "" && !*behindTLS {
		logger.Warn("--trusted-proxies has no use without --behind-tls: X-Forwarded-For is read only when the HTTP port is reached through a proxy that terminates TLS (--behind-tls)", "trusted_proxies", *proxies)
	}
	var adminPassword string
	if *adminFile != "" {
		b, err := os.ReadFile(*adminFile)
		if err != nil {
			return fmt.Errorf("--bootstrap-admin-password-file: %w", err)
		}
		adminPassword = strings.TrimRight(string(b), "\r\n")
	}
	n, err := node.New(node.Config{
		Office: *office, OfficeName: *officeName, Name: *name, DataDir: *data,
		HTTPAddr: *httpAddr, PeerAddr: *peerAddr, RaftAddr: *raftAddr, Advertise: *advertise,
		MetricsAddr: *metrics, Pprof: *pprofOn, BehindTLS: *behindTLS, TrustedProxies: trusted,
		Bootstrap: *bootstrap, Rebuild: *rebuild, Join: joinAddrs, ForceNewCluster: *forceNew, Upstream: upstreamAddrs, PeerRoutes: routes,
		TLS: bundle, BootstrapAdminPassword: adminPassword, Logger: logger, CheckBook: *checkBook, ScanQuota: quota,
	})
	if err != nil {
		return err
	}
	if err := n.Start(); err != nil {
		n.Close()
		return err
	}
	fmt.Fprintf(stdout, "yizhan node %s of office %s serving http://%s\n", *name, *office, n.HTTPAddr())
	<-ctx.Done()
	logger.Info("shutting down")
	defer watchShutdown(logger, stderr, slowShutdown)()
	return n.Close()
}

// slowShutdown is how long a node's shutdown may take before it says
// what it is waiting for: a supervisor (systemd, Kubernetes) kills it
// with SIGKILL after its own grace period, and what held it up is then
// lost.
const slowShutdown = 8 * time.Second

// watchShutdown logs a warning and writes every goroutine's stack to w if
// the shutdown has not finished after d; the returned func ends the watch.
func watchShutdown(logger *slog.Logger, w io.Writer, d time.Duration) (done func()) {
	t := time.AfterFunc(d, func() {
		logger.Warn("shutdown is slow: the goroutines follow on stderr", "after", d)
		fmt.Fprintf(w, "=== goroutines after %s of shutting down\n", d)
		_ = pprof.Lookup("goroutine").WriteTo(w, 2)
	})
	return func() { t.Stop() }
}

// tierMemoryLimits are the Go runtime's soft memory limits of a node by
// its office's tier: the garbage collector works harder near them instead
// of letting the heap grow. A village point's or a township's small PC;
// a county's node, whose badger caches and memtables (about 200 MB with
// its county profile) and compactions live in the Go heap.
var tierMemoryLimits = map[yizhanv1.Tier]int64{
	yizhanv1.Tier_TIER_VILLAGE:  40 << 20,
	yizhanv1.Tier_TIER_TOWNSHIP: 64 << 20,
	yizhanv1.Tier_TIER_COUNTY:   384 << 20,
}

// memoryLimitFor sets the soft memory limit of office's tier, unless
// GOMEMLIMIT sets one, and reports it.
func memoryLimitFor(office string) (int64, bool) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0, false
	}
	tier, err := registry.TierOf(office)
	if err != nil {
		return 0, false
	}
	limit, ok := tierMemoryLimits[tier]
	if ok {
		debug.SetMemoryLimit(limit)
	}
	return limit, ok
}

// peerRoutes is the repeatable --peer-route flag: office → peer addresses.
type peerRoutes map[string][]string

func (r peerRoutes) String() string {
	var parts []string
	for office, addrs := range r {
		parts = append(parts, office+"="+strings.Join(addrs, ","))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

func (r peerRoutes) Set(v string) error {
	office, addrs, ok := strings.Cut(v, "=")
	if !ok || registry.ValidCode(office) != nil {
		return fmt.Errorf("--peer-route %q: want OFFICE=ADDR[,ADDR…] with a 12-digit office code", v)
	}
	list := splitList(addrs)
	for _, a := range list {
		if _, err := checkHostPort(a); err != nil {
			return fmt.Errorf("--peer-route %q: %w", v, err)
		}
	}
	if len(list) == 0 {
		return fmt.Errorf("--peer-route %q: no address", v)
	}
	r[office] = append(r[office], list...)
	return nil
}

// peerAddrs reads the comma-separated peer addresses of a flag (--join,
// --upstream, --peer; label: flagLabel's), each host:port.
func peerAddrs(label, v string) ([]string, error) {
	list := splitList(v)
	for _, a := range list {
		if _, err := checkHostPort(a); err != nil {
			return nil, fmt.Errorf("%s: %w: a node's peer address with its port, such as county-1.gov.local:7070", label, err)
		}
	}
	return list, nil
}

// loadTLS loads a node's certificate, key and the county CA from the
// files of --tls-cert, --tls-key and --tls-ca, naming the flag of a file
// it cannot read; why is said after "are required" when one is not
// given.
func loadTLS(certFile, keyFile, caFile, why string) (*pki.Bundle, error) {
	if certFile == "" || keyFile == "" || caFile == "" {
		return nil, fmt.Errorf("--tls-cert, --tls-key and --tls-ca are required%s", why)
	}
	for _, f := range []struct{ flag, path string }{{"--tls-cert", certFile}, {"--tls-key", keyFile}, {"--tls-ca", caFile}} {
		if _, err := os.Stat(f.path); err != nil {
			return nil, fmt.Errorf("%s: %w", f.flag, err)
		}
	}
	b, err := pki.Load(certFile, keyFile, caFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert, --tls-key, --tls-ca: %w", err)
	}
	return b, nil
}

// checkHostPort refuses an address that is not host:port with a port a
// node can be dialled at: without its port gRPC would dial the default
// port, 443, where no node listens; a port out of range (70000) or not a
// number (7OOO, a letter O typed for a zero) is dialled nowhere; the node
// would start and never reach it. It returns the address as one
// machine's (addrKey), so that one address written two ways is seen as
// one.
func checkHostPort(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "", fmt.Errorf("%q is not host:port", addr)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || n == 0 {
		return "", fmt.Errorf("%q: the port %q is not a number from 1 to 65535", addr, port)
	}
	return addrKey(host, uint16(n)), nil
}

// addrKey is host and port as one machine's address: an IP in its
// canonical form, a name lower-cased without a trailing dot (DNS names
// are case-insensitive), the port its number (07000 is 7000 to every
// dialler).
func addrKey(host string, port uint16) string {
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.Unmap().String()
	} else {
		host = strings.ToLower(strings.TrimSuffix(host, "."))
	}
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

// parseTrustedProxies reads --trusted-proxies (label: flagLabel's):
// addresses and CIDR ranges, comma-separated ("": none given, the node's
// default).
func parseTrustedProxies(label, v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is neither an address nor a CIDR range", label, f)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}
