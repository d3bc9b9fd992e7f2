package raftnet

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/yizhan-gov/yizhan/federation/pki"
)

const (
	county   = "330102000000"
	township = "330102001000"
)

var quiet = slog.New(slog.DiscardHandler)

func newLayer(t *testing.T, b *pki.Bundle, office string) *StreamLayer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewStreamLayer(ln, nil, b, office, quiet)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// acceptAsync runs Accept in the background.
func acceptAsync(s *StreamLayer) <-chan net.Conn {
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := s.Accept()
		if err != nil {
			close(ch)
			return
		}
		ch <- c
	}()
	return ch
}

func waitFor(t *testing.T, what string, cond func() bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSameOfficeConnects(t *testing.T) {
	ca := pki.NewTestCA(t)
	a := newLayer(t, pki.NewTestBundle(t, ca, pki.Identity{Office: county, Node: "a"}), county)
	b := newLayer(t, pki.NewTestBundle(t, ca, pki.Identity{Office: county, Node: "b"}), county)

	accepted := acceptAsync(b)
	c, err := a.Dial(raftAddr(b), 5*time.Second)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	var sc net.Conn
	select {
	case sc = <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("Accept returned nothing")
	}
	defer sc.Close()
	buf := make([]byte, 4)
	if _, err := io.ReadFull(sc, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("server read %q, %v", buf, err)
	}
	st := sc.(*tls.Conn).ConnectionState()
	id, err := pki.IdentityFromCert(st.VerifiedChains[0][0])
	if err != nil || id.Node != "a" {
		t.Fatalf("accepted peer = %+v, %v; want node a", id, err)
	}
	if st.NegotiatedProtocol != ALPN {
		t.Fatalf("ALPN = %q, want %q", st.NegotiatedProtocol, ALPN)
	}
	if a.Refused()+b.Refused() != 0 {
		t.Fatalf("refused %d+%d connections, want none", a.Refused(), b.Refused())
	}
}

func raftAddr(s *StreamLayer) raft.ServerAddress { return raft.ServerAddress(s.Addr().String()) }

func TestOtherOfficeRefused(t *testing.T) {
	ca := pki.NewTestCA(t)
	countyBundle := pki.NewTestBundle(t, ca, pki.Identity{Office: county, Node: "c0"})
	countyPeer := pki.NewTestBundle(t, ca, pki.Identity{Office: county, Node: "c1"})
	townshipBundle := pki.NewTestBundle(t, ca, pki.Identity{Office: township, Node: "t0"})
	stranger := pki.NewTestBundle(t, pki.NewTestCA(t), pki.Identity{Office: county, Node: "c1"})

	srv := newLayer(t, countyBundle, county)
	accepted := acceptAsync(srv)
	refused := uint64(0)
	expectRefused := func(what string) {
		t.Helper()
		refused++
		waitFor(t, what+" to be refused", func() bool { return srv.Refused() >= refused }, 5*time.Second)
		select {
		case c := <-accepted:
			t.Fatalf("Accept returned the connection of %s (%v)", what, c)
		default:
		}
	}

	// Dial from a township layer: the township node refuses the county
	// server, and the county server drops the half-done handshake.
	town := newLayer(t, townshipBundle, township)
	if c, err := town.Dial(raftAddr(srv), 5*time.Second); !errors.Is(err, pki.ErrWrongOffice) {
		if c != nil {
			c.Close()
		}
		t.Fatalf("township Dial to county = %v, want pki.ErrWrongOffice", err)
	}
	expectRefused("a township dialer")

	// A township node that pretends to want the county: its certificate
	// still names the township, and Accept drops it.
	cfg := townshipBundle.ClientConfig(county)
	cfg.NextProtos = []string{ALPN}
	if c, err := tls.Dial("tcp", srv.Addr().String(), cfg); err == nil {
		// TLS 1.3: the client learns of the refusal when it reads.
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("refused client could read")
		}
		c.Close()
	}
	expectRefused("a township certificate")

	// A certificate from another CA.
	if c, err := tls.Dial("tcp", srv.Addr().String(), stranger.ClientConfig("")); err == nil {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = c.Read(make([]byte, 1))
		c.Close()
	}
	expectRefused("another CA")

	// Plain TCP garbage.
	if c, err := net.Dial("tcp", srv.Addr().String()); err == nil {
		_, _ = c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.Copy(io.Discard, c)
		c.Close()
	}
	expectRefused("plain TCP")

	// After all that, a node of the office still gets through.
	peer := newLayer(t, countyPeer, county)
	c, err := peer.Dial(raftAddr(srv), 5*time.Second)
	if err != nil {
		t.Fatalf("county Dial after refusals: %v", err)
	}
	defer c.Close()
	select {
	case sc := <-accepted:
		if sc == nil {
			t.Fatal("Accept failed")
		}
		sc.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("Accept did not return the county node")
	}

	// Dialling a server from another CA fails too.
	strangerSrv := newLayer(t, stranger, county)
	if _, err := peer.Dial(raftAddr(strangerSrv), 5*time.Second); !errors.Is(err, pki.ErrUntrusted) {
		t.Fatalf("Dial to a server of another CA = %v, want pki.ErrUntrusted", err)
	}
}

func TestClose(t *testing.T) {
	ca := pki.NewTestCA(t)
	s := newLayer(t, pki.NewTestBundle(t, ca, pki.Identity{Office: county}), county)
	// A handshake in progress (a silent TCP client) must not hold Close.
	idle, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	errc := make(chan error, 1)
	go func() {
		_, err := s.Accept()
		errc <- err
	}()
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v", d)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Accept after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := s.Dial(raft.ServerAddress(s.Addr().String()), time.Second); err == nil {
		t.Fatal("Dial after Close succeeded")
	}
}

func TestBadOfficeRefusesEverything(t *testing.T) {
	ca := pki.NewTestCA(t)
	srv := newLayer(t, pki.NewTestBundle(t, ca, pki.Identity{Office: county}), county)
	bad := newLayer(t, pki.NewTestBundle(t, ca, pki.Identity{Office: county}), "")
	if _, err := bad.Dial(raftAddr(srv), time.Second); !errors.Is(err, pki.ErrBadIdentity) {
		t.Fatalf("Dial with an empty office = %v, want pki.ErrBadIdentity", err)
	}
}

// A node that holds its raft connections (a node bootstrapped on an empty
// data directory, until its office knows whether it ran before) closes
// each one another node of its office opens: the other reads end of file.
// Once it lets them in, a new connection is accepted.
func TestHeldConnectionsAreClosed(t *testing.T) {
	ca := pki.NewTestCA(t)
	a := newLayer(t, pki.NewTestBundle(t, ca, pki.Identity{Office: county, Node: "a"}), county)
	b := newLayer(t, pki.NewTestBundle(t, ca, pki.Identity{Office: county, Node: "b"}), county)
	held := make(chan bool, 1)
	held <- true
	hold := func() bool { h := <-held; held <- h; return h }
	b.SetHold(hold)

	accepted := acceptAsync(b)
	c, err := a.Dial(raftAddr(b), 5*time.Second)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("a connection to a node that holds them: read %v, want end of file", err)
	}
	c.Close()

	<-held
	held <- false
	c, err = a.Dial(raftAddr(b), 5*time.Second)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	select {
	case sc := <-accepted:
		if sc == nil {
			t.Fatal("Accept failed")
		}
		sc.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("a connection once the node lets them in: Accept returned nothing")
	}
}
