package node_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/node"
)

// A county of three loses two disks for good in a power cut
// (docs/OPERATIONS.md, "An office that lost its majority"). The survivor,
// restarted on its own data directory, can never lead (no quorum): it
// applies nothing of its log and no backup of it can be taken. Started
// with --force-new-cluster it becomes its office's only voter with every
// write the county acknowledged (the registry's and the cases), leads,
// takes new writes, feeds the offices below, can be backed up; a stale
// data directory of a lost member started beside it does not disturb it;
// a new node joins with --join and takes the whole state; the flag left on
// by mistake does nothing, and once the office has grown again is refused.
func TestForceNewClusterRecoversTheSurvivorOfACountyThatLostItsMajority(t *testing.T) {
	f := newCaseFed(t, 3)
	admin := f.admin
	if _, err := admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{
		Department: &yizhanv1.Department{Code: "mz", Name: "县民政局"}}); err != nil {
		t.Fatal(err)
	}
	villager := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	fromVillage := fileTobacco(t, villager, "张三").GetNumber()
	clerk := dial(t, f.countyLeader()).login("clerk", password)
	atCounty := fileTobacco(t, clerk, "李四").GetNumber()
	leader := f.countyLeader()
	waitFor(t, "the county holds the village's case", func() bool { _, ok := leader.Office().Cases().Case(fromVillage); return ok }, 30*time.Second)
	// A snapshot on every node, and writes after it: the survivor's state
	// is its snapshot and the log past it.
	through := leader.Office().Group().AppliedIndex()
	for _, name := range f.countyNames() {
		n := f.nodes[name]
		waitFor(t, name+" applied the writes", func() bool { return n.Office().Group().AppliedIndex() >= through }, 20*time.Second)
		if err := n.Office().Group().Snapshot(); err != nil {
			t.Fatalf("snapshot of %s: %v", name, err)
		}
	}
	if _, err := admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{
		Department: &yizhanv1.Department{Code: "mz2", Name: "县民政局二"}}); err != nil {
		t.Fatal(err)
	}
	afterSnapshot := fileTobacco(t, clerk, "赵六").GetNumber()
	leader = f.countyLeader()
	// Acknowledged: committed by the county's majority. Wait until every
	// county node has applied it, so that the survivor was one of it.
	through = leader.Office().Group().AppliedIndex()
	for _, name := range f.countyNames() {
		n := f.nodes[name]
		waitFor(t, name+" applied the writes", func() bool { return n.Office().Group().AppliedIndex() >= through }, 20*time.Second)
	}

	// The power cut: every node of the county stops; two disks do not
	// come back. county-2's is kept aside to start it stale later.
	for _, name := range []string{"county-2", "county-3", "county-1"} {
		f.stop(name)
	}
	stale := filepath.Join(t.TempDir(), "county-2-stale")
	if err := os.CopyFS(stale, os.DirFS(f.cfgs["county-2"].DataDir)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"county-2", "county-3"} {
		if err := os.RemoveAll(f.cfgs[name].DataDir); err != nil {
			t.Fatal(err)
		}
	}

	// Refused: with --bootstrap, with --join, on an empty data directory.
	refused := func(what string, mod func(c *node.Config)) {
		t.Helper()
		cfg := f.cfgs["county-1"]
		cfg.Bootstrap, cfg.ForceNewCluster = false, true
		cfg.HTTPAddr, cfg.PeerAddr, cfg.RaftAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
		mod(&cfg)
		n, err := node.New(cfg)
		if err == nil {
			n.Close()
			t.Fatalf("--force-new-cluster %s: started", what)
		}
		if !bytes.Contains([]byte(err.Error()), []byte("--force-new-cluster")) {
			t.Errorf("--force-new-cluster %s: the refusal does not name the flag: %v", what, err)
		}
	}
	refused("with --bootstrap", func(c *node.Config) { c.Bootstrap = true })
	refused("with --join", func(c *node.Config) { c.Join = f.peerAddrs("county-1") })
	empty := filepath.Join(t.TempDir(), "empty")
	refused("on an empty data directory", func(c *node.Config) { c.DataDir = empty })
	if left, _ := os.ReadDir(empty); len(left) > 0 {
		t.Errorf("a refused --force-new-cluster left %d files in the empty data directory", len(left))
	}

	forced := func() *node.Node {
		t.Helper()
		cfg := f.cfgs["county-1"]
		cfg.Bootstrap, cfg.ForceNewCluster = false, true
		return f.run("county-1", cfg)
	}
	survivor := forced()
	waitFor(t, "the survivor leads", survivor.Office().Group().IsLeader, 20*time.Second)
	waitFor(t, "the survivor ready", survivor.Ready, 20*time.Second)
	holdsAll := func(n *node.Node, who string) {
		t.Helper()
		for _, code := range []string{"mz", "mz2"} {
			if _, err := n.Registry().Department(code); err != nil {
				t.Errorf("%s lacks department %s, acknowledged before the power cut: %v", who, code, err)
			}
		}
		for _, number := range []string{fromVillage, atCounty, afterSnapshot} {
			if !received(n, number) {
				t.Errorf("%s lacks case %s, acknowledged before the power cut", who, number)
			}
		}
	}
	holdsAll(survivor, "the survivor")
	if servers, err := survivor.Office().Group().Members(); err != nil || len(servers) != 1 || string(servers[0].ID) != "county-1" || string(servers[0].Address) != survivor.RaftAddr() {
		t.Errorf("the survivor's office: %v (%v), want county-1 at %s alone", servers, err, survivor.RaftAddr())
	}
	if _, err := survivorBackup(t, f.fed, "county-1"); err != nil {
		t.Errorf("a backup of the recovered survivor: %v", err)
	}

	// A lost member's stale data directory started beside it: not in the
	// survivor's configuration, its (pre-)votes are refused and it is sent
	// nothing; the survivor goes on leading.
	term := survivor.Office().Group().CurrentTerm()
	staleCfg := f.cfgs["county-2"]
	staleCfg.DataDir, staleCfg.Bootstrap = stale, false
	staleNode, err := node.New(staleCfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := staleNode.Start(); err != nil {
		staleNode.Close()
		t.Fatal(err)
	}
	for deadline := time.Now().Add(4 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if !survivor.Office().Group().IsLeader() || staleNode.Office().Group().IsLeader() || staleNode.Ready() {
			break
		}
	}
	if !survivor.Office().Group().IsLeader() || survivor.Office().Group().CurrentTerm() != term {
		t.Errorf("the stale county-2 disturbed the survivor: leader %v, term %d (was %d)", survivor.Office().Group().IsLeader(), survivor.Office().Group().CurrentTerm(), term)
	}
	if staleNode.Office().Group().IsLeader() || staleNode.Ready() {
		t.Errorf("the stale county-2 leads (%v) or says ready (%v)", staleNode.Office().Group().IsLeader(), staleNode.Ready())
	}
	staleNode.Close()

	// New writes: a registry write, fed down; a village's case, mailed up.
	admin = dial(t, survivor).login("admin", password)
	if _, err := admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{
		Department: &yizhanv1.Department{Code: "after", Name: "恢复后的部门"}}); err != nil {
		t.Fatalf("a registry write to the recovered county: %v", err)
	}
	for _, name := range []string{"chengguan-1", "dongcun-1", "xicun-1"} {
		n := f.nodes[name]
		waitFor(t, name+" fed the write made after the recovery", func() bool { _, err := n.Registry().Department("after"); return err == nil }, 30*time.Second)
	}
	later := fileTobacco(t, villager, "王五").GetNumber()
	waitFor(t, "the recovered county holds the village's new case", func() bool { _, ok := survivor.Office().Cases().Case(later); return ok }, 30*time.Second)
	// A case the lost members acknowledged alone would have a number the
	// survivor never gave: the county numbers the day's cases above a
	// floor, as after a restore, and takes back what its neighbours hold.
	if n := fileTobacco(t, dial(t, survivor).login("clerk", password), "钱七").GetNumber(); n[strings.LastIndex(n, "-")+1:] <= "5000" {
		t.Errorf("the recovered county numbered a case %s: want above 5000 on the day of the recovery", n)
	}
	waitFor(t, "the recovered county took back from its neighbours", func() bool { _, restored := survivor.Office().Cases().Restored(); return !restored }, 30*time.Second)

	// The flag left on by mistake: nothing to recover, nothing lost.
	f.stop("county-1")
	survivor = forced()
	waitFor(t, "the survivor leads again", survivor.Office().Group().IsLeader, 20*time.Second)
	waitFor(t, "the survivor ready again", survivor.Ready, 20*time.Second)
	holdsAll(survivor, "the survivor restarted with the flag again")
	if _, err := survivor.Registry().Department("after"); err != nil || !received(survivor, later) {
		t.Errorf("the survivor restarted with the flag again lost what it took after the recovery: %v, case %s held %v", err, later, received(survivor, later))
	}

	// The office grows again: county-2 on an empty data directory, --join.
	grown := f.start("county-2", county, func(c *node.Config) { c.Join = f.peerAddrs("county-1") })
	waitFor(t, "county-2 joined and ready", grown.Ready, 30*time.Second)
	idx := survivor.Registry().Index()
	waitFor(t, "county-2 caught up", func() bool { return grown.Registry().Index() >= idx && received(grown, later) }, 30*time.Second)
	holdsAll(grown, "the new county-2")
	if _, err := grown.Registry().Department("after"); err != nil {
		t.Errorf("the new county-2 lacks the write made after the recovery: %v", err)
	}

	// The flag again, now that the office has another member: refused,
	// rather than split the office.
	f.stop("county-1")
	cfg := f.cfgs["county-1"]
	cfg.ForceNewCluster = true
	if n, err := node.New(cfg); err == nil {
		n.Close()
		t.Errorf("--force-new-cluster on a node whose office has grown again since its recovery: started")
	} else if !errors.Is(err, raftgroup.ErrRecoveredBefore) {
		t.Errorf("--force-new-cluster after the office grew: %v, want %v", err, raftgroup.ErrRecoveredBefore)
	}
	cfg.ForceNewCluster = false
	back := f.run("county-1", cfg)
	waitFor(t, "county-1 back in its office of two", back.Ready, 30*time.Second)
	holdsAll(back, "county-1 restarted without the flag")
}

// survivorBackup asks node name of the county for a backup with a
// certificate of the county.
func survivorBackup(t *testing.T, f *fed, name string) ([]byte, error) {
	t.Helper()
	own := f.bundle(county, "")
	dialOwn := func(addr string) (*grpc.ClientConn, error) {
		return grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(own.ClientConfig(county))))
	}
	var buf bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := federation.FetchBackup(ctx, dialOwn, []string{f.cfgs[name].PeerAddr}, county, &buf)
	return buf.Bytes(), err
}
