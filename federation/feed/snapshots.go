package feed

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/registry"
)

// Snapshots served at once. A new office, or one too far behind, is
// sent the registry whole: up to MaxSnapshotBytes, which a village's
// line takes minutes to carry. When a county goes live every village of
// a township asks for it at once, and a copy encoded for each of them
// took the township's node to gigabytes (8 villages of a 25 MB registry:
// 1.3 GB). So the streams sending a snapshot share one encoded copy of
// the parts that are the same for every subscriber (snapshotCache),
// built once, held while one of them is sending it and dropped when the
// last has sent it; each stream encodes only what redaction makes its
// own: the credentials its office may hold and the changelog's staff
// entries. A protobuf message's fields may come in any order, and a
// repeated field's elements are appended in the order they come, so the
// subscriber decodes the pieces put end to end as the whole redacted
// snapshot (RedactSnapshot) encoded at once.

// snapshotField is the field number of FeedMessage's snapshot.
const snapshotField = 1

// DefaultSnapshotsAtOnce is how many registry snapshots a node sends at
// once when Config.SnapshotsAtOnce is not set. Each stream holds a chunk
// or two on its way besides the shared copy (1 to 2 MiB); a township
// feeds its 15 to 30 villages at once, and the county, which villages
// fall back to when their township does not answer, 64 at a time.
const DefaultSnapshotsAtOnce = 64

// snapshotsBusyRetry is how long a subscriber told that the node sends
// as many snapshots as it sends at once is asked to wait, about: it
// waits between half and one and a half times that (snapshotsBusy). A
// variable for the tests.
var snapshotsBusyRetry = 5 * time.Second

// snapshotCache holds the shared encoded snapshot while streams send it.
type snapshotCache struct {
	mu      sync.Mutex
	newest  *sharedSnapshot // nil when no stream sends one
	sending int             // streams sending a snapshot
}

// sharedSnapshot is a registry snapshot encoded for every subscriber:
// head is every field but the credentials and the changelog; log the
// changelog in order, runs encoded once and the staff entries that each
// subscriber is sent redacted for it.
type sharedSnapshot struct {
	built sync.Once
	index uint64
	head  []byte
	creds []officeCredential
	log   []logPart
	bytes int   // the encoded parts shared, for the log
	refs  int   // streams holding it, under snapshotCache.mu
	ready bool  // built, under snapshotCache.mu
	err   error // the encoding failed (never for a registry's own snapshot)
}

// officeCredential is a credential and the office of its staff member.
type officeCredential struct {
	office string
	cred   *peerv1.StaffCredential
}

// logPart is a run of changelog entries encoded as field 10 of
// RegistrySnapshot, or one entry to redact for each subscriber.
type logPart struct {
	shared []byte
	entry  *peerv1.ChangelogEntry
}

// acquire returns the snapshot to send a subscriber, built from reg, and
// holds it until release: the one other streams are sending, while the
// registry's changelog still reaches back to it (the subscriber then has
// the entries after it in batches), or else a new one of the registry
// as it is now. It returns nil when limit streams (> 0) send one already.
func (c *snapshotCache) acquire(reg *registry.Registry, limit int) *sharedSnapshot {
	c.mu.Lock()
	if limit > 0 && c.sending >= limit {
		c.mu.Unlock()
		return nil
	}
	c.sending++
	s := c.newest
	if s != nil && s.ready {
		// (One being built is of the registry as it is now.)
		if _, needSnapshot := reg.ChangelogSince(s.index, 1); needSnapshot {
			s = nil
		}
	}
	if s == nil {
		s = &sharedSnapshot{}
		c.newest = s
	}
	s.refs++
	c.mu.Unlock()
	s.built.Do(func() {
		s.build(reg.Snapshot())
		c.mu.Lock()
		s.ready = true
		c.mu.Unlock()
	})
	return s
}

// release lets go of s: once no stream holds it, it is dropped.
func (c *snapshotCache) release(s *sharedSnapshot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sending--
	s.refs--
	if s.refs == 0 && c.newest == s {
		c.newest = nil
	}
}

// build encodes snap's shared parts into s.
func (s *sharedSnapshot) build(snap *peerv1.RegistrySnapshot) {
	s.index = snap.GetIndex()
	officeOf := make(map[string]string, len(snap.GetStaff()))
	for _, m := range snap.GetStaff() {
		officeOf[m.GetUsername()] = m.GetOfficeCode()
	}
	for _, c := range snap.GetCredentials() {
		if office, ok := officeOf[c.GetUsername()]; ok {
			s.creds = append(s.creds, officeCredential{office: office, cred: c})
		}
	}
	changelog := snap.GetChangelog()
	snap.Credentials, snap.Changelog = nil, nil
	if s.head, s.err = proto.Marshal(snap); s.err != nil {
		return
	}
	s.bytes = len(s.head)
	var run []*peerv1.ChangelogEntry
	flush := func() {
		if len(run) == 0 || s.err != nil {
			return
		}
		b, err := proto.Marshal(&peerv1.RegistrySnapshot{Changelog: run})
		s.log, s.err, s.bytes = append(s.log, logPart{shared: b}), err, s.bytes+len(b)
		run = nil
	}
	for _, e := range changelog {
		// Only staff commands are redacted (registry.RedactEntry).
		if cmd := e.GetCommand(); cmd.GetCreateStaff() != nil || cmd.GetUpdateStaff() != nil {
			flush()
			s.log = append(s.log, logPart{entry: e})
			continue
		}
		run = append(run, e)
	}
	flush()
}

