package raftgroup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casework"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
)

// The state machine takes the command its proposer decoded ahead when it
// applies the very bytes that were proposed, and only then; it decodes
// the bytes itself when the decoding has not finished, and the entry is
// forgotten either way.
func TestFSMTakesTheCommandDecodedAhead(t *testing.T) {
	const county = "450122000000"
	f := newTestFSM(t, county)
	office := func(code, name string) *peerv1.Command {
		return &peerv1.Command{Kind: &peerv1.Command_Registry{Registry: &peerv1.RegistryCommand{AtUnixNano: 1, Actor: "test",
			Op: &peerv1.RegistryCommand_CreateOffice{CreateOffice: &peerv1.CreateOffice{Office: &yizhanv1.Office{Code: code, Name: name}}}}}}
	}
	held := func() int {
		f.ahead.mu.Lock()
		defer f.ahead.mu.Unlock()
		return len(f.ahead.entries)
	}

	// Decoded ahead, then applied: the FSM takes the decoded command.
	data := marshalCommand(t, office(county, "县政务服务中心"))
	e := f.ahead.add(data)
	e.decode()
	d := e.decoded.Load()
	if d == nil || !proto.Equal(d.cmd, office(county, "县政务服务中心")) {
		t.Fatalf("decoded ahead: %v", d)
	}
	if res := f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: data}).(*ApplyResult); res.Err != nil {
		t.Fatal(res.Err)
	}
	if _, err := f.Registry().Office(county); err != nil {
		t.Fatalf("the command decoded ahead was not applied: %v", err)
	}
	if n := held(); n != 0 {
		t.Errorf("%d entries held after the apply took the one decoded ahead", n)
	}
	f.ahead.drop(e) // as Group.Apply does once the future is done: nothing left to drop

	// The same bytes in another slice (a follower's, a replay's) are not
	// the proposal's: decoded by the FSM, the proposal's entry untouched.
	const township = "450122101000"
	data = marshalCommand(t, office(township, "镇便民服务中心"))
	e = f.ahead.add(data)
	e.decode()
	if d := f.ahead.take(bytes.Clone(data)); d != nil {
		t.Errorf("a copy of the bytes matched the proposal: %v", d)
	}
	if n := held(); n != 1 {
		t.Errorf("%d entries held, want the proposal's", n)
	}
	f.ahead.drop(e)
	if n := held(); n != 0 {
		t.Errorf("%d entries held after the drop", n)
	}

	// Not decoded yet when applied: the FSM decodes it itself.
	data = marshalCommand(t, office(township, "镇便民服务中心"))
	e = f.ahead.add(data)
	if res := f.Apply(&raft.Log{Index: 2, Type: raft.LogCommand, Data: data}).(*ApplyResult); res.Err != nil {
		t.Fatal(res.Err)
	}
	if _, err := f.Registry().Office(township); err != nil {
		t.Fatalf("a command not yet decoded ahead was not applied: %v", err)
	}
	if n := held(); n != 0 {
		t.Errorf("%d entries held after the apply", n)
	}
	e.decode() // finishing late harms nothing
	f.ahead.drop(e)
}

// An Append whose event does not hash to its hash is refused for it when
// decoded ahead too: the proposer's check finds it and leaves the event
// to the state machine's.
func TestFSMRefusesABadHashDecodedAhead(t *testing.T) {
	const county = "450122000000"
	f := newTestFSM(t, county)
	number := county + "-20261127-0001"
	e := &yizhanv1.CaseEvent{Seq: 1, Type: yizhanv1.EventType_EVENT_TYPE_FILED, OfficeCode: county, Actor: "clerk",
		At: timestamppb.Now(), Filing: &yizhanv1.CaseFiling{Number: number, ItemCode: "YC"}}
	casework.Seal(e, casework.GenesisHash(number))
	e.Actor = "someone else" // after sealing: the hash no longer matches
	cmd := &peerv1.Command{Kind: &peerv1.Command_Cases{Cases: &peerv1.CaseCommand{AtUnixNano: 1,
		Op: &peerv1.CaseCommand_Append{Append: &peerv1.AppendCaseEvents{CaseNumber: number, Events: []*yizhanv1.CaseEvent{e}}}}}}

	data := marshalCommand(t, cmd)
	ahead := f.ahead.add(data)
	ahead.decode()
	if d := ahead.decoded.Load(); d == nil || d.hashed {
		t.Fatalf("decoded ahead: %+v; want decoded, its hashes found wrong", d)
	}
	res := f.Apply(&raft.Log{Index: 1, Type: raft.LogCommand, Data: data}).(*ApplyResult)
	if !errors.Is(res.Err, casework.ErrConflict) || !strings.Contains(res.Err.Error(), "hash does not match") {
		t.Errorf("applied: %v; want the hash refused", res.Err)
	}
	if f.Cases().Len() != 0 {
		t.Errorf("the book holds %d cases", f.Cases().Len())
	}
	f.ahead.drop(ahead)
}

// On a real raft group, the leader's state machine is handed the bytes
// its proposer gave raft (the premise of decoding ahead): the writes
// proposed here are applied with the commands decoded ahead (each while
// raft syncs it, which takes far longer; a proposer descheduled on a
// busy machine may finish late, so the test asks for one of them).
func TestLeaderAppliesTheCommandsItDecodedAhead(t *testing.T) {
	const county = "450122000000"
	f := newTestFSM(t, county)
	db, err := badgerstore.OpenDB(t.TempDir(), badgerstore.DBOptions{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	_, transport := raft.NewInmemTransport("county-1")
	g, err := OpenGroup(GroupConfig{Office: county, NodeID: "county-1", Dir: t.TempDir(), DB: db, Transport: transport, FSM: f,
		Timing: Timing{HeartbeatTimeout: 200 * time.Millisecond, ElectionTimeout: 200 * time.Millisecond,
			LeaderLeaseTimeout: 100 * time.Millisecond, CommitTimeout: 5 * time.Millisecond,
			SnapshotInterval: time.Hour, SnapshotThreshold: 1 << 20, TrailingLogs: 1 << 20},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), HCLogger: hclog.NewNullLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	if err := g.Bootstrap(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); !g.IsLeader(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no leader after 10 s")
		}
	}
	codes := []string{county, "450122101000", "450122101203"}
	for i, code := range codes {
		cmd := &peerv1.Command{Kind: &peerv1.Command_Registry{Registry: &peerv1.RegistryCommand{AtUnixNano: int64(i + 1), Actor: "test",
			Op: &peerv1.RegistryCommand_CreateOffice{CreateOffice: &peerv1.CreateOffice{Office: &yizhanv1.Office{Code: code, Name: "办公室"}}}}}}
		res, err := g.Apply(context.Background(), cmd)
		if err != nil {
			t.Fatalf("apply %s: %v", code, err)
		}
		if res.Err != nil {
			t.Fatalf("apply %s: %v", code, res.Err)
		}
	}
	n := f.decodedAhead.Load()
	if n == 0 || n > uint64(len(codes)) {
		t.Errorf("%d of %d writes applied with the command decoded ahead", n, len(codes))
	}
	t.Logf("%d of %d writes applied with the command decoded ahead", n, len(codes))
	f.ahead.mu.Lock()
	defer f.ahead.mu.Unlock()
	if n := len(f.ahead.entries); n != 0 {
		t.Errorf("%d entries held after the writes", n)
	}
}
