package node_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/node"
)

// webBrowser is a browser's part in the web UI: it keeps cookies (per
// host, whatever the port: both nodes are 127.0.0.1, as the nodes of an
// office are one address behind the chart's Service) and does not follow
// redirects.
type webBrowser struct {
	t *testing.T
	c *http.Client
}

func newWebBrowser(t *testing.T) *webBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &webBrowser{t: t, c: &http.Client{Jar: jar, Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfFieldRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// formToken loads a page and returns the CSRF token of its forms.
func (b *webBrowser) formToken(url string) string {
	b.t.Helper()
	resp, err := b.c.Get(url)
	if err != nil {
		b.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfFieldRE.FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		b.t.Fatalf("GET %s: %d, no form:\n%s", url, resp.StatusCode, page)
	}
	return string(m[1])
}

// post posts a form with extra headers and returns the status.
func (b *webBrowser) post(url string, form url.Values, header ...string) int {
	b.t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// The nodes of an office sit behind one client Service without session
// affinity: a form served by one node is posted to another, and a
// cross-site post is refused at either.
func TestWebFormsPassBetweenTheNodesOfAnOffice(t *testing.T) {
	f := newFed(t)
	f.startCounty(2)
	n1, n2 := f.nodes["county-1"], f.nodes["county-2"]
	for _, n := range []*node.Node{n1, n2} {
		waitFor(t, n.Name()+" holds the query-code key", func() bool {
			_, _, ok := n.Registry().NewestQueryCodeKey()
			return ok
		}, 20*time.Second)
	}
	node1, node2 := "http://"+n1.HTTPAddr(), "http://"+n2.HTTPAddr()
	b := newWebBrowser(t)

	// Signed out: the sign-in form of node 1, posted to node 2.
	token := b.formToken(node1 + "/login")
	if code := b.post(node2+"/login", url.Values{"csrf": {token}, "username": {"admin"}, "password": {password}, "next": {"/admin/staff"}}); code != http.StatusSeeOther {
		t.Fatalf("the sign-in form of node 1 posted to node 2: %d, want 303", code)
	}

	// Signed in: the staff form of node 1, posted to node 2.
	staff := func(username string) url.Values {
		return url.Values{"csrf": {b.formToken(node1 + "/admin/staff")}, "username": {username}, "name": {"王五"},
			"office_code": {county}, "roles": {"2"}, "password": {password}}
	}
	if code := b.post(node2+"/admin/staff", staff("wangwu")); code != http.StatusSeeOther {
		t.Fatalf("the staff form of node 1 posted to node 2: %d, want 303", code)
	}
	waitFor(t, "the staff member created through node 2", func() bool { _, err := n2.Registry().Staff("wangwu"); return err == nil }, 10*time.Second)

	// The same post from another site, to either node: refused.
	for _, tc := range []struct {
		name, username, to string
		header             []string
	}{
		{"Origin https://evil.example, to node 2", "evil-origin", node2, []string{"Origin", "https://evil.example"}},
		{"Sec-Fetch-Site cross-site, to node 2", "evil-fetch", node2, []string{"Sec-Fetch-Site", "cross-site"}},
		{"Origin https://evil.example, to node 1", "evil-origin1", node1, []string{"Origin", "https://evil.example"}},
	} {
		if code := b.post(tc.to+"/admin/staff", staff(tc.username), tc.header...); code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", tc.name, code)
		}
	}
	// Nothing was written: a later write is there, the refused ones not.
	if code := b.post(node2+"/admin/staff", staff("zhaoliu")); code != http.StatusSeeOther {
		t.Fatalf("a second staff form posted to node 2: %d, want 303", code)
	}
	for _, n := range []*node.Node{n1, n2} {
		waitFor(t, n.Name()+" has the later write", func() bool { _, err := n.Registry().Staff("zhaoliu"); return err == nil }, 10*time.Second)
		for _, u := range []string{"evil-origin", "evil-fetch", "evil-origin1"} {
			if _, err := n.Registry().Staff(u); err == nil {
				t.Errorf("%s holds %s, created by a cross-site post", n.Name(), u)
			}
		}
	}
}

// A citizen's filing posted to one node of the county, its receipt (with
// the query code) opened at the other: the page's id carries what the
// other node needs, sealed for the office and for this browser.
func TestFilingReceiptOpensAtAnotherNodeOfTheOffice(t *testing.T) {
	f := newCaseFed(t, 2)
	n1, n2 := f.nodes["county-1"], f.nodes["county-2"]
	for _, n := range []*node.Node{n1, n2} {
		waitFor(t, n.Name()+" holds the query-code key", func() bool {
			_, _, ok := n.Registry().NewestQueryCodeKey()
			return ok
		}, 20*time.Second)
	}
	b := newWebBrowser(t)
	token := b.formToken("http://" + n1.HTTPAddr() + "/cases/new?item=" + tobacco().Code)
	form := url.Values{"csrf": {token}, "item_code": {tobacco().Code}, "applicant.name": {"黄小明"},
		"applicant.id_number": {applicantID}, "applicant.phone": {"13907710002"}, "materials": {"申请表"}}
	req, _ := http.NewRequest("POST", "http://"+n1.HTTPAddr()+"/cases", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	receipt := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(receipt, "/cases/filed/") {
		t.Fatalf("filing: %d to %q", resp.StatusCode, receipt)
	}
	codeRE := regexp.MustCompile(`id="query-code">([^<]+)<`)
	var codes []string
	for _, n := range []*node.Node{n1, n2} {
		resp, err := b.c.Get("http://" + n.HTTPAddr() + receipt)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		m := codeRE.FindSubmatch(page)
		if resp.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("the receipt at %s: %d, no query code:\n%s", n.Name(), resp.StatusCode, page)
		}
		codes = append(codes, string(m[1]))
	}
	if codes[0] != codes[1] {
		t.Errorf("the receipt shows query code %s at one node, %s at the other", codes[0], codes[1])
	}
	if strings.Contains(receipt, codes[0]) || strings.Contains(receipt, strings.ReplaceAll(codes[0], "-", "")) {
		t.Errorf("the receipt's URL %s shows the query code", receipt)
	}
	// Another browser cannot open it, at either node.
	other := newWebBrowser(t)
	for _, n := range []*node.Node{n1, n2} {
		resp, err := other.c.Get("http://" + n.HTTPAddr() + receipt)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("another browser opened the receipt at %s: %d", n.Name(), resp.StatusCode)
		}
	}
}
