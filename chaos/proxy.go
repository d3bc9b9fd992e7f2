// Package chaos is the fault harness's tools (issue 14): a TCP proxy on
// a link between two offices that a schedule can cut, black-hole, slow
// down or make one-way, and schedules of faults drawn from a seed, so
// that a run that finds a bug can be run again exactly. The harness that
// runs the binary through them lives in e2e/.
package chaos

import (
	"errors"
	"io"
	"net"
	"sync"
	"time"
)

// Mode is what a link does with the bytes it carries.
type Mode int

const (
	// Pass carries every byte both ways.
	Pass Mode = iota
	// Cut closes every connection and refuses new ones: a line down.
	Cut
	// Blackhole accepts connections and takes what is sent, but nothing
	// reaches the other side and nothing comes back while it lasts: a
	// stopped process or a route that drops packets. Bytes are held, not
	// lost: as with TCP, what was sent arrives once the way is open again
	// (if the ends have not given up on the connection meanwhile).
	Blackhole
	// OneWay carries what the client sends and holds the answers: an
	// asymmetric partition.
	OneWay
)

var modeNames = [...]string{Pass: "pass", Cut: "cut", Blackhole: "blackhole", OneWay: "one-way"}

func (m Mode) String() string {
	if int(m) < len(modeNames) {
		return modeNames[m]
	}
	return "mode?"
}

// Proxy forwards TCP connections from its address to a target, doing to
// them what its mode says. Zero-cost in Pass: bytes are copied as they
// come, in both directions.
type Proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	mode  Mode
	rate  int           // bytes a second each direction may carry; 0: no limit
	delay time.Duration // added before each chunk is passed on
	conns map[*link]struct{}
	wg    sync.WaitGroup
}

// SetTarget changes where new connections go (a proxy made before the
// node it leads to has its address).
func (p *Proxy) SetTarget(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = target
}

// NewProxy listens on addr (127.0.0.1:0 for any port) and forwards to
// target ("" until SetTarget: connections are closed).
func NewProxy(addr, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[*link]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is where the proxy listens: what the other side dials.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Set changes the proxy's mode. Cut closes every connection open now.
func (p *Proxy) Set(m Mode) {
	p.mu.Lock()
	p.mode = m
	var closing []*link
	if m == Cut {
		for l := range p.conns {
			closing = append(closing, l)
		}
	}
	p.mu.Unlock()
	for _, l := range closing {
		l.close()
	}
}

// Mode is the proxy's mode now.
func (p *Proxy) Mode() Mode {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode
}

// Slow limits each direction of each connection to rate bytes a second
// (0: no limit) and delays each chunk by delay: a slow, distant line.
func (p *Proxy) Slow(rate int, delay time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rate, p.delay = rate, delay
}

// Close stops the proxy and closes its connections.
func (p *Proxy) Close() error {
	err := p.ln.Close()
	p.Set(Cut)
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.Mode() == Cut {
			c.Close()
			continue
		}
		l := &link{p: p, client: c, closed: make(chan struct{})}
		p.mu.Lock()
		p.conns[l] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(1)
		go func() { defer p.wg.Done(); l.run() }()
	}
}

// link is one proxied connection.
type link struct {
	p      *Proxy
	client net.Conn
	server net.Conn
	once   sync.Once
	closed chan struct{}
	mu     sync.Mutex // guards server
}

func (l *link) close() {
	l.once.Do(func() {
		close(l.closed)
		l.client.Close()
		l.mu.Lock()
		if l.server != nil {
			l.server.Close()
		}
		l.mu.Unlock()
		l.p.mu.Lock()
		delete(l.p.conns, l)
		l.p.mu.Unlock()
	})
}

func (l *link) run() {
	defer l.close()
	l.p.mu.Lock()
	target := l.p.target
	l.p.mu.Unlock()
	if target == "" {
		return
	}
	server, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return // the client sees its connection closed
	}
	l.mu.Lock()
	l.server = server
	l.mu.Unlock()
	select {
	case <-l.closed:
		server.Close()
		return
	default:
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); l.pipe(server, l.client, false); l.close() }()
	go func() { defer wg.Done(); l.pipe(l.client, server, true); l.close() }()
	wg.Wait()
}

// pipe copies from src to dst as the proxy's mode says; back is the
// direction from the server to the client.
func (l *link) pipe(dst, src net.Conn, back bool) {
	buf := make([]byte, 16<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if werr := l.pass(dst, buf[:n], back); werr != nil {
				return
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return
			}
			// The sender closed its side: close the other's writing side.
			if tc, ok := dst.(*net.TCPConn); ok {
				_ = tc.CloseWrite()
			}
			return
		}
	}
}

// pass writes b to dst, holding it while the mode holds this direction,
// at the proxy's rate.
func (l *link) pass(dst net.Conn, b []byte, back bool) error {
	var mode Mode
	var rate int
	var delay time.Duration
	for {
		l.p.mu.Lock()
		mode, rate, delay = l.p.mode, l.p.rate, l.p.delay
		l.p.mu.Unlock()
		if mode != Blackhole && !(mode == OneWay && back) {
			break
		}
		select { // held: TCP would keep retransmitting
		case <-time.After(20 * time.Millisecond):
		case <-l.closed:
			return net.ErrClosed
		}
	}
	if mode == Cut {
		return net.ErrClosed
	}
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-l.closed:
			return net.ErrClosed
		}
	}
	for len(b) > 0 {
		chunk := len(b)
		if rate > 0 {
			chunk = min(chunk, max(rate/20, 512))
		}
		if _, err := dst.Write(b[:chunk]); err != nil {
			return err
		}
		if rate > 0 {
			select {
			case <-time.After(time.Duration(chunk) * time.Second / time.Duration(rate)):
			case <-l.closed:
				return net.ErrClosed
			}
		}
		b = b[chunk:]
	}
	return nil
}
