package federation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/registry"
)

// ServeFeed streams the registry changelog to a node of an office below
// this one: a snapshot first when the subscriber is behind what the
// changelog keeps, then batches of entries, and a heartbeat when idle.
// It wakes at each change of the registry (FSM.RegistryChanged); case
// commands do not wake it. Each subscriber gets only the password hashes
// its office may use.
func (o *Office) ServeFeed(req *peerv1.FeedRequest, stream grpc.ServerStreamingServer[peerv1.FeedMessage]) error {
	ctx := stream.Context()
	id, err := pki.PeerIdentity(ctx)
	if err != nil {
		return status.Error(codes.Unauthenticated, err.Error())
	}
	sub := req.GetOfficeCode()
	if id.Office != sub {
		return status.Errorf(codes.PermissionDenied, "certificate names office %s, request claims %s", id.Office, sub)
	}
	if sub == o.cfg.Office || !registry.IsAncestorOrSelf(o.cfg.Office, sub) {
		return status.Errorf(codes.PermissionDenied, "office %s is not below office %s", sub, o.cfg.Office)
	}
	since := req.GetSinceIndex()
	o.log.Info("feed subscriber", "subscriber", sub, "subscriber_node", req.GetNode(), "since", since)
	hb := time.NewTicker(o.cfg.FeedHeartbeat)
	defer hb.Stop()
	for {
		changed := o.cfg.FSM.RegistryChanged()
		entries, needSnapshot := o.reg.ChangelogSince(since, o.cfg.FeedBatch)
		switch {
		case needSnapshot:
			snap := registry.RedactSnapshot(o.reg.Snapshot(), sub)
			if err := sendFeed(stream, &peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Snapshot{Snapshot: snap}}); err != nil {
				return err
			}
			since = snap.GetIndex()
			continue
		case len(entries) > 0:
			// Cut by bytes, not only by count: a batch must travel.
			batch := &peerv1.FeedBatch{UpstreamIndex: o.UpstreamIndex()}
			size := 0
			for _, e := range entries {
				r := registry.RedactEntry(e, sub)
				n := proto.Size(r)
				if len(batch.Entries) > 0 && size+n > feedBatchBytes {
					break
				}
				batch.Entries = append(batch.Entries, r)
				size += n
			}
			if err := sendFeed(stream, &peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Batch{Batch: batch}}); err != nil {
				return err
			}
			since = batch.Entries[len(batch.Entries)-1].GetIndex()
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-hb.C:
			hbm := &peerv1.FeedHeartbeat{UpstreamIndex: o.UpstreamIndex(), UpstreamStaleSeconds: o.StaleSeconds(time.Now())}
			if err := stream.Send(&peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Heartbeat{Heartbeat: hbm}}); err != nil {
				return err
			}
		}
	}
}

// sendFeed sends msg on a feed, in FeedChunk pieces when it is larger
// than feedChunkBytes, so that no feed message nears the gRPC limit
// whatever the size of the registry or of one entry.
func sendFeed(stream grpc.ServerStreamingServer[peerv1.FeedMessage], msg *peerv1.FeedMessage) error {
	if proto.Size(msg) <= feedChunkBytes {
		return stream.Send(msg)
	}
	data, err := proto.Marshal(msg)
	if err != nil {
		return fmt.Errorf("federation: encode feed message: %w", err)
	}
	for off := 0; off < len(data); off += feedChunkBytes {
		end := min(off+feedChunkBytes, len(data))
		chunk := &peerv1.FeedChunk{Data: data[off:end], Last: end == len(data)}
		if err := stream.Send(&peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Chunk{Chunk: chunk}}); err != nil {
			return err
		}
	}
	return nil
}

// feedAssembler puts chunked feed messages back together.
type feedAssembler struct{ buf []byte }

// add takes one message off the stream and returns the whole message it
// completes, or nil while a chunked message is still incomplete.
func (a *feedAssembler) add(msg *peerv1.FeedMessage) (*peerv1.FeedMessage, error) {
	c := msg.GetChunk()
	if c == nil {
		if len(a.buf) > 0 {
			return nil, errors.New("federation: feed message inside a chunked one")
		}
		return msg, nil
	}
	if len(a.buf)+len(c.GetData()) > MaxSnapshotBytes {
		return nil, fmt.Errorf("federation: chunked feed message over %d bytes", MaxSnapshotBytes)
	}
	a.buf = append(a.buf, c.GetData()...)
	if !c.GetLast() {
		return nil, nil
	}
	whole := &peerv1.FeedMessage{}
	err := proto.Unmarshal(a.buf, whole)
	a.buf = nil
	if err != nil {
		return nil, fmt.Errorf("federation: decode chunked feed message: %w", err)
	}
	if whole.GetChunk() != nil {
		return nil, errors.New("federation: chunk inside a chunk")
	}
	return whole, nil
}

