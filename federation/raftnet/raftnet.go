// Package raftnet carries an office's raft traffic over mutual TLS between
// the nodes of that office only.
package raftnet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"

	"github.com/yizhan-gov/yizhan/federation/netlimit"
	"github.com/yizhan-gov/yizhan/federation/pki"
)

// ErrClosed is returned by Accept once the stream layer is closed.
var ErrClosed = errors.New("raftnet: stream layer closed")

// ALPN is the TLS application protocol of raft connections: a raft dialer
// reaching a gRPC port (or the reverse) fails in the handshake instead of
// exchanging garbage.
const ALPN = "yizhan-raft/1"

const (
	// HandshakeTimeout bounds an inbound TLS handshake. Nodes of the
	// office finish theirs in milliseconds.
	HandshakeTimeout = 5 * time.Second
	// MaxHandshakesPerHost bounds the inbound handshakes in progress from
	// one remote host (an IPv6 /64): idle connections from one host cannot
	// take the slots the office's nodes need. A node of the office dials
	// a few connections at once (heartbeats, appends, votes).
	MaxHandshakesPerHost = 16
	// maxHandshakes bounds the inbound handshakes in progress in all, so
	// that a flood of idle connections cannot exhaust memory or
	// descriptors.
	maxHandshakes = 256
)

// StreamLayer is a raft.StreamLayer over mutual TLS. Inbound connections
// are handshaken in the background; Accept returns only those whose client
// certificate, from the county CA, names the layer's office. Dial refuses a
// server that names another office.
type StreamLayer struct {
	ln        net.Listener
	advertise net.Addr
	office    string
	logger    *slog.Logger
	server    *tls.Config
	client    *tls.Config

	// conns hands verified connections from the handshake goroutines to
	// Accept.
	conns chan net.Conn
	// ctx is cancelled by Close: it stops handshakes in progress.
	ctx    context.Context
	cancel context.CancelFunc
	// hosts holds a slot per handshake in progress, by remote host.
	hosts *netlimit.PerHost
	// warn logs refusals at most once a minute per remote host.
	warn *netlimit.Warner
	// wg counts the accept loop and the handshake goroutines; Close waits
	// for them.
	wg sync.WaitGroup

	// errOnce and acceptErr record why the listener stopped other than by
	// Close; errCh is closed once acceptErr is set.
	errOnce   sync.Once
	acceptErr error
	errCh     chan struct{}

	closeOnce sync.Once
	failed    atomic.Uint64 // handshakes that failed or timed out
	atLimit   atomic.Uint64 // connections closed at the handshake limit

	// hold, when set and true, makes Accept close every connection
	// (SetHold).
	hold atomic.Pointer[func() bool]
	// held counts the connections closed so.
	held atomic.Uint64
}

var _ raft.StreamLayer = (*StreamLayer)(nil)

// Address is a raft address as written: host:port, the host a name or an
// IP. It is the address a node advertises (raft.NetworkTransport keeps
// the stream layer's Addr as the node's own address in the office's
// configuration): a name stays a name, so a node whose name moves to
// another IP (a Kubernetes pod recreated) is still found where its
// configuration says.
type Address string

// Network is "tcp".
func (Address) Network() string { return "tcp" }

// String is the address as written.
func (a Address) String() string { return string(a) }

// NewStreamLayer serves raft on ln for the nodes of office (its 12-digit
// code: with anything else every connection is refused), with the node's
// certificates from b. advertise is the address other nodes dial
// (ln.Addr() if nil). The layer owns ln: Close closes it.
func NewStreamLayer(ln net.Listener, advertise net.Addr, b *pki.Bundle, office string, logger *slog.Logger) *StreamLayer {
	if logger == nil {
		logger = slog.Default()
	}
	if advertise == nil {
		advertise = ln.Addr()
	}
	server := b.ServerConfig()
	server.NextProtos = []string{ALPN}
	verifyClient := server.VerifyConnection
	server.VerifyConnection = func(cs tls.ConnectionState) error {
		if err := verifyClient(cs); err != nil {
			return err
		}
		id, err := pki.IdentityFromCert(cs.VerifiedChains[0][0])
		if err != nil {
			return err
		}
		if id.Office != office {
			return fmt.Errorf("%w: client is %s, want office %s", pki.ErrWrongOffice, id, office)
		}
		return nil
	}
	client := b.ClientConfig(office)
	client.NextProtos = []string{ALPN}

	ctx, cancel := context.WithCancel(context.Background())
	s := &StreamLayer{
		ln:        ln,
		advertise: advertise,
		office:    office,
		logger:    logger.With("component", "raftnet"), // the caller's logger names the office
		server:    server,
		client:    client,
		conns:     make(chan net.Conn),
		ctx:       ctx,
		cancel:    cancel,
		hosts:     netlimit.NewPerHost(MaxHandshakesPerHost, maxHandshakes),
		errCh:     make(chan struct{}),
	}
	s.warn = netlimit.NewWarner(s.logger, time.Minute)
	s.wg.Add(1)
	go s.acceptLoop()
	return s
}

