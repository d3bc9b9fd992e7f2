package node_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
)

// Client gRPC on the HTTP port is served by gRPC's own server (the port
// sorts connections by their first bytes, node/portmux.go), within the
// HTTP port's limits: "HTTP and ports" in node/DESIGN.md.

// heldCall is a gRPC call on a connection of its own whose headers and
// the first byte of its message were sent, and whose message then stalls.
type heldCall struct {
	conn net.Conn
	fr   *http2.Framer
}

// holdCall opens a call of ListItems with extra headers (name, value
// pairs) and stalls it.
func holdCall(t *testing.T, addr string, extra ...string) *heldCall {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	fields := []string{":method", "POST", ":scheme", "http", ":authority", addr,
		":path", "/yizhan.v1.RegistryService/ListItems", "content-type", "application/grpc", "te", "trailers"}
	for i := 0; i+1 < len(fields); i += 2 {
		enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	for i := 0; i+1 < len(extra); i += 2 {
		enc.WriteField(hpack.HeaderField{Name: extra[i], Value: extra[i+1]})
	}
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	// A message's 5-byte prefix, of which only the first byte comes.
	if err := fr.WriteData(1, false, []byte{0}); err != nil {
		t.Fatal(err)
	}
	return &heldCall{conn: c, fr: fr}
}

// status reads the call's frames until its status comes (trailers) or
// the stream is reset, within wait; ok is false if neither came.
func (h *heldCall) status(wait time.Duration) (code codes.Code, msg string, ok bool) {
	h.conn.SetReadDeadline(time.Now().Add(wait))
	dec := hpack.NewDecoder(4096, nil)
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			return 0, "", false
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				h.fr.WriteSettingsAck()
			}
		case *http2.RSTStreamFrame:
			return codes.Canceled, "stream reset: " + f.ErrCode.String(), true
		case *http2.HeadersFrame:
			fields, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				return 0, "", false
			}
			for _, hf := range fields {
				if hf.Name == "grpc-status" {
					n, _ := strconv.Atoi(hf.Value)
					code = codes.Code(n)
					ok = true
				}
				if hf.Name == "grpc-message" {
					msg = hf.Value
				}
			}
			if ok {
				return code, msg, true
			}
		}
	}
}

func TestAStalledGRPCCallIsCut(t *testing.T) {
	const timeout = 500 * time.Millisecond
	_, n := startLone(t, func(c *node.Config) {
		c.HTTP.BodyReadTimeout = timeout
		c.HTTP.WriteTimeout = timeout
	})
	start := time.Now()
	h := holdCall(t, n.HTTPAddr())
	code, msg, ok := h.status(10 * time.Second)
	took := time.Since(start)
	if !ok {
		t.Fatalf("a stalled call: no status in %s", took)
	}
	if code != codes.DeadlineExceeded && code != codes.Canceled {
		t.Errorf("a stalled call: %s %q, want DEADLINE_EXCEEDED or CANCELLED", code, msg)
	}
	if took < timeout || took > timeout+3*time.Second {
		t.Errorf("a stalled call answered after %s, want about %s", took, timeout)
	}
}

func TestAnonymousGRPCCallsCountWithRESTRequests(t *testing.T) {
	_, n := startLone(t, func(c *node.Config) { c.HTTP.BodyReadTimeout = 20 * time.Second })
	admin := dial(t, n).login("admin", password)
	base := "http://" + n.HTTPAddr()

	// Anonymous calls one after another are served: each gives its slot
	// back when it ends.
	anon := dial(t, n)
	for i := range 3 * node.DefaultAnonymousPerClient {
		if _, err := anon.reg.ListItems(anon.ctx(), &yizhanv1.ListItemsRequest{}); err != nil {
			t.Fatalf("anonymous call %d: %v", i, err)
		}
	}

	// A call's slot is given back when its context ends, which gRPC does
	// after the answer has gone: on a busy machine the last calls' slots
	// can still be held here, and a stalled call below would be refused
	// in their place (the REST request then never is).
	waitFor(t, "the anonymous calls' slots given back", func() bool {
		return node.AnonymousHeldForTest(n, "127.0.0.1:1") == 0
	}, 10*time.Second)

	// As many stalled anonymous calls as the limit: a further anonymous
	// call, REST request or call with a made-up token is refused; the
	// signed-in are served.
	calls := make([]*heldCall, node.DefaultAnonymousPerClient)
	for i := range calls {
		calls[i] = holdCall(t, n.HTTPAddr())
	}
	// Counted by the node before anything else is asked: a REST request
	// sent while the last call's headers were on their way took the last
	// slot, that call was refused, and the REST requests were served from
	// then on (seen under the race detector on two busy cores).
	waitFor(t, "the stalled calls counted", func() bool {
		return node.AnonymousHeldForTest(n, "127.0.0.1:1") == len(calls)
	}, 30*time.Second)
	if code, body := restCall(t, "GET", base+"/v1/items", "", ""); code != http.StatusTooManyRequests {
		t.Errorf("anonymous GET /v1/items with the stalled calls held: %d %v, want 429", code, body)
	}
	if _, err := anon.reg.ListItems(anon.ctx(), &yizhanv1.ListItemsRequest{}); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("anonymous call: %v, want ResourceExhausted", err)
	}
	madeUp := holdCall(t, n.HTTPAddr(), "authorization", "Bearer made.up.token")
	if code, msg, ok := madeUp.status(5 * time.Second); !ok || code != codes.ResourceExhausted {
		t.Errorf("a call with a made-up token: %s %q (answered %v), want ResourceExhausted", code, msg, ok)
	}
	if _, err := admin.reg.ListItems(admin.ctx(), &yizhanv1.ListItemsRequest{}); err != nil {
		t.Errorf("signed-in call: %v", err)
	}
	if code, body := restCall(t, "GET", base+"/v1/items", admin.token, ""); code != http.StatusOK {
		t.Errorf("signed-in GET /v1/items: %d %v", code, body)
	}

	// The stalled calls' clients go away: their slots come back.
	for _, h := range calls {
		h.conn.Close()
	}
	waitAnonymousServed(t, base)
	if _, err := anon.reg.ListItems(anon.ctx(), &yizhanv1.ListItemsRequest{}); err != nil {
		t.Errorf("anonymous call after the stalled ones went: %v", err)
	}
}

