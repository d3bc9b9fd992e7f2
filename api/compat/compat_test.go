package compat

import (
	"bytes"
	"flag"
	"os"
	"slices"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
)

var update = flag.Bool("update", false, "write baseline.txt from the current .proto files (make api-baseline, at a release)")

const baselineFile = "baseline.txt"

// TestAPIKeepsWhatTheLastReleasePromised compares the API with the
// baseline written at the last release: a field renumbered, retyped or
// removed without reserving it, a name REST clients use changed, an enum
// value renumbered, an RPC or its HTTP route removed or changed fails it,
// each named. With -update (make api-baseline) it writes the baseline
// from the current files instead.
func TestAPIKeepsWhatTheLastReleasePromised(t *testing.T) {
	now, err := Current()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		var b bytes.Buffer
		if err := now.Write(&b); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(baselineFile, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(baselineFile)
	if err != nil {
		t.Fatalf("%v: write it with make api-baseline", err)
	}
	defer f.Close()
	base, err := Read(f)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range Compare(base, now) {
		t.Errorf("%s", b)
	}
	if t.Failed() {
		t.Log("clients and nodes of the last release depend on what broke: add a field, value or RPC instead, " +
			"reserve what you remove (docs/OPERATIONS.md, \"Changing the API\"); " +
			"run make api-baseline only when cutting a release")
	}
}

// TestBaselineReadsBackAsWritten writes the current surface, reads it
// back and writes it again: the same text, and no difference either way.
func TestBaselineReadsBackAsWritten(t *testing.T) {
	now, err := Current()
	if err != nil {
		t.Fatal(err)
	}
	var first, second bytes.Buffer
	if err := now.Write(&first); err != nil {
		t.Fatal(err)
	}
	back, err := Read(bytes.NewReader(first.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if err := back.Write(&second); err != nil {
		t.Fatal(err)
	}
	if first.String() != second.String() {
		t.Error("the baseline read back writes another text")
	}
	if bs := append(Compare(now, back), Compare(back, now)...); len(bs) > 0 {
		t.Errorf("the baseline read back differs: %v", bs)
	}
	for _, want := range []string{
		"message yizhan.v1.Case\n", "  field 1 number json=number type=string\n",
		"enum yizhan.v1.EventType\n", "  value 1 EVENT_TYPE_FILED\n",
		"service yizhan.v1.CaseService\n", "  http FileCase POST /v1/cases body=*\n",
		"message yizhan.peer.v1.Command\n", "  field 1 registry json=registry type=yizhan.peer.v1.RegistryCommand oneof=kind\n",
	} {
		if !strings.Contains(first.String(), want) {
			t.Errorf("the baseline lacks %q", want)
		}
	}
}

// files is the current API's files, as descriptors a test may change.
func files(t *testing.T) []*descriptorpb.FileDescriptorProto {
	t.Helper()
	var out []*descriptorpb.FileDescriptorProto
	for _, pkg := range Packages {
		protoregistry.GlobalFiles.RangeFilesByPackage(pkg, func(fd protoreflect.FileDescriptor) bool {
			out = append(out, protodesc.ToFileDescriptorProto(fd))
			return true
		})
	}
	return out
}

func message(t *testing.T, fs []*descriptorpb.FileDescriptorProto, full string) *descriptorpb.DescriptorProto {
	t.Helper()
	for _, f := range fs {
		for _, m := range f.GetMessageType() {
			if f.GetPackage()+"."+m.GetName() == full {
				return m
			}
		}
	}
	t.Fatalf("no message %s", full)
	return nil
}

func field(t *testing.T, m *descriptorpb.DescriptorProto, name string) *descriptorpb.FieldDescriptorProto {
	t.Helper()
	for _, f := range m.GetField() {
		if f.GetName() == name {
			return f
		}
	}
	t.Fatalf("no field %s in %s", name, m.GetName())
	return nil
}

func removeField(m *descriptorpb.DescriptorProto, name string) {
	m.Field = slices.DeleteFunc(m.Field, func(f *descriptorpb.FieldDescriptorProto) bool { return f.GetName() == name })
}

func enum(t *testing.T, fs []*descriptorpb.FileDescriptorProto, full string) *descriptorpb.EnumDescriptorProto {
	t.Helper()
	for _, f := range fs {
		for _, e := range f.GetEnumType() {
			if f.GetPackage()+"."+e.GetName() == full {
				return e
			}
		}
	}
	t.Fatalf("no enum %s", full)
	return nil
}

func method(t *testing.T, fs []*descriptorpb.FileDescriptorProto, service, name string) *descriptorpb.MethodDescriptorProto {
	t.Helper()
	for _, f := range fs {
		for _, s := range f.GetService() {
			if f.GetPackage()+"."+s.GetName() != service {
				continue
			}
			for _, m := range s.GetMethod() {
				if m.GetName() == name {
					return m
				}
			}
		}
	}
	t.Fatalf("no rpc %s.%s", service, name)
	return nil
}

func httpRule(m *descriptorpb.MethodDescriptorProto) *annotations.HttpRule {
	return proto.GetExtension(m.GetOptions(), annotations.E_Http).(*annotations.HttpRule)
}

// TestEachKindOfBreakIsNamed changes a copy of the current descriptors
// (not the .proto files) in each way that breaks a client or a node of
// the previous release, and wants the check to name the element and what
// broke.
func TestEachKindOfBreakIsNamed(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, fs []*descriptorpb.FileDescriptorProto)
		want   string // the break, as Break.String gives it
	}{
		{"field renumbered", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			field(t, message(t, fs, "yizhan.v1.Case"), "item_code").Number = proto.Int32(900)
		}, "yizhan.v1.Case.item_code (field 2): renumbered to 900"},
		{"field retyped", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			field(t, message(t, fs, "yizhan.v1.Case"), "item_version").Type = descriptorpb.FieldDescriptorProto_TYPE_UINT64.Enum()
		}, "yizhan.v1.Case.item_version (field 3): type changed from uint32 to uint64"},
		{"field's message type changed", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			field(t, message(t, fs, "yizhan.peer.v1.Command"), "cases").TypeName = proto.String(".yizhan.peer.v1.RegistryCommand")
		}, "yizhan.peer.v1.Command.cases (field 4): type changed from yizhan.peer.v1.CaseCommand to yizhan.peer.v1.RegistryCommand"},
		{"field made repeated", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			field(t, message(t, fs, "yizhan.v1.Case"), "item_name").Label = descriptorpb.FieldDescriptorProto_LABEL_REPEATED.Enum()
		}, "yizhan.v1.Case.item_name (field 4): changed from singular to repeated"},
		{"field moved out of its oneof", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			field(t, message(t, fs, "yizhan.peer.v1.Command"), "replay").OneofIndex = nil
		}, "yizhan.peer.v1.Command.replay (field 2): moved from oneof kind to no oneof"},
		{"field removed without reserved", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			removeField(message(t, fs, "yizhan.peer.v1.CaseMessage"), "handoff_to")
		}, "yizhan.peer.v1.CaseMessage.handoff_to (field 3): field removed without reserving its number (reserved 3;)"},
		{"REST field removed with its number reserved but not its name", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			m := message(t, fs, "yizhan.v1.Case")
			removeField(m, "item_name")
			m.ReservedRange = append(m.ReservedRange, &descriptorpb.DescriptorProto_ReservedRange{Start: proto.Int32(4), End: proto.Int32(5)})
		}, `yizhan.v1.Case.item_name (field 4): field removed without reserving its name, which REST clients send (reserved "item_name";)`},
		{"REST field renamed", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			f := field(t, message(t, fs, "yizhan.v1.Case"), "origin_office")
			f.Name, f.JsonName = proto.String("filed_at_office"), proto.String("filedAtOffice")
		}, "yizhan.v1.Case.origin_office (field 7): renamed to filed_at_office: REST clients read and write it by its name"},
		{"JSON name changed", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			field(t, message(t, fs, "yizhan.v1.Case"), "owner_office").JsonName = proto.String("owner")
		}, "yizhan.v1.Case.owner_office (field 8): JSON name changed from ownerOffice to owner"},
		{"reserved number used again", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			// The baseline reserves 3 (as a release that removed it would);
			// the current API uses it for another field.
			m := message(t, fs, "yizhan.peer.v1.CaseMessage")
			f := field(t, m, "handoff_to")
			f.Name, f.JsonName = proto.String("handed_to"), proto.String("handedTo")
		}, "yizhan.peer.v1.CaseMessage.handed_to (field 3): uses number 3, reserved in the baseline"},
		{"reservation narrowed", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			m := message(t, fs, "yizhan.peer.v1.CaseMessage")
			removeField(m, "handoff_to")
			m.ReservedRange = append(m.ReservedRange, &descriptorpb.DescriptorProto_ReservedRange{Start: proto.Int32(3), End: proto.Int32(4)})
		}, "yizhan.peer.v1.CaseMessage: reservation of field numbers 1000-536870911 removed or narrowed"},
		{"message removed", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			for _, f := range fs {
				f.MessageType = slices.DeleteFunc(f.MessageType, func(m *descriptorpb.DescriptorProto) bool {
					return f.GetPackage() == "yizhan.peer.v1" && m.GetName() == "FinishRecovery"
				})
			}
		}, "yizhan.peer.v1.FinishRecovery: message removed (or renamed)"},
		{"enum value renumbered", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			for _, v := range enum(t, fs, "yizhan.v1.EventType").GetValue() {
				if v.GetName() == "EVENT_TYPE_ACCEPTED" {
					v.Number = proto.Int32(400)
				}
			}
		}, "yizhan.v1.EventType.EVENT_TYPE_ACCEPTED (value 4): renumbered to 400"},
		{"enum value removed without reserved", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			e := enum(t, fs, "yizhan.v1.EventType")
			e.Value = slices.DeleteFunc(e.Value, func(v *descriptorpb.EnumValueDescriptorProto) bool { return v.GetName() == "EVENT_TYPE_RESUBMITTED" })
		}, "yizhan.v1.EventType.EVENT_TYPE_RESUBMITTED (value 3): value removed without reserving its number (reserved 3;)"},
		{"enum value renamed", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			for _, v := range enum(t, fs, "yizhan.v1.EventType").GetValue() {
				if v.GetName() == "EVENT_TYPE_FILED" {
					v.Name = proto.String("EVENT_TYPE_SUBMITTED")
				}
			}
		}, "yizhan.v1.EventType.EVENT_TYPE_FILED (value 1): renamed to EVENT_TYPE_SUBMITTED: REST clients read and write it by its name"},
		{"RPC removed", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			for _, f := range fs {
				for _, s := range f.GetService() {
					s.Method = slices.DeleteFunc(s.Method, func(m *descriptorpb.MethodDescriptorProto) bool { return m.GetName() == "GetCase" })
				}
			}
		}, "yizhan.v1.CaseService.GetCase: RPC removed (or renamed)"},
		{"RPC's request changed", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			method(t, fs, "yizhan.v1.CaseService", "GetCase").InputType = proto.String(".yizhan.v1.FileCaseRequest")
		}, "yizhan.v1.CaseService.GetCase: request changed from yizhan.v1.GetCaseRequest to yizhan.v1.FileCaseRequest"},
		{"RPC made a stream", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			method(t, fs, "yizhan.peer.v1.Peer", "DeliverCases").ServerStreaming = proto.Bool(true)
		}, "yizhan.peer.v1.Peer.DeliverCases: streaming changed from unary to a server stream"},
		{"HTTP route changed", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			m := method(t, fs, "yizhan.v1.CaseService", "GetCase")
			m.Options = proto.CloneOf(m.GetOptions())
			rule := proto.CloneOf(httpRule(m))
			rule.Pattern = &annotations.HttpRule_Get{Get: "/v1/case/{number}"}
			proto.SetExtension(m.Options, annotations.E_Http, rule)
		}, `yizhan.v1.CaseService.GetCase: HTTP route "GET /v1/cases/{number}" removed or changed (now "GET /v1/case/{number}")`},
		{"HTTP route's verb changed", func(t *testing.T, fs []*descriptorpb.FileDescriptorProto) {
			m := method(t, fs, "yizhan.v1.CaseService", "FileCase")
			m.Options = proto.CloneOf(m.GetOptions())
			rule := proto.CloneOf(httpRule(m))
			rule.Pattern = &annotations.HttpRule_Put{Put: "/v1/cases"}
			proto.SetExtension(m.Options, annotations.E_Http, rule)
		}, `yizhan.v1.CaseService.FileCase: HTTP route "POST /v1/cases body=*" removed or changed (now "PUT /v1/cases body=*")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			baseFiles := files(t)
			if tt.name == "reservation narrowed" {
				m := message(t, baseFiles, "yizhan.peer.v1.CaseMessage")
				removeField(m, "handoff_to")
				m.ReservedRange = append(m.ReservedRange, &descriptorpb.DescriptorProto_ReservedRange{Start: proto.Int32(3), End: proto.Int32(4)},
					&descriptorpb.DescriptorProto_ReservedRange{Start: proto.Int32(1000), End: proto.Int32(536870912)})
			}
			if tt.name == "reserved number used again" {
				m := message(t, baseFiles, "yizhan.peer.v1.CaseMessage")
				removeField(m, "handoff_to")
				m.ReservedRange = append(m.ReservedRange, &descriptorpb.DescriptorProto_ReservedRange{Start: proto.Int32(3), End: proto.Int32(4)})
			}
			base, err := FromFiles(baseFiles)
			if err != nil {
				t.Fatal(err)
			}
			fs := files(t)
			tt.change(t, fs)
			now, err := FromFiles(fs)
			if err != nil {
				t.Fatal(err)
			}
			breaks := Compare(base, now)
			var got []string
			for _, b := range breaks {
				got = append(got, b.String())
			}
			if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, tt.want) }) {
				t.Errorf("breaks %q\nwant one starting %q", got, tt.want)
			}
		})
	}
}

// TestAdditionsPass adds what a release may add (a field, a oneof
// member, a message, an enum value, an RPC, an HTTP route beside the
// old one) and removes a field the right way (its number and name
// reserved), renames a field only nodes see: none of it is a break.
func TestAdditionsPass(t *testing.T) {
	base, err := FromFiles(files(t))
	if err != nil {
		t.Fatal(err)
	}
	fs := files(t)
	c := message(t, fs, "yizhan.v1.Case")
	c.Field = append(c.Field, &descriptorpb.FieldDescriptorProto{Name: proto.String("hotline_ticket"), JsonName: proto.String("hotlineTicket"),
		Number: proto.Int32(900), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_STRING.Enum()})
	removeField(c, "item_name")
	c.ReservedRange = append(c.ReservedRange, &descriptorpb.DescriptorProto_ReservedRange{Start: proto.Int32(4), End: proto.Int32(5)})
	c.ReservedName = append(c.ReservedName, "item_name")

	cmd := message(t, fs, "yizhan.peer.v1.CaseCommand")
	cmd.Field = append(cmd.Field, &descriptorpb.FieldDescriptorProto{Name: proto.String("put_inspection"), JsonName: proto.String("putInspection"),
		Number: proto.Int32(99), Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Type: descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(),
		TypeName: proto.String(".yizhan.peer.v1.PutInspection"), OneofIndex: field(t, cmd, "append").OneofIndex})
	f := field(t, message(t, fs, "yizhan.peer.v1.CaseMessage"), "handoff_to")
	f.Name, f.JsonName = proto.String("hand_to"), proto.String("handTo")
	for _, file := range fs {
		if file.GetPackage() == "yizhan.peer.v1" {
			file.MessageType = append(file.MessageType, &descriptorpb.DescriptorProto{Name: proto.String("PutInspection")})
		}
	}
	e := enum(t, fs, "yizhan.v1.EventType")
	e.Value = append(e.Value, &descriptorpb.EnumValueDescriptorProto{Name: proto.String("EVENT_TYPE_INSPECTED"), Number: proto.Int32(900)})

	for _, file := range fs {
		for _, s := range file.GetService() {
			if file.GetPackage()+"."+s.GetName() == "yizhan.v1.CaseService" {
				s.Method = append(s.Method, &descriptorpb.MethodDescriptorProto{Name: proto.String("InspectCase"),
					InputType: proto.String(".yizhan.v1.GetCaseRequest"), OutputType: proto.String(".yizhan.v1.CaseResponse")})
			}
		}
	}
	m := method(t, fs, "yizhan.v1.CaseService", "GetCase")
	m.Options = proto.CloneOf(m.GetOptions())
	rule := proto.CloneOf(httpRule(m))
	rule.AdditionalBindings = append(rule.AdditionalBindings, &annotations.HttpRule{Pattern: &annotations.HttpRule_Get{Get: "/v2/cases/{number}"}})
	proto.SetExtension(m.Options, annotations.E_Http, rule)

	now, err := FromFiles(fs)
	if err != nil {
		t.Fatal(err)
	}
	if bs := Compare(base, now); len(bs) > 0 {
		t.Errorf("additions taken for breaks: %v", bs)
	}
}
