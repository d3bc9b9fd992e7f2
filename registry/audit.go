package registry

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The audit trail (操作记录) keeps every registry write the county applied
// as a yizhanv1.RegistryChange: who, when, what and which fields changed.
// The registry describes a write (Before, then Describe once it is
// applied); the office's state machine keeps the description in its case
// book, on disk and for good, where the in-memory changelog keeps only the
// newest entries for the feed.

// Before returns a copy of what cmd is about to change as the registry
// holds it now, or nil when cmd makes something new (or changes nothing
// the audit trail shows). Call it before applying cmd; pass the result to
// Describe.
func (r *Registry) Before(cmd *peerv1.RegistryCommand) proto.Message {
	var (
		m   proto.Message
		err error
	)
	switch op := cmd.GetOp().(type) {
	case *peerv1.RegistryCommand_UpdateOffice:
		m, err = r.Office(op.UpdateOffice.GetOffice().GetCode())
	case *peerv1.RegistryCommand_UpdateDepartment:
		m, err = r.Department(op.UpdateDepartment.GetDepartment().GetCode())
	case *peerv1.RegistryCommand_UpdateItem:
		m, err = r.Item(op.UpdateItem.GetItem().GetCode(), 0)
	case *peerv1.RegistryCommand_RevokeGrant:
		m, err = r.Grant(op.RevokeGrant.GetId())
	case *peerv1.RegistryCommand_UpdateStaff:
		m, err = r.Staff(op.UpdateStaff.GetStaff().GetUsername())
	case *peerv1.RegistryCommand_PutCalendar:
		if c := r.Calendar(int(op.PutCalendar.GetCalendar().GetYear())); c.GetSource() == SourceRegistry {
			m = c
		}
	case *peerv1.RegistryCommand_PutNode:
		for _, n := range r.Nodes(op.PutNode.GetNode().GetOfficeCode()) {
			if n.GetName() == op.PutNode.GetNode().GetName() {
				m = n
			}
		}
	case *peerv1.RegistryCommand_PutSupervisionPolicy:
		m = r.SupervisionPolicy()
	case *peerv1.RegistryCommand_PutDutyPolicy:
		m = r.DutyPolicy()
	case *peerv1.RegistryCommand_PutCasePolicy:
		m = r.CasePolicy()
	}
	if err != nil {
		return nil
	}
	return m
}

// Describe is the audit trail's record of cmd, applied at index: before
// is what Before returned, after the entity the write stored.
func Describe(index uint64, cmd *peerv1.RegistryCommand, before, after proto.Message) *yizhanv1.RegistryChange {
	c := &yizhanv1.RegistryChange{Index: index, Actor: cmd.GetActor(), Op: "update"}
	if at := cmd.GetAtUnixNano(); at != 0 {
		c.At = timestamppb.New(time.Unix(0, at))
	}
	if before == nil {
		c.Op = "create"
	}
	switch op := cmd.GetOp().(type) {
	case *peerv1.RegistryCommand_CreateOffice, *peerv1.RegistryCommand_UpdateOffice:
		o, _ := after.(*yizhanv1.Office)
		c.Kind, c.Target, c.TargetName = "office", o.GetCode(), o.GetName()
	case *peerv1.RegistryCommand_CreateDepartment, *peerv1.RegistryCommand_UpdateDepartment:
		d, _ := after.(*yizhanv1.Department)
		c.Kind, c.Target, c.TargetName = "department", d.GetCode(), d.GetName()
	case *peerv1.RegistryCommand_CreateItem, *peerv1.RegistryCommand_UpdateItem:
		it, _ := after.(*yizhanv1.Item)
		c.Kind, c.Target, c.TargetName, c.Note = "item", it.GetCode(), it.GetName(), it.GetChangeNote()
		if b, _ := before.(*yizhanv1.Item); it.GetRetired() && !b.GetRetired() && before != nil {
			c.Op = "retire"
		}
	case *peerv1.RegistryCommand_CreateGrant, *peerv1.RegistryCommand_RevokeGrant:
		g, _ := after.(*yizhanv1.Grant)
		c.Kind, c.Target, c.TargetName = "grant", g.GetId(), g.GetItemCode()
		if _, ok := op.(*peerv1.RegistryCommand_RevokeGrant); ok {
			c.Op = "revoke"
		}
	case *peerv1.RegistryCommand_CreateStaff, *peerv1.RegistryCommand_UpdateStaff:
		m, _ := after.(*yizhanv1.StaffMember)
		c.Kind, c.Target, c.TargetName = "staff", m.GetUsername(), m.GetName()
		if u, ok := op.(*peerv1.RegistryCommand_UpdateStaff); ok {
			b, _ := before.(*yizhanv1.StaffMember)
			switch {
			case u.UpdateStaff.GetPasswordOnly():
				c.Op = "change_password"
			case u.UpdateStaff.GetCredential() != nil:
				c.Op = "reset_password"
			case m.GetDisabled() && !b.GetDisabled():
				c.Op = "disable"
			case !m.GetDisabled() && b.GetDisabled():
				c.Op = "enable"
			}
		}
	case *peerv1.RegistryCommand_PutCalendar:
		cal, _ := after.(*yizhanv1.Calendar)
		c.Kind, c.Op, c.Target = "calendar", "put", strconv.Itoa(int(cal.GetYear()))
	case *peerv1.RegistryCommand_PutNode:
		n, _ := after.(*yizhanv1.NodeEntry)
		c.Kind, c.Op, c.Target = "node", "put", n.GetName()
		if n.GetRemoved() {
			c.Op = "remove"
		}
	case *peerv1.RegistryCommand_PutSupervisionPolicy:
		c.Kind, c.Op = "supervision_policy", "put"
	case *peerv1.RegistryCommand_PutDutyPolicy:
		c.Kind, c.Op = "duty_policy", "put"
	case *peerv1.RegistryCommand_PutCasePolicy:
		c.Kind, c.Op = "case_policy", "put"
	case *peerv1.RegistryCommand_PutQueryCodeKey:
		// A secret: only that it was added, never the key.
		c.Kind, c.Op, c.Target = "query_code_key", "put", strconv.Itoa(int(op.PutQueryCodeKey.GetKey().GetId()))
		return c
	case *peerv1.RegistryCommand_PutOfficialCalendars:
		// The State Council's calendars a release brought: the years it
		// holds, not every day.
		c.Kind, c.Op, c.Target = "calendar", "put_official", officialSpan(op.PutOfficialCalendars.GetData())
		return c
	default:
		c.Kind = "unknown"
		return c
	}
	c.Changes = fieldChanges(before, after)
	if c.Kind == "staff" && c.Op == "reset_password" {
		c.Changes = append(c.Changes, &yizhanv1.FieldChange{Field: "password", After: "重置"})
	}
	return c
}

