package raftgroup

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// withLaterField is m with a field number this release does not declare,
// holding a message: what a node of this release decodes when a later
// release sends what it added (a kind in a oneof, or a field beside the
// known ones).
func withLaterField[M proto.Message](m M, number protowire.Number) M {
	r := m.ProtoReflect()
	b := protowire.AppendTag(r.GetUnknown(), number, protowire.BytesType)
	b = protowire.AppendBytes(b, []byte{0x0a, 0x03, 'n', 'e', 'w'}) // a message: field 1 = "new"
	r.SetUnknown(b)
	return m
}

// A command that a node of a later release proposed in the same office
// (an office whose nodes were not all upgraded together), of a kind this
// release does not know, stops this node with ExitUnknownKind and one
// line at error naming the raft index and the field: it is not skipped,
// nor refused on this node alone, and nothing after it is applied. The
// entry before it is applied; the next start, on the later release,
// meets the command again.
func TestACommandOfALaterReleaseStopsTheNodeWithItsExitStatus(t *testing.T) {
	const county = "450122000000"
	known := func() *peerv1.Command {
		return &peerv1.Command{Kind: &peerv1.Command_Cases{Cases: &peerv1.CaseCommand{AtUnixNano: 1,
			Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{}}}}}
	}
	tests := []struct {
		name string
		cmd  *peerv1.Command
		want []string
	}{
		{"a raft command's kind", withLaterField(&peerv1.Command{}, 9),
			[]string{"yizhan.peer.v1.Command holds none of the kinds of kind this release knows, and field 9"}},
		{"a case command's operation", &peerv1.Command{Kind: &peerv1.Command_Cases{Cases: withLaterField(&peerv1.CaseCommand{AtUnixNano: 1}, 99)}},
			[]string{"yizhan.peer.v1.CaseCommand holds none of the kinds of op", "field 99"}},
		{"a supervision step", &peerv1.Command{Kind: &peerv1.Command_Cases{Cases: &peerv1.CaseCommand{AtUnixNano: 1,
			Op: &peerv1.CaseCommand_Supervision{Supervision: withLaterField(&peerv1.SupervisionStep{}, 40)}}}},
			[]string{"yizhan.peer.v1.SupervisionStep", "field 40"}},
		{"the county's registry command", &peerv1.Command{Kind: &peerv1.Command_Registry{Registry: withLaterField(&peerv1.RegistryCommand{AtUnixNano: 1, Actor: "admin"}, 27)}},
			[]string{"yizhan.peer.v1.RegistryCommand holds none of the kinds of op", "field 27"}},
		{"a registry entry replayed from the office above", &peerv1.Command{Kind: &peerv1.Command_Replay{Replay: &peerv1.ReplayRegistry{
			Entries: []*peerv1.ChangelogEntry{{Index: 1, Command: withLaterField(&peerv1.RegistryCommand{AtUnixNano: 1}, 27)}}}}},
			[]string{"registry entry 1: yizhan.peer.v1.RegistryCommand", "field 27"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newTestFSM(t, county)
			var logs bytes.Buffer
			f.log = slog.New(slog.NewTextHandler(&logs, nil)).With("office", county)
			exits := make(chan int, 1)
			f.exit = func(code int) { exits <- code }
			batch := []*raft.Log{
				{Index: 7, Type: raft.LogCommand, Data: marshalCommand(t, known())},
				{Index: 8, Type: raft.LogCommand, Data: marshalCommand(t, tt.cmd)},
				{Index: 9, Type: raft.LogCommand, Data: marshalCommand(t, known())},
			}
			if runUntilStopped(t, "the apply", func() { f.ApplyBatch(batch) }) {
				t.Error("the apply returned to raft as if the command were applied")
			}
			if got := f.cases.Applied(); got != 7 {
				t.Errorf("the book reached raft index %d; want 7 (the command before applied, not it nor the one after)", got)
			}
			checkStop(t, exits, ExitUnknownKind, logs.String(), append([]string{"office=" + county, "raft_index=8",
				"does not know", "Upgrading to a new release", "exit_status=5"}, tt.want...)...)
		})
	}
}

// A field a later release adds beside the known ones is no new kind: the
// command applies, the field kept unread.
func TestACommandWithALaterReleasesFieldBesideItsKindApplies(t *testing.T) {
	f := newTestFSM(t, "450122000000")
	f.exit = func(code int) { t.Errorf("the node stopped with exit status %d", code) }
	cmd := &peerv1.Command{Kind: &peerv1.Command_Cases{Cases: withLaterField(&peerv1.CaseCommand{AtUnixNano: 1,
		Op: &peerv1.CaseCommand_Ack{Ack: &peerv1.AckOutbox{}}}, 98)}}
	out := f.ApplyBatch([]*raft.Log{{Index: 3, Type: raft.LogCommand, Data: marshalCommand(t, cmd)}})
	if res := out[0].(*ApplyResult); res.Err != nil {
		t.Errorf("the command was refused: %v", res.Err)
	}
	if got := f.cases.Applied(); got != 3 {
		t.Errorf("the book reached raft index %d; want 3", got)
	}
}

