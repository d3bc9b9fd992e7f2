package casework

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// An event that carries its request (request_id, request_hash), its
// notice's days, its appeal bodies or its registry index (fields added
// after the previous release, 32 and up) hashes the same at a node of the
// previous release, which reads them as unknown fields and writes them
// after its known ones: they are numbered after every other field, where
// this release writes them too. A case handed on through an older
// township during an upgrade keeps a chain that verifies.
func TestAnEventsNewFieldsHashTheSameAtANodeOfThePreviousRelease(t *testing.T) {
	e := &yizhanv1.CaseEvent{Seq: 7, Type: yizhanv1.EventType_EVENT_TYPE_COMPLAINED, At: timestamppb.Now(),
		OfficeCode: "450122000000", Actor: CitizenActor, Reason: "窗口让我跑了三趟",
		PrevHash: bytes.Repeat([]byte{1}, 32), RequestId: "complaint-7f3a9c", RequestHash: bytes.Repeat([]byte{2}, 32),
		CorrectionWaitDays: 30, ReconsiderationBody: "武鸣区人民政府", Court: "武鸣区人民法院", RegistryIndex: 412}
	Seal(e, e.GetPrevHash())

	// The previous release's CaseEvent: this one without the new fields.
	fdp := protodesc.ToFileDescriptorProto(yizhanv1.File_yizhan_v1_cases_proto)
	for _, m := range fdp.GetMessageType() {
		if m.GetName() != "CaseEvent" {
			continue
		}
		var kept []*descriptorpb.FieldDescriptorProto
		for _, f := range m.GetField() {
			if f.GetNumber() < 32 {
				kept = append(kept, f)
			}
		}
		if len(kept) != len(m.GetField())-6 {
			t.Fatalf("CaseEvent's new fields not found")
		}
		m.Field = kept
	}
	old, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	atOldNode := dynamicpb.NewMessage(old.Messages().ByName("CaseEvent"))
	if err := proto.Unmarshal(b, atOldNode); err != nil {
		t.Fatal(err)
	}
	if len(atOldNode.GetUnknown()) == 0 {
		t.Fatal("the old node's event holds no unknown fields: the test reads the new fields")
	}
	again, err := proto.MarshalOptions{Deterministic: true}.Marshal(atOldNode)
	if err != nil {
		t.Fatal(err)
	}
	if got := hashEncoding(again); !bytes.Equal(got, e.GetHash()) {
		t.Errorf("the previous release hashes the event %x, this one %x", got, e.GetHash())
	}
}
