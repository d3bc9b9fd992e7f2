package node_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/reason"
)

// fileRefusedElsewhere files a case at n and wants it refused with
// OFFICE_RUNS_ELSEWHERE.
func fileRefusedElsewhere(t *testing.T, n *node.Node) {
	t.Helper()
	agent := dial(t, n).login("dongcun", password)
	_, err := caseClient(t, agent).FileCase(agent.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "李四", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
	if status.Code(err) != codes.FailedPrecondition || reason.StatusReason(err) != reason.OfficeRunsElsewhere {
		t.Errorf("a filing at the node bootstrapped beside its office: %v, want FailedPrecondition %s", err, reason.OfficeRunsElsewhere)
	}
}

// joinDongcunTwoAndThree makes the village 东村 of f three nodes:
// dongcun-2 and dongcun-3 join dongcun-1, and are ready.
func joinDongcunTwoAndThree(t *testing.T, f *caseFed) {
	t.Helper()
	upstream := append(f.peerAddrs("chengguan-1"), f.peerAddrs("county-1")...)
	for _, name := range []string{"dongcun-2", "dongcun-3"} {
		n := f.start(name, dongcun, func(c *node.Config) { c.Join, c.Upstream = f.peerAddrs("dongcun-1"), upstream })
		waitFor(t, name+" a member of the village", n.Ready, 60*time.Second)
	}
}

// bootstrapDongcunThreeOnANewDisk stops dongcun-3, a member of the
// village, and starts it again under its name and addresses on an empty
// data directory with --bootstrap (a member that lost its disk), once its
// /readyz says to --join: it found its office running.
func bootstrapDongcunThreeOnANewDisk(t *testing.T, f *caseFed) *node.Node {
	t.Helper()
	f.stop("dongcun-3")
	cfg := f.cfgs["dongcun-3"]
	cfg.DataDir, cfg.Bootstrap, cfg.Join = filepath.Join(t.TempDir(), "new-disk"), true, nil
	n := f.run("dongcun-3", cfg)
	waitFor(t, "/readyz of the node that lost its disk says to --join", func() bool {
		return strings.Contains(readyzReason(t, n), "--join")
	}, 40*time.Second)
	return n
}

// A village of two nodes runs, one of them down, so the other, a member,
// has no leader for the moment. A third machine started with --bootstrap
// on an empty data directory finds the live member in the node directory
// holding the village's raft state: it files nothing and /readyz says to
// --join it. It takes the running member out of nothing, and, restarted
// as it is while the village is down, refuses again without asking.
func TestANodeBootstrappedBesideALeaderlessOfficeFilesNothing(t *testing.T) {
	f := newCaseFed(t, 1)
	upstream := append(f.peerAddrs("chengguan-1"), f.peerAddrs("county-1")...)
	second := f.start("dongcun-2", dongcun, func(c *node.Config) { c.Join, c.Upstream = f.peerAddrs("dongcun-1"), upstream })
	waitFor(t, "dongcun-2 a member of the village", second.Ready, 60*time.Second)
	reg := f.nodes["county-1"].Registry()
	listed := func(name string) bool {
		return slices.ContainsFunc(reg.Nodes(dongcun), func(e *yizhanv1.NodeEntry) bool { return e.GetName() == name })
	}
	waitFor(t, "dongcun-2 in the county's directory", func() bool { return listed("dongcun-2") }, 30*time.Second)
	fileTobacco(t, dial(t, f.nodes["dongcun-1"]).login("dongcun", password), "张三")

	f.stop("dongcun-1")
	waitFor(t, "dongcun-2 without a leader", func() bool { return !second.Office().Group().IsLeader() }, 10*time.Second)

	stray := f.start("dongcun-3", dongcun, func(c *node.Config) { c.Bootstrap, c.Upstream = true, upstream })
	waitFor(t, "the stray node's /readyz says to --join the running member", func() bool {
		return strings.Contains(readyzReason(t, stray), "--join "+f.cfgs["dongcun-2"].PeerAddr)
	}, 40*time.Second)
	fileRefusedElsewhere(t, stray)
	if _, pending := stray.Office().Cases().FirstStart(); !pending {
		t.Error("the stray node answered whether its office ran before")
	}
	time.Sleep(3 * tidyWait)
	if !listed("dongcun-2") {
		t.Errorf("the running member dongcun-2 was taken out of the county's node directory (it lists %v)", reg.NodesEver(dongcun))
	}

	// Restarted as it is while the whole village is down, the stray node
	// refuses again: it does not ask again, and take the village for one
	// that lost its data. It refuses so from before it serves anything: a
	// node of the village asking it then is not told that it is still
	// finding out.
	f.stop("dongcun-3")
	f.stop("dongcun-2")
	cfg := f.cfgs["dongcun-3"]
	cfg.Bootstrap = false
	stray, err := node.New(cfg)
	if err != nil {
		t.Fatalf("restart dongcun-3: %v", err)
	}
	if err := stray.Office().CanNumber(); reason.Of(err) == nil || reason.Of(err).Reason != reason.OfficeRunsElsewhere {
		t.Errorf("the restarted stray node, before it serves anything, answers %v; want %s", err, reason.OfficeRunsElsewhere)
	}
	if err := stray.Start(); err != nil {
		t.Fatalf("restart dongcun-3: %v", err)
	}
	f.nodes["dongcun-3"] = stray
	waitFor(t, "the restarted stray node's /readyz says to --join the running member", func() bool {
		return strings.Contains(readyzReason(t, stray), "--join "+f.cfgs["dongcun-2"].PeerAddr)
	}, 20*time.Second)
	fileRefusedElsewhere(t, stray)
	if _, pending := stray.Office().Cases().FirstStart(); !pending {
		t.Error("the restarted stray node answered whether its office ran before")
	}
}

// tidyWait is how long a leader leaves a directory entry that is no member
// of its raft group before it takes it out (federation, directory.go).
const tidyWait = 10 * time.Second

// A node of a village of three loses its disk and comes back under its
// name and raft address, started with --bootstrap (a Helm rollback that
// gave pod 0 --bootstrap again is the same). The running leader still
// counts it a voter, but cannot pull it in: it files nothing, /readyz
// says to --join, and it leads only its own group of itself. The village
// files on.
func TestAMemberThatLostItsDiskBootstrappedUnderItsNameFilesNothing(t *testing.T) {
	f := newCaseFed(t, 1)
	joinDongcunTwoAndThree(t, f)
	fileTobacco(t, dial(t, f.nodes["dongcun-1"]).login("dongcun", password), "张三")

	n := bootstrapDongcunThreeOnANewDisk(t, f)
	fileRefusedElsewhere(t, n)
	if _, leader := n.Office().Group().Leader(); leader != "dongcun-3" {
		t.Errorf("the node that lost its disk follows %q: the running office pulled it in", leader)
	}
	if n.Ready() {
		t.Error("the node that lost its disk is ready")
	}
	fileTobacco(t, dial(t, f.nodes["dongcun-1"]).login("dongcun", password), "王五")
}

// Both disks of a village of two die, and both nodes are started again
// with --bootstrap on new disks, under their names. Each finds the other
// in the node directory; they do not refuse each other for good: the one
// whose name sorts first rebuilds the village and files, and the other's
// /readyz says to --join it. Done so, it joins the village.
func TestTwoNodesOfAVillageBootstrappedAgainAtOnceRunItAsOne(t *testing.T) {
	f := newCaseFed(t, 1)
	upstream := append(f.peerAddrs("chengguan-1"), f.peerAddrs("county-1")...)
	second := f.start("dongcun-2", dongcun, func(c *node.Config) { c.Join, c.Upstream = f.peerAddrs("dongcun-1"), upstream })
	waitFor(t, "dongcun-2 a member of the village", second.Ready, 60*time.Second)
	waitFor(t, "dongcun-2 in the county's directory", func() bool {
		return listedEver(f.nodes["county-1"].Registry(), dongcun, "dongcun-2")
	}, 30*time.Second)
	before := fileTobacco(t, dial(t, f.nodes["dongcun-1"]).login("dongcun", password), "张三")

	f.stop("dongcun-1")
	f.stop("dongcun-2")
	for _, name := range []string{"dongcun-1", "dongcun-2"} {
		cfg := f.cfgs[name]
		cfg.DataDir, cfg.Bootstrap, cfg.Join = filepath.Join(t.TempDir(), "new-disk"), true, nil
		f.run(name, cfg)
	}
	first, second := f.nodes["dongcun-1"], f.nodes["dongcun-2"]
	waitFor(t, "dongcun-1 ready", first.Ready, 60*time.Second)
	waitFor(t, "dongcun-2's /readyz says to --join dongcun-1", func() bool {
		return strings.Contains(readyzReason(t, second), "--join "+f.cfgs["dongcun-1"].PeerAddr)
	}, 30*time.Second)
	fileRefusedElsewhere(t, second)
	c := fileTobacco(t, dial(t, first).login("dongcun", password), "王五")
	if c.GetNumber() == before.GetNumber() {
		t.Fatalf("the village bootstrapped again numbered 王五's case %s, 张三's number", c.GetNumber())
	}

	f.stop("dongcun-2")
	cfg := f.cfgs["dongcun-2"]
	cfg.DataDir, cfg.Bootstrap, cfg.Join = filepath.Join(t.TempDir(), "emptied"), false, f.peerAddrs("dongcun-1")
	second = f.run("dongcun-2", cfg)
	waitFor(t, "dongcun-2 joins the village", second.Ready, 60*time.Second)
}

// A node of a village of three loses its disk and comes back under its name
// and addresses, started with --bootstrap. The township sends the
// village's mail to that node first (its routes name it first): the node
// takes none of it, so the county's acceptance of 张三's case reaches the
// village's leader, and the node that files nothing holds no case the
// village is owed.
func TestANodeBootstrappedUnderAMembersNameTakesNoMailOfItsOffice(t *testing.T) {
	f := newCaseFed(t, 1)
	joinDongcunTwoAndThree(t, f)
	number := fileTobacco(t, dial(t, f.nodes["dongcun-1"]).login("dongcun", password), "张三").GetNumber()
	countyNode := f.nodes["county-1"]
	waitFor(t, "the county owns 张三's case", func() bool { return received(countyNode, number) }, 30*time.Second)

	stray := bootstrapDongcunThreeOnANewDisk(t, f)

	f.stop("chengguan-1")
	tw := f.cfgs["chengguan-1"]
	tw.Bootstrap, tw.PeerRoutes = false, map[string][]string{dongcun: f.peerAddrs("dongcun-3", "dongcun-1")}
	f.run("chengguan-1", tw)

	clerk := dial(t, countyNode).login("clerk", password)
	if _, err := caseClient(t, clerk).Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: number}); err != nil {
		t.Fatalf("accept: %v", err)
	}
	caseAt(t, f.nodes["dongcun-1"], number, yizhanv1.CaseState_CASE_STATE_ACCEPTED, 30*time.Second)
	if n := stray.Office().Cases().Len(); n != 0 {
		t.Errorf("the node bootstrapped under dongcun-3's name holds %d cases", n)
	}
}

