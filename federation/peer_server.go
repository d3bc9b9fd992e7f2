package federation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/auth"
	"github.com/yizhan-gov/yizhan/federation/forward"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// announceMaxAge is how old a signed node announcement may be.
const announceMaxAge = 10 * time.Minute

// PeerServer serves the node-to-node API on the peer port (mutual TLS).
type PeerServer struct {
	peerv1.UnsafePeerServer
	o *Office
}

// NewPeerServer returns the Peer service of an office node.
func NewPeerServer(o *Office) *PeerServer { return &PeerServer{o: o} }

var _ peerv1.PeerServer = (*PeerServer)(nil)

// Join adds the caller to this office's raft group. Only a node whose
// certificate names this office may join it, and one whose certificate
// names its node joins as that node only, whoever it is: as another
// member it would move that member's raft address to its own. So no node
// passes a join on (the leader would see the passer's certificate, not
// the joiner's): a follower answers NOT_LEADER naming the leader and its
// peer address (meta leader, peerAddress), and the joiner asks there
// itself (joinLoop). A certificate shared by the office's nodes (a
// StatefulSet's) names none, and proves no more than the office.
func (s *PeerServer) Join(ctx context.Context, req *peerv1.JoinRequest) (*peerv1.JoinResponse, error) {
	o := s.o
	id, err := pki.PeerIdentity(ctx)
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, err.Error())
	}
	if id.Office != o.cfg.Office || req.GetOfficeCode() != o.cfg.Office {
		return nil, status.Errorf(codes.PermissionDenied,
			"office %s may not join office %s (certificate names %s)", req.GetOfficeCode(), o.cfg.Office, id.Office)
	}
	if id.Node != "" && req.GetNode() != id.Node {
		return nil, status.Errorf(codes.PermissionDenied,
			"a certificate of node %s may not join as node %s: a node joins only as itself", id.Node, req.GetNode())
	}
	if req.GetNode() == "" || req.GetRaftAddress() == "" {
		return nil, status.Error(codes.InvalidArgument, "node and raft_address are required")
	}
	if err := o.firstStartJoin(req.GetNode()); err != nil {
		return nil, err
	}
	err = o.cfg.Group.AddVoter(req.GetNode(), req.GetRaftAddress())
	if errors.Is(err, raftgroup.ErrNotLeader) {
		if !o.hasMember(o.cfg.Node) {
			// Joining itself (an office's nodes started at once): its
			// leader would not take a join it passed on. The joiner asks
			// the next node it knows.
			return nil, status.Errorf(codes.Unavailable, "node %s is not a member of office %s yet: ask another of its nodes", o.cfg.Node, o.cfg.Office)
		}
		return nil, o.joinAtLeader(ctx)
	}
	if errors.Is(err, raftgroup.ErrAddressInUse) {
		return nil, status.Error(codes.FailedPrecondition, err.Error())
	}
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	return &peerv1.JoinResponse{Leader: o.cfg.Node}, nil
}

// joinAtLeader is a follower's answer to a join: NOT_LEADER (Unavailable,
// nothing done), naming the office's leader and, when the directory has
// it, its peer address, where the joiner asks again itself. When the
// directory does not have it (a leader that could not announce itself
// yet: the county out of reach, a new office's directory not yet fed
// down), it names the peer addresses it joined through itself (its
// --join), which the joiner asks next: where a follower passed joins on
// when it could not find its leader in the directory.
func (o *Office) joinAtLeader(ctx context.Context) error {
	_, leader := o.cfg.Group.AwaitLeader(ctx)
	meta := reason.Meta{}
	where := "no leader is known yet: ask again shortly"
	if leader != "" {
		meta["leader"] = leader
		where = "ask its leader " + leader
		if n, ok := o.reg.Node(leader); ok && n.GetOfficeCode() == o.cfg.Office && n.GetPeerAddress() != "" {
			meta["peerAddress"] = n.GetPeerAddress()
			where += " at " + n.GetPeerAddress()
		} else if ts := o.routes.JoinTargets(); len(ts) > 0 {
			var addrs []string
			for _, t := range ts {
				addrs = append(addrs, t.Addr)
			}
			meta["peerAddresses"] = strings.Join(addrs, ",")
			where += ", whose peer address the node directory does not hold yet: ask the nodes this one joined through, " + strings.Join(addrs, ", ")
		}
	}
	return reason.Status(reason.NotLeader, fmt.Sprintf("node %s does not lead office %s, and passes no join on (the leader checks the joining node's own certificate): %s",
		o.cfg.Node, o.cfg.Office, where), meta, 0).Err()
}

