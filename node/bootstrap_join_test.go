package node_test

import (
	"strings"
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/node"
)

// README: "`--bootstrap` … is ignored once the data directory holds raft
// state, so it is safe to keep". An operator who keeps it in the unit file
// they copy, and replaces a dead county node with a new machine as
// docs/OPERATIONS.md says (an empty data directory and `--join` an
// existing node), started the new node with --bootstrap and --join
// together on its empty directory: it made a county raft group of its
// own, led it, created a second county registry and served as a county
// node while county-1 led the real one. The two flags together on an
// empty data directory are refused, naming both.
func TestBootstrapAndJoinTogetherOnAnEmptyDirectoryAreRefused(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	l := newLink()
	cfg := f.cfgs["county-1"]
	cfg.Name, cfg.DataDir = "county-2", t.TempDir()
	cfg.HTTPAddr, cfg.PeerAddr, cfg.RaftAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.TLS = f.bundle(county, "county-2")
	cfg.Bootstrap, cfg.BootstrapAdminPassword = true, password
	cfg.Join = f.peerAddrs("county-1")
	cfg.Dial = l.Dial
	n, err := node.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.Start(); err == nil || !strings.Contains(err.Error(), "--bootstrap and --join on an empty data directory") {
		t.Fatalf("a node started with --bootstrap and --join on an empty data directory: %v", err)
	}
	// county-1, restarted with --join added to its --bootstrap (its
	// directory holds raft state), starts as before.
	f.stop("county-1")
	c1 := f.cfgs["county-1"]
	c1.Bootstrap, c1.Join = true, []string{"127.0.0.1:1"}
	n1 := f.run("county-1", c1)
	waitFor(t, "county-1 ready again", n1.Ready, 20*time.Second)
}
