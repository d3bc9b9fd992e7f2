package raftgroup

import (
	"testing"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/registry"
)

// newTestFSM is a state machine of office over an empty registry and a
// case book in a badger of its own.
func newTestFSM(t *testing.T, office string) *FSM {
	t.Helper()
	db, err := badgerstore.OpenDB(t.TempDir(), badgerstore.DBOptions{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	book, err := casebook.Open(db, office)
	if err != nil {
		t.Fatal(err)
	}
	return NewFSM(registry.New(registry.Options{}), book)
}

func marshalCommand(t *testing.T, cmd *peerv1.Command) []byte {
	t.Helper()
	data, err := proto.Marshal(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// The registry feed waits on registry changes and the case loop on case
// commands: each wakes for its own, not for the other's.
func TestFSMWakesRegistryAndCaseWaitersApart(t *testing.T) {
	const county = "450122000000"
	f := newTestFSM(t, county)
	apply := func(index uint64, cmd *peerv1.Command) {
		t.Helper()
		f.Apply(&raft.Log{Index: index, Data: marshalCommand(t, cmd)})
	}
	closed := func(c <-chan struct{}) bool {
		select {
		case <-c:
			return true
		default:
			return false
		}
	}

	reg, cases := f.RegistryChanged(), f.CasesChanged()
	apply(1, &peerv1.Command{Kind: &peerv1.Command_Registry{Registry: &peerv1.RegistryCommand{AtUnixNano: 1, Actor: "test",
		Op: &peerv1.RegistryCommand_CreateOffice{CreateOffice: &peerv1.CreateOffice{Office: &yizhanv1.Office{Code: county, Name: "县政务服务中心"}}}}}})
	if _, err := f.Registry().Office(county); err != nil {
		t.Fatalf("the registry command was not applied: %v", err)
	}
	if !closed(reg) || closed(cases) {
		t.Errorf("after a registry command: registry waiters woken %v (want true), case waiters woken %v (want false)", closed(reg), closed(cases))
	}

	reg, cases = f.RegistryChanged(), f.CasesChanged()
	apply(2, &peerv1.Command{Kind: &peerv1.Command_Cases{Cases: &peerv1.CaseCommand{AtUnixNano: 2}}})
	if closed(reg) || !closed(cases) {
		t.Errorf("after a case command: registry waiters woken %v (want false), case waiters woken %v (want true)", closed(reg), closed(cases))
	}

	reg, cases = f.RegistryChanged(), f.CasesChanged()
	apply(3, &peerv1.Command{Kind: &peerv1.Command_Replay{Replay: &peerv1.ReplayRegistry{UpstreamIndex: 9}}})
	if !closed(reg) || closed(cases) {
		t.Errorf("after a replay: registry waiters woken %v (want true), case waiters woken %v (want false)", closed(reg), closed(cases))
	}
}