// TestGRPCAndRESTShareThePort: a gRPC client, a REST client and the web
// UI's pages on the one HTTP port, and a node that closes with a call's
// connection open.
func TestGRPCAndRESTShareThePort(t *testing.T) {
	f, n := startLone(t, nil)
	conn, err := grpc.NewClient(n.HTTPAddr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	login, err := yizhanv1.NewAuthServiceClient(conn).Login(ctx, &yizhanv1.LoginRequest{Username: "admin", Password: password})
	if err != nil {
		t.Fatalf("gRPC sign-in: %v", err)
	}
	if code, body := restCall(t, "GET", "http://"+n.HTTPAddr()+"/v1/items", login.GetToken(), ""); code != http.StatusOK {
		t.Errorf("REST with the token gRPC gave: %d %v", code, body)
	}
	for _, path := range []string{"/healthz", "/login"} {
		resp, err := http.Get("http://" + n.HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
	}
	closed := make(chan struct{})
	go func() { f.stop("county-1"); close(closed) }()
	select {
	case <-closed:
	case <-time.After(15 * time.Second):
		t.Fatal("the node did not close with a gRPC connection open")
	}
	if _, err := yizhanv1.NewAuthServiceClient(conn).Login(ctx, &yizhanv1.LoginRequest{Username: "admin", Password: password}); status.Code(err) != codes.Unavailable {
		t.Errorf("gRPC sign-in at a closed node: %v, want Unavailable", err)
	}
}

// TestGRPCBehindTLSCountsTheForwardedAddress: behind a TLS-terminating
// proxy the gRPC calls of one citizen come from the proxy's address; they
// are counted by the address the proxy appended to X-Forwarded-For, as
// REST requests are.
func TestGRPCBehindTLSCountsTheForwardedAddress(t *testing.T) {
	_, n := startLone(t, func(c *node.Config) {
		c.BehindTLS = true
		c.HTTP.AnonymousPerClient = 2
		c.HTTP.BodyReadTimeout = 20 * time.Second
	})
	for range 2 {
		holdCall(t, n.HTTPAddr(), "x-forwarded-for", "203.0.113.9, 198.51.100.1")
	}
	// Counted before the REST request is sent, as in
	// TestAnonymousGRPCCallsCountWithRESTRequests.
	waitFor(t, "the stalled calls counted", func() bool {
		return node.AnonymousHeldForTest(n, "198.51.100.1") == 2
	}, 30*time.Second)
	req, _ := http.NewRequest("GET", "http://"+n.HTTPAddr()+"/v1/items", nil)
	req.Header.Set("X-Forwarded-For", "198.51.100.1")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Errorf("GET /v1/items from 198.51.100.1: %v", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("GET /v1/items from 198.51.100.1 with its two calls held: %d, want 429", resp.StatusCode)
		}
	}
	// The same last address, whatever the client put before it.
	third := holdCall(t, n.HTTPAddr(), "x-forwarded-for", "198.51.100.1")
	if code, msg, ok := third.status(5 * time.Second); !ok || code != codes.ResourceExhausted {
		t.Errorf("a third stalled call from 198.51.100.1: %s %q (answered %v), want ResourceExhausted", code, msg, ok)
	}
	// Another citizen behind the same proxy is served.
	other := holdCall(t, n.HTTPAddr(), "x-forwarded-for", "198.51.100.2")
	if code, msg, ok := other.status(time.Second); ok {
		t.Errorf("a stalled call from 198.51.100.2 answered at once: %s %q, want it held", code, msg)
	}
}