// A node of a village of three loses its disk and comes back under its name
// and addresses, started with --bootstrap. A backup of the village asked
// of it first (`yizhan backup` naming its nodes) is taken from the next
// node, and holds 张三's case: the node that files nothing serves no backup
// of a book that holds none of the village's cases.
func TestABackupIsNotTakenFromANodeBootstrappedBesideItsOffice(t *testing.T) {
	f := newCaseFed(t, 1)
	joinDongcunTwoAndThree(t, f)
	fileTobacco(t, dial(t, f.nodes["dongcun-1"]).login("dongcun", password), "张三")

	bootstrapDongcunThreeOnANewDisk(t, f)

	own := f.bundle(dongcun, "")
	dialOwn := func(addr string) (*grpc.ClientConn, error) {
		return grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(own.ClientConfig(dongcun))))
	}
	var buf bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := federation.FetchBackup(ctx, dialOwn, f.peerAddrs("dongcun-3", "dongcun-1"), dongcun, &buf); err != nil {
		t.Fatalf("a backup of the village: %v", err)
	}
	path := filepath.Join(t.TempDir(), "dongcun.yzb")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	info, err := raftgroup.ReadBackupInfo(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Node == "dongcun-3" || info.Cases == 0 {
		t.Errorf("the village's backup was taken on %s and holds %d cases, want one of its running nodes' with 张三's case", info.Node, info.Cases)
	}
}

