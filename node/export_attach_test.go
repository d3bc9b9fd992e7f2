package node

import "context"

// SweepAttachmentsForTest runs n's sweep of the scans no case named a
// day after they came (office.Service.SweepAttachments), as its leader's
// upkeep does every minute.
func SweepAttachmentsForTest(ctx context.Context, n *Node) (int, error) {
	return n.svc.SweepAttachments(ctx)
}
