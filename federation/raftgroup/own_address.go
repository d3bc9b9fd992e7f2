package raftgroup

import (
	"context"
	"time"

	"github.com/hashicorp/raft"
)

// A node's entry in its office's raft configuration names the address
// the office's other nodes dial it at. A one-voter group elects itself
// whatever its entry says, so an entry that names another address goes
// unseen until the office grows and another node leads: a one-node
// office restored on a new machine (the backup's configuration names the
// old machine), or a node bootstrapped by a release that wrote its
// address resolved to an IP where it now advertises a name. The node is
// then never reached again. So a leader keeps its own entry at the raft
// address it advertises now (the transport's), changing it through the
// log as a join does (AddVoter of a known ID changes its address).

// ownAddressEvery is how often KeepOwnAddress looks at the leader's own
// entry: a read of the configuration raft holds in memory.
const ownAddressEvery = 500 * time.Millisecond

// KeepOwnAddress, whenever this node leads, puts it in its office's
// configuration at the raft address it advertises, until ctx ends.
func (g *Group) KeepOwnAddress(ctx context.Context) {
	t := time.NewTicker(ownAddressEvery)
	defer t.Stop()
	lastErr := ""
	for {
		if g.IsLeader() {
			if err := g.keepOwnAddress(); err != nil && err.Error() != lastErr {
				g.log.Warn("could not put this node in its office's raft configuration at its advertised raft address", "err", err)
				lastErr = err.Error()
			} else if err == nil {
				lastErr = ""
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// keepOwnAddress changes the leader's own entry to the transport's
// address when it names another.
func (g *Group) keepOwnAddress() error {
	servers, err := g.Members()
	if err != nil {
		return err
	}
	addr := g.transport.LocalAddr()
	for _, s := range servers {
		if string(s.ID) != g.cfg.NodeID || s.Address == addr || s.Suffrage != raft.Voter {
			continue
		}
		if err := g.raft.AddVoter(s.ID, addr, 0, 10*time.Second).Error(); err != nil {
			return err
		}
		g.log.Info("this node is now in its office's raft configuration at the raft address it advertises", "raft_address", addr, "was", s.Address)
	}
	return nil
}
