package node

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startMux serves a portMux on a loopback port and returns its address.
func startMux(t *testing.T, sniff time.Duration) (*portMux, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := newPortMux(ln, sniff)
	done := make(chan error, 1)
	go func() { done <- m.serve() }()
	t.Cleanup(func() {
		ln.Close()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return m, ln.Addr().String()
}

// accept takes the next connection of l within a few seconds.
func accept(t *testing.T, l net.Listener) net.Conn {
	t.Helper()
	got := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			got <- c
		}
	}()
	select {
	case c := <-got:
		t.Cleanup(func() { c.Close() })
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no connection handed over")
		return nil
	}
}

func TestPortMuxSortsConnectionsByTheirFirstBytes(t *testing.T) {
	m, addr := startMux(t, 5*time.Second)
	for _, tc := range []struct {
		name string
		sent string
		to   net.Listener
	}{
		{"an HTTP/1.1 request", "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", m.http},
		{"HTTP/2's preface and a frame", string(http2Preface) + "\x00\x00\x00\x04\x00\x00\x00\x00\x00", m.grpc},
		{"a request that starts like the preface", "PRIX / HTTP/1.1\r\n\r\n", m.http},
		{"one byte", "G", m.http},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, tc.sent); err != nil {
				t.Fatal(err)
			}
			if tc.name == "one byte" {
				// The sender stops: the byte read so far is enough.
				c.(*net.TCPConn).CloseWrite()
			}
			got := accept(t, tc.to)
			// Every byte sent reaches the server the connection went to,
			// those read to sort it first.
			got.SetReadDeadline(time.Now().Add(5 * time.Second))
			b := make([]byte, len(tc.sent))
			if _, err := io.ReadFull(got, b); err != nil || string(b) != tc.sent {
				t.Fatalf("read %q (%v), want %q", b, err, tc.sent)
			}
		})
	}
}

func TestPortMuxClosesASilentConnection(t *testing.T) {
	const sniff = 200 * time.Millisecond
	m, addr := startMux(t, sniff)
	for _, sent := range []string{"", string(http2Preface[:10])} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, sent)
		start := time.Now()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err = c.Read(make([]byte, 1))
		if took := time.Since(start); !errors.Is(err, io.EOF) || took > 3*time.Second {
			t.Errorf("sent %q and nothing more: read %v after %s, want the connection closed after about %s", sent, err, took, sniff)
		}
		c.Close()
	}
	// Neither half was handed anything.
	for _, l := range []*muxListener{m.grpc, m.http} {
		select {
		case c := <-l.conns:
			t.Errorf("a silent connection was handed over: %v", c.RemoteAddr())
		default:
		}
	}
}

func TestPortMuxServesHTTPAndStopsWithItsListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m := newPortMux(ln, time.Second)
	served := make(chan error, 1)
	go func() { served <- m.serve() }()
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	httpDone := make(chan error, 1)
	go func() { httpDone <- srv.Serve(m.http) }()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("answer %d %q", resp.StatusCode, body)
	}

	ln.Close()
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("serve after its listener closed: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("serve did not return once its listener closed")
	}
	select {
	case err := <-httpDone:
		if err == nil || !strings.Contains(err.Error(), "closed") {
			t.Errorf("the HTTP half: %v, want its listener closed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the HTTP half still accepts once the port closed")
	}
	srv.Close()
}

// flakyListener fails its first Accept calls with errs, then accepts.
type flakyListener struct {
	net.Listener
	errs []error
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if len(l.errs) > 0 {
		err := l.errs[0]
		l.errs = l.errs[1:]
		return nil, err
	}
	return l.Listener.Accept()
}

// TestPortMuxOutlivesAcceptErrors: a process out of file descriptors
// (EMFILE) or a connection aborted before it was taken does not close the
// port for good.
func TestPortMuxOutlivesAcceptErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &flakyListener{Listener: ln, errs: []error{
		&net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE},
		&net.OpError{Op: "accept", Net: "tcp", Err: syscall.ECONNABORTED},
	}}
	m := newPortMux(fl, time.Second)
	done := make(chan error, 1)
	go func() { done <- m.serve() }()
	defer func() {
		ln.Close()
		<-done
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\n\r\n")
	accept(t, m.http)
	select {
	case err := <-done:
		t.Fatalf("serve returned %v after errors it should wait out", err)
	default:
	}
}
