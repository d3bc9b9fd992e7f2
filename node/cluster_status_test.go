package node_test

import (
	"context"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// getCluster is GET /v1/cluster at n.
func getCluster(t *testing.T, f *fed, name string) *yizhanv1.GetClusterResponse {
	t.Helper()
	c := yizhanv1.NewClusterServiceClient(dial(t, f.nodes[name]).conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.GetCluster(ctx, &yizhanv1.GetClusterRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// A county node's machine dies; the operator looks at the office's nodes
// and their roles (GET /v1/cluster) to see which one is gone before
// replacing it. Asked at the leader, /v1/cluster called the dead node a
// Follower, like the live one: every voter was "Follower" as long as the
// office had a leader. It is unknown now ("", unreachable, with its last
// contact), and the live follower a Follower. The leader itself has no
// last contact (it showed its last contact as a follower, of before it
// led: the federation page's 最后联系 grew for as long as it led).
func TestClusterStatusTellsADeadNodeFromALiveOne(t *testing.T) {
	f := newFed(t)
	f.startCounty(3)
	// The leader's machine dies (its node hands leadership over as it
	// stops: the new leader had been a follower).
	old := f.countyLeader().Name()
	f.stop(old)
	leader := f.countyLeader()
	time.Sleep(4 * time.Second) // past unreachableAfter (2 s)
	resp := getCluster(t, f, leader.Name())
	if lc := resp.GetLastContact(); lc != nil {
		t.Errorf("the leader %s says last_contact %s (%s ago)", leader.Name(), lc.AsTime().Format(time.RFC3339), time.Since(lc.AsTime()).Round(time.Second))
	}
	for _, m := range resp.GetMembers() {
		switch m.GetId() {
		case old:
			if m.GetState() != "" || !m.GetUnreachable() || m.GetLastContact() == nil || time.Since(m.GetLastContact().AsTime()) < 2*time.Second {
				t.Errorf("%s, stopped, is %q, unreachable %v, last contact %v", m.GetId(), m.GetState(), m.GetUnreachable(), m.GetLastContact())
			}
		case leader.Name():
			if m.GetState() != "Leader" || m.GetUnreachable() {
				t.Errorf("the leader is %v", m)
			}
		default:
			if m.GetState() != "Follower" || m.GetUnreachable() {
				t.Errorf("the live follower is %v", m)
			}
		}
	}
}
