// Command anchors measures an outside anchor for yizhan's write
// benchmarks: durable puts to an embedded etcd v3, a single member and a
// cluster of 3 members in this process, over gRPC from 1 or more
// concurrent clients.
//
// It is a module of its own (bench/anchors/go.mod), so that the main
// module does not depend on etcd. Each configuration ("members x
// clients") starts on a fresh etcd in a temporary directory, on
// 127.0.0.1 ports only, with etcd's own defaults (the WAL is fsynced
// before a put is answered; unsafe-no-fsync stays off), makes a bounded
// number of puts of a fixed-size value, each under a key of its own, and
// prints one JSON line with puts/s and the p50/p99 latency each client
// saw, then a table. See README.md.
//
//	go run . -puts 3000
//	go run . -json -configs 1x1,1x64 -puts 3000
//
// With -serve it starts one single-member etcd with one client and makes
// puts when asked on stdin, so that a benchmark can interleave them with
// its own operations in short turns (serve.go).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"go.etcd.io/etcd/api/v3/version"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
	"google.golang.org/grpc/grpclog"
)

// config is one measurement: a cluster of members, written to by clients
// at once.
type config struct {
	Members, Clients int
}

func (c config) String() string { return fmt.Sprintf("%dx%d", c.Members, c.Clients) }

