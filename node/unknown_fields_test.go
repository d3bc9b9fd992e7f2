package node

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// laterField adds to m, through the wire, a field its release does not
// declare: what a client or a node of a later release sends.
func laterField[M proto.Message](t *testing.T, m M, number protowire.Number) M {
	t.Helper()
	r := m.ProtoReflect()
	r.SetUnknown(protowire.AppendBytes(protowire.AppendTag(r.GetUnknown(), number, protowire.BytesType), []byte("新")))
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	out := m.ProtoReflect().New().Interface().(M)
	if err := proto.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// A gRPC request of the API holding a field a later release added (a
// newer client's, or one a village of a later release passes up to its
// county) is refused with InvalidArgument, UNKNOWN_FIELD naming where the
// field is and its number, and the handler is never called: it is not
// done without the field. A request this release knows through and
// through, and the peer protocol's calls (whose later fields are kept
// unread on purpose), go on to the handler.
func TestARequestWithAFieldOfALaterReleaseIsRefusedNamingIt(t *testing.T) {
	nested := &yizhanv1.CreateItemRequest{Item: laterField(t, &yizhanv1.Item{Code: "450122-001"}, 40)}
	tests := []struct {
		name   string
		method string
		req    proto.Message
		path   string // the field named, "" when the handler is called
		says   []string
	}{
		{"a field of the request", "/yizhan.v1.CaseService/FileCase", laterField(t, &yizhanv1.FileCaseRequest{ItemCode: "450122-001"}, 31),
			"31", []string{"field 31 of yizhan.v1.FileCaseRequest", "earlier one than the client's"}},
		{"a field of a message in it", "/yizhan.v1.RegistryService/CreateItem", nested,
			"item.40", []string{"field 40 of yizhan.v1.Item"}},
		{"a known request", "/yizhan.v1.CaseService/FileCase", &yizhanv1.FileCaseRequest{ItemCode: "450122-001"}, "", nil},
		{"the peer protocol", "/yizhan.peer.v1.Peer/DeliverCases", laterField(t, &peerv1.DeliverCasesRequest{}, 9), "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			_, err := refuseUnknownFields(context.Background(), tt.req, &grpc.UnaryServerInfo{FullMethod: tt.method},
				func(context.Context, any) (any, error) { called = true; return nil, nil })
			if tt.path == "" {
				if err != nil || !called {
					t.Errorf("refused (%v), or the handler not called", err)
				}
				return
			}
			if called {
				t.Error("the handler was called")
			}
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("code %s; want InvalidArgument: %v", st.Code(), err)
			}
			var br *errdetails.BadRequest
			for _, d := range st.Details() {
				if b, ok := d.(*errdetails.BadRequest); ok {
					br = b
				}
			}
			if br == nil || len(br.GetFieldViolations()) != 1 {
				t.Fatalf("details %v; want one field violation", st.Details())
			}
			v := br.GetFieldViolations()[0]
			if v.GetField() != tt.path || v.GetReason() != reason.UnknownField {
				t.Errorf("violation of %q (%s); want %q (%s)", v.GetField(), v.GetReason(), tt.path, reason.UnknownField)
			}
			for _, want := range tt.says {
				if !strings.Contains(v.GetDescription(), want) {
					t.Errorf("description %q does not say %q", v.GetDescription(), want)
				}
			}
		})
	}
}
