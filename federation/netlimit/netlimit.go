// Package netlimit bounds what an unauthenticated remote host may hold of
// a node's ports: connections that have not finished their TLS handshake
// (raft and peer ports) are limited per host, refusals are counted and
// logged at most once a minute per host.
package netlimit

import (
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/credentials"
)

// HostKey is the key a remote address is limited by: its IP address, an
// IPv6 address by its /64 (one host usually holds a whole /64). A string
// that is not an address is its own key.
func HostKey(addr string) string {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, err := ip.WithZone("").Prefix(64)
	if err != nil {
		return ip.String()
	}
	return p.String()
}

// PerHost counts what each host holds, up to a limit per host and a limit
// in all.
type PerHost struct {
	perHost, total int

	mu  sync.Mutex     // guards n and sum
	n   map[string]int // by HostKey
	sum int
}

// NewPerHost allows perHost at once for one host and total for all hosts
// together (total <= 0: no limit in all).
func NewPerHost(perHost, total int) *PerHost {
	return &PerHost{perHost: perHost, total: total, n: map[string]int{}}
}

// Acquire takes a slot for key, or reports false when key or everyone
// together is at the limit.
func (p *PerHost) Acquire(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n[key] >= p.perHost || (p.total > 0 && p.sum >= p.total) {
		return false
	}
	p.n[key]++
	p.sum++
	return true
}

// Release gives back a slot taken by Acquire.
func (p *PerHost) Release(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n[key] <= 1 {
		delete(p.n, key)
	} else {
		p.n[key]--
	}
	p.sum--
}

// Held is how many slots key holds.
func (p *PerHost) Held(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n[key]
}

// Warner logs a warning at most once per interval for each key, with the
// number of warnings it swallowed since the last one: a flood from one
// host cannot flood the log.
type Warner struct {
	log   *slog.Logger
	every time.Duration
	now   func() time.Time

	mu   sync.Mutex // guards seen
	seen map[string]*warned
}

type warned struct {
	at         time.Time
	suppressed int
}

// maxWarnKeys bounds the keys a Warner remembers; past it, keys whose
// interval is over are forgotten, and if that is not enough, all of them.
const maxWarnKeys = 4096

// NewWarner logs to log at most once per every for each key.
func NewWarner(log *slog.Logger, every time.Duration) *Warner {
	return &Warner{log: log, every: every, now: time.Now, seen: map[string]*warned{}}
}

// Warn logs msg with args for key unless it did within the interval.
func (w *Warner) Warn(key, msg string, args ...any) {
	now := w.now()
	w.mu.Lock()
	if e, ok := w.seen[key]; ok && now.Sub(e.at) < w.every {
		e.suppressed++
		w.mu.Unlock()
		return
	}
	suppressed := 0
	if e, ok := w.seen[key]; ok {
		suppressed = e.suppressed
	}
	if len(w.seen) >= maxWarnKeys {
		for k, e := range w.seen {
			if now.Sub(e.at) >= w.every {
				delete(w.seen, k)
			}
		}
		if len(w.seen) >= maxWarnKeys {
			clear(w.seen)
		}
	}
	w.seen[key] = &warned{at: now}
	w.mu.Unlock()
	if suppressed > 0 {
		args = append(args, "suppressed", suppressed)
	}
	w.log.Warn(msg, args...)
}

// Listener limits, per remote host, the connections it has accepted that
// have not yet finished their handshake (Conn.Established): a connection
// over the limit is closed at once, counted and logged. Use it with
// Credentials, which marks a connection established when its TLS
// handshake is over.
type Listener struct {
	net.Listener
	hosts  *PerHost
	warn   *Warner
	name   string
	atCap  atomic.Uint64
	failed atomic.Uint64
}

// NewListener wraps ln. name (e.g. "peer") is in the log lines.
func NewListener(ln net.Listener, hosts *PerHost, log *slog.Logger, name string) *Listener {
	return &Listener{Listener: ln, hosts: hosts, warn: NewWarner(log, time.Minute), name: name}
}

// Accept returns the next connection whose host is under the limit.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		remote := c.RemoteAddr().String()
		key := HostKey(remote)
		if !l.hosts.Acquire(key) {
			l.atCap.Add(1) // before the close, which the client may see first
			_ = c.Close()
			l.warn.Warn(key, "refused connection: too many unfinished handshakes from its host",
				"port", l.name, "remote", remote)
			continue
		}
		return &Conn{Conn: c, release: func() { l.hosts.Release(key) }}, nil
	}
}

// RefusedAtLimit is how many connections were closed because their host
// (or all hosts together) held too many unfinished handshakes.
func (l *Listener) RefusedAtLimit() uint64 { return l.atCap.Load() }

// FailedHandshakes is how many TLS handshakes failed (Credentials).
func (l *Listener) FailedHandshakes() uint64 { return l.failed.Load() }

// Conn is a connection accepted by a Listener. Its slot is given back once
// its handshake is over or it is closed.
type Conn struct {
	net.Conn
	once    sync.Once
	release func()
}

// Established gives the connection's slot back: its handshake is over.
func (c *Conn) Established() { c.once.Do(c.release) }

// Close closes the connection and gives its slot back.
func (c *Conn) Close() error {
	c.Established()
	return c.Conn.Close()
}

// Credentials wraps gRPC server credentials: when a connection from l
// finishes its handshake, well or not, its slot is given back; a failed
// handshake is counted and logged (at most once a minute per host).
func Credentials(inner credentials.TransportCredentials, l *Listener) credentials.TransportCredentials {
	return &serverCreds{TransportCredentials: inner, l: l}
}

type serverCreds struct {
	credentials.TransportCredentials
	l *Listener
}

func (s *serverCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := s.TransportCredentials.ServerHandshake(raw)
	if c, ok := raw.(*Conn); ok {
		c.Established()
	}
	if err != nil {
		s.l.failed.Add(1)
		remote := raw.RemoteAddr().String()
		s.l.warn.Warn(HostKey(remote), "refused connection: handshake failed", "port", s.l.name, "remote", remote, "err", err)
	}
	return conn, info, err
}

func (s *serverCreds) Clone() credentials.TransportCredentials {
	return &serverCreds{TransportCredentials: s.TransportCredentials.Clone(), l: s.l}
}