// leaderLoop runs the feed puller while this node leads an office below
// the county.
func (o *Office) leaderLoop(ctx context.Context) {
	var running *puller
	defer func() { running.stop() }()
	check := time.NewTicker(250 * time.Millisecond)
	defer check.Stop()
	for {
		leading := o.cfg.Group.IsLeader()
		if leading && running == nil {
			running = o.startPuller(ctx)
		} else if !leading && running != nil {
			running.stop()
			running = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-o.cfg.Group.LeaderCh():
		case <-check.C:
		}
	}
}

// puller is a running pullLoop.
type puller struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (o *Office) startPuller(ctx context.Context) *puller {
	ctx, cancel := context.WithCancel(ctx)
	p := &puller{cancel: cancel, done: make(chan struct{})}
	go func() { defer close(p.done); o.pullLoop(ctx) }()
	return p
}

func (p *puller) stop() {
	if p != nil {
		p.cancel()
		<-p.done
	}
}

// feedSources lists where the registry feed comes from, best first: the
// parent office's nodes, the configured upstream addresses, then the
// county's nodes.
func (o *Office) feedSources() []target {
	var ts []target
	seen := map[string]bool{o.cfg.PeerAddr: true}
	add := func(addr, office string) {
		if addr != "" && !seen[addr] {
			seen[addr] = true
			ts = append(ts, target{addr, office})
		}
	}
	parent := registry.ParentCode(o.cfg.Office)
	for _, n := range shuffled(o.reg.Nodes(parent)) {
		add(n.GetPeerAddress(), parent)
	}
	for _, a := range o.cfg.Upstream {
		add(a, "")
	}
	if parent != o.county {
		for _, n := range shuffled(o.reg.Nodes(o.county)) {
			add(n.GetPeerAddress(), o.county)
		}
	}
	return ts
}