// UnknownKind names what of a message a later release added: a kind in a
// oneof, however deep, and with enums an enum value this release does not
// declare; a field beside the known ones, or a known value, is nothing.
func TestUnknownKindNamesWhatALaterReleaseAdded(t *testing.T) {
	event := &yizhanv1.CaseEvent{Seq: 2, Type: yizhanv1.EventType(900)}
	tests := []struct {
		name  string
		m     proto.Message
		enums bool
		want  string
	}{
		{"a feed message's kind", withLaterField(&peerv1.FeedMessage{}, 5), false,
			"yizhan.peer.v1.FeedMessage holds none of the kinds of kind this release knows, and field 5: a kind a later release added"},
		{"a registry command deep in a feed batch", &peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Batch{Batch: &peerv1.FeedBatch{
			Entries: []*peerv1.ChangelogEntry{{Index: 4}, {Index: 5, Command: withLaterField(&peerv1.RegistryCommand{}, 27)}}}}}, false,
			"yizhan.peer.v1.RegistryCommand holds none of the kinds of op this release knows, and field 27"},
		{"a case event's type", &peerv1.CaseMessage{CaseNumber: "450122101203-20260302-0001", Events: []*yizhanv1.CaseEvent{event}}, true,
			"yizhan.v1.CaseEvent.type is 900, a value of yizhan.v1.EventType this release does not know"},
		{"an enum value, enums not asked", &peerv1.CaseMessage{Events: []*yizhanv1.CaseEvent{event}}, false, ""},
		{"a field beside a known kind", &peerv1.FeedMessage{Kind: &peerv1.FeedMessage_Heartbeat{Heartbeat: withLaterField(&peerv1.FeedHeartbeat{}, 40)}}, true, ""},
		{"a known event", &peerv1.CaseMessage{Events: []*yizhanv1.CaseEvent{{Seq: 1, Type: yizhanv1.EventType_EVENT_TYPE_FILED}}}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Through the wire, as a node of this release reads it.
			b, err := proto.Marshal(tt.m)
			if err != nil {
				t.Fatal(err)
			}
			m := tt.m.ProtoReflect().New().Interface()
			if err := proto.Unmarshal(b, m); err != nil {
				t.Fatal(err)
			}
			got := UnknownKind(m, tt.enums)
			if tt.want == "" && got != "" || !strings.HasPrefix(got, tt.want) {
				t.Errorf("UnknownKind = %q; want %q", got, tt.want)
			}
		})
	}
}

// A kind a release retired (its oneof member removed, its number
// reserved, as docs/OPERATIONS.md, "Changing the API", has it) is not a
// kind a later release added: the raft logs, the snapshots' changelogs
// and the feed's pages written before still hold it, and a node that
// took it for a later kind would stop at every start, or its feed would
// stop for good. A number the message does not reserve is still named.
func TestAKindSinceRetiredIsNotTakenForALaterOne(t *testing.T) {
	fd, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name: proto.String("retired.proto"), Package: proto.String("retired.v1"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("Kind"), Field: []*descriptorpb.FieldDescriptorProto{
				{Name: proto.String("x"), Number: proto.Int32(1), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), JsonName: proto.String("x")}}},
			{Name: proto.String("Command"),
				Field: []*descriptorpb.FieldDescriptorProto{
					{Name: proto.String("at"), Number: proto.Int32(1), Type: descriptorpb.FieldDescriptorProto_TYPE_INT64.Enum(), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), JsonName: proto.String("at")},
					{Name: proto.String("kept"), Number: proto.Int32(10), Type: descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(), TypeName: proto.String(".retired.v1.Kind"),
						Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), OneofIndex: proto.Int32(0), JsonName: proto.String("kept")}},
				OneofDecl:     []*descriptorpb.OneofDescriptorProto{{Name: proto.String("op")}},
				ReservedRange: []*descriptorpb.DescriptorProto_ReservedRange{{Start: proto.Int32(11), End: proto.Int32(12)}}, // 11 retired
				ReservedName:  []string{"retired"}},
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	command := fd.Messages().ByName("Command")
	decoded := func(number protowire.Number) proto.Message {
		b := protowire.AppendTag(nil, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, 5)
		b = protowire.AppendTag(b, number, protowire.BytesType)
		b = protowire.AppendBytes(b, []byte{0x0a, 0x03, 'o', 'l', 'd'})
		m := dynamicpb.NewMessage(command)
		if err := proto.Unmarshal(b, m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if why := UnknownKind(decoded(11), true); why != "" {
		t.Errorf("a command of the kind retired at field 11: UnknownKind = %q, want none (a kind of an earlier release, not a later one)", why)
	}
	if why := UnknownKind(decoded(12), true); !strings.Contains(why, "field 12: a kind a later release added") {
		t.Errorf("a command of a kind at field 12, which no release retired: UnknownKind = %q, want it named", why)
	}
}
