package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/netlimit"
	"github.com/yizhan-gov/yizhan/reason"
)

// Limits of the HTTP port: what one client, signed in or not, may make the
// node read, hold and keep open. See "HTTP and ports" in DESIGN.md.
const (
	// MaxRequestBody is the largest request body the HTTP port reads, on
	// every route (REST, web forms, client gRPC messages). A larger body
	// is refused with 413 while it is read, before the token is checked or
	// anything is decoded. The largest legitimate request, an item with
	// all of its eight publics written out at length, is a few hundred
	// kilobytes (TestRESTLargestItemFitsTheBodyLimit).
	MaxRequestBody = 1 << 20
	// MaxUploadBody is the largest web form with files (the scans of a
	// filing, from signed-in staff): the files a filing may have and the
	// form. The API takes scans a part at a time (UploadAttachment),
	// within MaxRequestBody.
	MaxUploadBody = casework.MaxCaseAttachmentBytes + MaxRequestBody
	// UploadReadTimeout is how long such a form may take to arrive: 40 MB
	// over a village's 1 Mbit/s line takes some minutes.
	UploadReadTimeout = 10 * time.Minute
	// DefaultBodyReadTimeout is how long a request may take to send its
	// body; a slower one is cut off.
	DefaultBodyReadTimeout = 30 * time.Second
	// DefaultWriteTimeout is how long a REST or web request may take from
	// the end of its headers to the end of its answer.
	DefaultWriteTimeout = 60 * time.Second
	// DefaultAnonymousPerClient is how many anonymous requests (no valid
	// token, no valid session) one client address may have in flight at
	// once; more are answered 429.
	DefaultAnonymousPerClient = 8
	// DefaultUploads is how many web forms with files (up to
	// MaxUploadBody each, read into memory in part) a node reads at once,
	// and DefaultUploadWait how long another waits for one of them to end
	// before it is answered 503.
	DefaultUploads    = 4
	DefaultUploadWait = 30 * time.Second
	// DefaultWrites is how many client writes a node serves at once:
	// REST and web requests other than GET and HEAD (but sign-in and
	// the searches, which read), and the client API's gRPC calls that
	// are not reads, on the HTTP port, signed in or not; and, in a pool
	// of their own of the same size, those another node forwards on the
	// peer port (limitForwardedWrites). DefaultWriteQueue more wait their turn, each for
	// at most DefaultQueueWait; beyond either a write is refused with
	// WRITES_BUSY (429, Retry-After; gRPC RESOURCE_EXHAUSTED), nothing
	// done. A write waiting for raft holds a goroutine, its request and
	// its connection's buffers: without the bound 10,000 filings sent at
	// once held 420 MB of heap (docs/BENCHMARKS.md, "Overload").
	DefaultWrites     = 256
	DefaultWriteQueue = 1024
	// DefaultListed is how many cases the listings a node serves at once
	// may hold (ListCases, each counting its page's size: 100 when
	// unset, at most 1,000), and DefaultListingQueue how many listings
	// more wait their turn, each for at most DefaultQueueWait; beyond
	// either a listing is refused with LISTINGS_BUSY. A listing holds
	// some 3 KB a case until its answer is written: 1,000 listings of
	// 1,000 cases sent at once held 3.2 GB, and nearly all timed out.
	DefaultListed       = 10_000
	DefaultListingQueue = 256
	DefaultQueueWait    = 10 * time.Second
	// busyRetryAfter is the wait a write or a listing refused for want
	// of a slot is told: the queue empties within seconds.
	busyRetryAfter = time.Second
	// readHeaderTimeout, idleTimeout and maxHeaderBytes bound a
	// connection's headers and its idle time between requests.
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
	// maxClientStreams is how many calls one client gRPC connection may
	// have open at once (net/http's HTTP/2 server allowed as many).
	maxClientStreams = 250
)

