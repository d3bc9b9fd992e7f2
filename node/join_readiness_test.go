package node_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/yizhan-gov/yizhan/node"
)

// logBuffer is a log sink several goroutines write to.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines are the lines logged so far that hold all of words.
func (l *logBuffer) lines(words ...string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, line := range strings.Split(l.b.String(), "\n") {
		if !slices.ContainsFunc(words, func(w string) bool { return !strings.Contains(line, w) }) {
			out = append(out, line)
		}
	}
	return out
}

// readyzReason is the reason a node's /readyz gives.
func readyzReason(t *testing.T, n *node.Node) string {
	t.Helper()
	_, v := getJSON(t, "http://"+n.HTTPAddr()+"/readyz")
	return fmt.Sprint(v["reason"])
}

// The operator adds a county node (README: `yizhan node … --join
// county-1.gov.local:7070`) and types the raft port (7000) instead of the
// peer port. The node ran, never joined, and said nothing useful: every
// failed join was logged at debug only, and /readyz said "office has no
// raft leader", though the office had one and the trouble was the join.
// Now /readyz names the join and why it fails, as it names an upstream
// that fails ("no upstream reachable: …"), and the failure is logged at
// warn once for each new cause, once it has failed for ten seconds (again
// at debug only; an office's nodes started at once ask each other before
// one is a member, which is no operator's trouble).
func TestAFailingJoinIsNamedOnReadyzAndInTheLog(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	logs := &logBuffer{}
	raftPort := f.cfgs["county-1"].RaftAddr
	n := f.start("county-2", county, func(c *node.Config) {
		c.Join = []string{raftPort} // the raft port, not the peer port
		c.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	var why string
	waitFor(t, "county-2's /readyz names its failing join", func() bool {
		why = readyzReason(t, n)
		return strings.Contains(why, "--join") && strings.Contains(why, raftPort)
	}, 15*time.Second)
	if !strings.HasPrefix(why, "not a member of the office's raft group yet: ") {
		t.Errorf("county-2's /readyz says %q", why)
	}
	waitFor(t, "county-2's join failure logged at warn", func() bool {
		return len(logs.lines("level=WARN", "join office raft group failed")) > 0
	}, 20*time.Second)
	debug := len(logs.lines("level=DEBUG", "join office raft group failed"))
	waitFor(t, "county-2's join failing again", func() bool {
		return len(logs.lines("level=DEBUG", "join office raft group failed")) > debug
	}, 15*time.Second)
	if warned := logs.lines("level=WARN", "join office raft group failed"); len(warned) != 1 {
		t.Errorf("county-2's join, failing alike again and again, logged at warn %d times, want once:\n%s", len(warned), strings.Join(warned, "\n"))
	}
	if n.Ready() {
		t.Error("county-2 joined through the raft port")
	}
}

// The first node of a new village is started without --bootstrap (the
// operator left it out of README's command, or set raft.bootstrap=false
// for a one-node office). It holds no raft state and asks no one to join:
// it can never belong to a raft group. /readyz said "office has no raft
// leader" for ever, the same as for a node waiting for an election, and
// named neither flag. Now it says so, naming both. A node restarted on a
// data directory that holds raft state needs neither flag, and one
// waiting for its office's election is not told it does (a restored node
// holds raft state too: TestBackupIsTheOfficesAndRestoresItsCases).
func TestANodeWithNeitherBootstrapNorJoinSaysSo(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	f.start("county-2", county, func(c *node.Config) { c.Join = f.peerAddrs("county-1") })
	waitFor(t, "county-2 ready", f.nodes["county-2"].Ready, 20*time.Second)
	f.stop("county-1")
	f.stop("county-2")
	c2 := f.cfgs["county-2"]
	c2.Join = nil
	n2 := f.run("county-2", c2) // alone of two: no leader until county-1 is back
	waitFor(t, "county-2 standing for election", func() bool { return n2.Office().Group().State() == raft.Candidate }, 10*time.Second)
	if why := readyzReason(t, n2); why != "office has no raft leader" {
		t.Errorf("county-2, restarted on its raft state without --join while county-1 is down, says %q", why)
	}
	n1 := f.restart("county-1")
	waitFor(t, "county-1 ready again, without --bootstrap", n1.Ready, 20*time.Second)
	waitFor(t, "county-2 ready again, without --join", n2.Ready, 20*time.Second)

	n := f.start("county-3", county, nil) // neither flag, an empty data directory
	waitFor(t, "county-3's /readyz names --bootstrap and --join", func() bool {
		why := readyzReason(t, n)
		return strings.Contains(why, "--bootstrap") && strings.Contains(why, "--join")
	}, 10*time.Second)
}

// With several --join addresses, /readyz names each one and why it
// failed (the raft port given for the peer port; a node not running),
// not only the last one's failure, and without gRPC's nested "rpc error"
// text.
func TestAFailingJoinNamesEachAddressOnReadyz(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	raftPort := f.cfgs["county-1"].RaftAddr
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := l.Addr().String()
	l.Close()
	n := f.start("county-2", county, func(c *node.Config) { c.Join = []string{raftPort, down} })
	var why string
	waitFor(t, "county-2's /readyz names each failing --join address", func() bool {
		why = readyzReason(t, n)
		return strings.Contains(why, raftPort+": ") && strings.Contains(why, down+": ")
	}, 20*time.Second)
	if strings.Contains(why, "rpc error") {
		t.Errorf("county-2's /readyz nests gRPC's text: %q", why)
	}
}