// pullLoop pulls the registry from upstream until ctx ends, trying each
// source in turn and backing off when none answers. A source that failed
// without giving anything is passed over for a while, so that a hung
// parent costs one idle timeout, not one per round.
func (o *Office) pullLoop(ctx context.Context) {
	backoff := 200 * time.Millisecond
	failedAt := map[string]time.Time{}
	lastCause := ""
	for ctx.Err() == nil {
		progressed := false
		sources := o.feedSources()
		for i, src := range sources {
			if ctx.Err() != nil {
				return
			}
			if t, failed := failedAt[src.addr]; failed && time.Since(t) < feedRetryAfter && i < len(sources)-1 {
				continue
			}
			preferred := i == 0 || src.office == registry.ParentCode(o.cfg.Office)
			n, err := o.pullFrom(ctx, src, preferred)
			if n > 0 {
				progressed = true
				delete(failedAt, src.addr)
			}
			if err != nil && ctx.Err() == nil {
				if n == 0 || errors.Is(err, errFeedIdle) {
					failedAt[src.addr] = time.Now()
				}
				// Each new cause once at warn; the same again at debug.
				cause := src.addr + " " + status.Code(err).String()
				if cause != lastCause {
					o.log.Warn("registry feed failed: trying the next source", "source", src.addr, "err", err)
					lastCause = cause
				} else {
					o.log.Debug("registry feed failed", "source", src.addr, "err", err)
				}
				now := time.Now()
				o.updateFeed(func(f *FeedStatus) { f.LastError, f.LastErrorAt = fmt.Sprintf("%s: %v", src.addr, err), now })
			}
			if progressed {
				break
			}
		}
		if progressed {
			backoff = 200 * time.Millisecond
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// feedRetryAfter is how long a feed source that failed without giving
// anything is passed over while others remain.
const feedRetryAfter = 30 * time.Second

// errFeedIdle ends a feed session whose source has gone silent.
var errFeedIdle = errors.New("federation: the feed source went silent")

// pullFrom follows one source's feed until it breaks, ctx ends, or (for a
// fallback source) FallbackPeriod has passed. It returns how many messages
// it received.
func (o *Office) pullFrom(ctx context.Context, src target, preferred bool) (int, error) {
	conn, err := o.cfg.Peers.Conn(src.addr, src.office)
	if err != nil {
		return 0, err
	}
	if !preferred {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.cfg.FallbackPeriod)
		defer cancel()
	}
	// A source that says nothing, not even its heartbeat, for
	// FeedIdleTimeout is taken for hung (a stopped process or a
	// black-holed link keeps a stream open without end).
	sctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(o.cfg.FeedIdleTimeout, func() { cancel(errFeedIdle) })
	defer idle.Stop()
	stream, err := peerv1.NewPeerClient(conn).Feed(sctx, &peerv1.FeedRequest{
		OfficeCode: o.cfg.Office, Node: o.cfg.Node, SinceIndex: o.reg.Index(),
	})
	if err != nil {
		if context.Cause(sctx) == errFeedIdle && ctx.Err() == nil {
			return 0, fmt.Errorf("%w after %s", errFeedIdle, o.cfg.FeedIdleTimeout)
		}
		return 0, err
	}
	received := 0
	var chunks feedAssembler
	for {
		idle.Reset(o.cfg.FeedIdleTimeout)
		piece, err := stream.Recv()
		idle.Stop()
		if err != nil {
			if ctx.Err() != nil {
				return received, nil
			}
			if context.Cause(sctx) == errFeedIdle {
				return received, fmt.Errorf("%w after %s", errFeedIdle, o.cfg.FeedIdleTimeout)
			}
			if errors.Is(err, io.EOF) {
				return received, nil
			}
			return received, err
		}
		msg, err := chunks.add(piece)
		if err != nil {
			return received, err
		}
		if msg == nil {
			o.updateFeed(func(f *FeedStatus) { f.LastContact = time.Now() })
			continue // more pieces to come
		}
		if received == 0 {
			// Only an office above this one may feed it.
			pr, _ := peer.FromContext(stream.Context())
			id, err := ServerIdentity(pr)
			if err != nil {
				return 0, err
			}
			if id.Office == o.cfg.Office || !registry.IsAncestorOrSelf(id.Office, o.cfg.Office) {
				return 0, fmt.Errorf("feed source %s serves office %s, not an office above %s", src.addr, id.Office, o.cfg.Office)
			}
			o.updateFeed(func(f *FeedStatus) { f.Source, f.SourceOffice = src.addr, id.Office })
		}
		received++
		now := time.Now()
		var upstream uint64
		switch k := msg.Kind.(type) {
		case *peerv1.FeedMessage_Snapshot:
			o.log.Info("installing registry snapshot from upstream", "source", src.addr, "raft_index", k.Snapshot.GetIndex())
			if err := o.applyFeed(ctx, &peerv1.Command{Kind: &peerv1.Command_InstallSnapshot{
				InstallSnapshot: &peerv1.InstallRegistrySnapshot{Snapshot: k.Snapshot}}}); err != nil {
				return received, err
			}
			upstream = k.Snapshot.GetIndex()
			o.updateFeed(func(f *FeedStatus) { f.SnapshotsInstalled++ })
		case *peerv1.FeedMessage_Batch:
			if err := o.applyFeed(ctx, &peerv1.Command{Kind: &peerv1.Command_Replay{Replay: &peerv1.ReplayRegistry{
				Entries: k.Batch.GetEntries(), UpstreamIndex: k.Batch.GetUpstreamIndex()}}}); err != nil {
				return received, err
			}
			upstream = k.Batch.GetUpstreamIndex()
		case *peerv1.FeedMessage_Heartbeat:
			upstream = k.Heartbeat.GetUpstreamIndex()
		}
		o.updateFeed(func(f *FeedStatus) {
			f.LastContact = now
			if upstream > f.UpstreamIndex {
				f.UpstreamIndex = upstream
			}
			if o.reg.Index() >= f.UpstreamIndex {
				f.InSyncAt = now
			}
		})
	}
}

func (o *Office) applyFeed(ctx context.Context, cmd *peerv1.Command) error {
	res, err := o.cfg.Group.Apply(ctx, cmd)
	if err != nil {
		return err
	}
	if res.Err != nil {
		// A gap or a rejected entry: the next session starts again from
		// this office's index, which is what it asks for.
		return res.Err
	}
	return nil
}
