package web

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// officeKey gives a fixture the CSRF key of an office, as node gives
// every node of one office the same.
func officeKey(key []byte) func(*Config) {
	return func(c *Config) { c.CSRFKey = func() ([]byte, bool) { return key, true } }
}

// The nodes of one office sit behind one address without session
// affinity: a form served by one is posted to another.
func TestFormOfOneNodeIsAcceptedByAnotherNodeOfTheOffice(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	node1, node2 := newFixture(t, officeKey(key)), newFixture(t, officeKey(key))

	// Signed out: the sign-in form.
	resp, page := node1.do(t, "GET", "/login", nil)
	pre := cookieOf(resp, preCookie)
	resp, _ = node2.do(t, "POST", "/login", url.Values{"csrf": {csrfOf(t, page)}, "username": {"admin"}, "password": {"right"}}, pre)
	if resp.StatusCode != http.StatusSeeOther || cookieOf(resp, sessionCookie) == nil {
		t.Fatalf("the sign-in form of node 1 posted to node 2: %d, want 303 and a session", resp.StatusCode)
	}

	// Signed in: an admin form.
	_, page = node1.do(t, "GET", "/admin/items/new", nil, session(adminToken))
	form := url.Values{"csrf": {csrfOf(t, page)}, "code": {"450122-T-1"}, "name": {"测试"}}
	resp, _ = node2.do(t, "POST", "/admin/items", form, session(adminToken))
	if resp.StatusCode != http.StatusSeeOther || node2.reg.createItems.Load() != 1 {
		t.Errorf("an admin form of node 1 posted to node 2: %d, %d calls; want 303 and one call", resp.StatusCode, node2.reg.createItems.Load())
	}

	// Another office's key (or a node's own) makes tokens this office refuses.
	for name, other := range map[string]*fixture{
		"another office":            newFixture(t, officeKey(bytes.Repeat([]byte{2}, 32))),
		"a node without office key": newFixture(t),
	} {
		_, page = other.do(t, "GET", "/admin/items/new", nil, session(adminToken))
		form.Set("csrf", csrfOf(t, page))
		resp, page = node2.do(t, "POST", "/admin/items", form, session(adminToken))
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "未做任何修改") {
			t.Errorf("a form of %s: status %d, want 403 saying nothing was changed", name, resp.StatusCode)
		}
	}
	if n := node2.reg.createItems.Load(); n != 1 {
		t.Errorf("CreateItem was called %d times, want once", n)
	}
}

// A node whose registry has not brought the office's key yet makes its
// forms with its own; they still pass there once the key has come.
func TestFormServedBeforeTheOfficeKeyStillPasses(t *testing.T) {
	var have atomic.Bool
	key := bytes.Repeat([]byte{3}, 32)
	f := newFixture(t, func(c *Config) {
		c.CSRFKey = func() ([]byte, bool) { return key, have.Load() }
	})
	_, before := f.do(t, "GET", "/admin/items/new", nil, session(adminToken))
	have.Store(true)
	_, after := f.do(t, "GET", "/admin/items/new", nil, session(adminToken))
	if csrfOf(t, before) == csrfOf(t, after) {
		t.Fatal("the token did not change when the office's key came")
	}
	for name, page := range map[string]string{"before": before, "after": after} {
		form := url.Values{"csrf": {csrfOf(t, page)}, "code": {"450122-T-1"}, "name": {"测试"}}
		if resp, _ := f.do(t, "POST", "/admin/items", form, session(adminToken)); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("a form served %s the key came: status %d, want 303", name, resp.StatusCode)
		}
	}
}
