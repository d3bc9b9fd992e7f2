package node_test

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
)

// A node advertised by name keeps its name as its raft address. The
// bootstrapping node's own entry in the office's configuration was its
// name resolved to an IP at start, while the nodes that joined were kept
// by name: on Kubernetes, pod 0 (which bootstraps) was recreated with
// another IP and was found by no one, its office short of a node for
// good (and, its volume lost, it started a second group).
func TestABootstrappedNodeIsKeptUnderItsAdvertisedName(t *testing.T) {
	f := newFed(t)
	f.start("county-1", county, func(c *node.Config) {
		c.Bootstrap = true
		c.BootstrapAdminPassword = password
		c.Advertise = "localhost"
	})
	f.start("county-2", county, func(c *node.Config) {
		c.Advertise = "localhost"
		c.Join = f.peerAddrs("county-1")
	})
	leader, second := f.nodes["county-1"], f.nodes["county-2"]
	waitFor(t, "county-2 ready", second.Ready, 20*time.Second)
	members, err := leader.Office().Group().Members()
	if err != nil {
		t.Fatal(err)
	}
	if len(members) != 2 {
		t.Fatalf("the office's members: %v, want both nodes", members)
	}
	for _, m := range members {
		if host, _, err := net.SplitHostPort(string(m.Address)); err != nil || host != "localhost" {
			t.Errorf("member %s is kept at %s, want its advertised name localhost", m.ID, m.Address)
		}
	}
}

// A one-node office restored on a new machine (a new raft address) with
// `yizhan restore --name county-1`, no --members, is kept in its office's
// configuration at the raft address it advertises now, not at the old
// machine's the backup names: when the office grows and leadership
// moves, the new leader reaches it, and it takes the office's writes. It
// led its one-node office whatever its entry said, and once another node
// led it never heard from its office again.
func TestAOneNodeOfficeRestoredOnANewAddressIsFoundByItsOffice(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	b, err := fetchBackupOf(t, f, "county-1", county, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "county.yzb")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	f.stop("county-1")
	cfg := f.cfgs["county-1"]
	old := cfg.RaftAddr
	cfg.DataDir, cfg.Bootstrap, cfg.RaftAddr = filepath.Join(t.TempDir(), "new-machine"), false, "127.0.0.1:0"
	if _, err := node.Restore(path, cfg.DataDir, "county-1", nil); err != nil {
		t.Fatal(err)
	}
	n := f.run("county-1", cfg)
	waitFor(t, "the restored county ready", n.Ready, 30*time.Second)
	if n.RaftAddr() == old {
		t.Fatalf("the new machine listens for raft at the old machine's address %s", old)
	}
	waitFor(t, "the office's configuration names county-1 at its new raft address", func() bool {
		servers, err := n.Office().Group().Members()
		if err != nil || len(servers) != 1 {
			return false
		}
		return string(servers[0].ID) == "county-1" && string(servers[0].Address) == n.RaftAddr()
	}, 10*time.Second)

	// The office grows; leadership moves; the restored node comes back.
	f.start("county-2", county, func(c *node.Config) { c.Join = f.peerAddrs("county-1") })
	f.start("county-3", county, func(c *node.Config) { c.Join = f.peerAddrs("county-1") })
	for _, name := range []string{"county-2", "county-3"} {
		waitFor(t, name+" ready", f.nodes[name].Ready, 30*time.Second)
	}
	f.stop("county-1") // hands leadership over
	n = f.restart("county-1")
	admin := dial(t, f.countyLeader()).login("admin", password)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		_, err := admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{RequestId: "restored-mz", Department: &yizhanv1.Department{Code: "mz", Name: "县民政局"}})
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	waitFor(t, "the restored node, a voter of its office, receives the new leader's write", func() bool {
		_, err := n.Registry().Department("mz")
		return err == nil
	}, 15*time.Second)
}