// HTTPLimits are the HTTP port's time and concurrency limits; a zero field
// takes its default. Tests shorten them.
type HTTPLimits struct {
	BodyReadTimeout    time.Duration // default DefaultBodyReadTimeout
	WriteTimeout       time.Duration // default DefaultWriteTimeout
	AnonymousPerClient int           // default DefaultAnonymousPerClient
	Uploads            int           // default DefaultUploads
	UploadWait         time.Duration // default DefaultUploadWait
	Writes             int           // default DefaultWrites
	WriteQueue         int           // default DefaultWriteQueue
	Listed             int           // default DefaultListed
	ListingQueue       int           // default DefaultListingQueue
	QueueWait          time.Duration // default DefaultQueueWait
}

func (l HTTPLimits) withDefaults() HTTPLimits {
	if l.BodyReadTimeout <= 0 {
		l.BodyReadTimeout = DefaultBodyReadTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = DefaultWriteTimeout
	}
	if l.AnonymousPerClient <= 0 {
		l.AnonymousPerClient = DefaultAnonymousPerClient
	}
	if l.Uploads <= 0 {
		l.Uploads = DefaultUploads
	}
	if l.UploadWait <= 0 {
		l.UploadWait = DefaultUploadWait
	}
	if l.Writes <= 0 {
		l.Writes = DefaultWrites
	}
	if l.WriteQueue <= 0 {
		l.WriteQueue = DefaultWriteQueue
	}
	if l.Listed <= 0 {
		l.Listed = DefaultListed
	}
	if l.ListingQueue <= 0 {
		l.ListingQueue = DefaultListingQueue
	}
	if l.QueueWait <= 0 {
		l.QueueWait = DefaultQueueWait
	}
	return l
}

// sessionCookie is the web UI's session cookie (web/session.go): a request
// carrying a valid one is signed in.
const sessionCookie = "yz_session"

// Peer port: unfinished TLS handshakes per remote host, and how long a
// connection may take to finish its handshake (TLS and HTTP/2).
const (
	peerHandshakesPerHost = 16
	peerHandshakesTotal   = 256
	peerHandshakeTimeout  = 5 * time.Second
)

// noStorePrefixes are the routes whose answers may carry personal data
// (applicants, staff, tokens, callers' and contacts' phones,
// complaints): no cache may keep them. Every REST answer is read with
// someone's rights, so all of /v1/ (the web UI's pages set their own).
var noStorePrefixes = []string{"/v1/"}

// limitHTTP wraps the HTTP port's handler (REST, the web UI, the probes)
// with its limits and headers, in this order: HSTS and Cache-Control, the
// request's read and write deadlines, the anonymous per-client limit, and
// the body size limit. Client gRPC, served by gRPC's own server on the
// same port (portMux), has the same limits from limitGRPC.
func (n *Node) limitHTTP(next http.Handler) http.Handler {
	lim := n.cfg.HTTP.withDefaults()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		if n.cfg.BehindTLS {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		for _, p := range noStorePrefixes {
			if strings.HasPrefix(r.URL.Path, p) {
				h.Set("Cache-Control", "no-store")
				break
			}
		}
		// Per request rather than the server's ReadTimeout and
		// WriteTimeout: a web form with files has longer.
		rc := http.NewResponseController(w)
		now := time.Now()
		bodyLimit, readTimeout := int64(MaxRequestBody), lim.BodyReadTimeout
		if webUpload(r) && n.signedIn(bearerOrSession(r)) {
			bodyLimit, readTimeout = MaxUploadBody, max(readTimeout, UploadReadTimeout)
			if !n.takeUpload(r.Context(), lim.UploadWait) {
				n.metrics.refusedHTTP.WithLabelValues("uploads_busy").Inc()
				uploadsBusy(w)
				return
			}
			defer func() { <-n.uploads }()
		}
		_ = rc.SetReadDeadline(now.Add(readTimeout))
		_ = rc.SetWriteDeadline(now.Add(max(lim.WriteTimeout, readTimeout)))
		// The write deadline would outlive the request on a kept-alive
		// HTTP/1 connection (the server resets only the read deadline).
		defer rc.SetWriteDeadline(time.Time{})
		if !exemptFromClientLimit(r) && !n.signedIn(bearerOrSession(r)) {
			key := n.clientKey(r)
			if !n.anonymous.Acquire(key) {
				n.metrics.refusedHTTP.WithLabelValues("anonymous_limit").Inc()
				tooMany(w, r, lim.AnonymousPerClient)
				return
			}
			defer n.anonymous.Release(key)
		}
		if r.ContentLength > bodyLimit {
			n.metrics.refusedHTTP.WithLabelValues("body_too_large").Inc()
			bodyTooLarge(w, r)
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, bodyLimit)
			if strings.HasPrefix(r.URL.Path, "/v1/") {
				// REST: read the body here, so that a body too large or
				// too slow is answered before the gateway decodes it and
				// the handler checks the token.
				body, err := io.ReadAll(r.Body)
				if err != nil {
					n.refuseBody(w, r, err)
					return
				}
				r.Body = io.NopCloser(bytes.NewReader(body))
				r.ContentLength = int64(len(body))
			}
			// Web forms: the UI reads the body through the same limit
			// and answers 413 itself. A form that writes is read here
			// first, so that a slow one holds no write slot (below);
			// one that cannot be read whole, too large or too slow, is
			// passed on with its error, which the UI answers with its
			// page.
			if !strings.HasPrefix(r.URL.Path, "/v1/") && httpWrite(r) && !webUpload(r) {
				body, err := io.ReadAll(r.Body)
				var rest io.Reader = bytes.NewReader(body)
				if err != nil {
					rest = io.MultiReader(rest, errReader{err})
				}
				r.Body = io.NopCloser(rest)
			}
		}
		// A write takes its slot once its body is here: a client sending
		// a body slowly (an anonymous one, 8 at once an address) holds
		// no slot. A web form with files is bounded by its own slots.
		if httpWrite(r) && !webUpload(r) {
			if !n.writes.take(r.Context(), 1, lim.QueueWait) {
				n.metrics.refusedHTTP.WithLabelValues("writes_busy").Inc()
				writesBusy(w, r)
				return
			}
			defer n.writes.give(1)
		}
		next.ServeHTTP(w, r)
	})
}

