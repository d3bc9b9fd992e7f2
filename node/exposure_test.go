package node_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
)

// What a client on the HTTP port, and a stranger on the peer port, can
// and cannot make a node do: see "HTTP and ports" in node/DESIGN.md.

// startLone starts a one-node county with the admin account; mod may
// change its configuration.
func startLone(t *testing.T, mod func(*node.Config)) (*fed, *node.Node) {
	t.Helper()
	f := newFed(t)
	n := f.start("county-1", county, func(c *node.Config) {
		c.Bootstrap = true
		c.BootstrapAdminPassword = password
		if mod != nil {
			mod(c)
		}
	})
	waitFor(t, "county-1 ready", n.Ready, 20*time.Second)
	return f, n
}

// held is a request whose headers and first body byte were sent, and
// whose body then stalls.
type held struct {
	conn net.Conn
	br   *bufio.Reader
}

// holdRequest sends a request's headers (extra are more header lines)
// and one byte of a 100-byte body, then stalls.
func holdRequest(t *testing.T, addr, method, path string, extra ...string) *held {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	req := method + " " + path + " HTTP/1.1\r\nHost: " + addr + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
	for _, h := range extra {
		req += h + "\r\n"
	}
	if _, err := io.WriteString(c, req+"\r\n{"); err != nil {
		t.Fatal(err)
	}
	return &held{conn: c, br: bufio.NewReader(c)}
}

// answer reads the response to a held request within wait; nil if none
// came.
func (h *held) answer(wait time.Duration) *http.Response {
	h.conn.SetReadDeadline(time.Now().Add(wait))
	resp, err := http.ReadResponse(h.br, nil)
	if err != nil {
		return nil
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func TestBodyTooLargeIsRefusedBeforeTheTokenIsChecked(t *testing.T) {
	_, n := startLone(t, nil)
	base := "http://" + n.HTTPAddr()
	big := `{"code":"` + strings.Repeat("x", 2<<20) + `"}`

	// Without a token a small body is 401; a 2 MiB one is 413: refused
	// before the token is looked at.
	if code, _ := restCall(t, "POST", base+"/v1/items", "", `{"code":"x"}`); code != http.StatusUnauthorized {
		t.Fatalf("small body without a token: %d, want 401", code)
	}
	code, body := restCall(t, "POST", base+"/v1/items", "", big)
	if code != http.StatusRequestEntityTooLarge {
		t.Fatalf("2 MiB body without a token: %d %v, want 413", code, body)
	}
	if msg, _ := body["message"].(string); !strings.Contains(msg, fmt.Sprint(node.MaxRequestBody)) {
		t.Errorf("the 413 does not name the limit: %q", msg)
	}

	// The same body sent chunked, without a length: cut as it is read.
	req, _ := http.NewRequest("POST", base+"/v1/items", io.MultiReader(strings.NewReader(big)))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "1048576") {
		t.Fatalf("2 MiB chunked body: %d %s, want 413 naming the limit", resp.StatusCode, b)
	}

	// A web form likewise.
	form := url.Values{"username": {"admin"}, "password": {strings.Repeat("x", 2<<20)}}
	resp, err = http.Post(base+"/login", "application/x-www-form-urlencoded", io.MultiReader(strings.NewReader(form.Encode())))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("2 MiB sign-in form: %d, want 413", resp.StatusCode)
	}

	// And a gRPC message: refused as too large, not as unauthenticated.
	anon := dial(t, n)
	_, err = anon.reg.CreateItem(anon.ctx(), &yizhanv1.CreateItemRequest{Item: &yizhanv1.Item{Code: "x", LegalBasis: strings.Repeat("x", 2<<20)}})
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("2 MiB gRPC message: %v, want ResourceExhausted", err)
	}
}

