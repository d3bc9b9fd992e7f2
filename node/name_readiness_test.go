package node_test

import (
	"strings"
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/node"
)

// A node's name is its raft ID. The certificate of `yizhan ca issue`
// without --node names any node of the office, and `yizhan node`'s --name
// defaults to the host name: a one-node office moved to a new machine
// (or restored there, `yizhan restore … --name dongcun-1`, then started
// "with the same flags as before", which had no --name) starts under
// another name than the one its data directory's raft configuration
// holds. It was then no member of its own office: it never elected
// itself, and /readyz said "office has no raft leader" for ever. /readyz
// now says that this node's name is not a member, naming the members;
// started under the member's name, the node leads its office again.
func TestANodeUnderAnotherNameThanItsDataDirectorySaysSo(t *testing.T) {
	f := newFed(t)
	f.start("county-1", county, func(c *node.Config) {
		c.Bootstrap, c.BootstrapAdminPassword = true, password
		c.TLS = f.bundle(county, "") // any node of the county
	})
	waitFor(t, "county-1 ready", f.nodes["county-1"].Ready, 20*time.Second)
	f.stop("county-1")

	cfg := f.cfgs["county-1"]
	cfg.Name, cfg.Bootstrap = "new-host", false // the new machine's host name
	n, err := node.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	var why string
	waitFor(t, "new-host's /readyz names its office's member", func() bool {
		why = readyzReason(t, n)
		return strings.Contains(why, "county-1")
	}, 10*time.Second)
	if !strings.Contains(why, "new-host, is not a member") || !strings.Contains(why, "--name") {
		t.Errorf("new-host on county-1's data directory: /readyz says %q", why)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	cfg.Name = "county-1"
	n1 := f.run("county-1", cfg)
	waitFor(t, "county-1 ready under its own name", n1.Ready, 20*time.Second)
}