// joinLeaderAddrs are the peer addresses a follower's answer to a join
// names (joinAtLeader): its leader's, or else those it joined through;
// none when it names none.
func joinLeaderAddrs(answer error) []string {
	st, ok := status.FromError(answer)
	if !ok || reason.Info(st).GetReason() != reason.NotLeader {
		return nil
	}
	meta := reason.Info(st).GetMetadata()
	if a := meta["peerAddress"]; a != "" {
		return []string{a}
	}
	if a := meta["peerAddresses"]; a != "" {
		return strings.Split(a, ",")
	}
	return nil
}

// hasMember reports whether node is a member of the office's raft group.
func (o *Office) hasMember(node string) bool {
	servers, err := o.cfg.Group.Members()
	return err == nil && slices.ContainsFunc(servers, func(m raft.Server) bool { return string(m.ID) == node })
}

// Members lists this office's raft members, after taking out the one
// req.remove names (`yizhan members --remove`): a node whose machine is
// gone for good stays a voter otherwise, and the office of three that
// replaced it with a new node of another name counts four, of which it
// may lose none more. Only a node's certificate of this office may ask;
// a follower asks its leader. The last voter stays. The answer names the
// leader only among the members it lists: none ("") when the leader took
// itself out, for the others then elect one it does not hear of.
func (s *PeerServer) Members(ctx context.Context, req *peerv1.MembersRequest) (*peerv1.MembersResponse, error) {
	o := s.o
	id, err := pki.PeerIdentity(ctx)
	if err != nil {
		return nil, status.Error(codes.Unauthenticated, err.Error())
	}
	if id.Office != o.cfg.Office || req.GetOfficeCode() != o.cfg.Office {
		return nil, status.Errorf(codes.PermissionDenied,
			"a certificate of office %s may not manage the members of office %s (asked for office %s)", id.Office, o.cfg.Office, req.GetOfficeCode())
	}
	// A node bootstrapped on an empty data directory whose office does not
	// know yet whether it ran before, or runs elsewhere, leads a group of
	// itself: it answers for no member of the office, and takes no name
	// out of the node directory (firststart.go). `yizhan members` asks
	// the next node it lists.
	if err := o.firstStartUnavailable("answers for no member of its office"); err != nil {
		return nil, err
	}
	g := o.cfg.Group
	if !g.IsLeader() {
		var resp *peerv1.MembersResponse
		err := o.fwd.Send(ctx, o.routes.LeaderTargets(), func(ctx context.Context, conn *grpc.ClientConn) error {
			var err error
			resp, err = peerv1.NewPeerClient(conn).Members(ctx, req)
			return err
		})
		return resp, err
	}
	if name := req.GetRemove(); name != "" {
		// The leader may take itself out: it steps down once the office's
		// new membership is committed, and another node leads. It tells
		// the directory first (directory.go): out of the group, it no
		// longer reaches the office's new leader to record it. Should the
		// removal fail, its announcements put it back.
		self := name == o.cfg.Node
		if self {
			if err := o.announceRemoval(ctx, name); err != nil {
				o.log.Warn("taking this node out of the office: the node directory still lists it", "node", name, "err", err)
			}
		}
		if err := g.RemoveMember(name); err != nil {
			if errors.Is(err, raftgroup.ErrNotMember) {
				return nil, status.Error(codes.NotFound, err.Error())
			}
			if errors.Is(err, raftgroup.ErrLastVoter) {
				return nil, status.Error(codes.FailedPrecondition, err.Error())
			}
			return nil, status.Error(codes.Unavailable, err.Error())
		}
		// The directory too (directory.go): taken out, it is no
		// office's to send to. Its raft membership is what counts: a
		// failure here is told in the log, and the answer stands.
		if !self {
			if err := o.announceRemoval(ctx, name); err != nil {
				o.log.Warn("took the node out of the office; the node directory still lists it", "node", name, "err", err)
			}
		}
	}
	servers, err := g.Members()
	if err != nil {
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	resp := &peerv1.MembersResponse{Leader: leaderAmong(g, servers)}
	for _, m := range servers {
		resp.Members = append(resp.Members, &peerv1.Member{Node: string(m.ID), RaftAddress: string(m.Address), Voter: m.Suffrage == raft.Voter})
	}
	return resp, nil
}

// leaderAmong is the office's leader as g knows it, if it is one of
// servers: a leader that took itself out (it steps down once the change
// is committed, and hears of no other) is not named; "" while none is.
func leaderAmong(g *raftgroup.Group, servers []raft.Server) string {
	_, id := g.Leader()
	if !slices.ContainsFunc(servers, func(s raft.Server) bool { return string(s.ID) == id }) {
		return ""
	}
	return id
}

// Feed streams the registry to an office below. A county node serves it
// only once its office has committed the registry index it holds, as far
// as it has heard (raft's commit index): an office below follows the
// county's index and takes nothing at or below its own, so a node holding
// an index its office never committed — one restored later than the
// others from the same backup, at a higher index (raftgroup.RestoredIndex),
// until it takes its leader's snapshot — would leave it above the
// county's for good.
func (s *PeerServer) Feed(req *peerv1.FeedRequest, stream grpc.ServerStreamingServer[peerv1.FeedMessage]) error {
	if s.o.IsCounty() {
		if held, committed := s.o.reg.Index(), s.o.cfg.Group.CommitIndex(); committed < held {
			return status.Errorf(codes.Unavailable, "node %s has not yet heard its office commit the registry it holds (index %d, committed %d): ask another of its nodes",
				s.o.cfg.Node, held, committed)
		}
	}
	return s.o.feed.Serve(req, stream)
}

// AnnounceNode records a node in the directory. The statement is signed
// by the node, so it is checked here whoever forwarded it, and again at
// the county.
func (s *PeerServer) AnnounceNode(ctx context.Context, req *peerv1.AnnounceNodeRequest) (*peerv1.AnnounceNodeResponse, error) {
	if err := s.o.verifyAnnouncement(req, time.Now()); err != nil {
		return nil, status.Error(codes.PermissionDenied, err.Error())
	}
	return s.o.recordNode(ctx, req)
}

// announcement returns this node's directory entry, signed.
func (o *Office) announcement(now time.Time) (*peerv1.AnnounceNodeRequest, error) {
	return o.signedAnnouncement(&yizhanv1.NodeEntry{
		Name: o.cfg.Node, OfficeCode: o.cfg.Office,
		RaftAddress: o.cfg.RaftAddr, PeerAddress: o.cfg.PeerAddr, HttpAddress: o.cfg.HTTPAddr,
	}, now)
}

// signedAnnouncement is entry, stated at now and signed by this node.
func (o *Office) signedAnnouncement(entry *yizhanv1.NodeEntry, now time.Time) (*peerv1.AnnounceNodeRequest, error) {
	req := &peerv1.AnnounceNodeRequest{Node: entry, AtUnixNano: now.UnixNano()}
	msg, err := announcementBytes(req)
	if err != nil {
		return nil, err
	}
	req.Signature, req.CertChain, err = o.cfg.Issuer.SignChain(msg)
	if err != nil {
		return nil, err
	}
	return req, nil
}

func announcementBytes(req *peerv1.AnnounceNodeRequest) ([]byte, error) {
	signed := &peerv1.AnnounceNodeRequest{Node: req.GetNode(), AtUnixNano: req.GetAtUnixNano()}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(signed)
	if err != nil {
		return nil, fmt.Errorf("federation: encode announcement: %w", err)
	}
	return append([]byte("yizhan-announce-v1:"), b...), nil
}

// verifyAnnouncement checks the signature, the certificate and that the
// certificate names the announced office (and node, if it names one).
func (o *Office) verifyAnnouncement(req *peerv1.AnnounceNodeRequest, now time.Time) error {
	id, leaf, err := o.cfg.Bundle.VerifyChain(req.GetCertChain())
	if err != nil {
		return fmt.Errorf("announcement certificate: %w", err)
	}
	msg, err := announcementBytes(req)
	if err != nil {
		return err
	}
	if err := auth.VerifySignature(leaf, msg, req.GetSignature()); err != nil {
		return fmt.Errorf("announcement signature: %w", err)
	}
	n := req.GetNode()
	if id.Office != n.GetOfficeCode() {
		return fmt.Errorf("certificate names office %s, announcement claims %s", id.Office, n.GetOfficeCode())
	}
	// A node announces itself; any node of its office may announce it
	// taken out (the leader that removed it: directory.go).
	if id.Node != "" && id.Node != n.GetName() && !n.GetRemoved() {
		return fmt.Errorf("certificate names node %s, announcement claims %s", id.Node, n.GetName())
	}
	at := time.Unix(0, req.GetAtUnixNano())
	if now.Sub(at) > announceMaxAge || at.Sub(now) > time.Minute {
		return fmt.Errorf("announcement made at %s is stale", at.UTC().Format(time.RFC3339))
	}
	return nil
}

// recordNode writes a verified announcement at the county, or forwards it there.
func (o *Office) recordNode(ctx context.Context, req *peerv1.AnnounceNodeRequest) (*peerv1.AnnounceNodeResponse, error) {
	cmd := &peerv1.RegistryCommand{
		AtUnixNano: o.cfg.Now().UnixNano(),
		Actor:      "node:" + req.GetNode().GetName(),
		Op:         &peerv1.RegistryCommand_PutNode{PutNode: &peerv1.PutNode{Node: req.GetNode()}},
	}
	_, index, err := o.ProposeRegistry(ctx, cmd)
	if errors.Is(err, ErrNotCounty) || errors.Is(err, raftgroup.ErrNotLeader) {
		var resp *peerv1.AnnounceNodeResponse
		ferr := o.ForwardRegistry(ctx, func(ctx context.Context, conn *grpc.ClientConn) error {
			var err error
			resp, err = peerv1.NewPeerClient(conn).AnnounceNode(ctx, req)
			return err
		})
		return resp, ferr
	}
	if err != nil {
		if errors.Is(err, registry.ErrInvalidArgument) {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		return nil, status.Error(codes.Unavailable, err.Error())
	}
	return &peerv1.AnnounceNodeResponse{RegistryIndex: index}, nil
}

// announceLoop makes sure the directory knows where this node serves:
// often until it does, then now and then. A node announces itself only
// once it is a member of its office's raft group as the office has it
// (inOffice; and, before each announcement, countedByLeader) and its
// office knows whether it ran before: the entries the
// directory holds of an office started on an empty data directory are the
// signs of an earlier life of it (firststart.go), which neither a node
// still asking to join nor a node started with neither --bootstrap nor
// --join must leave. No one needs an entry sooner: a leader adds a joiner
// at the raft address its join names.
func (o *Office) announceLoop(ctx context.Context) {
	wait := 500 * time.Millisecond
	for {
		if o.firstStartPending() || !o.inOffice() {
			wait = 200 * time.Millisecond
		} else if !o.directoryCurrent() {
			err := o.countedByLeader(ctx)
			if err == nil {
				err = o.announceOnce(ctx)
			}
			if err != nil {
				o.log.Debug("announce node", "err", err)
				wait = min(2*wait, 10*time.Second)
			} else {
				wait = 500 * time.Millisecond
			}
		} else {
			wait = 30 * time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

func (o *Office) directoryCurrent() bool {
	if o.removedHere() {
		return true // taken out of its office: it does not put itself back
	}
	for _, n := range o.reg.Nodes(o.cfg.Office) {
		if n.GetName() == o.cfg.Node {
			return n.GetPeerAddress() == o.cfg.PeerAddr && n.GetRaftAddress() == o.cfg.RaftAddr &&
				n.GetHttpAddress() == o.cfg.HTTPAddr
		}
	}
	return false
}

func (o *Office) announceOnce(ctx context.Context) error {
	// A statement's time is checked against the machine's clock where it
	// is verified (verifyAnnouncement): the machine's, not the office's.
	req, err := o.announcement(time.Now())
	if err != nil {
		return err
	}
	return o.record(ctx, req)
}

// record records a signed announcement at the county, within 10 s.
func (o *Office) record(ctx context.Context, req *peerv1.AnnounceNodeRequest) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := o.recordNode(ctx, req)
	return err
}

// joinLoop asks the nodes named by --join to add this node to the office,
// until one has or this node is found in the office's configuration. A
// failure is kept for /readyz (JoinError) and logged at warn the first
// time its cause is seen: a --join naming the raft port or a node that
// refuses the join leaves the node out of its office for good.
func (o *Office) joinLoop(ctx context.Context) {
	if len(o.cfg.Join) == 0 {
		return
	}
	wait := 200 * time.Millisecond
	lastCause, start := "", time.Now()
	for ctx.Err() == nil {
		if o.isMember() {
			o.joinErr.Store(nil)
			return
		}
		// Each address in turn, each one's failure kept: the operator reads
		// which of them refused, and why, not only the last.
		var err error
		var failures []string
		// A follower names its leader, or the nodes it joined through
		// (joinAtLeader): asked next, in the same round.
		targets, asked := o.routes.JoinTargets(), map[string]bool{}
		for i := 0; i < len(targets); i++ {
			t := targets[i]
			if asked[t.Addr] {
				continue
			}
			asked[t.Addr] = true
			var answer error // the node's own, without the forwarder's words around it
			err = o.fwd.Send(ctx, []forward.Target{t}, func(ctx context.Context, conn *grpc.ClientConn) error {
				ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
				defer cancel()
				_, answer = peerv1.NewPeerClient(conn).Join(ctx, &peerv1.JoinRequest{
					OfficeCode: o.cfg.Office, Node: o.cfg.Node, RaftAddress: o.cfg.RaftAddr,
				})
				return answer
			})
			if err == nil {
				break
			}
			if answer == nil {
				answer = err // no connection: the forwarder's
			}
			for _, a := range joinLeaderAddrs(answer) {
				if a != "" && a != o.routes.PeerAddr {
					targets = append(targets, forward.Target{Addr: a, Office: o.cfg.Office})
				}
			}
			failures = append(failures, t.Addr+": "+status.Convert(answer).Message())
		}
		if err == nil && len(o.routes.JoinTargets()) == 0 {
			err = errors.New("no address to ask")
		}
		if err == nil {
			o.joinErr.Store(nil)
			o.log.Info("joined office raft group")
			return
		}
		// Each new cause once at warn, past joinWarnAfter (an office's
		// nodes started at once ask each other before one is a member,
		// and settle within seconds); the same again, or before, at debug.
		if cause := status.Code(err).String() + " " + reason.StatusReason(err); cause != lastCause && time.Since(start) >= joinWarnAfter {
			o.log.Warn("join office raft group failed: retrying", "join", o.cfg.Join, "err", err, "each", failures)
			lastCause = cause
		} else {
			o.log.Debug("join office raft group failed", "join", o.cfg.Join, "err", err)
		}
		why := fmt.Sprintf("asking %s (--join) to add this node failed: %s", strings.Join(o.cfg.Join, ", "), strings.Join(failures, "; "))
		if len(failures) == 0 {
			why = fmt.Sprintf("asking %s (--join) to add this node failed: %v", strings.Join(o.cfg.Join, ", "), err)
		}
		o.joinErr.Store(&why)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// joinWarnAfter is how long a join may fail before its failures are
// logged at warn.
const joinWarnAfter = 10 * time.Second

// JoinError says why this node's last request to be added to its office
// (--join) failed, while it is not a member; "" before the first failure,
// once it is a member, and without --join.
func (o *Office) JoinError() string {
	if why := o.joinErr.Load(); why != nil {
		return *why
	}
	return ""
}

// isMember reports whether this node is in its office's raft configuration.
func (o *Office) isMember() bool {
	servers, err := o.cfg.Group.Members()
	if err != nil {
		return false
	}
	for _, s := range servers {
		if string(s.ID) == o.cfg.Node && string(s.Address) == o.cfg.RaftAddr {
			return true
		}
	}
	return false
}

// PushAttachment receives a part of a scanned file from the office below.
func (s *PeerServer) PushAttachment(ctx context.Context, p *peerv1.PutAttachmentPart) (*peerv1.AttachmentProgress, error) {
	if err := s.o.firstStartUnavailable("takes no part of a scanned file"); err != nil {
		return nil, err
	}
	return s.o.mail.ReceiveAttachment(ctx, p)
}

// DeliverCases receives cases from a neighbouring office.
func (s *PeerServer) DeliverCases(ctx context.Context, req *peerv1.DeliverCasesRequest) (*peerv1.DeliverCasesResponse, error) {
	if err := s.o.firstStartUnavailable("takes no case messages"); err != nil {
		return nil, err
	}
	return s.o.mail.Receive(ctx, req)
}