// Result is the JSON line printed for each configuration.
type Result struct {
	Anchor      string  `json:"anchor"`       // "etcd"
	Version     string  `json:"etcd_version"` // the etcd server's version
	Members     int     `json:"members"`
	Clients     int     `json:"clients"`
	ValueBytes  int     `json:"value_bytes"`
	Puts        int     `json:"puts"` // timed puts (after the warm-up)
	Seconds     float64 `json:"seconds"`
	PutsPerS    float64 `json:"puts_per_s"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	CPUmsPerPut float64 `json:"cpu_ms_per_put"` // user+system CPU of this whole process (members and clients) per put
	Load1       float64 `json:"load1"`          // the machine's 1-minute load average before the run
	NProc       int     `json:"nproc"`
	Fsync       bool    `json:"fsync"` // always true: etcd's default, durable
}

func main() {
	var (
		configsFlag = flag.String("configs", "1x1,1x64,3x1,3x32,3x64", "comma-separated `MEMBERSxCLIENTS` configurations to measure, each on a fresh etcd")
		puts        = flag.Int("puts", 3000, "timed puts per configuration")
		warmup      = flag.Int("warmup", 200, "untimed puts per configuration before the timed ones (after one put per client)")
		maxDuration = flag.Duration("duration", 2*time.Minute, "stop a configuration's timed puts after this long, even if fewer than -puts were made")
		valueSize   = flag.Int("value-size", 600, "bytes per value")
		jsonOnly    = flag.Bool("json", false, "print only the JSON lines on stdout (the table goes to stderr)")
		dir         = flag.String("dir", "", "parent of the temporary data directories (default: the system's temporary directory)")
		logLevel    = flag.String("log-level", "error", "etcd's log level (to stderr)")
		serveFlag   = flag.Bool("serve", false, "start one single-member etcd with one client, then make puts on request: each line `put N` on stdin makes N timed puts and answers one JSON line with their latencies; the end of stdin stops it (serve.go)")
	)
	flag.Parse()
	if *serveFlag {
		grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, io.Discard, os.Stderr))
		if err := serve(os.Stdin, os.Stdout, opts{warmup: *warmup, valueSize: *valueSize, dir: *dir, logLevel: *logLevel}); err != nil {
			fatalf("-serve: %v", err)
		}
		return
	}
	configs, err := parseConfigs(*configsFlag)
	if err != nil {
		fatalf("-configs: %v", err)
	}
	if *puts < 1 || *valueSize < 1 || *warmup < 0 {
		fatalf("-puts and -value-size must be positive, -warmup not negative")
	}
	// gRPC's own logging would print every reconnect of 64 clients.
	grpclog.SetLoggerV2(grpclog.NewLoggerV2(io.Discard, io.Discard, os.Stderr))

	table := os.Stdout
	if *jsonOnly {
		table = os.Stderr
	}
	fmt.Fprintf(table, "etcd %s, %s, GOMAXPROCS %d, nproc %d, %s, load %s\n",
		version.Version, runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), cpuModel(), loadavg())

	var results []Result
	for _, c := range configs {
		r, err := measure(c, opts{puts: *puts, warmup: *warmup, maxDuration: *maxDuration, valueSize: *valueSize, dir: *dir, logLevel: *logLevel})
		if err != nil {
			fatalf("%s: %v", c, err)
		}
		line, err := json.Marshal(r)
		if err != nil {
			fatalf("%v", err)
		}
		fmt.Println(string(line))
		results = append(results, r)
	}
	tw := tabwriter.NewWriter(table, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "members\tclients\tputs\tputs/s\tp50 ms\tp99 ms\tmax ms\tcpu ms/put\tload\t")
	for _, r := range results {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%.0f\t%.2f\t%.2f\t%.2f\t%.3f\t%.2f\t\n",
			r.Members, r.Clients, r.Puts, r.PutsPerS, r.P50ms, r.P99ms, r.MaxMs, r.CPUmsPerPut, r.Load1)
	}
	tw.Flush()
}

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "anchors: "+format+"\n", args...)
	os.Exit(1)
}

func parseConfigs(s string) ([]config, error) {
	var out []config
	for _, f := range strings.Split(s, ",") {
		m, c, ok := strings.Cut(strings.TrimSpace(f), "x")
		if !ok {
			return nil, fmt.Errorf("%q is not MEMBERSxCLIENTS", f)
		}
		members, err1 := strconv.Atoi(m)
		clients, err2 := strconv.Atoi(c)
		if err1 != nil || err2 != nil || members < 1 || members > 7 || clients < 1 || clients > 1024 {
			return nil, fmt.Errorf("%q is not MEMBERSxCLIENTS (1–7 members, 1–1024 clients)", f)
		}
		out = append(out, config{members, clients})
	}
	return out, nil
}

type opts struct {
	puts, warmup, valueSize int
	maxDuration             time.Duration
	dir, logLevel           string
}

// measure starts a fresh cluster for c, puts to its leader from
// c.Clients clients and stops the cluster.
func measure(c config, o opts) (Result, error) {
	tmp, err := os.MkdirTemp(o.dir, "etcd-anchor-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(tmp)
	cl, err := startCluster(tmp, c.Members, o.logLevel)
	if err != nil {
		return Result{}, err
	}
	defer cl.close()
	leader, err := cl.leaderEndpoint()
	if err != nil {
		return Result{}, err
	}

	// One connection per client, as yizhan's benchmarks have: each client
	// its own clientv3.Client, all to the leader.
	clients := make([]*clientv3.Client, c.Clients)
	for i := range clients {
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{leader}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
		if err != nil {
			return Result{}, err
		}
		defer cli.Close()
		clients[i] = cli
	}
	value := strings.Repeat("y", o.valueSize)
	var seq atomic.Int64
	put := func(cli *clientv3.Client) (time.Duration, error) {
		key := fmt.Sprintf("/anchor/%09d", seq.Add(1))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		start := time.Now()
		_, err := cli.Put(ctx, key, value)
		return time.Since(start), err
	}
	// Warm up: every connection once, then some more puts.
	for _, cli := range clients {
		if _, err := put(cli); err != nil {
			return Result{}, fmt.Errorf("warm-up put: %w", err)
		}
	}
	for i := range o.warmup {
		if _, err := put(clients[i%len(clients)]); err != nil {
			return Result{}, fmt.Errorf("warm-up put: %w", err)
		}
	}

	// What the configurations before this one left in the page cache is
	// written back now, not during this one's fsyncs (yizhan's benchmarks
	// do the same before each of theirs).
	syscall.Sync()
	load := load1()
	var next atomic.Int64
	lat := make([][]time.Duration, len(clients))
	errs := make(chan error, len(clients))
	var wg sync.WaitGroup
	cpu := cpuTime()
	start := time.Now()
	deadline := start.Add(o.maxDuration)
	for i, cli := range clients {
		wg.Go(func() {
			for next.Add(1) <= int64(o.puts) && time.Now().Before(deadline) {
				d, err := put(cli)
				if err != nil {
					errs <- err
					return
				}
				lat[i] = append(lat[i], d)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu = cpuTime() - cpu
	select {
	case err := <-errs:
		return Result{}, fmt.Errorf("put: %w", err)
	default:
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	n := len(all)
	return Result{
		Anchor:      "etcd",
		Version:     version.Version,
		Members:     c.Members,
		Clients:     c.Clients,
		ValueBytes:  o.valueSize,
		Puts:        n,
		Seconds:     round(elapsed.Seconds(), 3),
		PutsPerS:    round(float64(n)/elapsed.Seconds(), 1),
		P50ms:       round(ms(quantile(all, 0.50)), 3),
		P99ms:       round(ms(quantile(all, 0.99)), 3),
		MaxMs:       round(ms(all[n-1]), 3),
		CPUmsPerPut: round(ms(cpu)/float64(n), 4),
		Load1:       load,
		NProc:       runtime.NumCPU(),
		Fsync:       true,
	}, nil
}

// cluster is members embedded etcd servers in this process.
type cluster struct {
	members []*embed.Etcd
	clients []string // each member's client URL
	level   zap.AtomicLevel
}

// startCluster starts members etcd servers with their data under dir,
// each on two free ports of 127.0.0.1, and waits until they serve.
func startCluster(dir string, members int, logLevel string) (*cluster, error) {
	ports, err := freePorts(2 * members)
	if err != nil {
		return nil, err
	}
	u := func(port int) url.URL {
		return url.URL{Scheme: "http", Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}
	}
	var initial []string
	for i := range members {
		pu := u(ports[2*i+1])
		initial = append(initial, fmt.Sprintf("m%d=%s", i, pu.String()))
	}
	// etcd's log, to stderr at logLevel; silenced while the cluster stops
	// (its listeners then log their closing as errors).
	level, err := zap.ParseAtomicLevel(logLevel)
	if err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	lcfg := zap.NewProductionConfig()
	lcfg.Level = level
	lcfg.OutputPaths, lcfg.ErrorOutputPaths = []string{"stderr"}, []string{"stderr"}
	lcfg.Sampling = nil
	lg, err := lcfg.Build()
	if err != nil {
		return nil, err
	}
	cl := &cluster{level: level}
	for i := range members {
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = fmt.Sprintf("%s/m%d", dir, i)
		cu, pu := u(ports[2*i]), u(ports[2*i+1])
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{cu}, []url.URL{cu}
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{pu}, []url.URL{pu}
		cfg.InitialCluster = strings.Join(initial, ",")
		cfg.InitialClusterToken = "yizhan-anchor"
		cfg.ClusterState = embed.ClusterStateFlagNew
		cfg.Logger = "zap"
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(lg.Named(cfg.Name))
		// Everything else is etcd's default: fsync on (UnsafeNoFsync
		// false), heartbeat 100 ms, election 1 s, batch interval 100 ms.
		e, err := embed.StartEtcd(cfg)
		if err != nil {
			cl.close()
			return nil, fmt.Errorf("start member %d: %w", i, err)
		}
		cl.members = append(cl.members, e)
		cl.clients = append(cl.clients, cu.String())
	}
	for i, e := range cl.members {
		select {
		case <-e.Server.ReadyNotify():
		case err := <-e.Err():
			cl.close()
			return nil, fmt.Errorf("member %d: %w", i, err)
		case <-time.After(60 * time.Second):
			cl.close()
			return nil, fmt.Errorf("member %d not ready after 60 s", i)
		}
	}
	return cl, nil
}

// leaderEndpoint is the client URL of the member that leads, once one
// does.
func (cl *cluster) leaderEndpoint() (string, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: cl.clients, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return "", err
	}
	defer cli.Close()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, ep := range cl.clients {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			st, err := cli.Status(ctx, ep)
			cancel()
			if err == nil && st.Leader != 0 && st.Leader == st.Header.MemberId {
				return ep, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return "", errors.New("no leader after 30 s")
}

func (cl *cluster) close() {
	cl.level.SetLevel(zap.FatalLevel)
	for _, e := range cl.members {
		e.Close()
	}
}

// freePorts returns n distinct ports of 127.0.0.1 that were free a moment
// ago.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)))
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func round(x float64, digits int) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', digits, 64), 64)
	return v
}

// cpuTime is the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadavg is /proc/loadavg's three averages, or "?" where there is none.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func load1() float64 {
	v, _ := strconv.ParseFloat(strings.Fields(loadavg() + " 0")[0], 64)
	return v
}

// cpuModel is /proc/cpuinfo's first model name, or "".
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
