package raftgroup

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casebook"
)

// An office's raft snapshot. The registry (and the request IDs of its
// writes) is small and in memory: every snapshot holds it. The case book
// is on disk, applied with its raft index, and can be large (a county
// holds every case of its townships and villages, for years): a snapshot
// taken here only notes that the book is live in this node's database,
// and the book's own stream (casebook.Book.Stream) is written when raft
// opens the snapshot to send it to a follower. So taking a snapshot costs
// the registry, not the book; a restart reads the registry part and
// nothing else; and a follower that is sent a snapshot gets the book as
// of the moment it was sent, not as of the snapshot's index: newer, which
// is safe because the book skips the log entries it already holds.
//
//	byte    version: 3 (2: a whole OfficeSnapshot, by the release that
//	        kept the book in memory; read at start to migrate)
//	uvarint the book's raft index when the snapshot was taken
//	uvarint length, OfficeSnapshot without cases: registry, requests
//	byte    'L': the book is live in this database
//	        'B': the book's stream follows (casebook)
const (
	snapshotVersion       byte = 3
	legacySnapshotVersion byte = 2
	bookLive              byte = 'L'
	bookStreamed          byte = 'B'
)

// maxSnapshotHead bounds the registry part of a snapshot read back.
const maxSnapshotHead = 512 << 20

// snapshotHead is a snapshot without its book.
type snapshotHead struct {
	version   byte
	bookIndex uint64
	office    *peerv1.OfficeSnapshot
	book      byte // bookLive or bookStreamed; 0 for a legacy snapshot
}

// readHead reads a snapshot's head from r; the book's stream, when there
// is one, is what r holds next.
func readHead(r *bufio.Reader) (*snapshotHead, error) {
	v, err := r.ReadByte()
	if err != nil {
		return nil, fmt.Errorf("federation: read snapshot: %w", err)
	}
	h := &snapshotHead{version: v, office: &peerv1.OfficeSnapshot{}}
	switch v {
	case legacySnapshotVersion:
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, fmt.Errorf("federation: read snapshot: %w", err)
		}
		if err := proto.Unmarshal(data, h.office); err != nil {
			return nil, fmt.Errorf("federation: decode snapshot: %w", err)
		}
		return h, nil
	case snapshotVersion:
	default:
		return nil, fmt.Errorf("federation: unknown snapshot version %d", v)
	}
	if h.bookIndex, err = binary.ReadUvarint(r); err != nil {
		return nil, fmt.Errorf("federation: read snapshot: %w", err)
	}
	n, err := binary.ReadUvarint(r)
	if err != nil || n > maxSnapshotHead {
		return nil, fmt.Errorf("federation: read snapshot: the registry part is unreadable (%v, %d bytes)", err, n)
	}
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("federation: read snapshot: %w", err)
	}
	if err := proto.Unmarshal(data, h.office); err != nil {
		return nil, fmt.Errorf("federation: decode snapshot: %w", err)
	}
	if h.book, err = r.ReadByte(); err != nil || (h.book != bookLive && h.book != bookStreamed) {
		return nil, fmt.Errorf("federation: read snapshot: no book marker (%v)", err)
	}
	return h, nil
}

// writeHead writes a snapshot's head with the given book marker.
func writeHead(w io.Writer, bookIndex uint64, office *peerv1.OfficeSnapshot, book byte) error {
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(office)
	if err != nil {
		return err
	}
	head := []byte{snapshotVersion}
	head = binary.AppendUvarint(head, bookIndex)
	head = binary.AppendUvarint(head, uint64(len(data)))
	head = append(head, data...)
	head = append(head, book)
	_, err = w.Write(head)
	return err
}

// Snapshot captures the registry and the request IDs of its writes; the
// book stays where it is (see above). Persist syncs the book first: the
// raft log before the snapshot may be dropped once it is written, and
// the book must not lose what it took from there.
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{
		f:         f,
		bookIndex: f.cases.Applied(),
		office:    &peerv1.OfficeSnapshot{Registry: f.reg.Snapshot(), Requests: f.requests.snapshot()},
	}, nil
}

