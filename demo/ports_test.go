package demo

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// busyPort holds a loopback port until the test ends and returns it.
func busyPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// A newcomer ran `yizhan demo` while port 8400 was taken (another
// program, a demo in another checkout). It failed at once, nothing
// started, and the error did not say how to move the ports; run again
// with --http-base-port 9400, it was refused: "the data in demo-data was
// made with --http-base-port 8400". The failed run had pinned the data
// directory to its ports before any node ran. The pin is written once
// the first node has started now, and the bind error names
// --http-base-port.
//
// Here both runs fail at the bind (both base ports are held), so no node
// starts; the second fails for its own port, not for the first run's.
func TestAFailedFirstRunDoesNotPinTheDemoPorts(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	first := busyPort(t)
	_, err := Start(ctx, Options{DataDir: dir, HTTPBasePort: first})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("first run with port %d held: %v, want a bind error", first, err)
	}
	if !strings.Contains(err.Error(), "--http-base-port") {
		t.Errorf("first run with its port held: %q does not say how to move the ports (--http-base-port)", err)
	}

	second := busyPort(t)
	_, err = Start(ctx, Options{DataDir: dir, HTTPBasePort: second})
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:"+strconv.Itoa(second)) {
		t.Errorf("second run with --http-base-port %d (held too): %v; want the bind error of its own port", second, err)
	}
	if err != nil && strings.Contains(err.Error(), "was made with --http-base-port "+strconv.Itoa(first)) {
		t.Errorf("a first run that started no node pinned the data directory to its port: %v", err)
	}
}
