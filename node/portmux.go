package node

import (
	"bytes"
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// http2Preface is what an HTTP/2 client without TLS (h2c, "prior
// knowledge") sends first on a connection; an HTTP/1 request never starts
// with it.
var http2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// portMux splits the connections of the HTTP port by their first bytes:
// those that open with the HTTP/2 preface are client gRPC, served by
// gRPC's own HTTP/2 server; the rest (HTTP/1.1: REST, the web UI, the
// probes, metrics) go to net/http. gRPC served natively answers a call in
// fewer hand-overs between goroutines than grpc.Server.ServeHTTP behind
// net/http's HTTP/2 server (docs/BENCHMARKS.md, session 24).
//
// A connection is sorted by its own goroutine, which reads at most the
// preface's 24 bytes within sniffTimeout; the accept loop never waits on
// a client.
type portMux struct {
	ln           net.Listener
	sniffTimeout time.Duration
	grpc, http   *muxListener
}

func newPortMux(ln net.Listener, sniffTimeout time.Duration) *portMux {
	return &portMux{ln: ln, sniffTimeout: sniffTimeout,
		grpc: newMuxListener(ln.Addr()), http: newMuxListener(ln.Addr())}
}

// serve accepts connections until the port's listener is closed, then
// closes both halves. Any other error of Accept is waited out.
func (m *portMux) serve() error {
	defer m.grpc.Close()
	defer m.http.Close()
	var delay time.Duration
	for {
		c, err := m.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			// Out of file descriptors, a connection aborted before it
			// was taken, and the like: the port must outlive them. Wait,
			// as net/http's Serve does, rather than spin.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		delay = 0
		go m.sort(c)
	}
}

// sort hands c to gRPC or to net/http by its first bytes. A client that
// sends nothing within sniffTimeout is closed, as net/http closes one
// that sends no headers within its ReadHeaderTimeout.
func (m *portMux) sort(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(m.sniffTimeout))
	buf := make([]byte, len(http2Preface))
	n := 0
	for n < len(buf) {
		k, err := c.Read(buf[n:])
		n += k
		if !bytes.Equal(buf[:n], http2Preface[:n]) {
			break // HTTP/1: the bytes read so far are a request's start
		}
		if err != nil {
			if n == 0 || !errors.Is(err, io.EOF) {
				c.Close()
				return
			}
			break
		}
	}
	_ = c.SetReadDeadline(time.Time{})
	pc := &prefixConn{Conn: c, prefix: buf[:n]}
	if n == len(buf) && bytes.Equal(buf, http2Preface) {
		m.grpc.deliver(pc)
		return
	}
	m.http.deliver(pc)
}

// muxListener is one half of the port: a net.Listener whose connections
// portMux hands over.
type muxListener struct {
	addr      net.Addr
	conns     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
}

func newMuxListener(addr net.Addr) *muxListener {
	return &muxListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *muxListener) deliver(c net.Conn) {
	select {
	case l.conns <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *muxListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *muxListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return nil
}

func (l *muxListener) Addr() net.Addr { return l.addr }

// prefixConn is a connection whose first bytes were read already: Read
// gives them back first.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
