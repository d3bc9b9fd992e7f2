package federation

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/federation/forward"
	"github.com/yizhan-gov/yizhan/federation/pki"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

const testVillage = "450122101203"

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
