package feed

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/encoding/protowire"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/federation/forward"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/registry"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"slices"
)

const (
	county  = "450122000000"
	village = "450122101203"
)

// laterUpstream is a township of a later release feeding its changelog:
// entries 1 to 5, the fourth a registry command of a kind this release
// does not know (field 27 of RegistryCommand, which it does not
// declare), then heartbeats. It notes each session's since_index.
type laterUpstream struct {
	peerv1.UnimplementedPeerServer
	mu    sync.Mutex
	since []uint64
}

func createOffice(index uint64, code string) *peerv1.ChangelogEntry {
	return &peerv1.ChangelogEntry{Index: index, PrevIndex: index - 1, Command: &peerv1.RegistryCommand{AtUnixNano: time.Now().UnixNano(), Actor: "county.admin",
		Op: &peerv1.RegistryCommand_CreateOffice{CreateOffice: &peerv1.CreateOffice{Office: &yizhanv1.Office{Code: code, Name: "办事点 " + code}}}}}
}

func (u *laterUpstream) Feed(req *peerv1.FeedRequest, stream grpc.ServerStreamingServer[peerv1.FeedMessage]) error {
	u.mu.Lock()
	u.since = append(u.since, req.GetSinceIndex())
	u.mu.Unlock()
	later := &peerv1.RegistryCommand{AtUnixNano: time.Now().UnixNano(), Actor: "county.admin"}
	later.ProtoReflect().SetUnknown(protowire.AppendBytes(protowire.AppendTag(nil, 27, protowire.BytesType), []byte{0x0a, 0x01, 'x'}))
	log := []*peerv1.ChangelogEntry{createOffice(1, county), createOffice(2, township), createOffice(3, village),
		{Index: 4, PrevIndex: 3, Command: later}, createOffice(5, "450122101204")}
	var batch []*peerv1.ChangelogEntry
	for _, e := range log {
		if e.GetIndex() > req.GetSinceIndex() {
			batch = append(batch, e)
		}
	}
	if err := stream.Send(&peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Batch{Batch: &peerv1.FeedBatch{Entries: batch, UpstreamIndex: 5}}}); err != nil {
		return err
	}
	for {
		select {
		case <-stream.Context().Done():
			return nil
		case <-time.After(100 * time.Millisecond):
		}
		if err := stream.Send(&peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Heartbeat{Heartbeat: &peerv1.FeedHeartbeat{UpstreamIndex: 5}}}); err != nil {
			return err
		}
	}
}

func (u *laterUpstream) sessions() []uint64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]uint64(nil), u.since...)
}

