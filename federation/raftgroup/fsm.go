package raftgroup

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/registry"
)

// snapshotVersion is the first byte of an office snapshot: 2 is an
// OfficeSnapshot (registry, case book and the requests remembered).
const snapshotVersion byte = 2

// ApplyResult is what applying one command gave: the stored entity or the
// error that left the state unchanged. Both travel back to the proposer
// through raft's ApplyFuture.
type ApplyResult struct {
	Index uint64        // the raft index of the command
	Value proto.Message // e.g. the stored *yizhanv1.Item
	Err   error
}

// FSM is an office's raft state machine. It is thin: it decodes the
// command envelope and hands it to the registry's or the case book's
// applier, once per client request ID (requests.go). It reads no clock
// and no randomness; what a command needs, the proposer fixed.
type FSM struct {
	reg      *registry.Registry
	cases    *casework.Book
	requests *requestLog // the answers to clients' writes, by request ID

	mu            sync.Mutex    // guards the fields below
	regChanged    chan struct{} // closed and replaced after every change of the registry
	casesChanged  chan struct{} // closed and replaced after every case command
	upstreamIndex uint64        // newest index the upstream office reported through replays and registry snapshots
}

// NewFSM returns the state machine of an office over reg and cases.
func NewFSM(reg *registry.Registry, cases *casework.Book) *FSM {
	return &FSM{reg: reg, cases: cases, requests: newRequestLog(), regChanged: make(chan struct{}), casesChanged: make(chan struct{})}
}

// Registry is the registry this FSM applies to.
func (f *FSM) Registry() *registry.Registry { return f.reg }

// Answered looks up a client's write in the office's memory of requests:
// the answer and raft index of its first application and ok when it was
// applied, or ErrRequestConflict when its ID was used for another request.
func (f *FSM) Answered(r Request) (proto.Message, uint64, bool, error) { return f.requests.answered(r) }

// Cases is the office's case book.
func (f *FSM) Cases() *casework.Book { return f.cases }

// RegistryChanged returns a channel that is closed at the next change of
// the registry: a registry command, a replay or a registry snapshot
// applied, or a snapshot of the office restored. Case commands do not
// close it.
func (f *FSM) RegistryChanged() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.regChanged
}

// CasesChanged returns a channel that is closed at the next case command
// applied (whether or not it changed the case book) or snapshot of the
// office restored. Registry changes do not close it.
func (f *FSM) CasesChanged() <-chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.casesChanged
}

// UpstreamIndex is the newest registry index the upstream office had when
// it sent the last replay applied here.
func (f *FSM) UpstreamIndex() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return max(f.upstreamIndex, f.reg.Index())
}

// notify wakes the waiters on the registry (reg) and on the case book
// (cases), and keeps upstream, the upstream office's index that a replay
// or snapshot came with, when it is newer.
func (f *FSM) notify(reg, cases bool, upstream uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if upstream > f.upstreamIndex {
		f.upstreamIndex = upstream
	}
	if reg {
		close(f.regChanged)
		f.regChanged = make(chan struct{})
	}
	if cases {
		close(f.casesChanged)
		f.casesChanged = make(chan struct{})
	}
}

// Apply applies one committed raft log entry.
func (f *FSM) Apply(l *raft.Log) any {
	var cmd peerv1.Command
	if err := proto.Unmarshal(l.Data, &cmd); err != nil {
		// A command this binary cannot read must not be skipped silently:
		// every node of the office would skip it alike, but the proposer
		// must hear of it.
		return &ApplyResult{Index: l.Index, Err: fmt.Errorf("federation: decode command at index %d: %w", l.Index, err)}
	}
	res := &ApplyResult{Index: l.Index}
	switch k := cmd.Kind.(type) {
	case *peerv1.Command_Registry:
		res.Value, res.Index, res.Err = f.requests.once(requestOf(k.Registry), l.Index, k.Registry.GetAtUnixNano(), func() (proto.Message, error) {
			return f.reg.Apply(l.Index, k.Registry)
		})
		if res.Err == nil {
			f.notify(true, false, 0)
		}
	case *peerv1.Command_Replay:
		for _, e := range k.Replay.GetEntries() {
			if err := f.reg.Replay(e); err != nil {
				res.Err = fmt.Errorf("federation: replay registry entry %d: %w", e.GetIndex(), err)
				break
			}
		}
		f.notify(true, false, k.Replay.GetUpstreamIndex())
	case *peerv1.Command_InstallSnapshot:
		if k.InstallSnapshot.GetSnapshot().GetIndex() < f.reg.Index() {
			// From a source behind this office (a fallback that lags):
			// installing it would take the registry back.
			break
		}
		if err := f.reg.Restore(k.InstallSnapshot.GetSnapshot()); err != nil {
			res.Err = fmt.Errorf("federation: install registry snapshot: %w", err)
			break
		}
		f.notify(true, false, k.InstallSnapshot.GetSnapshot().GetIndex())
	case *peerv1.Command_Cases:
		res.Value, res.Index, res.Err = f.requests.once(requestOf(k.Cases), l.Index, k.Cases.GetAtUnixNano(), func() (proto.Message, error) {
			return f.cases.Apply(k.Cases, f.reg)
		})
		f.notify(false, true, 0)
	default:
		res.Err = fmt.Errorf("federation: unknown command at index %d", l.Index)
	}
	return res
}

// Snapshot captures the registry, the case book and the requests
// remembered; the copy is written out by Persist while Apply goes on.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{snap: &peerv1.OfficeSnapshot{Registry: f.reg.Snapshot(), Cases: f.cases.Snapshot(), Requests: f.requests.snapshot()}}, nil
}

// Restore replaces the state with a snapshot written by Persist.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("federation: read snapshot: %w", err)
	}
	if len(data) == 0 || data[0] != snapshotVersion {
		return errors.New("federation: unknown snapshot version")
	}
	var s peerv1.OfficeSnapshot
	if err := proto.Unmarshal(data[1:], &s); err != nil {
		return fmt.Errorf("federation: decode snapshot: %w", err)
	}
	if err := f.reg.Restore(s.GetRegistry()); err != nil {
		return fmt.Errorf("federation: restore registry snapshot: %w", err)
	}
	if err := f.cases.Restore(s.GetCases()); err != nil {
		return fmt.Errorf("federation: restore case book snapshot: %w", err)
	}
	f.requests.restore(s.GetRequests())
	f.notify(true, true, s.GetRegistry().GetIndex())
	return nil
}

type fsmSnapshot struct{ snap *peerv1.OfficeSnapshot }

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(s.snap)
	if err == nil {
		_, err = sink.Write(append([]byte{snapshotVersion}, data...))
	}
	if err != nil {
		sink.Cancel()
		return fmt.Errorf("federation: persist snapshot: %w", err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}
