//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is one yizhan process. It keeps its arguments so that it can be
// started again after a kill or a stop, and writes its stdout and stderr
// to one log file that survives restarts (each start appends). When the
// test fails, the tail of the log is printed.
type proc struct {
	t    testing.TB
	name string
	bin  string // the binary run: "" is the one under test
	args []string
	log  string // path of the log file
	// logPipe: the process writes its log into a pipe the test copies to
	// the log file, so that it still logs once its file size limit is
	// lowered (a full disk: disk_full_test.go), as into journald's or a
	// container runtime's pipe.
	logPipe bool

	mu      sync.Mutex    // guards the fields below
	cmd     *exec.Cmd     // nil before the first start
	done    chan struct{} // closed when cmd has exited
	exitErr error         // cmd.Wait's answer, once done is closed
}

// newProc makes a process that runs the binary with args. It is not
// started. The test's cleanup kills it if it still runs, and prints the
// tail of its log if the test failed.
func newProc(t testing.TB, name string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, args: args, log: filepath.Join(t.TempDir(), name+".log")}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("--- last lines of %s's log (%s) ---\n%s", p.name, p.log, p.tail(40))
		}
	})
	return p
}

// pid is the running process's id, 0 when it does not run.
func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || isClosed(p.done) {
		return 0
	}
	return p.cmd.Process.Pid
}

// start starts the process. It must not be running.
func (p *proc) start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !isClosed(p.done) {
		p.t.Fatalf("start %s: already running", p.name)
	}
	f, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	fmt.Fprintf(f, "=== %s: start %s\n", time.Now().Format(time.RFC3339Nano), p.name)
	bin := binary
	if p.bin != "" {
		bin = p.bin
	}
	cmd := exec.Command(bin, p.args...)
	cmd.Stdout, cmd.Stderr = f, f
	if p.logPipe {
		// Not an *os.File: exec copies from a pipe, one for both, and
		// Wait waits for the copy.
		w := struct{ io.Writer }{f}
		cmd.Stdout, cmd.Stderr = w, w
	}
	orphanGuard(cmd)
	if err := cmd.Start(); err != nil {
		f.Close()
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() {
		err := cmd.Wait()
		f.Close()
		p.mu.Lock()
		p.exitErr = err
		p.mu.Unlock()
		close(done)
	}()
}

// running reports whether the process was started and has not exited.
func (p *proc) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && !isClosed(p.done)
}

// kill kills the process with SIGKILL, as a power cut or the OOM killer
// would, and waits for it to be gone. It does nothing if the process does
// not run.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || isClosed(done) {
		return
	}
	cmd.Process.Kill()
	<-done // SIGKILL cannot be caught: the wait is short
}

// send sends sig to the process if it runs, and does not wait (SIGSTOP,
// SIGCONT).
func (p *proc) send(sig os.Signal) {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd != nil && !isClosed(done) {
		_ = cmd.Process.Signal(sig)
	}
}

// signal sends sig to the process and waits up to timeout for it to exit.
// It returns how long the exit took and the process's exit error (nil for
// status 0).
func (p *proc) signal(sig os.Signal, timeout time.Duration) (time.Duration, error) {
	p.t.Helper()
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || isClosed(done) {
		p.t.Fatalf("signal %s: not running", p.name)
	}
	start := time.Now()
	if err := cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %s: %v", p.name, err)
	}
	select {
	case <-done:
	case <-time.After(timeout):
		p.kill()
		p.t.Fatalf("%s did not exit within %s of %v", p.name, timeout, sig)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Since(start), p.exitErr
}

// stop stops the process with SIGTERM and checks that it exits with
// status 0 within timeout.
func (p *proc) stop(timeout time.Duration) time.Duration {
	p.t.Helper()
	took, err := p.signal(syscall.SIGTERM, timeout)
	if err != nil {
		p.t.Fatalf("%s exited after SIGTERM with %v", p.name, err)
	}
	return took
}

// output is everything the process wrote so far, over all its starts.
func (p *proc) output() string {
	b, _ := os.ReadFile(p.log)
	return string(b)
}

// tail is the last n lines of the log.
func (p *proc) tail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	b = bytes.TrimRight(b, "\n")
	for i, cut := len(b)-1, 0; i >= 0; i-- {
		if b[i] == '\n' {
			if cut++; cut == n {
				return string(b[i+1:])
			}
		}
	}
	return string(b)
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// ports hands out free loopback ports, never the same one twice in one
// run of the test binary. They are drawn below the kernel's ephemeral
// range (ip_local_port_range), so no outgoing connection takes one as its
// source port while a node is down between a kill and a restart. A port
// is free when we can listen on it; another process may take it before
// the node does, which on a test machine is rare enough.
var ports = struct {
	mu   sync.Mutex // guards used
	used map[int]bool
}{used: map[int]bool{}}

// portRange is where ports are drawn from: [low, high).
func portRange() (low, high int) {
	low, high = 10000, 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return low, high
	}
	var ephLow, ephHigh int
	if _, err := fmt.Sscan(string(b), &ephLow, &ephHigh); err == nil && ephLow > low+1000 {
		high = ephLow
	}
	return low, high
}

// portFree reports whether 127.0.0.1:port can be listened on now.
func portFree(port int) bool {
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return false
	}
	ln.Close()
	return true
}

// freeAddr returns 127.0.0.1:port with a port that is free now.
func freeAddr(t testing.TB) string {
	t.Helper()
	return "127.0.0.1:" + strconv.Itoa(freePortBlock(t, 1, 0))
}

// freePortBlock finds a base port P such that P+o+i is free for every
// offset o and every i < n (the demo's layout is n=6, offsets 0, 100,
// 200), and reserves them.
func freePortBlock(t testing.TB, n int, offsets ...int) int {
	t.Helper()
	ports.mu.Lock()
	defer ports.mu.Unlock()
	low, high := portRange()
	span := offsets[len(offsets)-1] + n
	for range 200 {
		base := low + rand.IntN(high-low-span)
		ok := true
		for _, o := range offsets {
			for i := range n {
				if port := base + o + i; ports.used[port] || !portFree(port) {
					ok = false
				}
			}
		}
		if !ok {
			continue
		}
		for _, o := range offsets {
			for i := range n {
				ports.used[base+o+i] = true
			}
		}
		return base
	}
	t.Fatal("no free block of loopback ports after 200 tries")
	return 0
}

// waitFor polls cond every 50ms until it holds, failing the test after
// timeout. cond may return an error that says what it saw; the last one is
// in the failure message.
func waitFor(t testing.TB, what string, cond func() error, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %v", timeout, what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// errNotYet is what a condition answers when it has nothing better to say.
var errNotYet = errors.New("not yet")
