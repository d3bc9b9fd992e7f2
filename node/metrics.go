package node

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/registry"
	"github.com/yizhan-gov/yizhan/supervision"
)

// metrics are one node's Prometheus metrics, in a registry of its own so
// that many nodes can live in one process (the demo, the tests).
type metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.HistogramVec
	refusedHTTP *prometheus.CounterVec
}

func newMetrics(n *Node) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	labels := prometheus.Labels{"office": n.cfg.Office, "node": n.cfg.Name}
	m.requests = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "yizhan_request_duration_seconds", Help: "Requests by method (an HTTP method, or grpc), route (a REST route or a gRPC method) and status code.",
		ConstLabels: labels, Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	}, []string{"method", "route", "code"})
	gauge := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: labels}, f))
	}
	g := n.office.Group()
	gauge("yizhan_raft_leader", "1 when this node leads its office's raft group.", func() float64 {
		if g.State() == raft.Leader {
			return 1
		}
		return 0
	})
	gauge("yizhan_raft_state", "Raft state: 0 follower, 1 candidate, 2 leader, 3 shutdown.", func() float64 { return float64(g.State()) })
	gauge("yizhan_raft_applied_index", "Last raft index applied on this node.", func() float64 { return float64(g.AppliedIndex()) })
	gauge("yizhan_raft_last_contact_seconds", "Seconds since a follower last heard from its leader (0 on the leader; -1 on a node that has not heard from one since it started).", func() float64 {
		if g.State() == raft.Leader {
			return 0
		}
		if lc := g.LastContact(); !lc.IsZero() {
			return time.Since(lc).Seconds()
		}
		return -1
	})
	gauge("yizhan_tls_cert_expiry_timestamp_seconds", "When the node certificate in use expires (unix seconds): alert well before (cert-manager renews 30 days ahead; the node takes a renewed certificate from its files without a restart).",
		func() float64 { return float64(n.cfg.TLS.NotAfter().Unix()) })
	reg := n.office.Registry()
	gauge("yizhan_registry_index", "Registry index applied on this node.", func() float64 { return float64(reg.Index()) })
	gauge("yizhan_registry_upstream_index", "Newest registry index this node has heard of.", func() float64 {
		return float64(n.office.UpstreamIndex())
	})
	gauge("yizhan_registry_lag", "Registry entries this node is behind the newest it has heard of.", func() float64 {
		return float64(n.office.UpstreamIndex() - min(reg.Index(), n.office.UpstreamIndex()))
	})
	gauge("yizhan_registry_stale_seconds", "Seconds since this node's registry was last known in sync with the county's (0 while it is): below the county at least as stale as its feed's source says it is (a township cut off from the county); on a follower, since it last heard from its leader, and below the county at least as stale as its leader says it is (asked each feed heartbeat; a leader not heard lately, or of an older release that does not say, is no word of freshness); on a node not in sync since it started, since it last was (its leader keeps that each minute), at least since the start.", func() float64 {
		return n.office.StaleSeconds(time.Now())
	})
	gauge("yizhan_clock_offset_seconds", "The county's time less this node's clock, as its registry feed's heartbeats tell it (0 at the county and before the first); past 300 either way the office writes nothing (CLOCK_OFF).", func() float64 {
		return clockOffsetSeconds(n.office)
	})
	gauge("yizhan_calendar_known_days", "Days from now to the first year whose working days nobody has set (neither the State Council's data in this release nor a county calendar): from then on Monday to Friday, no holiday. Alert under 45: a county admin sets the year from the State Council's notice (each November), or a release brings it.", func() float64 {
		now := n.now()
		return reg.CalendarKnownUntil(now).Sub(now).Hours() / 24
	})
	book := n.office.Cases()
	gauge("yizhan_case_outbox_entries", "Case messages waiting for a receipt from the next office.", func() float64 {
		return float64(book.OutboxLen())
	})
	gauge("yizhan_case_quarantined_messages", "Case messages set aside as undeliverable (an alarm: look at /v1/registry/status).", func() float64 {
		return float64(book.QuarantinedLen())
	})
	gauge("yizhan_casebook_cases", "Cases this node's case book holds (its office's own and its copies).", func() float64 {
		return float64(book.Len())
	})
	gauge("yizhan_casebook_problems", "Index entries and counters of the case book that disagreed with its cases at the last check (--check-book; -1: not checked, or the check failed: yizhan_casebook_check_failed).", func() float64 {
		return float64(n.bookProblems.Load())
	})
	gauge("yizhan_casebook_check_failed", "1 when the check of the case book (--check-book) ended in an error before it could count any problem (a read failed: the node's log says which); 0 otherwise.", func() float64 {
		if n.bookCheckFailed.Load() {
			return 1
		}
		return 0
	})
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "yizhan_casebook_read_errors_total", Help: "Reads of the case book that failed (a disk or badger fault: the read answered as if the record were absent).",
		ConstLabels: labels,
	}, func() float64 { return float64(book.ReadErrors()) }))
	gauge("yizhan_casebook_scans_damaged", "Scanned files whose copy stored on this node was found damaged when read (its bytes no longer hash to its name: not served, not sent up) and not mended since: alert above 0 (docs/OPERATIONS.md).", func() float64 {
		return float64(book.DamagedAttachments())
	})
	gauge("yizhan_casebook_cases_damaged", "Cases this node's book holds damaged (a record without all its events: the disk lost them), found by a read, a listing, a sweep, the case mail, the check or the book's stream (sent whole to a follower being rebuilt, or to a backup) since the node started or a restore replaced its book (at most 100,000): each is logged at error once (after the first 100, one line each 100 more); they are not shown, acted on or sent by the case mail from this node. Alert above 0: rebuild or restore the node (docs/OPERATIONS.md).", func() float64 {
		return float64(book.DamagedCases())
	})
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "yizhan_casebook_unlisted_total", Help: "Cases a listing left out because it could not read them whole (an index entry without its case or filing event: never above 0 in a sound book).",
		ConstLabels: labels,
	}, func() float64 { return float64(book.Unlisted()) }))
	// Badger, which holds the case book: what it keeps on disk, and its
	// tables' indexes and bloom filters, which it reads in place from
	// the mmapped tables (page cache counted in the RSS; no cache of
	// ours bounds them: federation/badgerstore).
	db, badgerDir := n.db, filepath.Join(n.cfg.DataDir, "badger")
	gauge("yizhan_badger_lsm_bytes", "Bytes of badger's LSM tables on disk.", func() float64 {
		return float64(diskBytes(badgerDir, ".sst"))
	})
	gauge("yizhan_badger_vlog_bytes", "Bytes of badger's value log on disk (allocated: its files are preallocated sparse).", func() float64 {
		return float64(diskBytes(badgerDir, ".vlog"))
	})
	gauge("yizhan_badger_table_index_bytes", "Bytes of the table indexes (block offsets and bloom filters) badger reads from its mmapped tables.", func() float64 {
		var sum int
		for _, t := range db.Tables() {
			sum += t.IndexSz
		}
		return float64(sum)
	})
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "yizhan_badger_block_cache_hits_total", Help: "Reads of a table block that found it decompressed in badger's block cache.",
		ConstLabels: labels,
	}, func() float64 { return float64(db.BlockCacheMetrics().Hits()) }))
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "yizhan_badger_block_cache_misses_total", Help: "Reads of a table block that had to read and decompress it.",
		ConstLabels: labels,
	}, func() float64 { return float64(db.BlockCacheMetrics().Misses()) }))
	// Badger's own counters are one per process and kept only with its
	// metrics on (not the Small profile): the binary's one database's.
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "yizhan_badger_memtable_written_bytes_total", Help: "Bytes badger's writes put into its memtables (keys, values or value pointers, headers; badger's estimate), in this process; 0 with the Small profile.",
		ConstLabels: labels,
	}, func() float64 { return float64(badgerstore.MemtableWrittenBytes()) }))
	m.reg.MustRegister(compactionWritten{prometheus.NewDesc("yizhan_badger_compaction_written_bytes_total",
		"Bytes badger's compactions wrote into new tables (compressed), by the level written into, in this process (over yizhan_badger_memtable_written_bytes_total, uncompressed: a measure of the tree's write amplification); none with the Small profile.",
		[]string{"level"}, labels)})
	gauge("yizhan_cases_stranded", "The office's cases waiting for a step no office may do under the grants in force, at the last reroute sweep of the office's leader, on the leader (-1 on the other nodes, and before the leader's first sweep): grant the item's right to an office on their route.", func() float64 {
		return float64(n.svc.Stranded())
	})
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "yizhan_reroute_walks_total", Help: "Walks of the office's queue by the reroute sweep on this node: one after a registry change, a grant starting or ending, a case come in by mail, or an hour.",
		ConstLabels: labels,
	}, func() float64 { return float64(n.svc.RerouteWalks()) }))
	gauge("yizhan_case_delivery_failing_offices", "Offices this node's case mail is failing to reach now (the leader sends it; 0 on the other nodes).", func() float64 {
		return float64(len(n.office.DeliveryErrors()))
	})
	gauge("yizhan_registry_feed_failing", "1 when the last attempt at the registry feed failed and none has worked since (the leader of an office below the county pulls it; 0 on the other nodes).", func() float64 {
		f := n.office.Feed()
		if f.LastError != "" && f.LastErrorAt.After(f.LastContact) {
			return 1
		}
		return 0
	})
	gauge("yizhan_caught_up", "1 once this node has applied what its office had committed when it started.", func() float64 {
		if ok, _ := n.office.CaughtUp(); ok {
			return 1
		}
		return 0
	})
	// Readiness, as /readyz answers it: a village PC has no Kubernetes to
	// scrape a pod's readiness from.
	m.reg.MustRegister(readiness{n: n,
		ready: prometheus.NewDesc("yizhan_ready", "1 when the node is ready (/readyz answers 200), else 0. No label: an alert's for-clock holds while the reason changes.", nil, labels),
		reason: prometheus.NewDesc("yizhan_not_ready_reason", "1, labelled with why the node is not ready (/readyz's reason, one of a fixed set: "+strings.Join(notReadyReasons, ", ")+"); no series while it is ready.",
			[]string{"reason"}, labels)})
	// The disk: what raft's log takes (badger's files are above), and the
	// room left.
	walDir := filepath.Join(n.cfg.DataDir, "raft-wal")
	gauge("yizhan_raft_log_bytes", "Bytes of raft's log (raft-wal: its segments and metadata) on disk.", func() float64 {
		return float64(diskBytes(walDir, ""))
	})
	gauge("yizhan_data_dir_free_bytes", "Bytes left for the node on the file system of its data directory (statfs: available to a process without root's reserve; -1: not measured on this system). A full disk stops raft's log and the node.", func() float64 {
		return freeBytes(n.cfg.DataDir)
	})
	// Raft's snapshots bound its log and are what a node far behind is
	// given.
	gauge("yizhan_raft_last_snapshot_index", "Raft index of the newest snapshot this node took or was sent (0: none yet).", func() float64 {
		return float64(g.LastSnapshotIndex())
	})
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "yizhan_raft_snapshot_failures_total", Help: "Raft snapshots this node failed to take or store since it started (one taken here or sent by the leader: not created, not persisted, not synced). Raft only logs them; meanwhile its log grows.",
		ConstLabels: labels,
	}, func() float64 { return float64(g.SnapshotFailures()) }))
	gauge("yizhan_backup_last_taken_timestamp_seconds", "When the last backup this node served whole (yizhan backup) was taken (unix seconds), kept on its disk across restarts; 0 before its first. The office's cron job asks any one of its nodes: alert on max by (office).", func() float64 {
		at, err := g.LastBackupServed()
		if err != nil || at.IsZero() {
			return 0
		}
		return float64(at.Unix())
	})
	// The office's red-card territory, from its case book (the same on
	// each node of the office), counted at most every 30 s.
	figures := &bookFigures{n: n, counts: figureCounts{overdue: -1}}
	gauge("yizhan_cases_overdue", "The office's open cases past their promised due time (超期: each earns a red card), from this node's copy of its case book, counted at most every 30 s: every node of the office reports it (alert on max by (office)); -1: not counted yet.", func() float64 {
		return float64(figures.read().overdue)
	})
	m.reg.MustRegister(cardsIssued{figures: figures, desc: prometheus.NewDesc("yizhan_cards_held",
		"Supervision cards the office's cases hold (issued, not withdrawn), by colour (red: a time limit broken; yellow: a warning or a procedure breach), from its case book's counters (kept across restarts), read at most every 30 s: every node of the office reports them (alert on max by (office)). A card withdrawn (issued from a mirror behind its office) is taken off: a gauge, not a counter.",
		[]string{"colour"}, labels)})
	m.refusedHTTP = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "yizhan_http_refused_total", Help: "HTTP requests refused before they were handled, by reason: anonymous_limit (429), body_too_large (413), body_timeout (408), uploads_busy (503: web forms with files), writes_busy (429: more client writes at once than the node serves and queues; gRPC calls too, on either port), listings_busy (429: the same for listings of cases, any way they come).",
		ConstLabels: labels,
	}, []string{"reason"})
	m.reg.MustRegister(m.requests, m.refusedHTTP)
	gauge("yizhan_writes_serving", "Client writes that came in at this node's HTTP port (REST, the web UI, gRPC) and that it serves at once, each holding one of its 256 write slots: waiting for raft, or forwarded to the node that does them.", func() float64 {
		taken, _ := n.writes.inUse()
		return float64(taken)
	})
	gauge("yizhan_writes_waiting", "Client writes waiting for one of this node's write slots (at most 1,024, each for at most 10 s; refused WRITES_BUSY beyond).", func() float64 {
		_, waiting := n.writes.inUse()
		return float64(waiting)
	})
	gauge("yizhan_forwarded_writes_serving", "Client writes forwarded to this node by other nodes (a follower's to its leader, an office's to the office that does them) that it serves at once, each holding one of the 256 slots of their own pool, not of the node's client writes.", func() float64 {
		taken, _ := n.forwarded.inUse()
		return float64(taken)
	})
	gauge("yizhan_forwarded_writes_waiting", "Client writes forwarded by other nodes waiting for one of their pool's slots (at most 1,024, each for at most 10 s; refused WRITES_BUSY beyond).", func() float64 {
		_, waiting := n.forwarded.inUse()
		return float64(waiting)
	})
	gauge("yizhan_listed_cases_serving", "Cases the listings this node serves at once may hold, each listing counting its page's size (at most 10,000).", func() float64 {
		taken, _ := n.listings.inUse()
		return float64(taken)
	})
	gauge("yizhan_listings_waiting", "Listings of cases waiting for room (at most 256, each for at most 10 s; refused LISTINGS_BUSY beyond).", func() float64 {
		_, waiting := n.listings.inUse()
		return float64(waiting)
	})
	// Connections refused on the raft and peer ports: at the limit of
	// unfinished handshakes per host, or because the handshake failed or
	// timed out (wrong CA, wrong office, not TLS, silent).
	refused := func(port, reason string, f func() uint64) {
		l := prometheus.Labels{"office": n.cfg.Office, "node": n.cfg.Name, "port": port, "reason": reason}
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "yizhan_connections_refused_total", Help: "Connections refused on the raft and peer ports, by port and reason (limit: too many unfinished handshakes from the host; handshake: failed or timed out).",
			ConstLabels: l,
		}, func() float64 { return float64(f()) }))
	}
	refused("raft", "limit", n.raft.RefusedAtLimit)
	refused("raft", "handshake", n.raft.FailedHandshakes)
	refused("peer", "limit", n.peerLimit.RefusedAtLimit)
	refused("peer", "handshake", n.peerLimit.FailedHandshakes)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttpHandler(m.reg)
}

