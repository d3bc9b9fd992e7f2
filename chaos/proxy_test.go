package chaos

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// echo is a server that answers each line with the line, and counts the
// bytes it received.
func echo(t *testing.T) (addr string, got *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got = &atomic.Int64{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadBytes('\n')
					got.Add(int64(len(line)))
					if err != nil {
						return
					}
					if _, err := c.Write(line); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String(), got
}

func proxy(t *testing.T, target string) *Proxy {
	t.Helper()
	p, err := NewProxy("127.0.0.1:0", target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// roundTrip sends a line through c and reads the answer within wait.
func roundTrip(c net.Conn, line string, wait time.Duration) (string, error) {
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		return "", err
	}
	c.SetReadDeadline(time.Now().Add(wait))
	got, err := bufio.NewReader(c).ReadString('\n')
	return got, err
}

// Each mode does to a connection what a faulty line would.
func TestProxyModes(t *testing.T) {
	target, received := echo(t)
	p := proxy(t, target)
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	c := dial()
	if got, err := roundTrip(c, "你好", time.Second); err != nil || got != "你好\n" {
		t.Fatalf("pass: %q, %v", got, err)
	}

	// Cut: the open connection closes, a new one gets nothing.
	p.Set(Cut)
	if _, err := roundTrip(c, "x", time.Second); err == nil {
		t.Error("cut: an open connection still answers")
	}
	if got, err := roundTrip(dial(), "x", 300*time.Millisecond); err == nil {
		t.Errorf("cut: a new connection answers %q", got)
	}

	// Black hole: taken, never delivered, never answered.
	p.Set(Blackhole)
	before := received.Load()
	if _, err := roundTrip(dial(), "lost", 300*time.Millisecond); err == nil {
		t.Error("black hole: an answer came back")
	}
	if received.Load() != before {
		t.Error("black hole: the server received bytes")
	}

	// One way: the server receives, the client hears nothing.
	p.Set(OneWay)
	before = received.Load()
	if _, err := roundTrip(dial(), "one way", 300*time.Millisecond); err == nil {
		t.Error("one way: an answer came back")
	}
	deadline := time.Now().Add(time.Second)
	for received.Load() == before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if received.Load() == before {
		t.Error("one way: the server received nothing")
	}

	// Healed: a new connection works again.
	p.Set(Pass)
	if got, err := roundTrip(dial(), "again", time.Second); err != nil || got != "again\n" {
		t.Errorf("healed: %q, %v", got, err)
	}
}

// A slowed link carries about its rate.
func TestProxySlow(t *testing.T) {
	target, _ := echo(t)
	p := proxy(t, target)
	p.Slow(200<<10, 0) // 200 KiB/s each way
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	line := append(bytes.Repeat([]byte("x"), 100<<10), '\n')
	start := time.Now()
	go c.Write(line)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, make([]byte, len(line))); err != nil {
		t.Fatal(err)
	}
	// 100 KiB there and back at 200 KiB/s: about half a second at least.
	if took := time.Since(start); took < 400*time.Millisecond {
		t.Errorf("100 KiB each way took %s at 200 KiB/s", took)
	}
}