type fsmSnapshot struct {
	f         *FSM
	bookIndex uint64
	office    *peerv1.OfficeSnapshot
}

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	err := s.f.cases.Sync()
	if err == nil {
		err = writeHead(sink, s.bookIndex, s.office, bookLive)
	}
	if err != nil {
		sink.Cancel()
		return fmt.Errorf("federation: persist snapshot: %w", err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}

// Restore replaces the state with a snapshot sent by the office's leader:
// the registry, and the book from its stream.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	f.applyMu.Lock()
	defer f.applyMu.Unlock()
	r := bufio.NewReaderSize(rc, 256<<10)
	h, err := readHead(r)
	if err != nil {
		return err
	}
	if h.version == legacySnapshotVersion || h.book != bookStreamed {
		return errors.New("federation: the snapshot does not carry the case book: it comes from a node of an older release (upgrade every node of an office together) or was not opened for sending")
	}
	if err := f.restoreHead(h); err != nil {
		return err
	}
	if err := f.cases.Restore(r); err != nil {
		return fmt.Errorf("federation: restore the case book: %w", err)
	}
	f.lastIndex, f.lastTerm = 0, 0 // raft sets them with the next entry
	f.notify(true, true, h.office.GetRegistry().GetIndex())
	return nil
}

// restoreHead puts the registry part of a snapshot in place.
func (f *FSM) restoreHead(h *snapshotHead) error {
	if err := f.reg.Restore(h.office.GetRegistry()); err != nil {
		return fmt.Errorf("federation: restore registry snapshot: %w", err)
	}
	f.requests.restore(h.office.GetRequests())
	return nil
}

// Recover brings the state machine to where this node's disk says, before
// raft starts (raft is told not to restore snapshots itself): the
// registry from the newest snapshot in snaps, and the book as it is in
// the database, restored from that snapshot when it carries a stream the
// book has not reached (a restore that stopped part-way), or imported
// from a snapshot of the release that kept the book in memory. Raft then
// replays the log after the snapshot.
func (f *FSM) Recover(snaps raft.SnapshotStore) error {
	list, err := snaps.List()
	if err != nil {
		return fmt.Errorf("federation: list snapshots: %w", err)
	}
	if len(list) == 0 {
		return nil
	}
	meta, rc, err := snaps.Open(list[0].ID)
	if err != nil {
		return fmt.Errorf("federation: open snapshot %s: %w", list[0].ID, err)
	}
	defer rc.Close()
	r := bufio.NewReaderSize(rc, 256<<10)
	h, err := readHead(r)
	if err != nil {
		return fmt.Errorf("federation: snapshot %s: %w", meta.ID, err)
	}
	if err := f.restoreHead(h); err != nil {
		return err
	}
	f.lastIndex, f.lastTerm = meta.Index, meta.Term
	book := f.cases
	switch {
	case h.version == legacySnapshotVersion:
		f.legacySnapshot = true
		// Its request IDs: the case writes' go to the book, the
		// registry writes' stay in memory, on every start (restoreHead
		// took them all).
		var caseRequests, regRequests []*peerv1.RequestRecord
		for _, rec := range h.office.GetRequests() {
			if casebook.IsCaseAnswer(rec) {
				caseRequests = append(caseRequests, rec)
			} else {
				regRequests = append(regRequests, rec)
			}
		}
		f.requests.restore(regRequests)
		if book.Applied() >= meta.Index {
			break // imported before
		}
		if err := book.Clear(); err != nil { // a part-way import
			return err
		}
		if err := book.ImportLegacy(h.office.GetCases(), caseRequests, meta.Index, f.reg); err != nil {
			return fmt.Errorf("federation: move the case book of snapshot %s to disk: %w", meta.ID, err)
		}
		f.legacySnapshot = true
	case h.book == bookStreamed && book.Applied() < h.bookIndex:
		if err := book.Restore(r); err != nil {
			return fmt.Errorf("federation: restore the case book of snapshot %s: %w", meta.ID, err)
		}
	case book.Applied() < h.bookIndex:
		return fmt.Errorf("federation: the case book on disk reached raft index %d, but snapshot %s was taken with it at %d: the data directory is damaged", book.Applied(), meta.ID, h.bookIndex)
	}
	f.notify(true, true, h.office.GetRegistry().GetIndex())
	return nil
}