// TestLargestItemFitsTheBodyLimit: an item with all its eight publics
// written out at length, as large as a registry command may be, is well
// within MaxRequestBody as REST JSON.
func TestLargestItemFitsTheBodyLimit(t *testing.T) {
	_, n := startLone(t, nil)
	admin := dial(t, n).login("admin", password)
	if _, err := admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "yc", Name: "县烟草专卖局"}}); err != nil {
		t.Fatal(err)
	}
	text := func(n int) string { return strings.Repeat("依法办理", n/4) }
	it := tobacco()
	it.LegalBasis, it.Conditions = text(15000), text(15000)
	it.FeeBasis, it.FeeStandard = text(1000), text(1000)
	it.WhereToApply, it.OfficeHours = text(500), text(200)
	it.Materials = nil
	for i := range 30 {
		it.Materials = append(it.Materials, &yizhanv1.Material{Name: fmt.Sprintf("材料%d", i) + text(80),
			Form: yizhanv1.MaterialForm_MATERIAL_FORM_ORIGINAL, Copies: 1, Condition: text(500), Notes: text(500)})
	}
	for i := range 20 {
		it.Steps = append(it.Steps, &yizhanv1.ProcedureStep{Name: fmt.Sprintf("步骤%d", i), Description: text(500), LimitDays: 1})
	}
	body, err := protojson.MarshalOptions{UseProtoNames: true}.Marshal(it)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("item: %d bytes as protobuf, %d as JSON; the body limit is %d", proto.Size(it), len(body), node.MaxRequestBody)
	if proto.Size(it) < 200<<10 {
		t.Fatalf("the item is only %d bytes: not the largest a command may hold", proto.Size(it))
	}
	code, resp := restCall(t, "POST", "http://"+n.HTTPAddr()+"/v1/items", admin.token, string(body))
	if code != http.StatusOK {
		t.Fatalf("create the large item: %d %v", code, resp)
	}
}

func TestSlowBodyIsCutAfterTheReadTimeout(t *testing.T) {
	const timeout = 500 * time.Millisecond
	_, n := startLone(t, func(c *node.Config) { c.HTTP.BodyReadTimeout = timeout })
	for _, path := range []string{"/v1/items", "/login"} {
		start := time.Now()
		h := holdRequest(t, n.HTTPAddr(), "POST", path)
		resp := h.answer(10 * time.Second)
		took := time.Since(start)
		if resp == nil {
			t.Fatalf("POST %s with a stalled body: no answer in %s", path, took)
		}
		if took < timeout || took > timeout+3*time.Second {
			t.Errorf("POST %s with a stalled body answered after %s, want about %s", path, took, timeout)
		}
		if path == "/v1/items" && resp.StatusCode != http.StatusRequestTimeout {
			t.Errorf("POST %s with a stalled body: %d, want 408", path, resp.StatusCode)
		}
		// And the connection is closed.
		h.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := h.br.ReadByte(); err != io.EOF {
			t.Errorf("POST %s: the connection stays open after the timeout (%v)", path, err)
		}
	}
}

func TestAnonymousRequestsPerClientAreLimited(t *testing.T) {
	_, n := startLone(t, func(c *node.Config) { c.HTTP.BodyReadTimeout = 20 * time.Second })
	admin := dial(t, n).login("admin", password)
	base := "http://" + n.HTTPAddr()

	// 20 anonymous requests at once from one address, each holding its
	// body back.
	reqs := make([]*held, 20)
	var wg sync.WaitGroup
	for i := range reqs {
		wg.Add(1)
		go func() { defer wg.Done(); reqs[i] = holdRequest(t, n.HTTPAddr(), "POST", "/v1/cases") }()
	}
	wg.Wait()
	answers := make([]*http.Response, len(reqs))
	for i, h := range reqs {
		wg.Add(1)
		go func() { defer wg.Done(); answers[i] = h.answer(2 * time.Second) }()
	}
	wg.Wait()
	tooMany, waiting := 0, 0
	for _, resp := range answers {
		switch {
		case resp == nil:
			waiting++
		case resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") != "":
			tooMany++
		default:
			t.Errorf("held request answered %d", resp.StatusCode)
		}
	}
	if waiting != node.DefaultAnonymousPerClient || tooMany != len(reqs)-waiting {
		t.Fatalf("%d requests in flight and %d refused with 429, want %d and %d", waiting, tooMany, node.DefaultAnonymousPerClient, len(reqs)-node.DefaultAnonymousPerClient)
	}

	// Meanwhile: the probes answer, a signed-in client is served, a
	// made-up token is anonymous, and so is a gRPC call.
	if code, _ := getJSON(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d", code)
	}
	if code, body := restCall(t, "GET", base+"/v1/items", admin.token, ""); code != http.StatusOK {
		t.Errorf("signed-in GET /v1/items: %d %v", code, body)
	}
	if code, _ := restCall(t, "GET", base+"/v1/items", "made.up.token", ""); code != http.StatusTooManyRequests {
		t.Errorf("GET /v1/items with a made-up token: %d, want 429", code)
	}
	anon := dial(t, n)
	if _, err := anon.reg.ListItems(anon.ctx(), &yizhanv1.ListItemsRequest{}); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("anonymous gRPC call: %v, want ResourceExhausted", err)
	}

	// Once the held requests go away, anonymous requests are served again.
	for _, h := range reqs {
		h.conn.Close()
	}
	waitAnonymousServed(t, base)
}