// limitGRPC is limitHTTP for client gRPC on the HTTP port: gRPC's tap,
// run as a call's headers arrive, before its message is read. It counts
// an anonymous call against its client's limit until the call ends, and
// bounds the call, its message's arrival and its answer, by the write
// timeout (the public services are unary). The client's address goes
// into the call's context, as clientAddrMiddleware puts it into a
// request's.
func (n *Node) limitGRPC(ctx context.Context, info *tap.Info) (context.Context, error) {
	lim := n.cfg.HTTP.withDefaults()
	var remote string
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		remote = p.Addr.String()
	}
	key := n.clientKeyOf(remote, info.Header.Get("x-forwarded-for"))
	ctx = withClientAddr(ctx, key)
	if !n.signedIn(bearer(info.Header.Get("authorization"))) {
		if !n.anonymous.Acquire(key) {
			n.metrics.refusedHTTP.WithLabelValues("anonymous_limit").Inc()
			return nil, status.Error(codes.ResourceExhausted, tooManyMessage(lim.AnonymousPerClient))
		}
		// A call's context ends with the call, however it ends.
		context.AfterFunc(ctx, func() { n.anonymous.Release(key) })
	}
	// Cancelled when the call ends (its context is the parent), which
	// stops the timer: there is nothing for cancel to do. (Handing it to
	// context.AfterFunc started a goroutine at the end of every call, which
	// ran ahead of the call's answer on a busy CPU.)
	ctx, cancel := context.WithTimeout(ctx, max(lim.WriteTimeout, lim.BodyReadTimeout))
	_ = cancel
	return ctx, nil
}

// slots bound what a node serves at once, in units (a write is one; a
// listing of cases counts its page's size), and how many requests wait
// for units (queue), served in the order they came: a large listing
// waiting is not passed by smaller ones.
type slots struct {
	mu      sync.Mutex
	size    int // units in all
	free    int
	queue   int
	waiters []*slotWaiter
}

type slotWaiter struct {
	units int
	ready chan struct{} // closed when its units are taken for it
}

func newSlots(size, queue int) *slots {
	return &slots{size: size, free: size, queue: queue}
}

