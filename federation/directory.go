package federation

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
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

// removedHere reports whether the directory lists this node as taken out
// of its office while it is not a member: it does not announce itself
// back (a node still running after its office took it out), until it
// joins again.
func (o *Office) removedHere() bool {
	entry, ok := o.reg.Node(o.cfg.Node)
	return ok && entry.GetRemoved() && !o.hasMember(o.cfg.Node)
}