// waitAnonymousServed waits until an anonymous REST request to the node at
// base is served again: the slots its client held were given back.
func waitAnonymousServed(t *testing.T, base string) {
	t.Helper()
	waitFor(t, "anonymous requests served again", func() bool {
		code, _ := restCall(t, "GET", base+"/v1/items", "", "")
		return code == http.StatusOK
	}, 10*time.Second)
}

func TestBehindTLS(t *testing.T) {
	_, plain := startLone(t, nil)
	resp, err := http.Get("http://" + plain.HTTPAddr() + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if hsts := resp.Header.Get("Strict-Transport-Security"); hsts != "" {
		t.Errorf("HSTS without --behind-tls: %q", hsts)
	}
	for _, c := range resp.Cookies() {
		if c.Secure {
			t.Errorf("cookie %s is Secure without --behind-tls", c.Name)
		}
	}

	_, n := startLone(t, func(c *node.Config) {
		c.BehindTLS = true
		c.HTTP.AnonymousPerClient = 2
		c.HTTP.BodyReadTimeout = 20 * time.Second
	})
	base := "http://" + n.HTTPAddr()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// The sign-in page: HSTS, and its CSRF cookie Secure.
	resp, err = noRedirect.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if hsts := resp.Header.Get("Strict-Transport-Security"); hsts != "max-age=31536000" {
		t.Errorf("Strict-Transport-Security = %q", hsts)
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the sign-in page:\n%s", page)
	}
	var pre *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "yz_csrf" {
			pre = c
		}
	}
	if pre == nil || !pre.Secure {
		t.Fatalf("the CSRF cookie is %v, want it Secure", pre)
	}

	// Signing in sets a Secure session cookie.
	form := url.Values{"username": {"admin"}, "password": {password}, "csrf": {string(m[1])}, "next": {"/"}}
	req, _ := http.NewRequest("POST", base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: pre.Name, Value: pre.Value})
	resp, err = noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "yz_session" {
			session = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || session == nil || !session.Secure || !session.HttpOnly {
		t.Fatalf("sign in: %d, session cookie %v; want 303 and a Secure, HttpOnly cookie", resp.StatusCode, session)
	}

	// The per-client limit counts the address the proxy appended last to
	// X-Forwarded-For; what the client wrote before it does not count.
	const client, other = "203.0.113.9", "198.51.100.7"
	for range 2 {
		holdRequest(t, n.HTTPAddr(), "POST", "/v1/cases", "X-Forwarded-For: "+client)
	}
	time.Sleep(300 * time.Millisecond) // the held requests reach the handler
	xff := func(v string) int {
		req, _ := http.NewRequest("GET", base+"/v1/items", nil)
		req.Header.Set("X-Forwarded-For", v)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := xff(client); code != http.StatusTooManyRequests {
		t.Errorf("a third request of %s: %d, want 429", client, code)
	}
	if code := xff(other + ", " + client); code != http.StatusTooManyRequests {
		t.Errorf("a request of %s claiming to be for %s: %d, want 429", client, other, code)
	}
	if code := xff(other); code != http.StatusOK {
		t.Errorf("a request of another client, %s: %d, want 200", other, code)
	}
}

// Behind TLS, X-Forwarded-For is believed only on a connection from a
// proxy the node trusts: a client that reaches the HTTP port past the
// proxy (here from loopback, the proxy being elsewhere) is counted by
// its own address whatever it writes there.
func TestBehindTLSBelievesOnlyItsProxies(t *testing.T) {
	_, n := startLone(t, func(c *node.Config) {
		c.BehindTLS = true
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.10/32")}
		c.HTTP.AnonymousPerClient = 2
		c.HTTP.BodyReadTimeout = 20 * time.Second
	})
	holdRequest(t, n.HTTPAddr(), "POST", "/v1/cases", "X-Forwarded-For: 203.0.113.1")
	holdRequest(t, n.HTTPAddr(), "POST", "/v1/cases", "X-Forwarded-For: 203.0.113.2")
	time.Sleep(300 * time.Millisecond) // the held requests reach the handler
	req, _ := http.NewRequest("GET", "http://"+n.HTTPAddr()+"/v1/items", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.3")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a third request from the same address, naming a third client: %d, want 429", resp.StatusCode)
	}
}

