package raftgroup

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
)

// Kinds a later release adds. Offices run different releases for weeks
// during an upgrade (docs/OPERATIONS.md, "Upgrading to a new release"),
// and a later release adds kinds of things to what travels: a registry
// command, a case command, a raft command, a feed message (a new member
// of a oneof), a kind of record carried by the case mail (a new field of
// CaseMessage), a kind of case event (a new value of an enum). A node of
// the earlier release decodes such a message without error: the oneof
// reads as unset and the new field is kept as an unknown field, the enum
// value as a number it does not declare. Applied so, it would be skipped
// or taken for something else; so every place that takes one in holds
// it instead, naming it (UnknownKind): the feed stops before it, the
// mail refuses it (and its sender keeps it), and a command of the
// office's log stops the node (federation/DESIGN.md, "Mixed releases").
//
// A field a later release adds beside the known ones is not a kind: the
// node keeps it unread (protobuf keeps unknown fields, and writes them
// back), as it keeps a case event's newer fields, whose hashes hold.

// UnknownKind is what of m this release does not know, "" when nothing
// is: a oneof of m, or of a message within it, that holds none of the
// fields this release declares while its message holds fields it does
// not (a kind a later release added), and, with enums, an enum value
// this release does not declare.
func UnknownKind(m proto.Message, enums bool) string {
	if m == nil {
		return ""
	}
	return unknownIn(m.ProtoReflect(), enums)
}

func unknownIn(m protoreflect.Message, enums bool) string {
	if !m.IsValid() {
		return ""
	}
	if why := unsetOneof(m); why != "" {
		return why
	}
	var why string
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len() && why == ""; i++ {
				why = unknownValue(fd, l.Get(i), enums)
			}
		case fd.IsMap():
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				why = unknownValue(fd.MapValue(), mv, enums)
				return why == ""
			})
		default:
			why = unknownValue(fd, v, enums)
		}
		return why == ""
	})
	return why
}

func unknownValue(fd protoreflect.FieldDescriptor, v protoreflect.Value, enums bool) string {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return unknownIn(v.Message(), enums)
	case protoreflect.EnumKind:
		if enums && fd.Enum().Values().ByNumber(v.Enum()) == nil {
			return fmt.Sprintf("%s is %d, a value of %s this release does not know", fd.FullName(), v.Enum(), fd.Enum().FullName())
		}
	}
	return ""
}

// unsetOneof names the first oneof of m that holds nothing while m holds
// fields this release does not declare (LaterFields).
func unsetOneof(m protoreflect.Message) string {
	unknown := LaterFields(m)
	if len(unknown) == 0 {
		return ""
	}
	oneofs := m.Descriptor().Oneofs()
	for i := range oneofs.Len() {
		o := oneofs.Get(i)
		if o.IsSynthetic() || m.WhichOneof(o) != nil {
			continue
		}
		return fmt.Sprintf("%s holds none of the kinds of %s this release knows, and %s: a kind a later release added",
			m.Descriptor().FullName(), o.Name(), UnknownFields(unknown))
	}
	return ""
}

// LaterFields is the part of m's unknown fields that a later release
// may have added: all of them but the numbers m's message reserves. A
// number reserved is a field an earlier release had and this one
// removed (a kind retired, docs/OPERATIONS.md, "Changing the API"),
// which raft logs, snapshots, changelogs and feeds written before still
// hold: not a kind this release has yet to learn.
func LaterFields(m protoreflect.Message) protoreflect.RawFields {
	b := m.GetUnknown()
	reserved := m.Descriptor().ReservedRanges()
	if len(b) == 0 || reserved.Len() == 0 {
		return b
	}
	var later protoreflect.RawFields
	for len(b) > 0 {
		n, _, l := protowire.ConsumeField(b)
		if l < 0 {
			return append(later, b...) // unreadable: not a field retired
		}
		if !reserved.Has(n) {
			later = append(later, b[:l]...)
		}
		b = b[l:]
	}
	return later
}

// UnknownFields names the fields of an encoded message's unknown part:
// "field 27", "fields 27 and 31".
func UnknownFields(b protoreflect.RawFields) string {
	var nums []string
	for len(b) > 0 {
		n, _, l := protowire.ConsumeField(b)
		if l < 0 {
			break
		}
		if s := fmt.Sprint(n); !slices.Contains(nums, s) {
			nums = append(nums, s)
		}
		b = b[l:]
	}
	switch len(nums) {
	case 0:
		return "fields it cannot read"
	case 1:
		return "field " + nums[0]
	}
	return "fields " + strings.Join(nums[:len(nums)-1], ", ") + " and " + nums[len(nums)-1]
}

// unknownCommand is what of a command of the office's log this release
// does not know, "" when it knows its kinds: the command's, its case
// command's or registry command's operation (also of each registry
// entry a replay or a snapshot carries), a supervision step's. Only the
// kinds are looked at, not every field and value: the state machine
// reads every entry, and the places that take in what other offices
// send (the feed, the mail) look at everything (UnknownKind) before
// they propose it.
func unknownCommand(cmd *peerv1.Command) string {
	if why := unsetOneof(cmd.ProtoReflect()); why != "" {
		return why
	}
	registryOp := func(c *peerv1.RegistryCommand) string {
		if c == nil || c.GetOp() != nil {
			return ""
		}
		return unsetOneof(c.ProtoReflect())
	}
	switch k := cmd.GetKind().(type) {
	case *peerv1.Command_Registry:
		return registryOp(k.Registry)
	case *peerv1.Command_Replay:
		for _, e := range k.Replay.GetEntries() {
			if why := registryOp(e.GetCommand()); why != "" {
				return fmt.Sprintf("registry entry %d: %s", e.GetIndex(), why)
			}
		}
	case *peerv1.Command_InstallSnapshot:
		for _, e := range k.InstallSnapshot.GetSnapshot().GetChangelog() {
			if why := registryOp(e.GetCommand()); why != "" {
				return fmt.Sprintf("registry entry %d: %s", e.GetIndex(), why)
			}
		}
	case *peerv1.Command_Cases:
		c := k.Cases
		if c.GetOp() == nil {
			return unsetOneof(c.ProtoReflect())
		}
		if s := c.GetSupervision(); s != nil && s.GetOp() == nil {
			return unsetOneof(s.ProtoReflect())
		}
	}
	return ""
}

// UnknownKindError is a command of the office's log that holds a kind
// this release does not know (unknownCommand): a node of a later
// release, in the same office, proposed it. The state machine stops the
// node on it (stop), so that it neither skips the command nor refuses it
// on this node alone.
type UnknownKindError struct {
	Index uint64 // the raft index of the command
	What  string // what of it is unknown
}

func (e *UnknownKindError) Error() string {
	return fmt.Sprintf("federation: the command at raft index %d holds a kind this release does not know: %s", e.Index, e.What)
}
