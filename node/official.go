package node

import (
	"context"
	"errors"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// ensureOfficialCalendars puts this release's official calendars (the
// State Council's holidays compiled in: registry.OfficialData) in force
// in the county's registry when they reach a later year than those in
// force (registry.OfficialNewer: a release that brings the next year's
// holidays; a county node of an older release, leading meanwhile, never
// takes the data back, and a release that only mends a past year leaves
// that year to the county's own calendar). Every
// office then judges its cases again at that command's point of its log
// (as after a calendar write), never by what its own binary holds. Only
// the county's leader proposes, once it has applied what its
// predecessors committed; a proposal of data in force already (a leader
// change in between) is refused by the registry and changes nothing.
func (n *Node) ensureOfficialCalendars(ctx context.Context) error {
	reg := n.office.Registry()
	data := registry.OfficialData()
	if !registry.OfficialNewer(data, reg.OfficialInForce()) {
		return nil // the same, or a later release's in force: never back
	}
	// Only the leader, once it has applied all its predecessors committed:
	// the data in force read above is then the office's, and a put
	// already committed is not proposed again.
	if !n.office.LeaderReady() {
		return nil
	}
	_, _, err := n.office.ProposeRegistry(ctx, &peerv1.RegistryCommand{AtUnixNano: n.now().UnixNano(), Actor: "node:" + n.cfg.Name,
		Op: &peerv1.RegistryCommand_PutOfficialCalendars{PutOfficialCalendars: &peerv1.PutOfficialCalendars{Data: data}}})
	if err != nil && !errors.Is(err, registry.ErrAlreadyExists) {
		return err
	}
	if err == nil {
		n.log.Info("put this release's official calendars in force: every office judges its cases again by them")
	}
	return nil
}
