package main

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
)

// `yizhan members --remove` of the leader waits for the office to elect
// its next leader and names it: the node taken out answers no more (an
// error), the others answer with no leader until the election ends, then
// with the new leader among the members. An office that elects none
// within the wait (here the command's own deadline, shorter) is answered
// nil: the command then says no leader is known.
func TestMembersRemovingTheLeaderWaitsForTheNextLeader(t *testing.T) {
	members := []*peerv1.Member{{Node: "county-2", Voter: true}, {Node: "county-3", Voter: true}}
	electedAfter := func(calls int32) (func(ctx context.Context, addr, remove string) (*peerv1.MembersResponse, error), *atomic.Int32) {
		var n atomic.Int32
		return func(ctx context.Context, addr, remove string) (*peerv1.MembersResponse, error) {
			if remove != "" {
				t.Errorf("the wait for the next leader asks to take out %q again", remove)
			}
			if addr == "county-1:7070" {
				return nil, errors.New("connection refused") // the node taken out
			}
			if n.Add(1) <= calls {
				return &peerv1.MembersResponse{Members: members}, nil // still electing
			}
			return &peerv1.MembersResponse{Leader: "county-3", Members: members}, nil
		}, &n
	}
	peers := []string{"county-1:7070", "county-2:7070", "county-3:7070"}

	ask, asked := electedAfter(5)
	resp := awaitNewLeader(context.Background(), peers, ask)
	if resp == nil || resp.GetLeader() != "county-3" {
		t.Fatalf("after the office elected county-3, the wait answers %v; want county-3 named leader", resp)
	}
	if asked.Load() != 6 {
		t.Errorf("the wait asked the live nodes %d times; want 6 (five answers without a leader, then the one naming it)", asked.Load())
	}

	ask, _ = electedAfter(1 << 30) // never elected
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	start := time.Now()
	if resp := awaitNewLeader(ctx, peers, ask); resp != nil {
		t.Errorf("an office that elects no leader: the wait answers %v; want nil (no leader known)", resp)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the wait went on %v past the command's deadline of 600ms", took)
	}
}
