package registry

import (
	"fmt"
	"slices"
	"sort"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Snapshot returns the whole registry at Index(): every entity, every item
// version, the credentials this replica holds, the registry's calendars
// (not the official ones, which every node computes) and the retained
// changelog, so that a replica restored from it can feed the offices below
// it. Every list is sorted (by code, id, username, year, name), so two
// replicas in the same state give equal snapshots (proto.Equal).
func (r *Registry) Snapshot() *peerv1.RegistrySnapshot {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.snapshotLocked(true)
}

// snapshotLocked is Snapshot, with the changelog or without; the caller
// holds r.mu.
func (r *Registry) snapshotLocked(changelog bool) *peerv1.RegistrySnapshot {
	st := r.st
	s := &peerv1.RegistrySnapshot{
		Index:                   st.index,
		NewestCommandAtUnixNano: st.newestAt,
		OfficialData: func() string {
			if st.official == nil {
				return ""
			}
			return st.official.text
		}(),
		Offices:     cloneSorted(st.offices, nil),
		Departments: cloneSorted(st.departments, nil),
		Staff:       cloneSorted(st.staff, nil),
		Nodes:       cloneSorted(st.nodes, nil),
	}
	codes := make([]string, 0, len(st.items))
	for code := range st.items {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	for _, code := range codes {
		h := &peerv1.ItemHistory{}
		for _, v := range st.items[code] {
			h.Versions = append(h.Versions, proto.CloneOf(v))
		}
		s.Items = append(s.Items, h)
	}
	for _, g := range st.grants {
		s.Grants = append(s.Grants, proto.CloneOf(g))
	}
	sort.Slice(s.Grants, func(i, j int) bool { return grantLess(s.Grants[i], s.Grants[j]) })
	users := make([]string, 0, len(st.credentials))
	for u := range st.credentials {
		users = append(users, u)
	}
	sort.Strings(users)
	for _, u := range users {
		s.Credentials = append(s.Credentials, &peerv1.StaffCredential{Username: u, PasswordHash: st.credentials[u]})
	}
	years := make([]int32, 0, len(st.calendars))
	for y := range st.calendars {
		years = append(years, y)
	}
	slices.Sort(years)
	for _, y := range years {
		s.Calendars = append(s.Calendars, proto.CloneOf(st.calendars[y]))
	}
	for _, e := range st.changelog {
		if !changelog {
			break
		}
		s.Changelog = append(s.Changelog, proto.CloneOf(e))
	}
	s.QueryCodeKeys = st.snapshotQueryCodeKeys()
	if st.policy != nil {
		s.SupervisionPolicy = proto.CloneOf(st.policy)
	}
	if st.duty != nil {
		s.DutyPolicy = proto.CloneOf(st.duty)
	}
	if st.cases != nil {
		s.CasePolicy = proto.CloneOf(st.cases)
	}
	return s
}

// Restore replaces the whole registry by the snapshot. The snapshot is
// checked for internal consistency first (unique keys, complete item
// version chains, credentials of known staff, a changelog chained by
// prev_index and ending at the snapshot's index); if it is not consistent,
// Restore returns an error wrapping ErrInvalidSnapshot and changes nothing.
// Credentials with an empty (redacted) hash are skipped. The changelog is
// cut to this registry's retention.
func (r *Registry) Restore(s *peerv1.RegistrySnapshot) error {
	st, err := stateFromSnapshot(s)
	if err != nil {
		return err
	}
	if over := len(st.changelog) - r.retention; over > 0 {
		st.changelog = st.changelog[over:]
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	// The county's clock only goes on: a snapshot that tells less (one
	// without changelog, as a restored county sends; one of a release
	// before) does not take the clock floor back.
	st.newestAt = max(st.newestAt, r.st.newestAt)
	r.st = st
	r.restores++
	return nil
}

func invalidSnapshot(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrInvalidSnapshot)
}

// stateFromSnapshot builds a state from clones of the snapshot's contents.
func stateFromSnapshot(s *peerv1.RegistrySnapshot) (*state, error) {
	if s == nil {
		return nil, invalidSnapshot("no snapshot")
	}
	st := newState()
	st.index = s.GetIndex()
	st.newestAt = s.GetNewestCommandAtUnixNano()
	if d := s.GetOfficialData(); d != "" {
		o, err := parseOfficial(d)
		if err != nil {
			return nil, invalidSnapshot("official calendars: %v", err)
		}
		st.official = o
	}
	for _, o := range s.GetOffices() {
		code := o.GetCode()
		if err := ValidCode(code); err != nil {
			return nil, invalidSnapshot("office %q: %v", code, err)
		}
		if _, dup := st.offices[code]; dup {
			return nil, invalidSnapshot("office %q twice", code)
		}
		if tier, _ := TierOf(code); tier == yizhanv1.Tier_TIER_COUNTY {
			if st.county != "" {
				return nil, invalidSnapshot("two counties %s and %s", st.county, code)
			}
			st.county = code
		}
		st.offices[code] = proto.CloneOf(o)
	}
	for _, d := range s.GetDepartments() {
		if d.GetCode() == "" {
			return nil, invalidSnapshot("department without a code")
		}
		if _, dup := st.departments[d.GetCode()]; dup {
			return nil, invalidSnapshot("department %q twice", d.GetCode())
		}
		st.departments[d.GetCode()] = proto.CloneOf(d)
	}
	for _, h := range s.GetItems() {
		versions := h.GetVersions()
		if len(versions) == 0 || versions[0].GetCode() == "" {
			return nil, invalidSnapshot("item history without versions or code")
		}
		code := versions[0].GetCode()
		if _, dup := st.items[code]; dup {
			return nil, invalidSnapshot("item %q twice", code)
		}
		for i, v := range versions {
			if v.GetCode() != code || v.GetVersion() != uint32(i+1) {
				return nil, invalidSnapshot("item %q: history entry %d is %q version %d", code, i, v.GetCode(), v.GetVersion())
			}
			st.items[code] = append(st.items[code], proto.CloneOf(v))
		}
	}
	for _, g := range s.GetGrants() {
		if g.GetId() == "" {
			return nil, invalidSnapshot("grant without an id")
		}
		if _, dup := st.grants[g.GetId()]; dup {
			return nil, invalidSnapshot("grant %q twice", g.GetId())
		}
		st.grants[g.GetId()] = proto.CloneOf(g)
	}
	for _, g := range st.grants {
		st.grantsByItem[g.GetItemCode()] = append(st.grantsByItem[g.GetItemCode()], g)
	}
	for _, gs := range st.grantsByItem {
		sort.Slice(gs, func(i, j int) bool { return grantLess(gs[i], gs[j]) })
	}
	for _, m := range s.GetStaff() {
		if m.GetUsername() == "" {
			return nil, invalidSnapshot("staff member without a username")
		}
		if _, dup := st.staff[m.GetUsername()]; dup {
			return nil, invalidSnapshot("staff member %q twice", m.GetUsername())
		}
		st.staff[m.GetUsername()] = proto.CloneOf(m)
	}
	for _, c := range s.GetCredentials() {
		if c.GetPasswordHash() == "" {
			continue // redacted
		}
		if _, ok := st.staff[c.GetUsername()]; !ok {
			return nil, invalidSnapshot("credential of unknown staff member %q", c.GetUsername())
		}
		if _, dup := st.credentials[c.GetUsername()]; dup {
			return nil, invalidSnapshot("credential of %q twice", c.GetUsername())
		}
		st.credentials[c.GetUsername()] = c.GetPasswordHash()
	}
	for _, c := range s.GetCalendars() {
		if _, dup := st.calendars[c.GetYear()]; dup {
			return nil, invalidSnapshot("calendar %d twice", c.GetYear())
		}
		c = proto.CloneOf(c)
		st.calendars[c.GetYear()] = c
		st.calendarDays[c.GetYear()] = kindsOf(c)
	}
	for _, n := range s.GetNodes() {
		if n.GetName() == "" {
			return nil, invalidSnapshot("node without a name")
		}
		if _, dup := st.nodes[n.GetName()]; dup {
			return nil, invalidSnapshot("node %q twice", n.GetName())
		}
		st.nodes[n.GetName()] = proto.CloneOf(n)
	}
	if err := st.restoreQueryCodeKeys(s.GetQueryCodeKeys()); err != nil {
		return nil, err
	}
	if p := s.GetSupervisionPolicy(); p != nil {
		st.policy = proto.CloneOf(p)
	}
	if p := s.GetDutyPolicy(); p != nil {
		st.duty = proto.CloneOf(p)
	}
	if p := s.GetCasePolicy(); p != nil {
		st.cases = proto.CloneOf(p)
	}
	for i, e := range s.GetChangelog() {
		if e.GetIndex() <= e.GetPrevIndex() {
			return nil, invalidSnapshot("changelog entry %d follows %d", e.GetIndex(), e.GetPrevIndex())
		}
		if i > 0 && e.GetPrevIndex() != s.GetChangelog()[i-1].GetIndex() {
			return nil, invalidSnapshot("changelog entry %d follows %d, not the entry before it (%d)", e.GetIndex(), e.GetPrevIndex(), s.GetChangelog()[i-1].GetIndex())
		}
		st.changelog = append(st.changelog, proto.CloneOf(e))
		st.newestCommand(e)
	}
	if n := len(st.changelog); n > 0 && st.changelog[n-1].GetIndex() != st.index {
		return nil, invalidSnapshot("changelog ends at %d, snapshot is at %d", st.changelog[n-1].GetIndex(), st.index)
	}
	return st, nil
}
