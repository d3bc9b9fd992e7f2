package node

import (
	"context"
	"strconv"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// clusterService tells the state of this node's office raft group.
type clusterService struct {
	yizhanv1.UnsafeClusterServiceServer
	n *Node
}

var _ yizhanv1.ClusterServiceServer = (*clusterService)(nil)

func (s *clusterService) GetCluster(context.Context, *yizhanv1.GetClusterRequest) (*yizhanv1.GetClusterResponse, error) {
	g := s.n.office.Group()
	leaderAddr, leaderID := g.Leader()
	stats := g.Stats()
	term, _ := strconv.ParseUint(stats["term"], 10, 64)
	commit, _ := strconv.ParseUint(stats["commit_index"], 10, 64)
	resp := &yizhanv1.GetClusterResponse{
		OfficeCode: s.n.office.Code(), Node: s.n.office.NodeName(),
		LeaderId: leaderID, LeaderAddress: leaderAddr,
		Term: term, CommitIndex: commit, AppliedIndex: g.AppliedIndex(),
	}
	if lc := g.LastContact(); !lc.IsZero() && !g.IsLeader() {
		// A follower's last contact with its leader; a leader has none
		// (what raft keeps there is its last contact as a follower, of
		// before it led).
		resp.LastContact = timestamppb.New(lc)
	}
	servers, err := g.Members()
	if err != nil {
		return nil, toStatus(err)
	}
	self := s.n.office.NodeName()
	for _, sv := range servers {
		m := &yizhanv1.ClusterMember{Id: string(sv.ID), Address: string(sv.Address), Suffrage: sv.Suffrage.String()}
		switch {
		case string(sv.ID) == self:
			m.Self = true
			m.State = g.State().String()
		case string(sv.ID) == leaderID:
			m.State = raft.Leader.String()
		case leaderID != "" && sv.Suffrage == raft.Voter:
			// Asked at the leader, a follower that has not answered its
			// heartbeats for a while is unknown (""), with its last
			// contact: it may be down.
			if lc, down := g.Unreachable(string(sv.ID)); down {
				m.Unreachable, m.LastContact = true, timestamppb.New(lc)
				break
			}
			m.State = raft.Follower.String()
		}
		resp.Members = append(resp.Members, m)
	}
	return resp, nil
}