// A village left on the earlier release while its township runs a later
// one is fed a registry command of a kind its release does not know. It
// applies the entries before it and stops there: its registry stays at
// entry 3 (entry 5 is not applied past the gap), its feed's last error
// names the entry, the field and what to do, and it asks again, now and
// then, from entry 3: the township keeps the entry for it until the
// village is upgraded.
func TestARegistryCommandOfALaterReleaseHoldsTheFeedAtIt(t *testing.T) {
	was := unknownKindRetry
	t.Cleanup(func() { unknownKindRetry = was }) // the last cleanup: after the feed has stopped
	unknownKindRetry = 300 * time.Millisecond

	ca := pki.NewTestCA(t)
	up := &laterUpstream{}
	upAddr := serveUpstream(t, ca, township, up)

	m := startVillage(t)
	peers := forward.NewPeers(pki.NewTestBundle(t, ca, pki.Identity{Office: village, Node: village + "-1"}, "127.0.0.1"), nil)
	t.Cleanup(func() { peers.Close() })
	reg := m.fsm.Registry()
	f := New(Config{Office: village, County: county, Node: village + "-1", Registry: reg, FSM: m.fsm, Group: m.group, Peers: peers,
		Routes: &forward.Routes{Office: village, County: county, Node: village + "-1", PeerAddr: "127.0.0.1:1", Directory: reg,
			Leadership: m.group, PeerRoutes: map[string][]string{township: {upAddr}}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	deadline := time.Now().Add(15 * time.Second)
	for len(up.sessions()) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("the village asked %d times in 15 s; want it to ask again while held", len(up.sessions()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := reg.Index(); got != 3 {
		t.Errorf("the village's registry is at entry %d; want 3 (the entries before the unknown one, nothing after it)", got)
	}
	if s := up.sessions(); s[0] != 0 || s[1] != 3 || s[2] != 3 {
		t.Errorf("the village asked from entries %v; want 0, then 3 again and again", s)
	}
	why := f.Status().LastError
	for _, want := range []string{"registry entry 4", "RegistryCommand", "field 27", "earlier release", "stays at entry 3", "upgraded"} {
		if !strings.Contains(why, want) {
			t.Errorf("the feed's last error %q does not say %q", why, want)
		}
	}
	if _, err := reg.Office("450122101204"); err == nil {
		t.Error("the entry after the unknown one was applied")
	}
}

// A feed message of a kind this release does not know (a later release
// added it to FeedMessage) is refused, not taken for contact and passed
// over.
func TestAFeedMessageOfALaterKindIsRefused(t *testing.T) {
	msg := &peerv1.FeedMessage{}
	msg.ProtoReflect().SetUnknown(protowire.AppendBytes(protowire.AppendTag(nil, 9, protowire.BytesType), nil))
	f := &Feed{reg: registry.New(registry.Options{})}
	err := f.applyKnown(context.Background(), msg)
	if err == nil || !strings.Contains(err.Error(), "yizhan.peer.v1.FeedMessage holds none of the kinds of kind this release knows, and field 9") {
		t.Errorf("applyKnown = %v; want ErrUnknownKind naming FeedMessage's field 9", err)
	}
	if err := f.applyKnown(context.Background(), &peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Heartbeat{Heartbeat: &peerv1.FeedHeartbeat{}}}); err != nil {
		t.Errorf("a heartbeat: %v", err)
	}
}

// startVillage is the village's one node, leading its office over an
// empty registry.
func startVillage(t *testing.T) *member {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := badgerstore.OpenDB(t.TempDir(), badgerstore.DBOptions{Small: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	book, err := casebook.Open(db, village)
	if err != nil {
		t.Fatal(err)
	}
	fsm := raftgroup.NewFSM(registry.New(registry.Options{}), book)
	_, trans := raft.NewInmemTransport("")
	g, err := raftgroup.OpenGroup(raftgroup.GroupConfig{Office: village, NodeID: village + "-1", Dir: t.TempDir(), DB: db,
		Transport: trans, FSM: fsm, Logger: log, Timing: raftgroup.Timing{
			HeartbeatTimeout: 200 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond, LeaderLeaseTimeout: 100 * time.Millisecond,
			CommitTimeout: 5 * time.Millisecond, NudgeQuiet: 2 * time.Millisecond, LeaderHold: time.Second,
			SnapshotInterval: time.Hour, SnapshotThreshold: 1 << 20, TrailingLogs: 1 << 20,
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close(); db.Close() })
	if err := g.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !g.IsLeader() {
		if time.Now().After(deadline) {
			t.Fatal("the village's node did not lead its office")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return &member{fsm: fsm, group: g, trans: trans}
}

// busyUpstream answers its first busy feed sessions Unavailable, asking
// the subscriber to come back after wait, as a node sending as many
// snapshots as it does at once, then feeds one entry and heartbeats. It
// notes when each session came. With fedFirst, a busy session feeds the
// entry first, as a stream that needed the registry whole after a while.
type busyUpstream struct {
	peerv1.UnimplementedPeerServer
	busy     int
	wait     time.Duration
	fedFirst bool
	mu       sync.Mutex
	at       []time.Time
}

func (u *busyUpstream) Feed(req *peerv1.FeedRequest, stream grpc.ServerStreamingServer[peerv1.FeedMessage]) error {
	u.mu.Lock()
	u.at = append(u.at, time.Now())
	n := len(u.at)
	u.mu.Unlock()
	if n <= u.busy {
		if u.fedFirst && req.GetSinceIndex() < 1 {
			if err := stream.Send(&peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Batch{Batch: &peerv1.FeedBatch{
				Entries: []*peerv1.ChangelogEntry{createOffice(1, county)}, UpstreamIndex: 1}}}); err != nil {
				return err
			}
		}
		st, err := status.New(codes.Unavailable, "sending as many snapshots as it does at once").
			WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(u.wait)})
		if err != nil {
			return err
		}
		return st.Err()
	}
	if err := stream.Send(&peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Batch{Batch: &peerv1.FeedBatch{
		Entries: []*peerv1.ChangelogEntry{createOffice(1, county)}, UpstreamIndex: 1}}}); err != nil {
		return err
	}
	<-stream.Context().Done()
	return nil
}

func (u *busyUpstream) sessions() []time.Time {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.at)
}

// serveUpstream serves up as the peer port of a node of office, on
// 127.0.0.1, and returns its address.
func serveUpstream(t *testing.T, ca *pki.CA, office string, up peerv1.PeerServer) string {
	t.Helper()
	bundle := pki.NewTestBundle(t, ca, pki.Identity{Office: office, Node: office + "-1"}, "127.0.0.1")
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(append(forward.PeerServerOptions(), grpc.Creds(credentials.NewTLS(bundle.ServerConfig())))...)
	peerv1.RegisterPeerServer(srv, up)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// A village whose township is sending the registry whole to as many
// offices as it does at once waits as long as the township asks and
// asks it again: it does not ask again at once, nor turn to the county,
// which would only be asked the same.
func TestAVillageToldToComeBackWaitsAndAsksTheSameSourceAgain(t *testing.T) {
	ca := pki.NewTestCA(t)
	town := &busyUpstream{busy: 2, wait: 400 * time.Millisecond}
	countyUp := &busyUpstream{}
	townAddr, countyAddr := serveUpstream(t, ca, township, town), serveUpstream(t, ca, county, countyUp)

	m := startVillage(t)
	peers := forward.NewPeers(pki.NewTestBundle(t, ca, pki.Identity{Office: village, Node: village + "-1"}, "127.0.0.1"), nil)
	t.Cleanup(func() { peers.Close() })
	reg := m.fsm.Registry()
	f := New(Config{Office: village, County: county, Node: village + "-1", Registry: reg, FSM: m.fsm, Group: m.group, Peers: peers,
		Routes: &forward.Routes{Office: village, County: county, Node: village + "-1", PeerAddr: "127.0.0.1:1", Directory: reg,
			Leadership: m.group, PeerRoutes: map[string][]string{township: {townAddr}, county: {countyAddr}}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	waitUntil(t, "the village fed by its township", func() bool { return reg.Index() == 1 })
	at := town.sessions()
	if len(at) != 3 {
		t.Fatalf("the village asked its township %d times; want 3 (twice told to come back)", len(at))
	}
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < town.wait {
			t.Errorf("the village asked again %s after being told to wait %s", gap, town.wait)
		}
	}
	if n := len(countyUp.sessions()); n != 0 {
		t.Errorf("the village asked the county %d times while its township asked it to come back", n)
	}
}

// A village whose township, feeding it, comes to send it the registry
// whole and is sending as many as it does at once is told to come back
// as well: the village waits as long as asked, and does not take it for
// the township failing (its feed's last error stays empty).
func TestAVillageFedThenToldToComeBackWaits(t *testing.T) {
	ca := pki.NewTestCA(t)
	town := &busyUpstream{busy: 2, wait: 400 * time.Millisecond, fedFirst: true}
	townAddr := serveUpstream(t, ca, township, town)

	m := startVillage(t)
	peers := forward.NewPeers(pki.NewTestBundle(t, ca, pki.Identity{Office: village, Node: village + "-1"}, "127.0.0.1"), nil)
	t.Cleanup(func() { peers.Close() })
	reg := m.fsm.Registry()
	f := New(Config{Office: village, County: county, Node: village + "-1", Registry: reg, FSM: m.fsm, Group: m.group, Peers: peers,
		Routes: &forward.Routes{Office: village, County: county, Node: village + "-1", PeerAddr: "127.0.0.1:1", Directory: reg,
			Leadership: m.group, PeerRoutes: map[string][]string{township: {townAddr}}},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	waitUntil(t, "the village asking its township a third time", func() bool { return len(town.sessions()) == 3 })
	at := town.sessions()
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < town.wait {
			t.Errorf("the village asked again %s after being told to wait %s", gap, town.wait)
		}
	}
	if e := f.Status().LastError; e != "" {
		t.Errorf("the village's feed notes an error: %s", e)
	}
}
