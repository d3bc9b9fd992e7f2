package raftgroup

import (
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casework"
)

// Commands decoded ahead. Every write waits for the leader to write and
// sync its raft entry, and then for the state machine to apply it; the
// proposer's goroutine idles meanwhile. So the proposer (Group.Apply)
// does, during the sync, the part of the apply that depends on the
// entry's bytes alone: it decodes them into a command of its own, and
// checks the hashes of the events an Append carries. The state machine
// takes that command when it applies the same entry on this node, instead
// of decoding the bytes and hashing the events again.
//
// The state machine gets the result it would have got by itself: the
// command is decoded from the very bytes raft committed (hashicorp/raft
// hands the leader's state machine the Log it was given, data and all;
// an entry is matched by the address of its bytes, which the prepared
// entry holds, so no other entry's bytes can have it meanwhile), and the
// hash check is the one casework.Follows makes. Followers, a restart's
// replay, and an entry whose decoding is not finished when it is applied
// decode it as before. Measured: docs/BENCHMARKS.md (session 30).
type prepared struct {
	mu      sync.Mutex
	entries map[*byte]*preparedEntry
}

// preparedEntry is one proposal's bytes and, once decoded, its command.
type preparedEntry struct {
	data    []byte
	decoded atomic.Pointer[decodedCommand] // nil until decode has finished
}

type decodedCommand struct {
	cmd    *peerv1.Command
	hashed bool // an Append whose events' hashes are right
}

// add registers data, a command about to be proposed, and returns its
// entry: decode it once proposed, and drop it once the proposal is done.
func (p *prepared) add(data []byte) *preparedEntry {
	e := &preparedEntry{data: data}
	if len(data) == 0 {
		return e // no address to match it by; never applied ahead
	}
	p.mu.Lock()
	if p.entries == nil {
		p.entries = map[*byte]*preparedEntry{}
	}
	p.entries[&data[0]] = e
	p.mu.Unlock()
	return e
}

// drop forgets e, whether or not the state machine took it.
func (p *prepared) drop(e *preparedEntry) {
	if len(e.data) == 0 {
		return
	}
	p.mu.Lock()
	if p.entries[&e.data[0]] == e {
		delete(p.entries, &e.data[0])
	}
	p.mu.Unlock()
}

// take returns the command decoded ahead from data, the bytes of an entry
// the state machine is applying, and forgets it; nil when there is none,
// or its decoding has not finished.
func (p *prepared) take(data []byte) *decodedCommand {
	if len(data) == 0 {
		return nil
	}
	p.mu.Lock()
	e, ok := p.entries[&data[0]]
	if ok && len(e.data) == len(data) {
		delete(p.entries, &data[0])
	}
	p.mu.Unlock()
	if !ok || len(e.data) != len(data) {
		return nil
	}
	return e.decoded.Load()
}

// decode decodes the entry's command and checks its events' hashes. A
// command that does not decode is left to the state machine, which
// reports it.
func (e *preparedEntry) decode() {
	cmd := &peerv1.Command{}
	if err := proto.Unmarshal(e.data, cmd); err != nil {
		return
	}
	d := &decodedCommand{cmd: cmd}
	if ap := cmd.GetCases().GetAppend(); ap != nil {
		d.hashed = casework.HashesMatch(ap.GetEvents())
	}
	e.decoded.Store(d)
}
