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