// acceptLoop accepts TCP connections and starts a handshake for each,
// until the listener fails or the layer closes. A connection whose host
// (or everyone together) has too many handshakes in progress is closed at
// once: the loop never waits for a slot, so it keeps taking the office's
// nodes while idle connections from elsewhere time out.
func (s *StreamLayer) acceptLoop() {
	defer s.wg.Done()
	var delay time.Duration
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return
			}
			if !errors.Is(err, net.ErrClosed) {
				// Out of descriptors and the like: back off, go on.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.logger.Warn("raft accept failed, retrying", "err", err, "delay", delay)
				select {
				case <-time.After(delay):
					continue
				case <-s.ctx.Done():
					return
				}
			}
			// The listener was closed under us: Accept reports it.
			s.errOnce.Do(func() {
				s.acceptErr = fmt.Errorf("raftnet: accept: %w", err)
				close(s.errCh)
			})
			return
		}
		delay = 0
		remote := c.RemoteAddr().String()
		key := netlimit.HostKey(remote)
		if !s.hosts.Acquire(key) {
			_ = c.Close()
			s.atLimit.Add(1)
			s.warn.Warn(key, "refused raft connection: too many unfinished handshakes from its host", "remote", remote)
			continue
		}
		s.wg.Add(1)
		go s.handshake(c, key)
	}
}

// handshake completes the TLS handshake of an inbound connection and hands
// it to Accept, or closes it and counts it as refused.
func (s *StreamLayer) handshake(c net.Conn, key string) {
	defer s.wg.Done()
	tc := tls.Server(c, s.server)
	ctx, cancel := context.WithTimeout(s.ctx, HandshakeTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	s.hosts.Release(key)
	if err != nil {
		_ = tc.Close()
		if s.ctx.Err() != nil {
			return
		}
		s.failed.Add(1)
		s.warn.Warn(key, "refused raft connection", "remote", c.RemoteAddr().String(), "err", err)
		return
	}
	select {
	case s.conns <- tc:
	case <-s.ctx.Done():
		_ = tc.Close()
	}
}

// Accept returns the next inbound connection from a node of the office,
// with its TLS handshake done. Connections that fail the handshake or name
// another office are closed, logged and counted (Refused), never returned:
// an error from Accept makes raft's transport back off.
func (s *StreamLayer) Accept() (net.Conn, error) {
	for {
		select {
		case c := <-s.conns:
			if hold := s.hold.Load(); hold != nil && (*hold)() {
				_ = c.Close()
				if n := s.held.Add(1); n == 1 || n%100 == 0 {
					s.logger.Warn("refused a raft connection from another node of the office: this node takes none while its office does not know whether it ran before",
						"remote", c.RemoteAddr().String(), "refused", n)
				}
				continue
			}
			return c, nil
		case <-s.ctx.Done():
			return nil, ErrClosed
		case <-s.errCh:
			return nil, s.acceptErr
		}
	}
}

// SetHold makes Accept close, while hold reports true, every connection
// another node opens: raft then hears nothing from any other node, as if
// they could not reach it, while it dials out as it likes. A node
// bootstrapped on an empty data directory below the county holds its raft
// connections until its office knows whether it ran before (federation,
// firststart.go): bootstrapped under the name and raft address of a node
// of its running office, it is never pulled into that office's group, a
// voter that forgot its term and vote. Set it before raft's transport
// accepts (NewTransport); hold is called for each connection.
func (s *StreamLayer) SetHold(hold func() bool) { s.hold.Store(&hold) }

// Close stops accepting, closes the listener, aborts handshakes in
// progress and waits for its goroutines. It is safe to call more than once.
func (s *StreamLayer) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.cancel()
		err = s.ln.Close()
		s.wg.Wait()
	})
	if err != nil {
		return fmt.Errorf("raftnet: close: %w", err)
	}
	return nil
}

// Addr returns the address other nodes dial.
func (s *StreamLayer) Addr() net.Addr { return s.advertise }

// Dial connects to a node of the office at address and completes the TLS
// handshake within timeout. It fails if the server's certificate does not
// chain to the county CA or names another office (pki.ErrWrongOffice).
func (s *StreamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	if !pki.ValidOffice(s.office) {
		// An empty office would make the client accept any office.
		return nil, fmt.Errorf("raftnet: dial %s: %w: office %q", address, pki.ErrBadIdentity, s.office)
	}
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	defer cancel()
	d := &tls.Dialer{NetDialer: &net.Dialer{}, Config: s.client}
	c, err := d.DialContext(ctx, "tcp", string(address))
	if err != nil {
		return nil, fmt.Errorf("raftnet: dial %s: %w", address, err)
	}
	return c, nil
}