// notAudited are the fields a write sets by itself (output only) or that
// a change record carries elsewhere.
var notAudited = map[protoreflect.Name]bool{
	"registry_index": true, "created_at": true, "created_by": true,
	"updated_at": true, "updated_by": true, "version": true,
	"revoked_at": true, "must_change_password": true, "password_changed_at": true, "change_note": true,
	"source": true,
}

// fieldChanges lists the fields whose values differ between before (nil:
// an empty record) and after, in field order.
func fieldChanges(before, after proto.Message) []*yizhanv1.FieldChange {
	if after == nil {
		return nil
	}
	a := after.ProtoReflect()
	var b protoreflect.Message
	if before != nil && before.ProtoReflect().Descriptor() == a.Descriptor() {
		b = before.ProtoReflect()
	} else {
		b = a.Type().New()
	}
	var out []*yizhanv1.FieldChange
	fields := a.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if notAudited[fd.Name()] {
			continue
		}
		bv, av := fieldText(b, fd), fieldText(a, fd)
		if bv == av && (fd.Kind() != protoreflect.MessageKind || equalField(b, a, fd)) {
			continue
		}
		out = append(out, &yizhanv1.FieldChange{Field: string(fd.Name()), Before: bv, After: av})
	}
	return out
}

// equalField reports whether m1 and m2 hold the same value of fd.
func equalField(m1, m2 protoreflect.Message, fd protoreflect.FieldDescriptor) bool {
	if m1.Has(fd) != m2.Has(fd) {
		return false
	}
	if !m1.Has(fd) {
		return true
	}
	x, y := m1.Type().New(), m2.Type().New()
	x.Set(fd, m1.Get(fd))
	y.Set(fd, m2.Get(fd))
	return proto.Equal(x.Interface(), y.Interface())
}

// fieldText is fd's value in m as text: "" when unset.
func fieldText(m protoreflect.Message, fd protoreflect.FieldDescriptor) string {
	if !m.Has(fd) {
		return ""
	}
	v := m.Get(fd)
	switch {
	case fd.IsList():
		l := v.List()
		if fd.Kind() == protoreflect.MessageKind {
			return fmt.Sprintf("%d 项", l.Len())
		}
		parts := make([]string, l.Len())
		for i := range l.Len() {
			parts[i] = scalarText(fd, l.Get(i))
		}
		return strings.Join(parts, "、")
	case fd.IsMap():
		return fmt.Sprintf("%d 项", v.Map().Len())
	}
	return scalarText(fd, v)
}

func scalarText(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch fd.Kind() {
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return strconv.Itoa(int(v.Enum()))
	case protoreflect.MessageKind:
		if ts, ok := v.Message().Interface().(*timestamppb.Timestamp); ok {
			return ts.AsTime().In(CST).Format(time.RFC3339)
		}
		return "已修改"
	case protoreflect.BytesKind:
		return fmt.Sprintf("%d 字节", len(v.Bytes()))
	}
	return v.String()
}