// gatewayMiddleware records each REST request's latency by route.
func (m *metrics) gatewayMiddleware(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, params map[string]string) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
		next(sw, r, params)
		m.requests.WithLabelValues(r.Method, routeOfRequest(r), strconv.Itoa(sw.code)).Observe(time.Since(start).Seconds())
	}
}

// routeOfRequest is the route a REST request matched: the gateway's
// pattern, its variables without their "=*" (/v1/duty/reports/{id}),
// whatever the request names; routeOf its path where the gateway says
// none.
func routeOfRequest(r *http.Request) string {
	p, ok := runtime.HTTPPattern(r.Context())
	if !ok {
		return routeOf(r.URL.Path)
	}
	return strings.ReplaceAll(p.String(), "=*}", "}")
}

// unaryInterceptor records each gRPC call's latency by method.
func (m *metrics) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := handler(ctx, req)
	m.requests.WithLabelValues("grpc", info.FullMethod, status.Code(err).String()).Observe(time.Since(start).Seconds())
	return resp, err
}

// routeOf turns a path into its route, with names in place of the
// identifiers: /v1/items/ABC/versions → /v1/items/{id}/versions. It keeps
// the metric's label values few.
func routeOf(path string) string {
	parts := strings.Split(path, "/")
	for i := 3; i < len(parts); i += 2 {
		switch parts[i] {
		case "status", "login", "me":
		default:
			parts[i] = "{id}"
		}
	}
	if len(parts) > 6 {
		parts = append(parts[:6], "...")
	}
	return strings.Join(parts, "/")
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	w.code = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// diskBytes is the disk space the files of dir whose names end in suffix
// take up (their allocated blocks). badger's own DB.Size reads expvars that
// it updates once a minute, and not at all without its metrics.
func diskBytes(dir, suffix string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var total int64
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), suffix) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		total += allocatedBytes(info)
	}
	return total
}