// A node of a village of three loses its disk and comes back under its name
// and addresses, started with --bootstrap. `yizhan members` asked there
// first (in its pod, --peer 127.0.0.1:7070) to take dongcun-3 out passes
// on to the next node it lists: the node, which leads only a group of
// itself, neither lists itself as the village's one member nor takes
// dongcun-3 out of the node directory while the village counts it. The
// village's leader takes it out.
func TestMembersAreNotAnsweredByANodeBootstrappedBesideItsOffice(t *testing.T) {
	f := newCaseFed(t, 1)
	joinDongcunTwoAndThree(t, f)
	for _, name := range []string{"dongcun-2", "dongcun-3"} {
		waitFor(t, name+" in the county's directory", func() bool { return listedEver(f.nodes["county-1"].Registry(), dongcun, name) }, 30*time.Second)
	}
	stray := bootstrapDongcunThreeOnANewDisk(t, f)

	b := f.bundle(dongcun, "")
	members := func(addr, remove string) (*peerv1.MembersResponse, error) {
		conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(b.ClientConfig(dongcun))))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return peerv1.NewPeerClient(conn).Members(ctx, &peerv1.MembersRequest{OfficeCode: dongcun, Remove: remove})
	}
	if resp, err := members(stray.PeerAddr(), ""); status.Code(err) != codes.Unavailable || reason.StatusReason(err) != reason.FirstStartPending {
		t.Errorf("the village's members asked of the node that lost its disk: %v, %v; want Unavailable %s (ask the next node)", resp.GetMembers(), err, reason.FirstStartPending)
	}
	if _, err := members(stray.PeerAddr(), "dongcun-3"); status.Code(err) != codes.Unavailable {
		t.Errorf("dongcun-3 taken out at the node that lost its disk: %v, want Unavailable (ask the next node)", err)
	}
	time.Sleep(time.Second)
	for _, e := range f.nodes["county-1"].Registry().NodesEver(dongcun) {
		if e.GetName() == "dongcun-3" && e.GetRemoved() {
			t.Error("the node that lost its disk took dongcun-3 out of the node directory; the village still counts it a voter")
		}
	}
	resp, err := members(f.cfgs["dongcun-1"].PeerAddr, "dongcun-3")
	if err != nil {
		t.Fatalf("dongcun-3 taken out at the village's leader: %v", err)
	}
	var names []string
	for _, m := range resp.GetMembers() {
		names = append(names, m.GetNode())
	}
	slices.Sort(names)
	if strings.Join(names, ",") != "dongcun-1,dongcun-2" {
		t.Errorf("the village's members once dongcun-3 is taken out: %v, want dongcun-1 and dongcun-2", names)
	}
}

