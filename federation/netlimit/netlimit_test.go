package netlimit

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
)

func TestHostKey(t *testing.T) {
	for in, want := range map[string]string{
		"10.1.2.3:7000":                 "10.1.2.3",
		"10.1.2.3":                      "10.1.2.3",
		"[::ffff:10.1.2.3]:7000":        "10.1.2.3",
		"[2001:db8:1:2:3:4:5:6]:7000":   "2001:db8:1:2::/64",
		"[2001:db8:1:2:ff:ff:ff:ff]:80": "2001:db8:1:2::/64",
		"[fe80::1%eth0]:7000":           "fe80::/64",
		"not an address":                "not an address",
	} {
		if got := HostKey(in); got != want {
			t.Errorf("HostKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPerHost(t *testing.T) {
	p := NewPerHost(2, 3)
	if !p.Acquire("a") || !p.Acquire("a") {
		t.Fatal("a's first two slots refused")
	}
	if p.Acquire("a") {
		t.Fatal("a got a third slot")
	}
	if !p.Acquire("b") {
		t.Fatal("b refused")
	}
	if p.Acquire("c") {
		t.Fatal("c got a slot past the total")
	}
	p.Release("a")
	if !p.Acquire("c") {
		t.Fatal("c refused after a released one")
	}
	p.Release("a")
	p.Release("b")
	p.Release("c")
	if p.Held("a")+p.Held("b")+p.Held("c") != 0 || len(p.n) != 0 || p.sum != 0 {
		t.Fatalf("slots left after releasing all: %v, sum %d", p.n, p.sum)
	}
}

func TestWarnerLogsOncePerInterval(t *testing.T) {
	var buf bytes.Buffer
	w := NewWarner(slog.New(slog.NewTextHandler(&buf, nil)), time.Minute)
	now := time.Unix(1000, 0)
	w.now = func() time.Time { return now }
	for range 5 {
		w.Warn("10.0.0.1", "refused")
	}
	w.Warn("10.0.0.2", "refused")
	if n := strings.Count(buf.String(), "refused"); n != 2 {
		t.Fatalf("%d lines for 6 warnings of two hosts in one minute, want 2:\n%s", n, &buf)
	}
	now = now.Add(time.Minute)
	buf.Reset()
	w.Warn("10.0.0.1", "refused")
	if !strings.Contains(buf.String(), "suppressed=4") {
		t.Fatalf("the next line does not count the 4 swallowed: %s", &buf)
	}
}

func TestListenerRefusesAHostAtItsLimit(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := NewListener(raw, NewPerHost(2, 0), slog.New(slog.DiscardHandler), "test")
	defer l.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	var clients []net.Conn
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", raw.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		return c
	}
	dial()
	dial()
	first, second := <-accepted, <-accepted
	// The third is closed by the listener: its read ends.
	third := dial()
	third.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := third.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("third connection read: %v, want it closed", err)
	}
	if l.RefusedAtLimit() != 1 {
		t.Fatalf("RefusedAtLimit = %d, want 1", l.RefusedAtLimit())
	}
	// Once one finishes its handshake, its slot is free.
	first.(*Conn).Established()
	dial()
	select {
	case <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("a connection after a handshake ended was not accepted")
	}
	// Closing gives the slot back too, once.
	second.Close()
	second.Close()
	dial()
	select {
	case <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("a connection after one closed was not accepted")
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
