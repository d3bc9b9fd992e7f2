package office

import (
	"context"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/federation"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
)

// RegistryWrite is a change of the registry, authored at the county.
type RegistryWrite struct {
	Request raftgroup.Request // the client's, for exactly-once
	// Build makes the command. It is called only when the command will be
	// proposed (not for a write applied already): building may be costly
	// (a password's hash) and may check the registry as it is now.
	Build func() (*peerv1.RegistryCommand, error)
}

// Written is what a registry write gave.
type Written struct {
	Value    proto.Message // the stored entity, e.g. the *yizhanv1.Item
	Index    uint64        // the registry index it was applied at
	Replayed bool          // the county had applied it already: this is its answer then
}

// WriteRegistry applies a registry write at the county's leader (see
// Leading; below the county federation.ErrNotCounty: the caller sends it
// up). A write under a request ID the county has applied answers as it
// did then.
func (s *Service) WriteRegistry(ctx context.Context, w RegistryWrite) (Written, error) {
	if !s.fed.IsCounty() {
		return Written{}, federation.ErrNotCounty
	}
	if err := s.Leading(); err != nil {
		return Written{}, err
	}
	if v, index, ok, err := s.fed.Answered(w.Request); err != nil || ok {
		return Written{Value: v, Index: index, Replayed: ok}, err
	}
	cmd, err := w.Build()
	if err == nil {
		cmd = proto.CloneOf(cmd)
		cmd.RequestId, cmd.RequestHash = w.Request.ID, w.Request.Hash
	}
	var v proto.Message
	var index uint64
	var replayed bool
	if err == nil {
		// A retry racing its first attempt into the log, both past the
		// registry's checks, is answered by the state machine with the
		// first's answer: replayed.
		v, index, replayed, err = s.fed.ProposeRegistryOnce(ctx, cmd)
	}
	if err != nil {
		// A retry racing its first attempt is refused by the registry as
		// it is now ("already exists"): once the first is applied, it
		// answers what the first did.
		if v, index, ok, aerr := s.fed.Answered(w.Request); aerr == nil && ok {
			return Written{Value: v, Index: index, Replayed: true}, nil
		}
		return Written{}, err
	}
	return Written{Value: v, Index: index, Replayed: replayed}, nil
}