// take takes units (at most the size: a request larger takes them all),
// waiting for at most wait behind the requests before it (false: the
// queue was full, the units did not come, or ctx ended).
func (s *slots) take(ctx context.Context, units int, wait time.Duration) bool {
	units = min(max(units, 1), s.size)
	s.mu.Lock()
	if len(s.waiters) == 0 && s.free >= units {
		s.free -= units
		s.mu.Unlock()
		return true
	}
	if len(s.waiters) >= s.queue {
		s.mu.Unlock()
		return false
	}
	w := &slotWaiter{units: units, ready: make(chan struct{})}
	s.waiters = append(s.waiters, w)
	s.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-w.ready:
		return true
	case <-ctx.Done():
	case <-t.C:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-w.ready: // taken for it meanwhile
		return true
	default:
	}
	if i := slices.Index(s.waiters, w); i >= 0 {
		s.waiters = slices.Delete(s.waiters, i, i+1)
	}
	s.wake() // those behind it may fit now
	return false
}

// give gives back units taken.
func (s *slots) give(units int) {
	units = min(max(units, 1), s.size)
	s.mu.Lock()
	s.free += units
	s.wake()
	s.mu.Unlock()
}

// wake takes units for the waiters at the head of the queue while they
// fit. Called with mu held.
func (s *slots) wake() {
	for len(s.waiters) > 0 && s.free >= s.waiters[0].units {
		w := s.waiters[0]
		s.free -= w.units
		close(w.ready)
		s.waiters = s.waiters[1:]
	}
}

// inUse is how many units are taken and how many requests wait.
func (s *slots) inUse() (taken, waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.size - s.free, len(s.waiters)
}

// errReader is a body's read error, read again by the handler.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// httpWrite reports whether a request on the HTTP port is a write that
// takes one of the node's write slots: a REST or web request other than
// GET and HEAD, but for the sign-ins and the searches.
func httpWrite(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return !notWrites[r.URL.Path]
}

// notWrites are the routes posted to that write nothing through raft:
// sign-in and sign-out (bounded by their own slots), and the searches
// (their criteria kept out of the address).
var notWrites = map[string]bool{
	"/v1/auth/login": true, "/v1/cases:search": true,
	"/login": true, "/logout": true, "/cases/search": true, "/track": true,
}

// grpcWrite reports whether a gRPC call takes one of the node's write
// slots: a call of the client API that does not only read, but
// sign-in.
func grpcWrite(fullMethod string) bool {
	return strings.HasPrefix(fullMethod, clientServices) && !readsOnly(fullMethod) &&
		fullMethod != "/yizhan.v1.AuthService/Login"
}

// limitWrites is the gRPC interceptor of the HTTP port's gRPC server
// that holds a client write until it has one of the node's write slots
// (n.writes), or refuses it.
func (n *Node) limitWrites(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	return n.limitWritesIn(n.writes, ctx, req, info, handler)
}

// limitForwardedWrites is limitWrites on the peer port, where a
// follower's client writes reach its leader and those of the offices
// below and above reach the office that does them: they take a slot of
// their own pool (n.forwarded), never one of the node's client slots. A
// write forwarded holds its slot where it came in while it waits for the
// answer; were the two pools one, writes forwarded to a node whose
// slots its own forwarding writes held would wait for each other (a node
// that has just become leader forwards to its own peer port; a county's
// writes passed down and a village's passed up cross) until QueueWait
// refused them all.
func (n *Node) limitForwardedWrites(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	return n.limitWritesIn(n.forwarded, ctx, req, info, handler)
}

func (n *Node) limitWritesIn(pool *slots, ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if !grpcWrite(info.FullMethod) {
		return handler(ctx, req)
	}
	if !pool.take(ctx, 1, n.cfg.HTTP.withDefaults().QueueWait) {
		n.metrics.refusedHTTP.WithLabelValues("writes_busy").Inc()
		return nil, writesBusyStatus().Err()
	}
	defer pool.give(1)
	return handler(ctx, req)
}

// writesBusyStatus is WRITES_BUSY, with the wait to retry after.
func writesBusyStatus() *status.Status {
	return reason.Status(reason.WritesBusy, "too many writes at once on this node: nothing was done; send it again in a moment",
		reason.Meta{"retryAfterSeconds": reason.Itoa(int(busyRetryAfter / time.Second))}, busyRetryAfter)
}

