package node_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/node"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// stallCasesThrough holds every Peer.CasesThrough answer of the nodes
// started afterwards while it is stalled: the offices above cannot say,
// for now, what they hold of an office.
type stallCasesThrough struct {
	mu      sync.Mutex
	release chan struct{} // nil while not stalled
}

func newStallCasesThrough(t *testing.T) *stallCasesThrough {
	s := &stallCasesThrough{}
	node.SetPeerCallHookForTest(t, func(_ *node.Node, ctx context.Context, method string) {
		if !strings.HasSuffix(method, "/CasesThrough") {
			return
		}
		s.mu.Lock()
		release := s.release
		s.mu.Unlock()
		if release != nil {
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
	})
	t.Cleanup(s.Release)
	return s
}

func (s *stallCasesThrough) Stall() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.release == nil {
		s.release = make(chan struct{})
	}
}

func (s *stallCasesThrough) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.release != nil {
		close(s.release)
		s.release = nil
	}
}

// A village point's PC dies with no backup, and the operator starts the
// village on a new disk with --bootstrap but forgets --rebuild. Until
// the village knows whether it ran before, a filing is refused, safe to
// send again (FIRST_START_PENDING), never numbered from 1. Then it does
// what --rebuild does: it takes back from its township the cases it held,
// and numbers 王五's case above any its lost disk handed out, not with
// the number of 张三's, which the township and the county hold. Restarted,
// it does not ask again.
func TestAVillageStartedAnewWithoutRebuildTakesBackItsCasesAndNumbersAbove(t *testing.T) {
	stall := newStallCasesThrough(t)
	f := newCaseFed(t, 1)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	first := fileTobacco(t, agent, "张三")
	second := fileTobacco(t, agent, "李四")
	tw, county := f.nodes["chengguan-1"], f.nodes["county-1"]
	waitFor(t, "the township to hold the village's cases", func() bool {
		_, a := tw.Office().Cases().Case(first.GetNumber())
		_, b := tw.Office().Cases().Case(second.GetNumber())
		return a && b
	}, 30*time.Second)

	// The disk dies; a new one, without --rebuild. The offices above do
	// not answer yet.
	f.stop("dongcun-1")
	stall.Stall()
	cfg := f.cfgs["dongcun-1"]
	cfg.DataDir, cfg.Bootstrap, cfg.Rebuild = filepath.Join(t.TempDir(), "new-disk"), true, false
	n := f.run("dongcun-1", cfg)
	again := dial(t, n).login("dongcun", password)
	waitFor(t, "a filing refused while the village does not know whether it ran before", func() bool {
		c, err := caseClient(t, again).FileCase(again.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
			Applicant: &yizhanv1.Applicant{Name: "赵六", IdNumber: applicantID, Phone: "13907710001"},
			Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
		if err == nil {
			t.Fatalf("the village started anew filed case %s before it knew whether it ran before", c.GetCase().GetNumber())
		}
		if status.Code(err) != codes.Unavailable {
			t.Fatalf("a filing before the village knows whether it ran before: %v, want Unavailable", err)
		}
		return reason.StatusReason(err) == reason.FirstStartPending // else the new leader is still applying its log
	}, 20*time.Second)
	if why := readyzReason(t, n); !strings.Contains(why, "whether it ran before") {
		t.Errorf("/readyz says %q, want it to say the village is finding out whether it ran before", why)
	}
	stall.Release()

	waitFor(t, "the village started anew knows it ran before", func() bool {
		_, pending := n.Office().Cases().FirstStart()
		today := time.Now().In(registry.CST).Format("20060102")
		return !pending && n.Office().Cases().NextSeq(today) > casebook.RestoredSeqGap
	}, 60*time.Second)
	waitFor(t, "the village started anew takes back its cases", func() bool {
		_, a := n.Office().Cases().Case(first.GetNumber())
		_, b := n.Office().Cases().Case(second.GetNumber())
		return a && b
	}, 60*time.Second)
	c := fileTobacco(t, again, "王五")
	if c.GetNumber() == first.GetNumber() || c.GetNumber() == second.GetNumber() {
		t.Fatalf("the village started anew numbered 王五's case %s, a number its township holds for another citizen", c.GetNumber())
	}
	if seq := c.GetNumber()[strings.LastIndex(c.GetNumber(), "-")+1:]; seq <= "5000" {
		t.Errorf("the village started anew numbered 王五's case %s: want above 5000 on the day it started", c.GetNumber())
	}
	waitFor(t, "王五's case at the county", func() bool { return received(county, c.GetNumber()) }, 30*time.Second)
	if held, ok := tw.Office().Cases().Case(first.GetNumber()); !ok || held.GetApplicant().GetName() != "张三" {
		t.Errorf("the township's case %s: %v", first.GetNumber(), held.GetApplicant())
	}
	if q := tw.Office().Cases().QuarantinedLen(); q > 0 {
		t.Errorf("the township quarantined %d messages", q)
	}

	// Restarted, with the offices above silent again, it files at once:
	// the answer is in its book.
	f.stop("dongcun-1")
	stall.Stall()
	n = f.restart("dongcun-1")
	if _, pending := n.Office().Cases().FirstStart(); pending {
		t.Error("the village asks again whether it ran before after a restart")
	}
	waitFor(t, "the restarted village ready", n.Ready, 30*time.Second)
	after := fileTobacco(t, dial(t, n).login("dongcun", password), "孙七")
	if after.GetNumber() <= c.GetNumber() {
		t.Errorf("after the restart the village numbered %s, not above %s", after.GetNumber(), c.GetNumber())
	}
}

// A new village of two nodes, the second started with --join beside the
// first (--bootstrap): the offices above hold nothing of it, and the
// second node's announcement is no sign of an earlier life. It numbers
// its first case 1, as before, and the second node joins it.
func TestANewVillageFilesItsFirstCaseAsOne(t *testing.T) {
	const nancun = "450122101205"
	f := newCaseFed(t, 1)
	admin := dial(t, f.countyLeader()).login("admin", password)
	if _, err := admin.reg.CreateOffice(admin.ctx(), &yizhanv1.CreateOfficeRequest{Office: &yizhanv1.Office{Code: nancun, Name: "南村便民服务站"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.reg.CreateStaff(admin.ctx(), &yizhanv1.CreateStaffRequest{Password: password, Staff: &yizhanv1.StaffMember{
		Username: "nancun", Name: "覃梅", OfficeCode: nancun, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT}}}); err != nil {
		t.Fatal(err)
	}
	upstream := append(f.peerAddrs("chengguan-1"), f.peerAddrs("county-1")...)
	first := f.start("nancun-1", nancun, func(c *node.Config) { c.Bootstrap, c.Upstream = true, upstream })
	second := f.start("nancun-2", nancun, func(c *node.Config) { c.Join, c.Upstream = f.peerAddrs("nancun-1"), upstream })
	waitFor(t, "the new village ready", first.Ready, 30*time.Second)
	c := fileTobacco(t, dial(t, first).login("nancun", password), "周八")
	if !strings.HasSuffix(c.GetNumber(), "-0001") {
		t.Errorf("the new village's first case is %s, want number 1 of the day", c.GetNumber())
	}
	if _, restored := first.Office().Cases().Restored(); restored {
		t.Error("the new village was taken for one that ran before")
	}
	waitFor(t, "the second node joins the new village", second.Ready, 30*time.Second)
}

// A node of a running village started with --bootstrap on an empty data
// directory, where it should have joined, starts a second raft group of
// the village. It finds the village's leader in the directory and files
// nothing (OFFICE_RUNS_ELSEWHERE); /readyz says what to do; it takes the
// running node out of nothing and puts itself in no directory.
func TestANodeBootstrappedBesideItsRunningOfficeFilesNothing(t *testing.T) {
	f := newCaseFed(t, 1)
	fileTobacco(t, dial(t, f.nodes["dongcun-1"]).login("dongcun", password), "张三")
	stray := f.start("dongcun-2", dongcun, func(c *node.Config) {
		c.Bootstrap, c.Upstream = true, append(f.peerAddrs("chengguan-1"), f.peerAddrs("county-1")...)
	})
	waitFor(t, "the stray node's /readyz says it runs beside its office", func() bool {
		return strings.Contains(readyzReason(t, stray), "--join "+f.cfgs["dongcun-1"].PeerAddr)
	}, 30*time.Second)
	agent := dial(t, stray).login("dongcun", password)
	_, err := caseClient(t, agent).FileCase(agent.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "李四", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
	if status.Code(err) != codes.FailedPrecondition || reason.StatusReason(err) != reason.OfficeRunsElsewhere {
		t.Errorf("a filing at the stray node: %v, want FailedPrecondition %s", err, reason.OfficeRunsElsewhere)
	}
	reg := f.nodes["county-1"].Registry()
	listed := reg.Nodes(dongcun)
	if !slices.ContainsFunc(listed, func(e *yizhanv1.NodeEntry) bool { return e.GetName() == "dongcun-1" }) ||
		slices.ContainsFunc(listed, func(e *yizhanv1.NodeEntry) bool { return e.GetName() == "dongcun-2" }) {
		t.Errorf("the county's directory lists %v for the village, want dongcun-1 and not the stray node", listed)
	}
	fileTobacco(t, dial(t, f.nodes["dongcun-1"]).login("dongcun", password), "王五")
}
