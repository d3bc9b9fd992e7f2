package node

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/reason"
)

// refuseUnknownFields refuses a gRPC request of the API (yizhan.v1) that
// holds a field this node's release does not know, UNKNOWN_FIELD naming
// where: a client built on a later release's .proto, or a node of a
// later release forwarding its client's request (villages are upgraded
// first: a village's registry write goes up to a county still on the
// release before). gRPC decodes such a field without an error and keeps
// it aside unread: answered, the request would be applied without it
// while the client took it for done. REST clients get the same from the
// gateway already for an unknown key of the body, not for an unknown
// query parameter, which its parser passes over (node/DESIGN.md). The peer protocol
// (yizhan.peer.v1) is not looked at: what other offices send keeps a
// later release's fields unread on purpose (federation/DESIGN.md,
// "Mixed releases").
func refuseUnknownFields(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if m, ok := req.(proto.Message); ok && strings.HasPrefix(info.FullMethod, "/yizhan.v1.") {
		if path, in, fields := unknownField(m.ProtoReflect(), ""); fields != "" {
			return nil, fieldError(path, reason.UnknownField, reason.Meta{"path": path},
				fmt.Sprintf("%s of %s is not known to this node's release, an earlier one than the client's (or than that of the node that passed the request on): refused rather than done without it; send it again once this office runs the later release, or without the field",
					fields, in))
		}
	}
	return handler(ctx, req)
}

// unknownField finds a field of m, or of a message within it, that this
// release does not declare: path is where, as the API names its fields
// ("item.fees[2]", "" for the request itself, then the field's number),
// in the message's name, fields its numbers ("field 17").
func unknownField(m protoreflect.Message, at string) (path, in, fields string) {
	if !m.IsValid() {
		return "", "", ""
	}
	if u := m.GetUnknown(); len(u) > 0 {
		fields = raftgroup.UnknownFields(u)
		number, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(fields, "fields "), "field "), " ")
		if _, err := strconv.Atoi(strings.TrimSuffix(number, ",")); err != nil {
			return at, string(m.Descriptor().FullName()), fields // not even a field's number: the message
		}
		return join(at, strings.TrimSuffix(number, ",")), string(m.Descriptor().FullName()), fields
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind && !(fd.IsMap() && fd.MapValue().Kind() == protoreflect.MessageKind) {
			return true
		}
		name := join(at, string(fd.Name()))
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && fields == ""; i++ {
				path, in, fields = unknownField(l.Get(i).Message(), name+"["+strconv.Itoa(i)+"]")
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				path, in, fields = unknownField(mv.Message(), name+"["+k.String()+"]")
				return fields == ""
			})
		default:
			path, in, fields = unknownField(v.Message(), name)
		}
		return fields == ""
	})
	return path, in, fields
}

func join(at, name string) string {
	if at == "" {
		return name
	}
	return at + "." + name
}