// takeListing takes the units of a listing of cases of a page of size
// cases, or answers LISTINGS_BUSY; give them back with giveListing.
func (n *Node) takeListing(ctx context.Context, size int) error {
	if n.listings.take(ctx, size, n.cfg.HTTP.withDefaults().QueueWait) {
		return nil
	}
	n.metrics.refusedHTTP.WithLabelValues("listings_busy").Inc()
	return reason.Status(reason.ListingsBusy, "too many listings of cases at once on this node: ask again in a moment",
		reason.Meta{"retryAfterSeconds": reason.Itoa(int(busyRetryAfter / time.Second))}, busyRetryAfter).Err()
}

func (n *Node) giveListing(size int) { n.listings.give(size) }

// writesBusy answers a REST or web write that found no slot: 429 with
// Retry-After; REST with the status as JSON (the gateway's form), the
// web UI with the reason's words.
func writesBusy(w http.ResponseWriter, r *http.Request) {
	st := writesBusyStatus()
	w.Header().Set("Retry-After", strconv.Itoa(int(busyRetryAfter/time.Second)))
	w.Header().Set("Connection", "close") // its body is not read
	if !strings.HasPrefix(r.URL.Path, "/v1/") {
		http.Error(w, reason.Text(reason.WritesBusy, reason.Meta{"retryAfterSeconds": "1"}), http.StatusTooManyRequests)
		return
	}
	body, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(st.Proto())
	if err != nil {
		writeError(w, http.StatusTooManyRequests, st.Code(), st.Message())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusTooManyRequests)
	w.Write(body)
}

// webUpload reports whether a request is the web's filing form with
// files (the one form that takes them; the REST API's bodies stay within
// MaxRequestBody).
func webUpload(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/cases" &&
		strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data")
}

// exemptFromClientLimit: the probes must be answered whatever else a
// client holds.
func exemptFromClientLimit(r *http.Request) bool {
	return r.URL.Path == "/healthz" || r.URL.Path == "/readyz"
}

// signedIn reports whether token, a bearer token or a session cookie's
// value, is one this node accepts. A made-up token counts as anonymous, so
// that it does not escape the per-client limit.
func (n *Node) signedIn(token string) bool {
	if token == "" {
		return false
	}
	_, err := n.authn.Authenticate(token)
	return err == nil
}

// bearerOrSession is a request's bearer token, or else its session
// cookie's value.
func bearerOrSession(r *http.Request) string {
	if v := r.Header.Get("Authorization"); v != "" {
		return bearer([]string{v})
	}
	if c, err := r.Cookie(sessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// bearer is the token of the first Authorization value, "" without one.
func bearer(values []string) string {
	if len(values) == 0 {
		return ""
	}
	v := values[0]
	if t, ok := strings.CutPrefix(v, "Bearer "); ok {
		return strings.TrimSpace(t)
	}
	if t, ok := strings.CutPrefix(v, "bearer "); ok {
		return strings.TrimSpace(t)
	}
	return ""
}

// clientKey is the client a request is counted against: its address (an
// IPv6 address by its /64), or behind a TLS-terminating proxy
// (Config.BehindTLS), on a connection from the proxy
// (Config.TrustedProxies), the last address of X-Forwarded-For, which the
// proxy appended. Entries before it are the client's say and are not
// trusted; nor is the header on a connection from anyone else.
func (n *Node) clientKey(r *http.Request) string {
	return n.clientKeyOf(r.RemoteAddr, r.Header.Values("X-Forwarded-For"))
}

// clientKeyOf is clientKey from a connection's remote address and the
// X-Forwarded-For values of its request (a gRPC call's metadata).
func (n *Node) clientKeyOf(remoteAddr string, xff []string) string {
	if n.cfg.BehindTLS && len(xff) > 0 && n.fromTrustedProxy(remoteAddr) {
		last := xff[len(xff)-1]
		if i := strings.LastIndexByte(last, ','); i >= 0 {
			last = last[i+1:]
		}
		if ip := net.ParseIP(strings.TrimSpace(last)); ip != nil {
			return netlimit.HostKey(ip.String())
		}
	}
	return netlimit.HostKey(remoteAddr)
}

// DefaultTrustedProxies are the proxies believed behind TLS when the
// node is given none: loopback and the private ranges (RFC 1918, RFC
// 4193), where an ingress controller or a proxy on the same host is.
var DefaultTrustedProxies = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("fc00::/7"),
}

// fromTrustedProxy reports whether a connection from remoteAddr
// ("host:port", or a bare address) is from a proxy X-Forwarded-For is
// believed from.
func (n *Node) fromTrustedProxy(remoteAddr string) bool {
	addr, err := netip.ParseAddr(remoteAddr)
	if ap, perr := netip.ParseAddrPort(remoteAddr); perr == nil {
		addr, err = ap.Addr(), nil
	}
	if err != nil {
		return false
	}
	trusted := n.cfg.TrustedProxies
	if len(trusted) == 0 {
		trusted = DefaultTrustedProxies
	}
	addr = addr.Unmap()
	return slices.ContainsFunc(trusted, func(p netip.Prefix) bool { return p.Contains(addr) })
}

// refuseBody answers a REST request whose body could not be read: 413 when
// it is too large, 408 when it came too slowly.
func (n *Node) refuseBody(w http.ResponseWriter, r *http.Request, err error) {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		n.metrics.refusedHTTP.WithLabelValues("body_too_large").Inc()
		bodyTooLarge(w, r)
		return
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		n.metrics.refusedHTTP.WithLabelValues("body_timeout").Inc()
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusRequestTimeout, codes.DeadlineExceeded, "the request body did not arrive in time")
		return
	}
	writeError(w, http.StatusBadRequest, codes.InvalidArgument, "the request body could not be read: "+err.Error())
}

