package federation

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
)

// A node taken out of its office (`yizhan members --remove`: its machine
// gone for good, replaced by one of another name, or the office scaled
// down) leaves the node directory too: the leader that took it out
// announces its entry removed (NodeEntry.removed), signed with its own
// certificate of the office, and the county records it. The directory's
// listings leave it out, so the federation page no longer shows the office
// with a node offline for ever, and no office sends it mail or reads.
// A node that joins its office again announces itself again.

// announceRemoval records in the directory that node name is no longer a
// member of this office. Nothing to do when the directory does not list
// it.
func (o *Office) announceRemoval(ctx context.Context, name string) error {
	entry, ok := o.reg.Node(name)
	if !ok || entry.GetRemoved() || entry.GetOfficeCode() != o.cfg.Office {
		return nil
	}
	gone := proto.CloneOf(entry)
	gone.Removed, gone.UpdatedAt, gone.RegistryIndex = true, nil, 0
	req, err := o.signedAnnouncement(gone, time.Now()) // as announceOnce
	if err != nil {
		return err
	}
	if err := o.record(ctx, req); err != nil {
		return fmt.Errorf("federation: record node %s as taken out of office %s: %w", name, o.cfg.Office, err)
	}
	return nil
}

// inOffice reports whether this node may be a member of its office's
// raft group as the office has it now: its configuration names it, and
// it leads the office or hears from a leader. A node taken out while it
// was down or cut off keeps a configuration that still names it, and the
// registry it had, which does not say it was taken out; no member votes
// for it (raft refuses the votes of a node out of its configuration),
// but the leader that took it out may still reach it for a while (its
// last replication to it). So a node asks the leader too before it
// announces itself (countedByLeader).
func (o *Office) inOffice() bool {
	if !o.hasMember(o.cfg.Node) {
		return false
	}
	if o.cfg.Group.IsLeader() {
		return true
	}
	_, leader := o.cfg.Group.Leader()
	return leader != ""
}

// countedByLeader asks the office's leader (Peer.Members) whether its
// raft configuration counts this node: nil when it does, or this node
// leads. A node taken out of its office is not counted, whatever its own
// configuration says: put back in the directory by its own announcement,
// it was listed to the offices that send the office mail, which tried it
// first, until the leader's tidyDirectory took it out again 10 s later,
// and again.
func (o *Office) countedByLeader(ctx context.Context) error {
	if o.cfg.Group.IsLeader() {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var resp *peerv1.MembersResponse
	err := o.fwd.Send(ctx, o.routes.LeaderTargets(), func(ctx context.Context, conn *grpc.ClientConn) error {
		var err error
		resp, err = peerv1.NewPeerClient(conn).Members(ctx, &peerv1.MembersRequest{OfficeCode: o.cfg.Office})
		return err
	})
	if err != nil {
		return fmt.Errorf("federation: ask the leader of office %s whether it counts node %s: %w", o.cfg.Office, o.cfg.Node, err)
	}
	if !slices.ContainsFunc(resp.GetMembers(), func(m *peerv1.Member) bool { return m.GetNode() == o.cfg.Node }) {
		return fmt.Errorf("federation: the leader %s of office %s does not count node %s a member (taken out of it)", resp.GetLeader(), o.cfg.Office, o.cfg.Node)
	}
	return nil
}

// removedHere reports whether the directory lists this node as taken out
// of its office while it is not a member: it does not announce itself
// back (a node still running after its office took it out), until it
// joins again.
func (o *Office) removedHere() bool {
	entry, ok := o.reg.Node(o.cfg.Node)
	return ok && entry.GetRemoved() && !o.hasMember(o.cfg.Node)
}

// A name the directory lists for this office that is no member of its
// raft group — the old machines of an office restored under new names
// (`restore --members`), or a node taken out by an older release that
// did not tell the directory — would stay listed for ever, offline, and
// other offices would keep sending it mail. The leader takes such an
// entry out once it has seen it a non-member for nonMemberGrace: a node
// announces itself once it is a member (announceLoop), but this leader
// may learn of the new entry before it applies the membership that
// allowed it (a node of an older release announces itself before its
// --join is granted), and leaves it that long. A node taken out too
// early announces itself again while it is a member (removedHere); one
// taken out for good does not (inOffice, countedByLeader).
// An office that does not know whether it ran before, or that was found
// bootstrapped beside its running office (firststart.go), takes no entry
// out: its first-start mark stays until it is answered.
const nonMemberGrace = 10 * time.Second

// tidyDirectoryEvery is how often the leader looks.
const tidyDirectoryEvery = 2 * time.Second

// tidyDirectoryLoop runs tidyDirectory on the leader until ctx ends.
func (o *Office) tidyDirectoryLoop(ctx context.Context) {
	t := time.NewTicker(tidyDirectoryEvery)
	defer t.Stop()
	seen := &nonMembers{since: map[string]time.Time{}, warned: map[string]bool{}}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !o.LeaderReady() || o.firstStartPending() {
			// An office that does not know whether it ran before reads
			// the entries as signs of that (firststart.go), and may run
			// beside its office's nodes: it takes none out.
			clear(seen.since)
			clear(seen.warned)
			continue
		}
		o.tidyDirectory(ctx, seen, time.Now())
	}
}

// nonMembers are the entries of this office that this leader has seen
// no members of its raft group: since when, and whether a failure to
// take one out was logged at warn.
type nonMembers struct {
	since  map[string]time.Time
	warned map[string]bool
}

// tidyDirectory announces taken out each entry of this office seen a
// non-member of its raft group for nonMemberGrace; t forgets the names
// that are members or gone.
func (o *Office) tidyDirectory(ctx context.Context, t *nonMembers, now time.Time) {
	servers, err := o.cfg.Group.Members()
	if err != nil {
		return
	}
	listed := map[string]bool{}
	for _, e := range o.reg.Nodes(o.cfg.Office) {
		name := e.GetName()
		if slices.ContainsFunc(servers, func(s raft.Server) bool { return string(s.ID) == name }) {
			continue
		}
		listed[name] = true
		since, ok := t.since[name]
		if !ok {
			t.since[name] = now
			continue
		}
		if now.Sub(since) < nonMemberGrace {
			continue
		}
		if err := o.announceRemoval(ctx, name); err != nil {
			// Tried again every 2 s (the county out of reach for days):
			// at warn the first time for the name only.
			log := o.log.Debug
			if !t.warned[name] {
				log, t.warned[name] = o.log.Warn, true
			}
			log("the node directory lists a node that is no member of this office: taking it out failed, retrying", "node", name, "err", err)
			continue
		}
		o.log.Info("took out of the node directory a node that is no member of this office's raft group", "node", name)
	}
	for name := range t.since {
		if !listed[name] {
			delete(t.since, name)
			delete(t.warned, name)
		}
	}
}