// Identify dials the node at address, as Dial does, and tells who
// answers there: the identity its certificate names (its node's name
// empty for a certificate an office's nodes share).
func (s *StreamLayer) Identify(address string, timeout time.Duration) (pki.Identity, error) {
	c, err := s.Dial(raft.ServerAddress(address), timeout)
	if err != nil {
		return pki.Identity{}, err
	}
	defer c.Close()
	// The handshake checked the certificate (Dial's client config):
	// its first is the node's.
	tc, ok := c.(*tls.Conn)
	if !ok || len(tc.ConnectionState().PeerCertificates) == 0 {
		return pki.Identity{}, fmt.Errorf("raftnet: %s answered without a certificate", address)
	}
	return pki.IdentityFromCert(tc.ConnectionState().PeerCertificates[0])
}

// Refused returns how many inbound connections were dropped: failed or
// timed-out handshakes, certificates from another CA, or of another
// office, and those refused at the handshake limit (RefusedAtLimit).
func (s *StreamLayer) Refused() uint64 { return s.failed.Load() + s.atLimit.Load() }

// FailedHandshakes returns how many inbound handshakes failed or timed
// out (the part of Refused not at the limit).
func (s *StreamLayer) FailedHandshakes() uint64 { return s.failed.Load() }

// RefusedAtLimit returns how many inbound connections were closed before
// their handshake because their host, or everyone together, had too many
// handshakes in progress.
func (s *StreamLayer) RefusedAtLimit() uint64 { return s.atLimit.Load() }

// Transport defaults used by NewTransport.
const (
	// MaxPool is how many idle connections to each peer raft keeps.
	MaxPool = 3
	// Timeout is raft's I/O deadline per RPC (scaled up for snapshots).
	Timeout = 10 * time.Second
)

// Transport is raft's network transport with its heartbeat fast path
// kept only for heartbeats that cannot change the node's term or state.
//
// raft's NetworkTransport hands a heartbeat to raft on the connection's
// own goroutine, outside raft's main loop, so that a follower busy
// writing its log or installing a snapshot still answers its leader in
// time. But a heartbeat of a newer term raises the node's term and makes
// it a follower from there, while the main loop of a leader that has not
// seen it yet goes on: the leader's next entries are written with the
// new term they were never proposed in. Raft then takes them for the new
// leader's entries at the same indexes (it compares terms only), keeps
// them, and applies them: the node's state machine parts from its
// office's (hashicorp/raft #695; the chaos harness found it as a county
// node holding a department its office never committed, seed 1007).
//
// So a heartbeat takes the fast path only when the node is a follower
// already in the heartbeat's term: raft then only notes its leader and
// the time, whatever its main loop does meanwhile (a term only grows, and
// a heartbeat of an older term changes nothing). Any other heartbeat is
// refused with an error: the leader's next append, which goes through
// the main loop like every request that is not a heartbeat, brings the
// new term (it follows at once after an election, and at least every
// commit timeout).
type Transport struct {
	*raft.NetworkTransport
	raft atomic.Pointer[raft.Raft] // set by Attach; until then every heartbeat is refused
}

// errHeartbeatLeftToMainLoop answers a heartbeat the fast path must not
// take (see Transport).
var errHeartbeatLeftToMainLoop = errors.New("raftnet: heartbeat of another term or to a node that is not a follower: left to the next append")

// Attach names the raft instance the transport serves, whose term and
// state decide which heartbeats take the fast path.
func (t *Transport) Attach(r *raft.Raft) { t.raft.Store(r) }

// SetHeartbeatHandler installs raft's heartbeat handler behind the check
// of Transport.
func (t *Transport) SetHeartbeatHandler(fn func(raft.RPC)) {
	if fn == nil {
		t.NetworkTransport.SetHeartbeatHandler(nil)
		return
	}
	t.NetworkTransport.SetHeartbeatHandler(func(rpc raft.RPC) {
		if t.followerInTermOf(rpc) {
			fn(rpc)
			return
		}
		rpc.Respond(nil, errHeartbeatLeftToMainLoop)
	})
}

// followerInTermOf reports whether the node is a follower in the term of
// heartbeat rpc.
func (t *Transport) followerInTermOf(rpc raft.RPC) bool {
	r := t.raft.Load()
	req, ok := rpc.Command.(*raft.AppendEntriesRequest)
	return r != nil && ok && r.State() == raft.Follower && req.Term == r.CurrentTerm()
}

// NewTransport returns raft's network transport over sl, logging to
// logger. Closing the transport closes sl.
func NewTransport(sl *StreamLayer, logger *slog.Logger) *Transport {
	if logger == nil {
		logger = slog.Default()
	}
	return &Transport{NetworkTransport: raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  sl,
		MaxPool: MaxPool,
		Timeout: Timeout,
		// No pipelined replication: every AppendEntries waits for its
		// answer, under Timeout. hashicorp/raft's pipeline can wedge a
		// leader's replication to a follower for good (hashicorp/raft
		// #612), and it did here: a leader's shutdown waited for ever on
		// a pipeline whose responses had stopped. Raft batches entries
		// per request, so the pipeline gains little (the transport's own
		// note on MaxRPCsInFlight says as much).
		MaxRPCsInFlight: 1,
		Logger:          NewHCLogger(logger, "raft-net"),
	})}
}