func bodyTooLarge(w http.ResponseWriter, r *http.Request) {
	msg := fmt.Sprintf("the request body is larger than the %d bytes (%d MiB) this node accepts", MaxRequestBody, MaxRequestBody>>20)
	w.Header().Set("Connection", "close")
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		writeError(w, http.StatusRequestEntityTooLarge, codes.InvalidArgument, msg)
		return
	}
	http.Error(w, msg, http.StatusRequestEntityTooLarge)
}

// tooMany answers a request over the anonymous per-client limit: 429 with
// Retry-After, or for a gRPC call the status RESOURCE_EXHAUSTED.
// takeUpload takes one of the node's slots for a web form with files,
// waiting for at most wait (false: none came, or the client went).
func (n *Node) takeUpload(ctx context.Context, wait time.Duration) bool {
	return takeSlot(ctx, n.uploads, wait)
}

// takeSlot takes one of slots (a buffered channel, a slot per value it
// holds), waiting for at most wait (false: none came, or ctx ended).
func takeSlot(ctx context.Context, slots chan struct{}, wait time.Duration) bool {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case slots <- struct{}{}:
		return true
	case <-ctx.Done():
	case <-t.C:
	}
	return false
}

// uploadsBusy answers a web form with files that found no slot: 503,
// in the words of the page it came from.
func uploadsBusy(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "30")
	w.Header().Set("Connection", "close") // its body is not read
	http.Error(w, "正在提交的扫描件较多，请稍后再提交（返回上一页，已填写的内容仍在）。", http.StatusServiceUnavailable)
}

func tooMany(w http.ResponseWriter, r *http.Request, limit int) {
	msg := tooManyMessage(limit)
	w.Header().Set("Retry-After", "1")
	// The body is not read: without this the server would wait for it
	// (to keep the connection) before it sends the answer.
	w.Header().Set("Connection", "close")
	if strings.HasPrefix(r.URL.Path, "/v1/") {
		writeError(w, http.StatusTooManyRequests, codes.ResourceExhausted, msg)
		return
	}
	http.Error(w, msg, http.StatusTooManyRequests)
}

func tooManyMessage(limit int) string {
	return fmt.Sprintf("too many requests in flight from your address: at most %d at once without signing in", limit)
}

// writeError writes an error in the shape of the gateway's errors
// (google.rpc.Status as JSON).
func writeError(w http.ResponseWriter, httpCode int, code codes.Code, msg string) {
	writeJSON(w, httpCode, map[string]any{"code": int(code), "message": msg, "details": []any{}})
}