// Both disks of a village of two die. dongcun-2 comes back under its name
// with --bootstrap, and a new machine, dongcun-0, is started with
// --bootstrap too. dongcun-2 is still finding out whether the village ran
// before (the offices above answer it slowly) when dongcun-0 asks the
// nodes the directory lists: dongcun-0, which the directory does not list
// and which dongcun-2 therefore never asks, files nothing and says to
// --join dongcun-2, though its name sorts first; dongcun-2 rebuilds the
// village. The village never runs as two raft groups.
func TestANodeTheDirectoryDoesNotListDefersToAListedNodeStillFindingOut(t *testing.T) {
	release := make(chan struct{})
	node.SetPeerCallHookForTest(t, func(_ *node.Node, ctx context.Context, method string) {
		if !strings.HasSuffix(method, "/CasesThrough") {
			return
		}
		if id, err := pki.PeerIdentity(ctx); err == nil && id.Node == "dongcun-2" {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	})
	f := newCaseFed(t, 1)
	upstream := append(f.peerAddrs("chengguan-1"), f.peerAddrs("county-1")...)
	second := f.start("dongcun-2", dongcun, func(c *node.Config) { c.Join, c.Upstream = f.peerAddrs("dongcun-1"), upstream })
	waitFor(t, "dongcun-2 a member of the village", second.Ready, 60*time.Second)
	waitFor(t, "dongcun-2 in the county's directory", func() bool { return listedEver(f.nodes["county-1"].Registry(), dongcun, "dongcun-2") }, 30*time.Second)
	fileTobacco(t, dial(t, f.nodes["dongcun-1"]).login("dongcun", password), "张三")

	f.stop("dongcun-1")
	f.stop("dongcun-2")
	cfg := f.cfgs["dongcun-2"]
	cfg.DataDir, cfg.Bootstrap, cfg.Join = filepath.Join(t.TempDir(), "new-disk"), true, nil
	lost := f.run("dongcun-2", cfg)
	fresh := f.start("dongcun-0", dongcun, func(c *node.Config) { c.Bootstrap, c.Upstream = true, upstream })
	waitFor(t, "dongcun-0's /readyz says to --join dongcun-2", func() bool {
		if fresh.Ready() {
			t.Fatal("dongcun-0 runs the village beside dongcun-2, which is still finding out")
		}
		return strings.Contains(readyzReason(t, fresh), "--join "+f.cfgs["dongcun-2"].PeerAddr)
	}, 40*time.Second)
	close(release)
	waitFor(t, "dongcun-2 rebuilds the village", lost.Ready, 60*time.Second)
	fileRefusedElsewhere(t, fresh)
}
