package feed

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/federation/forward"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/registry"
)

const township = "450122101000"

// member is one node of a township's raft group, over raft's in-memory
// transport.
type member struct {
	fsm   *raftgroup.FSM
	group *raftgroup.Group
	trans *raft.InmemTransport
}

func startMember(t *testing.T, id string) *member {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := badgerstore.OpenDB(t.TempDir(), badgerstore.DBOptions{Small: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	book, err := casebook.Open(db, township)
	if err != nil {
		t.Fatal(err)
	}
	fsm := raftgroup.NewFSM(registry.New(registry.Options{}), book)
	_, trans := raft.NewInmemTransport(raft.ServerAddress(id))
	g, err := raftgroup.OpenGroup(raftgroup.GroupConfig{Office: township, NodeID: id, Dir: t.TempDir(), DB: db,
		Transport: trans, FSM: fsm, Logger: log, Timing: raftgroup.Timing{
			HeartbeatTimeout: 200 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond, LeaderLeaseTimeout: 100 * time.Millisecond,
			CommitTimeout: 5 * time.Millisecond, NudgeQuiet: 2 * time.Millisecond, LeaderHold: time.Second,
			SnapshotInterval: time.Hour, SnapshotThreshold: 1 << 20, TrailingLogs: 1 << 20,
		}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close(); db.Close() })
	return &member{fsm: fsm, group: g, trans: trans}
}

// leaderAnswers is what a fake leader answers a follower that asks how
// stale the registry is (Config.AskLeader).
type leaderAnswers struct {
	mu    sync.Mutex
	stale float64
	known bool
	err   error
}

func (a *leaderAnswers) set(stale float64, known bool, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stale, a.known, a.err = stale, known, err
}

func (a *leaderAnswers) ask(context.Context) (float64, bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stale, a.known, a.err
}

// A township's follower reads how stale its registry is from what its
// leader answers: what the leader says, plus the time since, and no word
// (a leader of an older version, or one out of reach) is not taken for
// freshness: the follower counts from its leader's last word.
func TestAFollowerIsAsStaleAsItsLeaderSays(t *testing.T) {
	lead, follow := startMember(t, "chengguan-1"), startMember(t, "chengguan-2")
	lead.trans.Connect(follow.trans.LocalAddr(), follow.trans)
	follow.trans.Connect(lead.trans.LocalAddr(), lead.trans)
	if err := lead.group.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "chengguan-1 leads", lead.group.IsLeader)
	if err := lead.group.AddVoter("chengguan-2", string(follow.trans.LocalAddr())); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "chengguan-2 follows", func() bool { _, id := follow.group.Leader(); return id == "chengguan-1" })

	answers := &leaderAnswers{known: true}
	reg := follow.fsm.Registry()
	f := New(Config{Office: township, County: "450122000000", Node: "chengguan-2",
		Registry: reg, FSM: follow.fsm, Group: follow.group, Heartbeat: 50 * time.Millisecond,
		Routes: &forward.Routes{Office: township, County: "450122000000", Node: "chengguan-2", Directory: reg, Leadership: follow.group},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), AskLeader: answers.ask})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); f.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	waitUntil(t, "the follower fresh while its leader is", func() bool { return f.StaleSeconds(time.Now()) == 0 })

	answers.set(40, true, nil)
	waitUntil(t, "the follower as stale as its leader says", func() bool { return f.StaleSeconds(time.Now()) >= 40 })

	answers.set(0, true, nil)
	waitUntil(t, "the follower fresh again", func() bool { return f.StaleSeconds(time.Now()) == 0 })

	// The leader no longer says (an older version): the follower does
	// not know, and counts from the last word it had.
	answers.set(0, false, nil)
	lastWord := time.Now()
	time.Sleep(f.wordLasts() + 500*time.Millisecond)
	if got, least := f.StaleSeconds(time.Now()), time.Since(lastWord).Seconds()-0.5; got < least {
		t.Errorf("a follower whose leader has not said for %.1f s how stale the registry is reads %.1f s stale, want at least %.1f", time.Since(lastWord).Seconds(), got, least)
	}
	if _, id := follow.group.Leader(); id != "chengguan-1" || follow.group.IsLeader() {
		t.Fatalf("premise: chengguan-2 follows chengguan-1 (leader %q)", id)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