func TestMetricsOnTheirOwnAddress(t *testing.T) {
	_, n := startLone(t, func(c *node.Config) { c.MetricsAddr = "127.0.0.1:0" })
	resp, err := http.Get("http://" + n.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics on the HTTP port: %d, want 404", resp.StatusCode)
	}
	resp, err = http.Get("http://" + n.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte("yizhan_raft_leader")) ||
		!bytes.Contains(b, []byte(`yizhan_connections_refused_total{node="county-1",office="450122000000",port="raft",reason="limit"} 0`)) {
		t.Fatalf("/metrics on the metrics address: %d\n%s", resp.StatusCode, b)
	}
}

// Go's profiles are served on the metrics address when asked for, never
// on the HTTP port, and not at all by default.
func TestProfilesOnlyOnTheMetricsAddressWhenAsked(t *testing.T) {
	get := func(url string) int {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	_, n := startLone(t, func(c *node.Config) { c.MetricsAddr, c.Pprof = "127.0.0.1:0", true })
	if code := get("http://" + n.MetricsAddr() + "/debug/pprof/heap"); code != http.StatusOK {
		t.Errorf("a heap profile on the metrics address: %d, want 200", code)
	}
	if code := get("http://" + n.HTTPAddr() + "/debug/pprof/heap"); code == http.StatusOK {
		t.Error("a heap profile on the HTTP port")
	}
	probe := "/debug/book?office=" + n.Office().Cases().Office() + "&case=none"
	if code := get("http://" + n.MetricsAddr() + probe); code != http.StatusOK {
		t.Errorf("the case book's probe on the metrics address: %d, want 200", code)
	}
	if code := get("http://" + n.HTTPAddr() + probe); code == http.StatusOK {
		t.Error("the case book's probe on the HTTP port")
	}
	if code := get("http://" + n.MetricsAddr() + "/debug/book?case=none"); code != http.StatusBadRequest {
		t.Errorf("the probe without an office: %d, want 400", code)
	}
	if code := get("http://" + n.MetricsAddr() + "/debug/book?office=x" + strings.Repeat("&case=n", 101)); code != http.StatusBadRequest {
		t.Errorf("the probe of 101 cases: %d, want 400", code)
	}
	_, quiet := startLone(t, func(c *node.Config) { c.MetricsAddr = "127.0.0.1:0" })
	if code := get("http://" + quiet.MetricsAddr() + "/debug/pprof/heap"); code != http.StatusNotFound {
		t.Errorf("a heap profile without Pprof: %d, want 404", code)
	}
	if code := get("http://" + quiet.MetricsAddr() + probe); code != http.StatusNotFound {
		t.Errorf("the case book's probe without Pprof: %d, want 404", code)
	}
}

// holdIdle keeps count idle TCP connections from the address from open to
// addr until the test ends, dialling again as the server closes them.
func holdIdle(t *testing.T, from net.IP, addr string, count int) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: from}, Timeout: time.Second}
	probe, err := d.Dial("tcp", addr)
	if err != nil {
		t.Skipf("cannot dial from %s: %v", from, err)
	}
	probe.Close()
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if c, err := d.Dial("tcp", addr); err == nil {
					go func() { <-done; c.Close() }()
					_, _ = c.Read(make([]byte, 1))
					c.Close()
				}
				select {
				case <-done:
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
		}()
	}
	t.Cleanup(func() { close(done); wg.Wait() })
}

