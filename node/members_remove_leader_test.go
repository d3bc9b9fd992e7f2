package node_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
)

// Scaling the county down, the operator takes out the node that leads
// (docs/OPERATIONS.md: "`--remove` takes one out (the leader too: it
// steps down and another node leads…)"). `yizhan members --remove`
// printed "office …, leader <Leader>:" from the answer, and the answer
// named the node just taken out as the office's leader, which it no
// longer was (it was not even among the members printed under it): the
// answering node put its own name there. The answer now names a leader
// only among the members it lists, none while the office elects one; a
// remaining node asked next (as the command does) names the new leader.
func TestMembersRemovingTheLeaderDoesNotNameItLeader(t *testing.T) {
	f := newFed(t)
	f.startCounty(3)
	leader := f.countyLeader()
	members := func(n interface{ PeerAddr() string }, remove string) (*peerv1.MembersResponse, error) {
		conn, err := grpc.NewClient(n.PeerAddr(), grpc.WithTransportCredentials(credentials.NewTLS(f.bundle(county, "").ClientConfig(county))))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		return peerv1.NewPeerClient(conn).Members(ctx, &peerv1.MembersRequest{OfficeCode: county, Remove: remove})
	}
	nodesOf := func(resp *peerv1.MembersResponse) []string {
		var ids []string
		for _, m := range resp.GetMembers() {
			ids = append(ids, m.GetNode())
		}
		return ids
	}
	resp, err := members(leader, leader.Name())
	if err != nil {
		t.Fatalf("members --remove %s (the leader): %v", leader.Name(), err)
	}
	if ids := nodesOf(resp); resp.GetLeader() == leader.Name() || (resp.GetLeader() != "" && !slices.Contains(ids, resp.GetLeader())) {
		t.Errorf("yizhan members --remove %s would print \"leader %s\" above the members %v: the node taken out is named the office's leader", leader.Name(), resp.GetLeader(), ids)
	}

	// Asked next at a node that stays, the office names its new leader.
	var stays []string
	for _, name := range f.countyNames() {
		if name != leader.Name() {
			stays = append(stays, name)
		}
	}
	waitFor(t, "a remaining node names the office's new leader", func() bool {
		resp, err := members(f.nodes[stays[0]], "")
		if err != nil {
			return false
		}
		ids := nodesOf(resp)
		slices.Sort(ids)
		return slices.Contains(stays, resp.GetLeader()) && slices.Equal(ids, stays)
	}, 20*time.Second)
}
