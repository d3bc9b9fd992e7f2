package registry

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// Queries. Every method returns clones, sorted deterministically (by code,
// by registry index for grants, by username, by node name). Lookups of one
// thing return an error wrapping ErrNotFound when it does not exist.

// cloneSorted clones the values of m sorted by key.
func cloneSorted[K ~string, V proto.Message](m map[K]V, keep func(V) bool) []V {
	keys := make([]K, 0, len(m))
	for k, v := range m {
		if keep == nil || keep(v) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	out := make([]V, len(keys))
	for i, k := range keys {
		out[i] = proto.CloneOf(m[k])
	}
	return out
}

// Office returns the office with the given division code.
func (r *Registry) Office(code string) (*yizhanv1.Office, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	o, ok := r.st.offices[code]
	if !ok {
		return nil, entityError(reason.NotFound, "office", code, "office %q: %w", code, ErrNotFound)
	}
	return proto.CloneOf(o), nil
}

// Offices returns the offices of tier (TIER_UNSPECIFIED: every tier) whose
// parent is parentCode ("": any parent), by code.
func (r *Registry) Offices(tier yizhanv1.Tier, parentCode string) []*yizhanv1.Office {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return cloneSorted(r.st.offices, func(o *yizhanv1.Office) bool {
		return (tier == yizhanv1.Tier_TIER_UNSPECIFIED || o.GetTier() == tier) &&
			(parentCode == "" || o.GetParentCode() == parentCode)
	})
}

// Children returns the offices directly below code, by code.
func (r *Registry) Children(code string) []*yizhanv1.Office {
	if code == "" {
		return nil
	}
	return r.Offices(yizhanv1.Tier_TIER_UNSPECIFIED, code)
}

// Department returns the department with the given code.
func (r *Registry) Department(code string) (*yizhanv1.Department, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	d, ok := r.st.departments[code]
	if !ok {
		return nil, entityError(reason.NotFound, "department", code, "department %q: %w", code, ErrNotFound)
	}
	return proto.CloneOf(d), nil
}

// Departments returns every department, by code.
func (r *Registry) Departments() []*yizhanv1.Department {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return cloneSorted(r.st.departments, nil)
}

// Item returns version version of the item (0: the current version).
func (r *Registry) Item(code string, version uint32) (*yizhanv1.Item, error) {
	it, err := r.ItemView(code, version)
	if err != nil {
		return nil, err
	}
	return proto.CloneOf(it), nil
}

// ItemView is Item without the copy, for a caller that only reads it (a
// filing, on the write path). The registry never changes an item version
// it holds (a change adds a version; a snapshot restored replaces them
// all), so the version stays as it was for as long as the caller holds
// it. The caller must not change it.
func (r *Registry) ItemView(code string, version uint32) (*yizhanv1.Item, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	versions, ok := r.st.items[code]
	if !ok {
		return nil, entityError(reason.NotFound, "item", code, "item %q: %w", code, ErrNotFound)
	}
	if version == 0 {
		return versions[len(versions)-1], nil
	}
	if int(version) > len(versions) {
		return nil, reason.Errorf(reason.NotFound, reason.Meta{"kind": "item", "code": code, "version": reason.Itoa(version)},
			"item %q version %d (current %d): %w", code, version, len(versions), ErrNotFound)
	}
	return versions[version-1], nil
}

// ItemVersions returns every version of the item, oldest first.
func (r *Registry) ItemVersions(code string) ([]*yizhanv1.Item, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	versions, ok := r.st.items[code]
	if !ok {
		return nil, entityError(reason.NotFound, "item", code, "item %q: %w", code, ErrNotFound)
	}
	out := make([]*yizhanv1.Item, len(versions))
	for i, v := range versions {
		out[i] = proto.CloneOf(v)
	}
	return out, nil
}

// ItemFilter selects items; zero fields select everything.
type ItemFilter struct {
	DepartmentCode string // lead department
	// OfficeCode keeps the items that this office may take in at At: it
	// holds RIGHT_ACCEPT or RIGHT_PROXY_FILE by a grant active at At.
	OfficeCode string
	// Query keeps the items that match these words (matchItem: the name,
	// everyday names, code, department, pinyin initials), best first.
	Query        string
	ExerciseTier yizhanv1.Tier // TIER_UNSPECIFIED: any
	At           time.Time     // see Grant activity in Grants
	// Retired keeps the retired items (废止) too; they are left out
	// otherwise.
	Retired bool
}

// Items returns the current version of every item the filter selects, by
// code. An OfficeCode that is not a division code selects nothing.
func (r *Registry) Items(f ItemFilter) []*yizhanv1.Item {
	r.mu.RLock()
	defer r.mu.RUnlock()
	q := strings.ToLower(strings.TrimSpace(f.Query))
	scores := map[string]int{}
	var officeTier yizhanv1.Tier
	if f.OfficeCode != "" {
		var err error
		if officeTier, err = TierOf(f.OfficeCode); err != nil {
			return nil
		}
	}
	codes := make([]string, 0, len(r.st.items))
	for code, versions := range r.st.items {
		it := versions[len(versions)-1]
		if it.GetRetired() && !f.Retired {
			continue
		}
		if f.DepartmentCode != "" && it.GetDepartmentCode() != f.DepartmentCode {
			continue
		}
		if f.ExerciseTier != yizhanv1.Tier_TIER_UNSPECIFIED && it.GetExerciseTier() != f.ExerciseTier {
			continue
		}
		if q != "" {
			dept := ""
			if d := r.st.departments[it.GetDepartmentCode()]; d != nil {
				dept = d.GetName()
			}
			if scores[code] = matchItem(it, dept, q); scores[code] == scoreNoMatch {
				continue
			}
		}
		if f.OfficeCode != "" {
			rights := r.st.rights(code, f.OfficeCode, officeTier, f.At)
			if !slices.Contains(rights, yizhanv1.Right_RIGHT_ACCEPT) && !slices.Contains(rights, yizhanv1.Right_RIGHT_PROXY_FILE) {
				continue
			}
		}
		codes = append(codes, code)
	}
	sort.Strings(codes)
	sort.SliceStable(codes, func(i, j int) bool { return scores[codes[i]] > scores[codes[j]] })
	out := make([]*yizhanv1.Item, len(codes))
	for i, code := range codes {
		versions := r.st.items[code]
		out[i] = proto.CloneOf(versions[len(versions)-1])
	}
	return out
}

// Grant returns the grant with the given id.
func (r *Registry) Grant(id string) (*yizhanv1.Grant, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	g, ok := r.st.grants[id]
	if !ok {
		return nil, entityError(reason.NotFound, "grant", id, "grant %q: %w", id, ErrNotFound)
	}
	return proto.CloneOf(g), nil
}

// GrantFilter selects grants; zero fields select everything active.
type GrantFilter struct {
	ItemCode string
	// OfficeCode keeps the grants that apply to this office: those naming
	// it and those naming its tier.
	OfficeCode      string
	IncludeInactive bool // also revoked, expired and not yet valid grants
	At              time.Time
	// After keeps the grants ordered after the grant with this id (the
	// order is by creation: a page of a listing goes on from its last).
	After string
}

// GrantActive reports whether g is in force at at: at is within
// [valid_from, valid_until) and before the grant was revoked. The registry
// has no clock, so callers pass the time they mean; the zero time checks
// revocation only (a revoked grant is inactive, the validity window is not
// looked at).
func GrantActive(g *yizhanv1.Grant, at time.Time) bool {
	if at.IsZero() {
		return !g.GetRevoked()
	}
	if !grantInWindow(g, at) {
		return false
	}
	if g.GetRevoked() && (g.GetRevokedAt() == nil || !at.Before(g.GetRevokedAt().AsTime())) {
		return false
	}
	return true
}

// grantInWindow reports whether at is within g's validity (valid_from to
// valid_until), revoked or not.
func grantInWindow(g *yizhanv1.Grant, at time.Time) bool {
	if g.GetValidFrom() != nil && at.Before(g.GetValidFrom().AsTime()) {
		return false
	}
	return g.GetValidUntil() == nil || at.Before(g.GetValidUntil().AsTime())
}

// grantApplies reports whether g names the office or its tier.
func grantApplies(g *yizhanv1.Grant, officeCode string, officeTier yizhanv1.Tier) bool {
	if g.GetOfficeCode() != "" {
		return g.GetOfficeCode() == officeCode
	}
	return g.GetTier() == officeTier
}

// Grants returns the grants the filter selects, in the order they were
// made (by registry index, which is the number in their id).
func (r *Registry) Grants(f GrantFilter) []*yizhanv1.Grant {
	out := r.GrantsView(f)
	for i, g := range out {
		out[i] = proto.CloneOf(g)
	}
	return out
}

// GrantsView is Grants without the copies, for a caller that only reads
// them (a filing's route, on the write path). A grant revoked is
// replaced by a changed copy, and a snapshot restored replaces them all,
// so the grants stay as they were for as long as the caller holds them.
// The caller must not change them; the slice is its own.
func (r *Registry) GrantsView(f GrantFilter) []*yizhanv1.Grant {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var officeTier yizhanv1.Tier
	if f.OfficeCode != "" {
		var err error
		if officeTier, err = TierOf(f.OfficeCode); err != nil {
			return nil
		}
	}
	var out []*yizhanv1.Grant
	keep := func(g *yizhanv1.Grant) {
		if f.OfficeCode != "" && !grantApplies(g, f.OfficeCode, officeTier) {
			return
		}
		if !f.IncludeInactive && !GrantActive(g, f.At) {
			return
		}
		out = append(out, g)
	}
	if f.ItemCode != "" {
		for _, g := range r.st.grantsByItem[f.ItemCode] {
			keep(g)
		}
	} else {
		for _, g := range r.st.grants {
			keep(g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return grantLess(out[i], out[j]) })
	if f.After != "" {
		after := &yizhanv1.Grant{Id: f.After}
		out = out[sort.Search(len(out), func(i int) bool { return grantLess(after, out[i]) }):]
	}
	return out
}

// grantSeq is the number in a grant's id ("g42" → 42): the registry index
// that created it.
func grantSeq(id string) (uint64, bool) {
	if len(id) < 2 || id[0] != 'g' {
		return 0, false
	}
	n, err := strconv.ParseUint(id[1:], 10, 64)
	return n, err == nil
}

// grantLess orders grants by creation (the number in the id), ids that do
// not follow the pattern last, by id.
func grantLess(a, b *yizhanv1.Grant) bool {
	na, oka := grantSeq(a.GetId())
	nb, okb := grantSeq(b.GetId())
	switch {
	case oka && okb && na != nb:
		return na < nb
	case oka != okb:
		return oka
	default:
		return a.GetId() < b.GetId()
	}
}

// rights is the union of the rights granted on item to the office
// (officeTier is its tier) by grants active at at, sorted. Caller holds r.mu.
func (s *state) rights(itemCode, officeCode string, officeTier yizhanv1.Tier, at time.Time) []yizhanv1.Right {
	return s.rightsKnown(itemCode, officeCode, officeTier, at, 0)
}

// MaxRevocationLag is how long after a grant is revoked an office that
// had not heard of it yet may still act under it (RightsKnownAt): a
// village point cut off for weeks (a holiday, a failed line) files and
// delivers under the grants it holds, and those events are taken.
const MaxRevocationLag = 30 * 24 * time.Hour

// RightsKnownAt is Rights as an office saw them whose replica of the
// registry had applied the writes up to index known (an event's
// registry_index): a grant it held (created by a write up to known) and
// revoked by a later write, within MaxRevocationLag before at, still
// counts. The office that made the
// event had not heard of the revocation; refusing its event would strand
// the case (a filing the citizen holds a number for, a certificate
// already handed over). known 0 is Rights.
func (r *Registry) RightsKnownAt(itemCode, officeCode string, at time.Time, known uint64) []yizhanv1.Right {
	tier, err := TierOf(officeCode)
	if err != nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.st.rightsKnown(itemCode, officeCode, tier, at, known)
}

// rightsKnown is rights, grants revoked after the write known (0: none)
// within MaxRevocationLag before at counted as not revoked.
func (s *state) rightsKnown(itemCode, officeCode string, officeTier yizhanv1.Tier, at time.Time, known uint64) []yizhanv1.Right {
	var out []yizhanv1.Right
	for _, g := range s.grantsByItem[itemCode] {
		if !grantApplies(g, officeCode, officeTier) {
			continue
		}
		active := GrantActive(g, at)
		if !active && known > 0 && g.GetRevoked() && g.GetRegistryIndex() > known && g.GetRevokedAt() != nil &&
			!at.Before(g.GetRevokedAt().AsTime()) && at.Sub(g.GetRevokedAt().AsTime()) <= MaxRevocationLag {
			// Revoked, unheard of: it counts if the office held it then
			// (created by a write it had applied: the id is "g" and that
			// write's index).
			if created, ok := grantSeq(g.GetId()); ok && created <= known {
				active = grantInWindow(g, at)
			}
		}
		if !active {
			continue
		}
		for _, right := range g.GetRights() {
			if !slices.Contains(out, right) {
				out = append(out, right)
			}
		}
	}
	slices.Sort(out)
	return out
}

// GrantsChangeBetween reports whether a grant starts, ends or is revoked
// at a time in (from, to]: with the registry unchanged, the rights of an
// office (Rights) change with time only then.
func (r *Registry) GrantsChangeBetween(from, to time.Time) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	in := func(t interface{ AsTime() time.Time }) bool {
		at := t.AsTime()
		return at.After(from) && !at.After(to)
	}
	for _, gs := range r.st.grantsByItem {
		for _, g := range gs {
			if (g.GetValidFrom() != nil && in(g.GetValidFrom())) || (g.GetValidUntil() != nil && in(g.GetValidUntil())) ||
				(g.GetRevokedAt() != nil && in(g.GetRevokedAt())) {
				return true
			}
		}
	}
	return false
}

// Rights returns what the office may do for the item at at: the union of
// the rights of the active grants naming the office or its tier, sorted.
// It is empty when no grant applies (or the code is not a division code).
func (r *Registry) Rights(itemCode, officeCode string, at time.Time) []yizhanv1.Right {
	tier, err := TierOf(officeCode)
	if err != nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.st.rights(itemCode, officeCode, tier, at)
}

// Staff returns the staff member with the given username.
func (r *Registry) Staff(username string) (*yizhanv1.StaffMember, error) {
	m, ok := r.StaffView(username)
	if !ok {
		return nil, entityError(reason.NotFound, "staff", username, "staff member %q: %w", username, ErrNotFound)
	}
	return proto.CloneOf(m), nil
}

// StaffView is Staff without the copy, for a caller that only reads it
// (every signed-in request's check of its account). The registry replaces
// a staff member's record on each change, never changes one in place, so
// the record stays as it was for as long as the caller holds it. The
// caller must not change it.
func (r *Registry) StaffView(username string) (*yizhanv1.StaffMember, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	m, ok := r.st.staff[username]
	return m, ok
}

// StaffList returns the staff of the office ("": of every office), by
// username.
func (r *Registry) StaffList(officeCode string) []*yizhanv1.StaffMember {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return cloneSorted(r.st.staff, func(m *yizhanv1.StaffMember) bool {
		return officeCode == "" || m.GetOfficeCode() == officeCode
	})
}

// Credential returns the staff member's password hash. ok is false when
// the registry holds none: no such staff member, or the feed redacted it
// because this office may not sign that staff member in.
func (r *Registry) Credential(username string) (hash string, ok bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	hash, ok = r.st.credentials[username]
	return hash, ok
}

// Node returns the directory's entry of node name, one taken out of its
// office (NodeEntry.removed) too.
func (r *Registry) Node(name string) (*yizhanv1.NodeEntry, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n, ok := r.st.nodes[name]
	if !ok {
		return nil, false
	}
	return proto.CloneOf(n), true
}

// NodesEver returns the directory's entries of the office's nodes, by
// name, those taken out of their office (NodeEntry.removed) too: every
// node of it that ever announced itself.
func (r *Registry) NodesEver(officeCode string) []*yizhanv1.NodeEntry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return cloneSorted(r.st.nodes, func(n *yizhanv1.NodeEntry) bool { return n.GetOfficeCode() == officeCode })
}

// Nodes returns the nodes serving the office ("": every node), by name:
// not those taken out of their office (NodeEntry.removed).
func (r *Registry) Nodes(officeCode string) []*yizhanv1.NodeEntry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return cloneSorted(r.st.nodes, func(n *yizhanv1.NodeEntry) bool {
		return (officeCode == "" || n.GetOfficeCode() == officeCode) && !n.GetRemoved()
	})
}