// pieces returns the FeedMessage carrying s redacted for subscriber
// sub, encoded, in pieces to be sent end to end, and their total size.
func (s *sharedSnapshot) pieces(sub string) ([][]byte, int, error) {
	if s.err != nil {
		return nil, 0, fmt.Errorf("federation: encode registry snapshot: %w", s.err)
	}
	own := &peerv1.RegistrySnapshot{}
	for _, c := range s.creds {
		if registry.CanSignIn(sub, c.office) {
			own.Credentials = append(own.Credentials, c.cred)
		}
	}
	creds, err := proto.Marshal(own)
	if err != nil {
		return nil, 0, fmt.Errorf("federation: encode registry snapshot: %w", err)
	}
	body := [][]byte{s.head, creds}
	for _, p := range s.log {
		if p.entry == nil {
			body = append(body, p.shared)
			continue
		}
		b, err := proto.Marshal(&peerv1.RegistrySnapshot{Changelog: []*peerv1.ChangelogEntry{registry.RedactEntry(p.entry, sub)}})
		if err != nil {
			return nil, 0, fmt.Errorf("federation: encode registry snapshot: %w", err)
		}
		body = append(body, b)
	}
	n := 0
	for _, b := range body {
		n += len(b)
	}
	head := protowire.AppendTag(nil, snapshotField, protowire.BytesType)
	head = protowire.AppendVarint(head, uint64(n))
	return append([][]byte{head}, body...), len(head) + n, nil
}

// sendSnapshot sends the registry's snapshot, redacted for subscriber
// sub, on a feed stream, sharing its encoding with the other streams
// sending it at the same time, and returns its index.
// When the node sends as many as Config.SnapshotsAtOnce already, it
// sends nothing and answers Unavailable with a RetryInfo (snapshotsBusy).
func (f *Feed) sendSnapshot(stream grpc.ServerStreamingServer[peerv1.FeedMessage], sub string) (uint64, error) {
	s := f.snapshots.acquire(f.reg, f.cfg.SnapshotsAtOnce)
	if s == nil {
		return 0, f.snapshotsBusy(sub)
	}
	defer f.snapshots.release(s)
	pieces, size, err := s.pieces(sub)
	if err != nil {
		return 0, err
	}
	if size <= feedChunkBytes {
		// Small: one message, as any other.
		data := make([]byte, 0, size)
		for _, p := range pieces {
			data = append(data, p...)
		}
		msg := &peerv1.FeedMessage{}
		if err := proto.Unmarshal(data, msg); err != nil {
			return 0, fmt.Errorf("federation: registry snapshot: %w", err)
		}
		return s.index, stream.Send(msg)
	}
	sent := 0
	for len(pieces) > 0 {
		// A chunk within one piece is a slice of it; one across pieces
		// a copy. The shared pieces are never written.
		var data []byte
		if len(pieces[0]) >= feedChunkBytes {
			data, pieces[0] = pieces[0][:feedChunkBytes:feedChunkBytes], pieces[0][feedChunkBytes:]
		} else {
			data = make([]byte, 0, min(feedChunkBytes, size-sent))
			for len(pieces) > 0 && len(data) < cap(data) {
				n := min(cap(data)-len(data), len(pieces[0]))
				data, pieces[0] = append(data, pieces[0][:n]...), pieces[0][n:]
				if len(pieces[0]) == 0 {
					pieces = pieces[1:]
				}
			}
		}
		for len(pieces) > 0 && len(pieces[0]) == 0 {
			pieces = pieces[1:]
		}
		sent += len(data)
		chunk := &peerv1.FeedChunk{Data: data, Last: sent == size}
		if err := stream.Send(&peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Chunk{Chunk: chunk}}); err != nil {
			return 0, err
		}
	}
	return s.index, nil
}

// snapshotsBusy is the answer to subscriber sub when the node sends as
// many snapshots as it sends at once: Unavailable, with a
// google.rpc.RetryInfo of about snapshotsBusyRetry (spread, so that
// the villages told at once do not come back at once), which the feed's
// puller waits for, asking the same source again (busyRetryAfter).
func (f *Feed) snapshotsBusy(sub string) error {
	wait := snapshotsBusyRetry/2 + rand.N(snapshotsBusyRetry)
	st := status.Newf(codes.Unavailable, "node %s of office %s is sending the registry whole to as many offices as it does at once (%d): office %s asks again in %s",
		f.cfg.Node, f.cfg.Office, f.cfg.SnapshotsAtOnce, sub, wait.Round(time.Millisecond))
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(wait)}); err == nil {
		st = d
	}
	f.log.Info("registry snapshot refused: as many are being sent as are sent at once", "subscriber", sub, "at_once", f.cfg.SnapshotsAtOnce)
	return st.Err()
}

// busyRetryAfter is how long a feed source that answered err asked to be
// left before it is asked again (a RetryInfo with an Unavailable: it
// sends as many snapshots as it sends at once), and ok when it did.
func busyRetryAfter(err error) (time.Duration, bool) {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable {
		return 0, false
	}
	for _, d := range st.Details() {
		if ri, isRetry := d.(*errdetails.RetryInfo); isRetry && ri.GetRetryDelay().AsDuration() > 0 {
			return min(ri.GetRetryDelay().AsDuration(), maxBusyRetry), true
		}
	}
	return 0, false
}

// maxBusyRetry bounds the wait a feed source may ask for.
const maxBusyRetry = time.Minute
