package feed

import (
	"context"
	"errors"
	"fmt"
	"time"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
)

// ErrUnknownKind is a feed message, or a registry entry it carries, of a
// kind this release does not know: the office above runs a later
// release that added it (a registry command, a kind of feed message).
// The feed applies what comes before it and stops there, asking again
// every unknownKindRetry from the entry it stopped at, until this node
// runs a release that knows it: applied, it would be skipped or taken
// for something else, and the registry would differ from the county's
// (federation/DESIGN.md, "Mixed releases").
var ErrUnknownKind = errors.New("federation: the registry feed holds a kind this release does not know")

// unknownKindRetry is how long the feed waits before asking again from
// an entry of a kind it does not know. A variable for the tests.
var unknownKindRetry = 30 * time.Second

// applyKnown applies, of a feed batch holding an entry of a kind this
// release does not know, the entries before it, and returns
// ErrUnknownKind naming the entry; a feed message of an unknown kind,
// or a snapshot whose changelog holds such an entry, is refused whole.
// It returns nil, applying nothing, for a message this release knows.
func (f *Feed) applyKnown(ctx context.Context, msg *peerv1.FeedMessage) error {
	why := raftgroup.UnknownKind(msg, false)
	if why == "" {
		return nil
	}
	if b := msg.GetBatch(); b != nil {
		for i, e := range b.GetEntries() {
			if why := raftgroup.UnknownKind(e, false); why != "" {
				if i > 0 {
					if err := f.applyFeed(ctx, &peerv1.Command{Kind: &peerv1.Command_Replay{Replay: &peerv1.ReplayRegistry{
						Entries: b.GetEntries()[:i], UpstreamIndex: b.GetUpstreamIndex()}}}); err != nil {
						return err
					}
				}
				return fmt.Errorf("%w: registry entry %d: %s: this office runs an earlier release than the office above, and its registry stays at entry %d until this node is upgraded",
					ErrUnknownKind, e.GetIndex(), why, f.reg.Index())
			}
		}
	}
	return fmt.Errorf("%w: %s: this office runs an earlier release than the office above, and its registry stays at entry %d until this node is upgraded",
		ErrUnknownKind, why, f.reg.Index())
}
