package federation

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/federation/forward"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

const (
	testTownship = "450122101000"
	testVillage  = "450122101203"
)

// newPendingVillage is the office of a village node started with
// --bootstrap on an empty data directory, its book marked as not knowing
// yet whether the village ran before, its parent's nodes at upstream. Its
// raft group is opened, not bootstrapped: nothing is applied.
func newPendingVillage(t *testing.T, ca *pki.CA, upstream ...string) (*Office, *raftgroup.Group) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := badgerstore.OpenDB(t.TempDir(), badgerstore.DBOptions{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	book, err := casebook.Open(db, testVillage)
	if err != nil {
		t.Fatal(err)
	}
	if err := book.MarkFirstStart(time.Now()); err != nil {
		t.Fatal(err)
	}
	fsm := raftgroup.NewFSM(registry.New(registry.Options{}), book)
	_, transport := raft.NewInmemTransport("")
	group, err := raftgroup.OpenGroup(raftgroup.GroupConfig{Office: testVillage, NodeID: "dongcun-1", Dir: t.TempDir(), DB: db,
		Transport: transport, FSM: fsm, Logger: log, Timing: raftgroup.Timing{
			HeartbeatTimeout: 200 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond, LeaderLeaseTimeout: 100 * time.Millisecond,
			CommitTimeout: 5 * time.Millisecond, NudgeQuiet: 2 * time.Millisecond, LeaderHold: time.Second,
			SnapshotInterval: time.Hour, SnapshotThreshold: 1 << 20, TrailingLogs: 1 << 20,
		}})
	if err != nil {
		t.Fatal(err)
	}
	bundle := pki.NewTestBundle(t, ca, pki.Identity{Office: testVillage, Node: "dongcun-1"}, "127.0.0.1")
	peers := forward.NewPeers(bundle, nil)
	t.Cleanup(func() {
		peers.Close()
		group.Close()
		db.Close()
	})
	o := NewOffice(OfficeConfig{Office: testVillage, Node: "dongcun-1", PeerAddr: "127.0.0.1:1", RaftAddr: "127.0.0.1:2",
		Upstream: upstream, Bundle: bundle, Group: group, FSM: fsm, Peers: peers, Logger: log})
	return o, group
}

// township answers Peer.CasesThrough as its node's pages say, one page a
// call: page(n) is the answer to the call with the n-th page's token.
type township struct {
	peerv1.UnimplementedPeerServer
	page  func(n int) *peerv1.CasesThroughResponse
	calls atomic.Int32
}

func (s *township) CasesThrough(ctx context.Context, req *peerv1.CasesThroughRequest) (*peerv1.CasesThroughResponse, error) {
	return s.page(int(s.calls.Add(1))), nil
}

// serveTownship serves s on 127.0.0.1 as a node of the township, and
// returns its peer address.
func serveTownship(t *testing.T, ca *pki.CA, s *township) string {
	t.Helper()
	bundle := pki.NewTestBundle(t, ca, pki.Identity{Office: testTownship, Node: "chengguan-1"}, "127.0.0.1")
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(append(forward.PeerServerOptions(), grpc.Creds(credentials.NewTLS(bundle.ServerConfig())))...)
	peerv1.RegisterPeerServer(srv, s)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	return lis.Addr().String()
}

// A village started on an empty data directory asks its township whether
// it holds cases of the village. The township's book holds many cases
// that passed through the village but were filed elsewhere, so its first
// 150 pages hold none of the village's own, and the next one does: the
// village hears that the township holds its cases, and does not take
// itself for a new office numbering from 1. A township whose pages all
// hold none says so on its last page; one that sends back the token it
// was sent gives no answer, nor does one that sends a new token on every
// page without end, and the village says what it waits for.
func TestAVillageAsksItsTownshipToTheLastPageOfItsBook(t *testing.T) {
	ca := pki.NewTestCA(t)
	defer func(pages int) { maxCasesThroughPages = pages }(maxCasesThroughPages)
	maxCasesThroughPages = 200 // above the 151 pages below, reached in a test's time
	cases := []struct {
		name     string
		page     func(n int) *peerv1.CasesThroughResponse
		held     bool
		answered bool
	}{
		{"a case on page 151", func(n int) *peerv1.CasesThroughResponse {
			if n <= 150 {
				return &peerv1.CasesThroughResponse{NextPageToken: fmt.Sprintf("after-page-%d", n)}
			}
			return &peerv1.CasesThroughResponse{HoldsAny: true}
		}, true, true},
		{"none in 151 pages", func(n int) *peerv1.CasesThroughResponse {
			if n <= 150 {
				return &peerv1.CasesThroughResponse{NextPageToken: fmt.Sprintf("after-page-%d", n)}
			}
			return &peerv1.CasesThroughResponse{}
		}, false, true},
		{"the same token again", func(n int) *peerv1.CasesThroughResponse {
			return &peerv1.CasesThroughResponse{NextPageToken: "after-page-1"}
		}, false, false},
		{"a new token on every page", func(n int) *peerv1.CasesThroughResponse {
			return &peerv1.CasesThroughResponse{NextPageToken: fmt.Sprintf("after-page-%d", n)}
		}, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr := serveTownship(t, ca, &township{page: c.page})
			o, _ := newPendingVillage(t, ca, addr)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			held, err := o.casesHeldAt(ctx, testTownship)
			if (err == nil) != c.answered || (held > 0) != c.held {
				t.Errorf("the township holds cases of the village: %d, %v; want held %v, answered %v", held, err, c.held, c.answered)
			}
			if c.answered || err == nil {
				return
			}
			if !strings.Contains(err.Error(), "token") && !strings.Contains(err.Error(), "pages") {
				t.Errorf("the village's reason for no answer names neither the township's page token nor its pages: %v", err)
			}
		})
	}
}

// A node restarted after it was found running beside its office (kept with
// raft's state) refuses filings as it did before it serves anything; when
// what it kept cannot be read (here: raft's store closed under it), it
// does not start, rather than find out again and, its office's nodes
// down, start the office a second time beside them.
func TestAVillageNodeReadsItsKeptRefusalOrDoesNotStart(t *testing.T) {
	ca := pki.NewTestCA(t)
	o, group := newPendingVillage(t, ca)
	if err := group.SetLocalValue(firstStartRefusedKey, []byte("dongcun-2\n10.0.3.12:7070")); err != nil {
		t.Fatal(err)
	}
	if err := o.LoadFirstStartRefusal(); err != nil {
		t.Fatalf("load the kept refusal: %v", err)
	}
	if err := o.CanNumber(); reason.Of(err) == nil || reason.Of(err).Reason != reason.OfficeRunsElsewhere || !strings.Contains(err.Error(), "--join 10.0.3.12:7070") {
		t.Errorf("a filing at the node restarted after it was found running beside its office: %v, want %s naming --join 10.0.3.12:7070", err, reason.OfficeRunsElsewhere)
	}

	o, group = newPendingVillage(t, ca)
	if err := group.SetLocalValue(firstStartRefusedKey, []byte("dongcun-2\n10.0.3.12:7070")); err != nil {
		t.Fatal(err)
	}
	group.Close()
	err := o.LoadFirstStartRefusal()
	if err == nil || !strings.Contains(err.Error(), "does not start") {
		t.Errorf("the kept refusal unreadable: %v, want an error saying the node does not start", err)
	}
}