// TestIdleConnectionsDoNotLockANodeOut: a host holding a hundred
// idle connections to the county's peer and raft ports does not keep a
// second county node from joining (through the peer port) and
// replicating (raft), and the refusals are counted.
func TestIdleConnectionsDoNotLockANodeOut(t *testing.T) {
	f, first := startLone(t, func(c *node.Config) { c.MetricsAddr = "127.0.0.1:0" })
	attacker := net.IPv4(127, 0, 0, 2) // the nodes dial from 127.0.0.1
	holdIdle(t, attacker, first.PeerAddr(), 100)
	holdIdle(t, attacker, first.RaftAddr(), 100)
	second := f.start("county-2", county, func(c *node.Config) { c.Join = f.peerAddrs("county-1") })
	waitFor(t, "county-2 ready", second.Ready, 30*time.Second)
	waitFor(t, "county-2 to know the admin", func() bool { _, err := second.Registry().Staff("admin"); return err == nil }, 20*time.Second)

	resp, err := http.Get("http://" + first.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, port := range []string{"peer", "raft"} {
		re := regexp.MustCompile(`yizhan_connections_refused_total\{[^}]*port="` + port + `",reason="limit"\} (\d+)`)
		m := re.FindSubmatch(b)
		if m == nil || string(m[1]) == "0" {
			t.Errorf("refusals at the %s port's limit: %q, want some", port, m)
		}
	}
}

// loneTobaccoCounty is a county of one node that holds the tobacco licence
// (department yc, every right) and a clerk of yc: its admin and clerk.
func loneTobaccoCounty(t *testing.T) (n *node.Node, admin, clerk *client) {
	t.Helper()
	_, n = startLone(t, nil)
	admin = dial(t, n).login("admin", password)
	ctx := admin.ctx()
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(admin.reg.CreateDepartment(ctx, &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "yc", Name: "县烟草专卖局"}}))
	must(admin.reg.CreateItem(ctx, &yizhanv1.CreateItemRequest{Item: tobacco()}))
	must(admin.reg.CreateGrant(ctx, &yizhanv1.CreateGrantRequest{Grant: &yizhanv1.Grant{ItemCode: tobacco().Code, OfficeCode: county, Rights: allRights}}))
	must(admin.reg.CreateStaff(ctx, &yizhanv1.CreateStaffRequest{Password: password, Staff: &yizhanv1.StaffMember{
		Username: "clerk", Name: "陈静", OfficeCode: county, DepartmentCode: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}}))
	return n, admin, dial(t, n).login("clerk", password)
}

