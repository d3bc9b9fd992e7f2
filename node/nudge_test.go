package node_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
)

// A county follower applies a write as soon as the leader has committed
// it, not when the leader's commit timer next fires: hashicorp/raft tells
// followers the commit index only with its next append, and the leader
// nudges them with one when the writes stop. The timer is set to 3 s here:
// without the nudge the followers would take 3–6 s.
func TestFollowersApplyAWriteWithoutWaitingForTheCommitTimer(t *testing.T) {
	f := newFed(t)
	f.tune = func(_ string, c *node.Config) { c.Timing.CommitTimeout = 3 * time.Second }
	f.startCounty(3)
	leader := f.countyLeader()
	admin := dial(t, leader).login("admin", password)
	for i, code := range []string{"mz", "ga", "sj"} {
		if _, err := admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: code, Name: "部门"}}); err != nil {
			t.Fatal(err)
		}
		idx, acked := leader.Registry().Index(), time.Now()
		for _, name := range f.countyNames() {
			n := f.nodes[name]
			waitFor(t, name+" applies the write", func() bool { return n.Registry().Index() >= idx }, 10*time.Second)
			if took := time.Since(acked); took > time.Second {
				t.Errorf("write %d: %s applied it %s after the leader answered (the commit timer is 3 s)", i+1, name, took.Round(time.Millisecond))
			}
		}
	}
	// A burst of writes from many clients at once: entries appended while
	// others commit, the last of them nudged when it commits.
	var burst sync.WaitGroup
	for i := range 16 {
		burst.Go(func() {
			code := fmt.Sprintf("burst%02d", i)
			if _, err := admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: code, Name: "部门"}}); err != nil {
				t.Error(err)
			}
		})
	}
	burst.Wait()
	idx, acked := leader.Registry().Index(), time.Now()
	for _, name := range f.countyNames() {
		n := f.nodes[name]
		waitFor(t, name+" applies the burst", func() bool { return n.Registry().Index() >= idx }, 10*time.Second)
		if took := time.Since(acked); took > time.Second {
			t.Errorf("after a burst of 16 writes %s applied the last %s after the leader answered (the commit timer is 3 s)", name, took.Round(time.Millisecond))
		}
	}
}

// A client writing one write after another does not have a barrier
// appended, and synced on every node, after each write: the followers
// learn each commit from the next write's append, and the last once the
// writes have stopped for NudgeQuiet (1 s here, the commit timer 3 s:
// without the nudge the followers would take 3–6 s to apply the last).
func TestAStreamOfWritesIsNudgedOnceWhenItStops(t *testing.T) {
	f := newFed(t)
	f.tune = func(_ string, c *node.Config) {
		c.Timing.CommitTimeout = 3 * time.Second
		c.Timing.NudgeQuiet = time.Second
	}
	f.startCounty(3)
	leader := f.countyLeader()
	admin := dial(t, leader).login("admin", password)
	g := leader.Office().Group()
	// The nodes' own first writes (their announcements), then a second
	// of quiet, so that the stream starts on its own.
	waitFor(t, "the county's first writes to settle", func() bool {
		at := g.CommitIndex()
		time.Sleep(1500 * time.Millisecond)
		return g.CommitIndex() == at
	}, 30*time.Second)
	before := g.CommitIndex()
	const writes = 20
	for i := range writes {
		code := fmt.Sprintf("stream%02d", i)
		if _, err := admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: code, Name: "部门"}}); err != nil {
			t.Fatal(err)
		}
	}
	idx, acked := leader.Registry().Index(), time.Now()
	for _, name := range f.countyNames() {
		n := f.nodes[name]
		waitFor(t, name+" applies the last write", func() bool { return n.Registry().Index() >= idx }, 10*time.Second)
		if took := time.Since(acked); took > 2500*time.Millisecond {
			t.Errorf("%s applied the last write of the stream %s after the leader answered (quiet 1 s, the commit timer 3 s)", name, took.Round(time.Millisecond))
		}
	}
	// The writes, the first one's nudge (it came on its own) and the
	// last one's: a barrier after every write would make it 40.
	if entries := g.CommitIndex() - before; entries > writes+2 {
		t.Errorf("%d writes in a stream took %d raft entries, want at most %d (the writes and two nudges)", writes, entries, writes+2)
	}
}