// compactionWritten reports badgerstore.CompactionWrittenBytes, a counter
// for each level written into.
type compactionWritten struct{ desc *prometheus.Desc }

func (c compactionWritten) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c compactionWritten) Collect(ch chan<- prometheus.Metric) {
	for level, n := range badgerstore.CompactionWrittenBytes() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(n), strconv.Itoa(level))
	}
}

// readiness reports yizhan_ready and yizhan_not_ready_reason from one
// look at the node's readiness, as /readyz would answer it now.
type readiness struct {
	n             *Node
	ready, reason *prometheus.Desc
}

func (r readiness) Describe(ch chan<- *prometheus.Desc) { ch <- r.ready; ch <- r.reason }

func (r readiness) Collect(ch chan<- prometheus.Metric) {
	reason, _ := r.n.readiness()
	if reason == readyReason {
		ch <- prometheus.MustNewConstMetric(r.ready, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(r.ready, prometheus.GaugeValue, 0)
	ch <- prometheus.MustNewConstMetric(r.reason, prometheus.GaugeValue, 1, reason)
}

// figuresEvery is how long the office's overdue cases and cards, read
// from its book, are reported before they are read again.
const figuresEvery = 30 * time.Second

// bookFigures reads the office's overdue cases and its cards from the
// case book for the metrics, at most every figuresEvery: the overdue
// cases through the queue by due time (each read, as a listing of the
// overdue cases does), the cards from the book's counters.
type bookFigures struct {
	n      *Node
	mu     sync.Mutex
	at     time.Time // when last read (zero: never)
	counts figureCounts
}

type figureCounts struct {
	overdue int64            // -1: not counted yet
	cards   map[string]int64 // by colour; nil: not read yet
}

func (f *bookFigures) read() figureCounts {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.at.IsZero() && time.Since(f.at) < figuresEvery {
		return f.counts
	}
	f.at = time.Now()
	gate := newBookGate(f.n)
	ticket, err := gate.Enter()
	if err != nil {
		return f.counts // the book is being replaced: the last figures stand
	}
	now := f.n.now()
	if overdue, err := f.overdue(now); err == nil && gate.Left(ticket) == nil {
		f.counts.overdue = overdue
	}
	if cards, err := f.cards(now); err == nil && gate.Left(ticket) == nil {
		f.counts.cards = cards
	}
	return f.counts
}

// overdue counts the office's open cases overdue at now.
func (f *bookFigures) overdue(now time.Time) (int64, error) {
	book, reg := f.n.office.Cases(), f.n.office.Registry()
	q := casebook.QueueQuery{Office: f.n.cfg.Office, OverdueAt: now, Registry: reg, PageSize: casebook.MaxPageSize}
	var count int64
	for {
		cases, next, err := book.Queue(q)
		if err != nil {
			return 0, err
		}
		count += int64(len(cases))
		if next == "" {
			return count, nil
		}
		q.PageToken = next
	}
}

// cardsSince is before any card: the book's counters from then on are
// every card it counts.
var cardsSince = time.Date(2000, 1, 1, 0, 0, 0, 0, registry.CST)

// cards sums the counters of the cards whose responsible office is this
// one, by colour.
func (f *bookFigures) cards(now time.Time) (map[string]int64, error) {
	colour := map[string]string{}
	for r := range yizhanv1.CardRule_name {
		if rule := yizhanv1.CardRule(r); rule != yizhanv1.CardRule_CARD_RULE_UNSPECIFIED {
			colour[supervision.CardOutcome(rule)] = colourLabel(supervision.ColourOf(rule))
		}
	}
	sums, err := f.n.office.Cases().SumStats(casebook.RangeQuery{From: cardsSince, To: now, Office: f.n.cfg.Office},
		func(s casebook.Stat) string { return colour[s.Outcome] })
	if err != nil {
		return nil, err
	}
	out := map[string]int64{"red": 0, "yellow": 0}
	for c, counters := range sums {
		for _, v := range counters {
			out[c] += int64(v)
		}
	}
	return out, nil
}

// colourLabel is a card colour as the label of yizhan_cards_held.
func colourLabel(c yizhanv1.CardColour) string {
	return strings.ToLower(strings.TrimPrefix(c.String(), "CARD_COLOUR_"))
}

// cardsIssued reports bookFigures' cards, a gauge by colour (a card
// withdrawn is taken off: no counter), once they have been read.
type cardsIssued struct {
	figures *bookFigures
	desc    *prometheus.Desc
}

func (c cardsIssued) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c cardsIssued) Collect(ch chan<- prometheus.Metric) {
	for colour, v := range c.figures.read().cards {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(v), colour)
	}
}