func TestApplicantDataIsMaskedAndNeverCached(t *testing.T) {
	n, admin, clerk := loneTobaccoCounty(t)
	base := "http://" + n.HTTPAddr()
	const phone, address = "13907710001", "广西南宁市武鸣区城厢镇东村12号"

	call := func(method, path, token, body string) (*http.Response, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		json.NewDecoder(resp.Body).Decode(&v)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, v)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s %s: Cache-Control %q, want no-store", method, path, cc)
		}
		return resp, v
	}
	applicantOf := func(v map[string]any, path ...string) map[string]any {
		for _, k := range path {
			v, _ = v[k].(map[string]any)
		}
		a, _ := v["applicant"].(map[string]any)
		return a
	}

	_, filed := call("POST", "/v1/cases", clerk.token, fmt.Sprintf(
		`{"item_code":%q,"applicant":{"name":"张三","id_number":%q,"phone":%q,"address":%q},"materials":[{"name":"申请表","copies":1}]}`,
		tobacco().Code, applicantID, phone, address))
	number, _ := filed["case"].(map[string]any)["number"].(string)
	code, _ := filed["case"].(map[string]any)["query_code"].(string)
	if a := applicantOf(filed, "case"); a["phone"] != phone || a["address"] != address || a["id_number"] != applicantID {
		t.Errorf("the clerk who filed sees %v, want it whole", a)
	}

	// The citizen with the query code sees their data masked, as the ID
	// number always was.
	_, got := call("GET", "/v1/cases/"+number+"?query_code="+code, "", "")
	want := map[string]any{"name": "张三", "id_number": "4501**********1237", "phone": "139****0001", "address": "广西南宁市武***"}
	if a := applicantOf(got, "case"); fmt.Sprint(a) != fmt.Sprint(want) {
		t.Errorf("the citizen sees %v, want %v", a, want)
	}
	// The code in a header instead, out of the address (and so of the
	// access logs of proxies on the way).
	req, _ := http.NewRequest("GET", base+"/v1/cases/"+number, nil)
	req.Header.Set("X-Yizhan-Query-Code", code)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the query code in a header: %v, %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// A route without a query code takes the header as nothing.
	req, _ = http.NewRequest("GET", base+"/v1/items", nil)
	req.Header.Set("X-Yizhan-Query-Code", code)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the catalogue with a query code in a header: %v, %v", resp, err)
	} else {
		resp.Body.Close()
	}
	req, _ = http.NewRequest("GET", base+"/v1/cases/"+number, nil)
	req.Header.Set("X-Yizhan-Query-Code", "00000000")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode == http.StatusOK {
		t.Errorf("a wrong query code in a header: %v, %v", resp, err)
	} else {
		resp.Body.Close()
	}
	_, evs := call("GET", "/v1/cases/"+number+"/events?query_code="+code, "", "")
	events, _ := evs["events"].([]any)
	if len(events) == 0 {
		t.Fatalf("no events: %v", evs)
	}
	if a := applicantOf(events[0].(map[string]any), "filing"); fmt.Sprint(a) != fmt.Sprint(want) {
		t.Errorf("the citizen sees the filing's applicant %v, want %v", a, want)
	}
	// The clerk who handles it sees it whole.
	_, got = call("GET", "/v1/cases/"+number, clerk.token, "")
	if a := applicantOf(got, "case"); a["phone"] != phone || a["address"] != address {
		t.Errorf("the handling clerk sees %v", a)
	}
	call("GET", "/v1/cases", clerk.token, "")
	call("GET", "/v1/staff", admin.token, "")
	call("GET", "/v1/auth/me", admin.token, "")
	// Citizens' phones in consultations and complaints, callers' and
	// contacts' in the duty log and reports, applicants in the ledger.
	for _, path := range []string{"/v1/consultations", "/v1/followups", "/v1/duty/reports", "/v1/duty/log", "/v1/statistics:export"} {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+admin.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("GET %s (%d): Cache-Control %q, want no-store", path, resp.StatusCode, cc)
		}
	}

	// The web UI's track page likewise.
	resp, err := http.Get(base + "/track")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("/track: Cache-Control %q, want no-store", cc)
	}
}

// TestDataFilesArePrivate: under the umask `yizhan node` sets, nothing
// badger or raft writes in the data directory is readable by anyone but
// the node's user, and what an older version left readable is tightened
// at start.
func TestDataFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0o077)
	t.Cleanup(func() { syscall.Umask(old) })
	f := newFed(t)
	dir := filepath.Join(f.dir, "county-1")
	// What an older version left, under a laxer umask.
	oldDir, oldFile := filepath.Join(dir, "old"), filepath.Join(dir, "old", "file")
	if err := os.MkdirAll(oldDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(oldFile, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(os.Chmod(oldDir, 0o755), os.Chmod(oldFile, 0o644)); err != nil {
		t.Fatal(err)
	}
	timing := fastTiming()
	timing.SnapshotInterval, timing.SnapshotThreshold = 100*time.Millisecond, 1
	n := f.start("county-1", county, func(c *node.Config) {
		c.Bootstrap = true
		c.BootstrapAdminPassword = password
		c.Timing = timing
	})
	waitFor(t, "county-1 ready", n.Ready, 20*time.Second)
	admin := dial(t, n).login("admin", password)
	if _, err := admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "yc", Name: "县烟草专卖局"}}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a raft snapshot", func() bool {
		entries, _ := os.ReadDir(filepath.Join(dir, "snapshots"))
		return len(entries) > 0
	}, 20*time.Second)

	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil // removed meanwhile: raft reaps old snapshots as it takes new ones
		}
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed meanwhile (a temporary file)
		}
		if info.Mode().IsRegular() {
			files++
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s has mode %v: readable beyond the node's user", path, perm)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 5 {
		t.Fatalf("only %d files in the data directory", files)
	}
}
