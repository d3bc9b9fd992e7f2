package registry

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// commandTime is the command's time as a timestamp, or nil when the
// proposer left it unset.
func commandTime(cmd *peerv1.RegistryCommand) *timestamppb.Timestamp {
	if cmd.GetAtUnixNano() == 0 {
		return nil
	}
	return timestamppb.New(time.Unix(0, cmd.GetAtUnixNano()))
}

// apply changes s by cmd, which check has accepted, and returns the stored
// entity (not a clone: the caller clones it before letting it out). It
// cannot fail. cmd is owned by the registry (already cloned).
func (s *state) apply(index uint64, cmd *peerv1.RegistryCommand) proto.Message {
	at := commandTime(cmd)
	switch op := cmd.GetOp().(type) {
	case *peerv1.RegistryCommand_CreateOffice:
		o := proto.CloneOf(op.CreateOffice.GetOffice())
		o.Tier, _ = TierOf(o.GetCode())
		o.ParentCode = ParentCode(o.GetCode())
		o.CreatedAt = at
		o.RegistryIndex = index
		s.offices[o.GetCode()] = o
		if o.GetTier() == yizhanv1.Tier_TIER_COUNTY {
			s.county = o.GetCode()
		}
		return o

	case *peerv1.RegistryCommand_UpdateOffice:
		u := op.UpdateOffice.GetOffice()
		o := proto.CloneOf(s.offices[u.GetCode()])
		o.Name, o.Address, o.Phone, o.Authority = u.GetName(), u.GetAddress(), u.GetPhone(), u.GetAuthority()
		o.RegistryIndex = index
		s.offices[o.GetCode()] = o
		return o

	case *peerv1.RegistryCommand_UpdateDepartment:
		u := op.UpdateDepartment.GetDepartment()
		d := proto.CloneOf(s.departments[u.GetCode()])
		d.Name, d.Phone = u.GetName(), u.GetPhone()
		d.RegistryIndex = index
		s.departments[d.GetCode()] = d
		return d

	case *peerv1.RegistryCommand_CreateDepartment:
		d := proto.CloneOf(op.CreateDepartment.GetDepartment())
		d.CreatedAt = at
		d.RegistryIndex = index
		s.departments[d.GetCode()] = d
		return d

	case *peerv1.RegistryCommand_CreateItem:
		it := newItemVersion(op.CreateItem.GetItem(), 1, index, at, cmd.GetActor())
		s.items[it.GetCode()] = []*yizhanv1.Item{it}
		return it

	case *peerv1.RegistryCommand_UpdateItem:
		code := op.UpdateItem.GetItem().GetCode()
		versions := s.items[code]
		it := newItemVersion(op.UpdateItem.GetItem(), uint32(len(versions))+1, index, at, cmd.GetActor())
		s.items[code] = append(versions, it)
		return it

	case *peerv1.RegistryCommand_CreateGrant:
		g := proto.CloneOf(op.CreateGrant.GetGrant())
		g.Id = fmt.Sprintf("g%d", index)
		if g.GetValidFrom() == nil {
			g.ValidFrom = at
		}
		g.Revoked = false
		g.RevokedAt = nil
		g.CreatedAt = at
		g.CreatedBy = cmd.GetActor()
		g.RegistryIndex = index
		s.grants[g.GetId()] = g
		s.grantsByItem[g.GetItemCode()] = append(s.grantsByItem[g.GetItemCode()], g)
		return g

	case *peerv1.RegistryCommand_RevokeGrant:
		// A changed copy replaces the grant, as for items and staff: a
		// record a caller holds (GrantsView) never changes under it.
		old := s.grants[op.RevokeGrant.GetId()]
		g := proto.CloneOf(old)
		g.Revoked = true
		g.RevokedAt = at
		g.RegistryIndex = index
		s.grants[g.GetId()] = g
		byItem := s.grantsByItem[g.GetItemCode()]
		if i := slices.Index(byItem, old); i >= 0 {
			byItem[i] = g
		}
		return g

	case *peerv1.RegistryCommand_CreateStaff:
		m := proto.CloneOf(op.CreateStaff.GetStaff())
		m.CreatedAt = at
		m.RegistryIndex = index
		m.PasswordChangedAt = nil
		if op.CreateStaff.GetCredential() != nil {
			m.PasswordChangedAt = at // here too where the feed left out its hash
		}
		if h := op.CreateStaff.GetCredential().GetPasswordHash(); h != "" {
			s.credentials[m.GetUsername()] = h
		}
		s.staff[m.GetUsername()] = m
		return m

	case *peerv1.RegistryCommand_UpdateStaff:
		u := op.UpdateStaff.GetStaff()
		m := proto.CloneOf(s.staff[u.GetUsername()])
		h := op.UpdateStaff.GetCredential().GetPasswordHash()
		switch {
		case op.UpdateStaff.GetPasswordOnly():
			// The staff member's own new password: nothing else changes.
			m.MustChangePassword = false
		default:
			m.Name, m.DepartmentCode, m.Roles = u.GetName(), u.GetDepartmentCode(), slices.Clone(u.GetRoles())
			m.Disabled = u.GetDisabled()
			if op.UpdateStaff.GetCredential() != nil {
				m.MustChangePassword = true // an admin's reset
			}
		}
		m.RegistryIndex = index
		if op.UpdateStaff.GetPasswordOnly() || op.UpdateStaff.GetCredential() != nil {
			// The tokens issued before end with the password they were
			// issued for (auth.Authenticator).
			m.PasswordChangedAt = at
		}
		s.staff[m.GetUsername()] = m
		if h != "" {
			s.credentials[m.GetUsername()] = h
		}
		return m

	case *peerv1.RegistryCommand_PutCalendar:
		c := proto.CloneOf(op.PutCalendar.GetCalendar())
		sort.Slice(c.Days, func(i, j int) bool { return c.Days[i].GetDate() < c.Days[j].GetDate() })
		c.Source = SourceRegistry
		c.RegistryIndex = index
		kinds := kindsOf(c)
		c.WorkingDays = int32(kinds.workingDays(int(c.GetYear())))
		s.calendars[c.GetYear()] = c
		s.calendarDays[c.GetYear()] = kinds
		return c

	case *peerv1.RegistryCommand_PutSupervisionPolicy:
		p := proto.CloneOf(op.PutSupervisionPolicy.GetPolicy())
		p.RegistryIndex = index
		s.policy = p
		return p

	case *peerv1.RegistryCommand_PutDutyPolicy:
		p := proto.CloneOf(op.PutDutyPolicy.GetPolicy())
		p.RegistryIndex = index
		s.duty = p
		return p

	case *peerv1.RegistryCommand_PutCasePolicy:
		p := proto.CloneOf(op.PutCasePolicy.GetPolicy())
		p.RegistryIndex = index
		s.cases = p
		return p

	case *peerv1.RegistryCommand_PutNode:
		n := proto.CloneOf(op.PutNode.GetNode())
		n.UpdatedAt = at
		n.RegistryIndex = index
		s.nodes[n.GetName()] = n
		return n

	case *peerv1.RegistryCommand_PutQueryCodeKey:
		k := proto.CloneOf(op.PutQueryCodeKey.GetKey())
		s.queryCodeKeys[k.GetId()] = k
		return k

	case *peerv1.RegistryCommand_PutOfficialCalendars:
		o, err := parseOfficial(op.PutOfficialCalendars.GetData())
		if err != nil {
			panic(fmt.Sprintf("registry: apply of unchecked official calendars: %v", err))
		}
		if o.text == officialBefore {
			o = nil // as a registry that never had one
		}
		s.official = o
		return proto.CloneOf(op.PutOfficialCalendars)
	}
	panic(fmt.Sprintf("registry: apply of an unchecked command %T", cmd.GetOp()))
}

// newItemVersion clones in as version v with the output-only fields set.
func newItemVersion(in *yizhanv1.Item, v uint32, index uint64, at *timestamppb.Timestamp, actor string) *yizhanv1.Item {
	it := proto.CloneOf(in)
	it.Version = v
	it.UpdatedAt = at
	it.UpdatedBy = actor
	it.RegistryIndex = index
	return it
}
