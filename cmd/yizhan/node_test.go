package main

import (
	"bytes"
	"context"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"
)

// --pprof alone is refused: the profiles are served on the metrics
// address only, never on the HTTP port.
func TestPprofNeedsTheMetricsAddress(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	var out, errOut bytes.Buffer
	err := runNode(context.Background(), []string{"--office", "450122101203", "--data", t.TempDir(), "--pprof"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "--pprof needs --metrics-addr") {
		t.Errorf("--pprof without --metrics-addr: %v", err)
	}
}

// Each tier gets its soft memory limit, unless GOMEMLIMIT says otherwise.
func TestMemoryLimitByTier(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	t.Setenv("GOMEMLIMIT", "")
	for office, want := range map[string]int64{"450122101203": 40 << 20, "450122101000": 64 << 20, "450122000000": 384 << 20} {
		if got, ok := memoryLimitFor(office); !ok || got != want || debug.SetMemoryLimit(-1) != want {
			t.Errorf("office %s: limit %d (%v), want %d", office, got, ok, want)
		}
	}
	t.Setenv("GOMEMLIMIT", "1GiB")
	if _, ok := memoryLimitFor("450122101203"); ok {
		t.Error("a tier's limit set over GOMEMLIMIT")
	}
}

// --peer-route takes OFFICE=ADDR[,ADDR…], repeatable, and refuses what
// it cannot read.
func TestPeerRouteFlag(t *testing.T) {
	r := peerRoutes{}
	for _, v := range []string{"450122000000=127.0.0.1:7001,127.0.0.1:7002", "450122101000=127.0.0.1:7003"} {
		if err := r.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if got := r.String(); got != "450122000000=127.0.0.1:7001,127.0.0.1:7002 450122101000=127.0.0.1:7003" {
		t.Errorf("routes %q", got)
	}
	for _, bad := range []string{"450122000000", "county=127.0.0.1:1", "450122000000=", "450122000000=nohost"} {
		if err := r.Set(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A shutdown that hangs says what it waits for before a supervisor's
// SIGKILL loses it; one that finishes says nothing.
func TestWatchShutdownDumpsGoroutines(t *testing.T) {
	var logBuf, dump syncBuffer
	logger := slog.New(slog.NewTextHandler(&logBuf, nil))
	done := watchShutdown(logger, &dump, 10*time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(dump.String(), "TestWatchShutdownDumpsGoroutines") && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	done()
	if !strings.Contains(dump.String(), "goroutine ") || !strings.Contains(dump.String(), "TestWatchShutdownDumpsGoroutines") {
		t.Errorf("no goroutine stacks after a slow shutdown: %q", dump.String())
	}
	if !strings.Contains(logBuf.String(), "shutdown is slow") {
		t.Errorf("no warning logged: %q", logBuf.String())
	}

	var quiet syncBuffer
	watchShutdown(logger, &quiet, 50*time.Millisecond)()
	time.Sleep(100 * time.Millisecond)
	if quiet.String() != "" {
		t.Errorf("a quick shutdown dumped goroutines: %q", quiet.String())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// --trusted-proxies takes addresses and CIDR ranges, comma-separated, and
// refuses what is neither, naming it.
func TestTrustedProxiesFlag(t *testing.T) {
	got, err := parseTrustedProxies("--trusted-proxies", " 10.1.2.3, 10.244.0.0/16 ,fd00::1,::ffff:192.0.2.1")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.1.2.3/32", "10.244.0.0/16", "fd00::1/128", "192.0.2.1/32"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("entry %d: %v, want %s", i, got[i], want[i])
		}
	}
	if got, err := parseTrustedProxies("--trusted-proxies", ""); err != nil || len(got) != 0 {
		t.Errorf("none given: %v, %v", got, err)
	}
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	var out, errOut bytes.Buffer
	err = runNode(context.Background(), []string{"--office", "450122101203", "--data", t.TempDir(), "--behind-tls", "--trusted-proxies", "10.0.0.0/8,ingress"}, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), `--trusted-proxies: "ingress"`) {
		t.Errorf("a proxy named by host name: %v", err)
	}
}