// snapshotStore is raft's file snapshot store, with the book streamed
// into a snapshot when raft opens one taken here (to send it to a
// follower): see above.
type snapshotStore struct {
	*raft.FileSnapshotStore
	fsm *FSM
	dir string // for the streamed copies, removed once read
	// failures counts the snapshots that were not stored: see Create.
	failures atomic.Uint64
}

// Create starts a snapshot, one taken here or one the leader sends. One
// that cannot be started, is cancelled (its Persist failed, or the
// leader's stream broke off) or fails to close (a full disk, a failed
// sync) counts as a failure: raft only logs it, and meanwhile its log
// is not compacted and a follower far behind has nothing to take.
func (s *snapshotStore) Create(version raft.SnapshotVersion, index, term uint64, configuration raft.Configuration,
	configurationIndex uint64, trans raft.Transport) (raft.SnapshotSink, error) {
	sink, err := s.FileSnapshotStore.Create(version, index, term, configuration, configurationIndex, trans)
	if err != nil {
		s.failures.Add(1)
		return nil, err
	}
	return &countedSink{SnapshotSink: sink, failures: &s.failures}, nil
}

// countedSink counts its snapshot's failure once (raft cancels a sink
// whose Persist failed, which Persist cancelled already).
type countedSink struct {
	raft.SnapshotSink
	failures *atomic.Uint64
	failed   bool
}

func (c *countedSink) fail() {
	if !c.failed {
		c.failed = true
		c.failures.Add(1)
	}
}

func (c *countedSink) Cancel() error {
	c.fail()
	return c.SnapshotSink.Cancel()
}

func (c *countedSink) Close() error {
	err := c.SnapshotSink.Close()
	if err != nil {
		c.fail()
	}
	return err
}

// SnapshotFailures is how many snapshots this node failed to store since
// it started (snapshotStore.Create).
func (g *Group) SnapshotFailures() uint64 {
	if s, ok := g.snaps.(*snapshotStore); ok {
		return s.failures.Load()
	}
	return 0
}

// LastSnapshotIndex is the raft index of the newest snapshot this node
// took or was sent (0: none).
func (g *Group) LastSnapshotIndex() uint64 {
	i, _ := strconv.ParseUint(g.raft.Stats()["last_snapshot_index"], 10, 64)
	return i
}

// Open opens a snapshot; one whose book is live here gets the book's
// stream, written to a temporary file first (raft sends the size ahead).
func (s *snapshotStore) Open(id string) (*raft.SnapshotMeta, io.ReadCloser, error) {
	meta, rc, err := s.FileSnapshotStore.Open(id)
	if err != nil {
		return nil, nil, err
	}
	r := bufio.NewReaderSize(rc, 256<<10)
	h, err := readHead(r)
	if err != nil {
		rc.Close()
		return nil, nil, err
	}
	if h.version == legacySnapshotVersion || h.book == bookStreamed {
		rc.Close()
		// Read whole again: the head was consumed.
		return s.FileSnapshotStore.Open(id)
	}
	rc.Close()
	tmp, err := os.CreateTemp(s.dir, "send-*.tmp")
	if err != nil {
		return nil, nil, fmt.Errorf("federation: snapshot to send: %w", err)
	}
	fail := func(err error) (*raft.SnapshotMeta, io.ReadCloser, error) {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, nil, fmt.Errorf("federation: snapshot to send: %w", err)
	}
	bw := bufio.NewWriterSize(tmp, 256<<10)
	if err := writeHead(bw, h.bookIndex, h.office, bookStreamed); err != nil {
		return fail(err)
	}
	if _, err := s.fsm.cases.Stream(bw); err != nil {
		return fail(err)
	}
	if err := bw.Flush(); err != nil {
		return fail(err)
	}
	size, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return fail(err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return fail(err)
	}
	sent := *meta
	sent.Size = size
	return &sent, &removeOnClose{File: tmp}, nil
}

type removeOnClose struct{ *os.File }

func (f *removeOnClose) Close() error {
	err := f.File.Close()
	os.Remove(f.Name())
	return err
}

// removeSendCopies removes the copies of snapshots written to be sent
// that a node stopped while sending left behind.
func removeSendCopies(dir string) {
	tmps, _ := filepath.Glob(filepath.Join(dir, "send-*.tmp"))
	for _, t := range tmps {
		os.Remove(t)
	}
}
