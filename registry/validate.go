package registry

import (
	"fmt"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

var (
	departmentCodeRE = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)
	itemCodeRE       = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	usernameRE       = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{2,31}$`)
)

// checkNew runs the rules a new write must keep that a write already in
// the log is not held to (Check, before the raft log; Apply and Replay do
// not run them): a log an older release wrote stays valid, whichever
// release replays it.
func (s *state) checkNew(cmd *peerv1.RegistryCommand) error {
	switch op := cmd.GetOp().(type) {
	case *peerv1.RegistryCommand_PutOfficialCalendars:
		if op.PutOfficialCalendars.GetData() == s.official.String() {
			return fmt.Errorf("the official calendars are in force already: %w", ErrAlreadyExists)
		}
	case *peerv1.RegistryCommand_UpdateStaff:
		if !op.UpdateStaff.GetPasswordOnly() {
			return s.checkAdminsLeft(op.UpdateStaff.GetStaff())
		}
	case *peerv1.RegistryCommand_CreateItem:
		return checkItemBases(op.CreateItem.GetItem(), nil)
	case *peerv1.RegistryCommand_UpdateItem:
		var held *yizhanv1.Item
		if versions := s.items[op.UpdateItem.GetItem().GetCode()]; len(versions) > 0 {
			held = versions[len(versions)-1]
		}
		return checkItemBases(op.UpdateItem.GetItem(), held)
	}
	return nil
}

// checkItemBases checks the two of an item's "eight publics" (八公开)
// that the law asks of the item itself: a licence's legal basis (设定依据:
// a licence is set by law, 行政许可法 §§14–17) and a fee's basis (收费依据:
// a fee only as a law or regulation says, §58). A new version (held: the
// current one) is held to them only where it changes them, so that an
// item published before the rule can still be edited or retired.
func checkItemBases(it, held *yizhanv1.Item) error {
	var vs violations
	if it.GetType() == yizhanv1.ItemType_ITEM_TYPE_LICENCE && blank(it.GetLegalBasis()) &&
		(held == nil || !blank(held.GetLegalBasis()) || held.GetType() != yizhanv1.ItemType_ITEM_TYPE_LICENCE) {
		vs.addReason(ReasonRequired, "item.legal_basis", "a licence (行政许可) is set by law: name its legal basis (设定依据)")
	}
	if it.GetFeeCents() > 0 && blank(it.GetFeeBasis()) &&
		(held == nil || !blank(held.GetFeeBasis()) || held.GetFeeCents() != it.GetFeeCents()) {
		vs.addReason(ReasonRequired, "item.fee_basis", "a fee is charged only as a law or regulation says: name its basis (收费依据)")
	}
	return vs.err()
}

// checkAdminsLeft refuses a change of a staff account (disabled, or no
// longer an admin) that would leave the county with no enabled admin:
// nobody could write the registry again (an office, an item, a grant, an
// account, a password reset), and nothing in the API brings one back.
func (s *state) checkAdminsLeft(m *yizhanv1.StaffMember) error {
	held := s.staff[m.GetUsername()]
	if !countyAdmin(held) || (!m.GetDisabled() && slices.Contains(m.GetRoles(), yizhanv1.Role_ROLE_ADMIN)) {
		return nil
	}
	for _, o := range s.staff {
		if o.GetUsername() != held.GetUsername() && countyAdmin(o) {
			return nil
		}
	}
	return entityError(reason.FailedPrecondition, "staff", m.GetUsername(),
		"staff member %q is the county's last enabled admin: make another account a county admin first: %w", m.GetUsername(), ErrFailedPrecondition)
}

// countyAdmin reports whether m is an enabled admin of the county.
func countyAdmin(m *yizhanv1.StaffMember) bool {
	if m == nil || m.GetDisabled() || !slices.Contains(m.GetRoles(), yizhanv1.Role_ROLE_ADMIN) {
		return false
	}
	tier, err := TierOf(m.GetOfficeCode())
	return err == nil && tier == yizhanv1.Tier_TIER_COUNTY
}

// check runs every validation of cmd against s. replay relaxes what the
// feed may legitimately change: a redacted (empty) credential hash.
func (s *state) check(cmd *peerv1.RegistryCommand, replay bool) error {
	if cmd == nil {
		return &ValidationError{Violations: []FieldViolation{{Field: "command", Description: "is required", Reason: ReasonRequired}}}
	}
	switch op := cmd.GetOp().(type) {
	case *peerv1.RegistryCommand_CreateOffice:
		return s.checkOffice(op.CreateOffice.GetOffice())
	case *peerv1.RegistryCommand_CreateDepartment:
		return s.checkDepartment(op.CreateDepartment.GetDepartment())
	case *peerv1.RegistryCommand_UpdateOffice:
		o := op.UpdateOffice.GetOffice()
		if _, ok := s.offices[o.GetCode()]; !ok {
			return entityError(reason.NotFound, "office", o.GetCode(), "office %q: %w", o.GetCode(), ErrNotFound)
		}
		var vs violations
		if blank(o.GetName()) {
			vs.required("office.name")
		}
		return vs.err()
	case *peerv1.RegistryCommand_UpdateDepartment:
		d := op.UpdateDepartment.GetDepartment()
		if _, ok := s.departments[d.GetCode()]; !ok {
			return entityError(reason.NotFound, "department", d.GetCode(), "department %q: %w", d.GetCode(), ErrNotFound)
		}
		var vs violations
		if blank(d.GetName()) {
			vs.required("department.name")
		}
		return vs.err()
	case *peerv1.RegistryCommand_CreateItem:
		return s.checkCreateItem(op.CreateItem.GetItem())
	case *peerv1.RegistryCommand_UpdateItem:
		return s.checkUpdateItem(op.UpdateItem)
	case *peerv1.RegistryCommand_CreateGrant:
		return s.checkGrant(op.CreateGrant.GetGrant(), cmd.GetAtUnixNano())
	case *peerv1.RegistryCommand_RevokeGrant:
		return s.checkRevokeGrant(op.RevokeGrant.GetId())
	case *peerv1.RegistryCommand_CreateStaff:
		return s.checkStaff(op.CreateStaff, replay)
	case *peerv1.RegistryCommand_UpdateStaff:
		return s.checkStaffUpdate(op.UpdateStaff)
	case *peerv1.RegistryCommand_PutCalendar:
		if err := checkCalendar(op.PutCalendar.GetCalendar()); err != nil {
			return err
		}
		return s.checkCalendarBase(op.PutCalendar)
	case *peerv1.RegistryCommand_PutSupervisionPolicy:
		return checkSupervisionPolicy(op.PutSupervisionPolicy.GetPolicy())
	case *peerv1.RegistryCommand_PutDutyPolicy:
		return checkDutyPolicy(op.PutDutyPolicy.GetPolicy())
	case *peerv1.RegistryCommand_PutCasePolicy:
		return s.checkCasePolicy(op.PutCasePolicy.GetPolicy())
	case *peerv1.RegistryCommand_PutNode:
		return s.checkNode(op.PutNode.GetNode())
	case *peerv1.RegistryCommand_PutQueryCodeKey:
		return s.checkQueryCodeKey(op.PutQueryCodeKey.GetKey())
	case *peerv1.RegistryCommand_PutOfficialCalendars:
		var vs violations
		if o, err := parseOfficial(op.PutOfficialCalendars.GetData()); err != nil {
			vs.addReason(ReasonInvalidFormat, "data", "the official calendars: %v", err)
		} else if len(o.years) == 0 {
			// No year at all is no data (a snapshot could not tell it
			// from none put in force), not a calendar of weekdays.
			vs.required("data")
		}
		return vs.err()
	default:
		return &ValidationError{Violations: []FieldViolation{{Field: "command", Description: "must hold one operation (create_office, create_department, create_item, update_item, create_grant, revoke_grant, create_staff, put_calendar, put_supervision_policy, put_node, put_query_code_key or put_official_calendars)"}}}
	}
}

// blank reports whether s is empty or only white space.
func blank(s string) bool { return strings.TrimSpace(s) == "" }

// knownEnum reports whether e is one of its enum's declared values.
func knownEnum(e protoreflect.Enum) bool {
	return e.Descriptor().Values().ByNumber(e.Number()) != nil
}

// checkEnum adds a violation unless e is declared and not the zero value.
func checkEnum(vs *violations, field string, e protoreflect.Enum) {
	switch {
	case e.Number() == 0:
		vs.addMeta(ReasonRequired, reason.Meta{"input": "choice"}, field, "must be specified")
	case !knownEnum(e):
		vs.addMeta(ReasonOutOfRange, enumMeta(e), field, "%d is not a known %s value", e.Number(), e.Descriptor().Name())
	}
}

// enumMeta is the meta of an enum value that is not declared.
func enumMeta(e protoreflect.Enum) reason.Meta {
	return reason.Meta{"enum": string(e.Descriptor().Name()), "got": reason.Itoa(int32(e.Number()))}
}

// negative adds "must not be negative" (OUT_OF_RANGE) for v.
func (vs *violations) negative(field string, v int64) {
	vs.addMeta(ReasonOutOfRange, reason.Meta{"min": "0", "got": reason.Itoa(v)}, field, "must not be negative, got %d", v)
}

// notFound adds the violation of a reference to a record that does not
// exist: why is OFFICE_NOT_FOUND, DEPARTMENT_NOT_FOUND or ITEM_NOT_FOUND.
func (vs *violations) notFound(why, field, format, code string) {
	vs.addMeta(why, reason.Meta{"code": code}, field, format, code)
}

// duplicate adds "repeats" (DUPLICATE) for the entry of field that repeats entry j.
func (vs *violations) duplicate(field string, j int, format string, args ...any) {
	vs.addMeta(reason.Duplicate, reason.Meta{"index": reason.Itoa(j)}, field, format, args...)
}

// format adds INVALID_FORMAT with the form expected.
func (vs *violations) format(form, field, format string, args ...any) {
	vs.addMeta(ReasonInvalidFormat, reason.Meta{"format": form}, field, format, args...)
}

func (s *state) checkOffice(o *yizhanv1.Office) error {
	var vs violations
	if o == nil {
		vs.required("office")
		return vs.err()
	}
	codeErr := ValidCode(o.GetCode())
	if codeErr == nil {
		if _, ok := s.offices[o.GetCode()]; ok {
			return entityError(reason.AlreadyExists, "office", o.GetCode(), "office %q: %w", o.GetCode(), ErrAlreadyExists)
		}
	}
	if o.GetCode() == "" {
		vs.required("office.code")
	} else if codeErr != nil {
		vs.format("DIVISION_CODE", "office.code", "%v", codeErr)
	}
	if blank(o.GetName()) {
		vs.required("office.name")
	}
	if codeErr != nil {
		return vs.err()
	}
	code := o.GetCode()
	tier, _ := TierOf(code)
	parent := ParentCode(code)
	switch {
	case o.GetParentCode() != "" && o.GetParentCode() != parent:
		if parent == "" {
			vs.addMeta(reason.WrongParent, nil, "office.parent_code", "must be empty: %s is a county code and a county has no parent", code)
		} else {
			vs.addMeta(reason.WrongParent, reason.Meta{"want": parent}, "office.parent_code", "must be %s, the parent of %s by its code, not %s (a code must extend its parent's code)", parent, code, o.GetParentCode())
		}
	case tier == yizhanv1.Tier_TIER_COUNTY:
		if s.county != "" {
			vs.addMeta(reason.CountyExists, reason.Meta{"county": s.county}, "office.code", "the registry already has county %s and holds one county only", s.county)
		}
	case len(s.offices) == 0:
		vs.addMeta(reason.CountyFirst, nil, "office.code", "the first office must be the county (a code ending in 000000), not a %s", tierName(tier))
	default:
		if _, ok := s.offices[parent]; !ok {
			field := "office.code"
			if o.GetParentCode() != "" {
				field = "office.parent_code"
			}
			vs.notFound(reason.OfficeNotFound, field, "parent office %s does not exist; create it first", parent)
		}
	}
	return vs.err()
}

// tierName is the lower-case English name of a tier, for messages.
func tierName(t yizhanv1.Tier) string {
	switch t {
	case yizhanv1.Tier_TIER_COUNTY:
		return "county"
	case yizhanv1.Tier_TIER_TOWNSHIP:
		return "township"
	case yizhanv1.Tier_TIER_VILLAGE:
		return "village"
	default:
		return t.String()
	}
}

func (s *state) checkDepartment(d *yizhanv1.Department) error {
	var vs violations
	if d == nil {
		vs.required("department")
		return vs.err()
	}
	switch {
	case d.GetCode() == "":
		vs.required("department.code")
	case !departmentCodeRE.MatchString(d.GetCode()):
		vs.format("DEPARTMENT_CODE", "department.code", "must be 1 to 32 characters of a-z, 0-9, _ and -")
	default:
		if _, ok := s.departments[d.GetCode()]; ok {
			return entityError(reason.AlreadyExists, "department", d.GetCode(), "department %q: %w", d.GetCode(), ErrAlreadyExists)
		}
	}
	if blank(d.GetName()) {
		vs.required("department.name")
	}
	return vs.err()
}

func (s *state) checkCreateItem(it *yizhanv1.Item) error {
	if it == nil {
		return &ValidationError{Violations: []FieldViolation{{Field: "item", Description: "is required", Reason: ReasonRequired}}}
	}
	if itemCodeRE.MatchString(it.GetCode()) {
		if _, ok := s.items[it.GetCode()]; ok {
			return entityError(reason.AlreadyExists, "item", it.GetCode(), "item %q: %w", it.GetCode(), ErrAlreadyExists)
		}
	}
	return s.checkItemFields(it)
}

func (s *state) checkUpdateItem(u *peerv1.UpdateItem) error {
	it := u.GetItem()
	if it == nil {
		return &ValidationError{Violations: []FieldViolation{{Field: "item", Description: "is required", Reason: ReasonRequired}}}
	}
	if itemCodeRE.MatchString(it.GetCode()) {
		versions, ok := s.items[it.GetCode()]
		if !ok {
			return entityError(reason.NotFound, "item", it.GetCode(), "item %q: %w", it.GetCode(), ErrNotFound)
		}
		if cur := versions[len(versions)-1].GetVersion(); u.GetBaseVersion() != cur {
			return reason.Errorf(reason.Conflict, reason.Meta{"kind": "item", "code": it.GetCode(),
				"baseVersion": reason.Itoa(u.GetBaseVersion()), "currentVersion": reason.Itoa(cur)},
				"item %q: base version %d is not the current version %d: %w", it.GetCode(), u.GetBaseVersion(), cur, ErrConflict)
		}
	}
	return s.checkItemFields(it)
}

// checkItemFields checks everything about an item version but whether its
// code is free (create) or taken (update).
func (s *state) checkItemFields(it *yizhanv1.Item) error {
	var vs violations
	switch {
	case it.GetCode() == "":
		vs.required("item.code")
	case !itemCodeRE.MatchString(it.GetCode()):
		vs.format("ITEM_CODE", "item.code", "must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'")
	}
	if blank(it.GetName()) {
		vs.required("item.name")
	}
	checkEnum(&vs, "item.type", it.GetType())
	switch lead := it.GetDepartmentCode(); {
	case lead == "":
		vs.required("item.department_code")
	default:
		if _, ok := s.departments[lead]; !ok {
			vs.notFound(reason.DepartmentNotFound, "item.department_code", "department %q does not exist", lead)
		}
	}
	seen := map[string]int{}
	for i, co := range it.GetCoDepartmentCodes() {
		field := fmt.Sprintf("item.co_department_codes[%d]", i)
		if j, dup := seen[co]; dup {
			vs.duplicate(field, j, "repeats co_department_codes[%d] %q", j, co)
			continue
		}
		seen[co] = i
		switch {
		case co == "":
			vs.addReason(ReasonRequired, field, "must not be empty")
		case co == it.GetDepartmentCode():
			vs.addMeta(reason.LeadAsCoDepartment, reason.Meta{"code": co}, field, "%q is the lead department; a co-department must be another one", co)
		default:
			if _, ok := s.departments[co]; !ok {
				vs.notFound(reason.DepartmentNotFound, field, "department %q does not exist", co)
			}
		}
	}
	for i, m := range it.GetMaterials() {
		if blank(m.GetName()) {
			vs.required(fmt.Sprintf("item.materials[%d].name", i))
		}
		if m.GetCopies() < 0 {
			vs.negative(fmt.Sprintf("item.materials[%d].copies", i), int64(m.GetCopies()))
		}
	}
	for i, st := range it.GetSteps() {
		if blank(st.GetName()) {
			vs.required(fmt.Sprintf("item.steps[%d].name", i))
		}
		if st.GetLimitDays() < 0 {
			vs.negative(fmt.Sprintf("item.steps[%d].limit_days", i), int64(st.GetLimitDays()))
		}
	}
	statutory, promised := it.GetStatutoryLimitDays(), it.GetPromisedLimitDays()
	switch {
	case statutory < 0:
		vs.negative("item.statutory_limit_days", int64(statutory))
	case statutory < 1 && it.GetCaseKind() != yizhanv1.CaseKind_CASE_KIND_IMMEDIATE:
		vs.addMeta(reason.StatutoryLimitRequired, nil, "item.statutory_limit_days", "must be at least 1 working day unless the case kind is CASE_KIND_IMMEDIATE")
	}
	switch {
	case promised < 0:
		vs.negative("item.promised_limit_days", int64(promised))
	case statutory >= 0 && promised > statutory:
		vs.addMeta(reason.PromisedExceedsStatutory, reason.Meta{"promised": reason.Itoa(promised), "statutory": reason.Itoa(statutory)},
			"item.promised_limit_days", "must not exceed the statutory limit: promised %d > statutory %d working days", promised, statutory)
	}
	if it.GetFeeCents() < 0 {
		vs.negative("item.fee_cents", it.GetFeeCents())
	}
	if it.GetFeeUnit() != "" && it.GetFeeCents() <= 0 {
		vs.addReason(ReasonInvalidFormat, "item.fee_unit", "is the unit of a fee: a free item (fee_cents 0) has none")
	}
	if it.GetExtensionLimitDays() < 0 {
		vs.negative("item.extension_limit_days", int64(it.GetExtensionLimitDays()))
	}
	checkEnum(&vs, "item.case_kind", it.GetCaseKind())
	if it.GetCaseKind() == yizhanv1.CaseKind_CASE_KIND_JOINT && len(it.GetCoDepartmentCodes()) == 0 {
		vs.addMeta(reason.CoDepartmentRequired, nil, "item.co_department_codes", "a joint item (CASE_KIND_JOINT) needs at least one co-department")
	}
	checkEnum(&vs, "item.exercise_tier", it.GetExerciseTier())
	for i, sp := range it.GetSpecialProcedures() {
		if blank(sp.GetName()) {
			vs.required(fmt.Sprintf("item.special_procedures[%d].name", i))
		}
		if sp.GetLimitDays() < 0 {
			vs.negative(fmt.Sprintf("item.special_procedures[%d].limit_days", i), int64(sp.GetLimitDays()))
		}
	}
	if it.GetVisits() < 0 {
		vs.negative("item.visits", int64(it.GetVisits()))
	}
	return vs.err()
}

// checkTimestamp adds a violation if ts is set but out of range.
func checkTimestamp(vs *violations, field string, ts *timestamppb.Timestamp) bool {
	if ts == nil {
		return true
	}
	if err := ts.CheckValid(); err != nil {
		vs.format("TIMESTAMP", field, "is not a valid timestamp")
		return false
	}
	return true
}

func (s *state) checkGrant(g *yizhanv1.Grant, atUnixNano int64) error {
	var vs violations
	if g == nil {
		vs.required("grant")
		return vs.err()
	}
	switch code := g.GetItemCode(); {
	case code == "":
		vs.required("grant.item_code")
	default:
		if _, ok := s.items[code]; !ok {
			vs.notFound(reason.ItemNotFound, "grant.item_code", "item %q does not exist", code)
		}
	}
	office, tier := g.GetOfficeCode(), g.GetTier()
	switch {
	case office != "" && tier != yizhanv1.Tier_TIER_UNSPECIFIED:
		vs.addMeta(reason.OfficeAndTier, nil, "grant.tier", "must be unset when office_code is set: a grant names one office or one tier, not both")
	case office == "" && tier == yizhanv1.Tier_TIER_UNSPECIFIED:
		vs.addMeta(ReasonRequired, reason.Meta{"input": "choice"}, "grant.office_code", "is required unless tier is set: a grant names one office or every office of a tier")
	case office != "":
		if _, ok := s.offices[office]; !ok {
			vs.notFound(reason.OfficeNotFound, "grant.office_code", "office %q does not exist", office)
		}
	case !knownEnum(tier):
		vs.addMeta(ReasonOutOfRange, enumMeta(tier), "grant.tier", "%d is not a known Tier value", tier)
	}
	if len(g.GetRights()) == 0 {
		vs.addMeta(ReasonRequired, reason.Meta{"input": "list"}, "grant.rights", "must name at least one right")
	}
	seen := map[yizhanv1.Right]int{}
	for i, right := range g.GetRights() {
		field := fmt.Sprintf("grant.rights[%d]", i)
		if j, dup := seen[right]; dup {
			vs.duplicate(field, j, "repeats rights[%d] %s", j, right)
			continue
		}
		seen[right] = i
		checkEnum(&vs, field, right)
	}
	fromOK := checkTimestamp(&vs, "grant.valid_from", g.GetValidFrom())
	untilOK := checkTimestamp(&vs, "grant.valid_until", g.GetValidUntil())
	if fromOK && untilOK && g.GetValidUntil() != nil {
		from := g.GetValidFrom()
		if from == nil && atUnixNano != 0 {
			from = timestamppb.New(time.Unix(0, atUnixNano))
		}
		if from != nil && !g.GetValidUntil().AsTime().After(from.AsTime()) {
			at := from.AsTime().UTC().Format(time.RFC3339Nano)
			vs.addMeta(reason.NotAfterValidFrom, reason.Meta{"validFrom": at}, "grant.valid_until", "must be after valid_from (%s)", at)
		}
	}
	return vs.err()
}

func (s *state) checkRevokeGrant(id string) error {
	if id == "" {
		return &ValidationError{Violations: []FieldViolation{{Field: "id", Description: "is required", Reason: ReasonRequired}}}
	}
	g, ok := s.grants[id]
	if !ok {
		return entityError(reason.NotFound, "grant", id, "grant %q: %w", id, ErrNotFound)
	}
	if g.GetRevoked() {
		return reason.Errorf(reason.AlreadyRevoked, reason.Meta{"code": id}, "grant %q is already revoked: %w", id, ErrFailedPrecondition)
	}
	return nil
}

func (s *state) checkStaff(c *peerv1.CreateStaff, replay bool) error {
	var vs violations
	m := c.GetStaff()
	if m == nil {
		vs.required("staff")
		return vs.err()
	}
	switch u := m.GetUsername(); {
	case u == "":
		vs.required("staff.username")
	case !usernameRE.MatchString(u):
		vs.format("USERNAME", "staff.username", "must be 3 to 32 characters of a-z, 0-9, '_', '.' and '-', starting with a letter or digit")
	default:
		if _, ok := s.staff[u]; ok {
			return entityError(reason.AlreadyExists, "staff", u, "staff member %q: %w", u, ErrAlreadyExists)
		}
	}
	if blank(m.GetName()) {
		vs.required("staff.name")
	}
	switch code := m.GetOfficeCode(); {
	case code == "":
		vs.required("staff.office_code")
	default:
		if _, ok := s.offices[code]; !ok {
			vs.notFound(reason.OfficeNotFound, "staff.office_code", "office %q does not exist", code)
		}
	}
	s.checkStaffRoles(&vs, m)
	cred := c.GetCredential()
	switch {
	case cred == nil && !replay:
		vs.required("credential")
	case cred == nil:
	default:
		if cred.GetUsername() != m.GetUsername() {
			vs.addMeta(reason.Mismatch, reason.Meta{"want": m.GetUsername()}, "credential.username", "must be the staff member's username %q, got %q", m.GetUsername(), cred.GetUsername())
		}
		if cred.GetPasswordHash() == "" && !replay {
			vs.required("credential.password_hash")
		}
	}
	return vs.err()
}

// MaxWarningDays bounds the supervision policy's warning days.
const MaxWarningDays = 10

func checkSupervisionPolicy(p *yizhanv1.SupervisionPolicy) error {
	var vs violations
	if p == nil {
		vs.required("policy")
		return vs.err()
	}
	if d := p.GetWarningDays(); d < 0 || d > MaxWarningDays {
		vs.addMeta(ReasonOutOfRange, reason.Meta{"min": "0", "max": reason.Itoa(MaxWarningDays), "got": reason.Itoa(d)},
			"policy.warning_days", "must be between 0 (the default, 2) and %d working days, got %d", MaxWarningDays, d)
	}
	return vs.err()
}

// Bounds of the duty policy.
const (
	MinReportMinutes = 10
	MaxReportMinutes = 1440
	MaxReportLimits  = 40
	MaxDutyContacts  = 30
)

func checkDutyPolicy(p *yizhanv1.DutyPolicy) error {
	var vs violations
	if p == nil {
		vs.required("policy")
		return vs.err()
	}
	minutes := func(field string, m int32, zeroOK bool) {
		if (m == 0 && zeroOK) || (m >= MinReportMinutes && m <= MaxReportMinutes) {
			return
		}
		vs.addMeta(ReasonOutOfRange, reason.Meta{"min": reason.Itoa(MinReportMinutes), "max": reason.Itoa(MaxReportMinutes), "got": reason.Itoa(m)},
			field, "must be between %d and %d minutes, got %d", MinReportMinutes, MaxReportMinutes, m)
	}
	minutes("policy.first_report_minutes", p.GetFirstReportMinutes(), true)
	if n := len(p.GetLimits()); n > MaxReportLimits {
		vs.addMeta(ReasonTooMany, reason.Meta{"max": reason.Itoa(MaxReportLimits), "got": reason.Itoa(n)}, "policy.limits", "at most %d limits", MaxReportLimits)
	}
	seen := map[[2]int32]int{}
	for i, l := range p.GetLimits() {
		field := fmt.Sprintf("policy.limits[%d]", i)
		if _, ok := yizhanv1.IncidentCategory_name[int32(l.GetCategory())]; !ok || l.GetCategory() == 0 {
			vs.addMeta(ReasonOutOfRange, reason.Meta{"enum": "IncidentCategory", "got": reason.Itoa(int32(l.GetCategory()))}, field+".category", "a category")
		}
		if _, ok := yizhanv1.IncidentLevel_name[int32(l.GetLevel())]; !ok {
			vs.addMeta(ReasonOutOfRange, reason.Meta{"enum": "IncidentLevel", "got": reason.Itoa(int32(l.GetLevel()))}, field+".level", "a level, or none for every level")
		}
		k := [2]int32{int32(l.GetCategory()), int32(l.GetLevel())}
		if j, dup := seen[k]; dup {
			vs.duplicate(field, j, "repeats limits[%d]", j)
		}
		seen[k] = i
		minutes(field+".minutes", l.GetMinutes(), false)
	}
	if h := p.GetZeroReportHour(); h < 0 || h > 23 {
		vs.addMeta(ReasonOutOfRange, reason.Meta{"min": "0", "max": "23", "got": reason.Itoa(h)}, "policy.zero_report_hour", "an hour from 1 to 23 (0: 16)")
	}
	if n := len(p.GetContacts()); n > MaxDutyContacts {
		vs.addMeta(ReasonTooMany, reason.Meta{"max": reason.Itoa(MaxDutyContacts), "got": reason.Itoa(n)}, "policy.contacts", "at most %d contacts", MaxDutyContacts)
	}
	for i, c := range p.GetContacts() {
		field := fmt.Sprintf("policy.contacts[%d]", i)
		if c.GetName() == "" {
			vs.required(field + ".name")
		}
		if c.GetPhone() == "" {
			vs.required(field + ".phone")
		}
		vs.line(field+".name", c.GetName(), MaxNameLen)
		vs.line(field+".unit", c.GetUnit(), MaxNameLen)
		vs.line(field+".phone", c.GetPhone(), MaxPhoneLen)
	}
	return vs.err()
}

// checkCalendarBase refuses a calendar written from a read older than
// the year's calendar in the registry (PutCalendar.base_registry_index):
// another admin set it since, and writing the whole year would undo that.
func (s *state) checkCalendarBase(p *peerv1.PutCalendar) error {
	if p.BaseRegistryIndex == nil {
		return nil
	}
	year := p.GetCalendar().GetYear()
	cur := s.calendars[year].GetRegistryIndex() // 0: none set
	if base := p.GetBaseRegistryIndex(); base != cur {
		return reason.Errorf(reason.Conflict, reason.Meta{"kind": "calendar", "code": strconv.Itoa(int(year)),
			"baseVersion": reason.Itoa(base), "currentVersion": reason.Itoa(cur)},
			"calendar %d: read at registry index %d, set since at %d: %w", year, base, cur, ErrConflict)
	}
	return nil
}

func checkCalendar(c *yizhanv1.Calendar) error {
	var vs violations
	if c == nil {
		vs.required("calendar")
		return vs.err()
	}
	year := c.GetYear()
	yearOK := year >= 2000 && year <= 2100
	if !yearOK {
		vs.addMeta(ReasonOutOfRange, reason.Meta{"min": "2000", "max": "2100", "got": reason.Itoa(year)}, "calendar.year", "must be between 2000 and 2100, got %d", year)
	}
	seen := map[string]int{}
	for i, d := range c.GetDays() {
		dateField := fmt.Sprintf("calendar.days[%d].date", i)
		kindField := fmt.Sprintf("calendar.days[%d].kind", i)
		checkEnum(&vs, kindField, d.GetKind())
		date, err := parseDate(d.GetDate())
		if err != nil {
			vs.format("DATE", dateField, "must be a date YYYY-MM-DD, got %q", d.GetDate())
			continue
		}
		if j, dup := seen[d.GetDate()]; dup {
			vs.duplicate(dateField, j, "repeats days[%d] %s", j, d.GetDate())
			continue
		}
		seen[d.GetDate()] = i
		if yearOK && date.Year() != int(year) {
			vs.addMeta(reason.DateNotInYear, reason.Meta{"date": d.GetDate(), "year": reason.Itoa(year)}, dateField, "%s is not in the calendar's year %d", d.GetDate(), year)
			continue
		}
		weekend := date.Weekday() == time.Saturday || date.Weekday() == time.Sunday
		switch d.GetKind() {
		case yizhanv1.DayKind_DAY_KIND_WORKDAY:
			if !weekend {
				vs.addMeta(reason.WorkdayNotOnWeekend, reason.Meta{"date": d.GetDate(), "weekday": date.Weekday().String()},
					kindField, "%s is a %s: a DAY_KIND_WORKDAY (swapped workday) must fall on a Saturday or Sunday", d.GetDate(), date.Weekday())
			}
		case yizhanv1.DayKind_DAY_KIND_HOLIDAY:
			if weekend {
				vs.addMeta(reason.HolidayOnWeekend, reason.Meta{"date": d.GetDate(), "weekday": date.Weekday().String()},
					kindField, "%s is a %s: a DAY_KIND_HOLIDAY must fall on Monday to Friday (weekends are off anyway)", d.GetDate(), date.Weekday())
			}
		}
	}
	return vs.err()
}

// parseDate parses a YYYY-MM-DD date as midnight UTC (a civil date).
func parseDate(s string) (time.Time, error) {
	if len(s) != len(time.DateOnly) {
		return time.Time{}, fmt.Errorf("date %q: not YYYY-MM-DD", s)
	}
	return time.Parse(time.DateOnly, s)
}

func (s *state) checkNode(n *yizhanv1.NodeEntry) error {
	var vs violations
	if n == nil {
		vs.required("node")
		return vs.err()
	}
	if blank(n.GetName()) {
		vs.required("node.name")
	}
	switch code := n.GetOfficeCode(); {
	case code == "":
		vs.required("node.office_code")
	default:
		if _, ok := s.offices[code]; !ok {
			vs.notFound(reason.OfficeNotFound, "node.office_code", "office %q does not exist", code)
		}
	}
	checkHostPort(&vs, "node.raft_address", n.GetRaftAddress(), true)
	checkHostPort(&vs, "node.peer_address", n.GetPeerAddress(), true)
	checkHostPort(&vs, "node.http_address", n.GetHttpAddress(), false)
	return vs.err()
}

// checkHostPort adds a violation unless addr is host:port with a non-empty
// host and a port in 1..65535. An empty addr is allowed unless required.
func checkHostPort(vs *violations, field, addr string, required bool) {
	if addr == "" {
		if required {
			vs.required(field)
		}
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		vs.format("HOST_PORT", field, "must be host:port, got %q", addr)
		return
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		vs.format("PORT", field, "must have a port between 1 and 65535, got %q", port)
	}
}

// Bounds of the case policy.
const (
	MaxSingleHandedOffices = 500
	MaxCorrectionWaitDays  = 365
)

// checkCasePolicy checks the county's case policy: the single-handed
// offices are offices of the registry, each once.
func (s *state) checkCasePolicy(p *yizhanv1.CasePolicy) error {
	var vs violations
	if p == nil {
		vs.required("policy")
		return vs.err()
	}
	if d := p.GetCorrectionWaitDays(); d < 0 || d > MaxCorrectionWaitDays {
		vs.addMeta(ReasonOutOfRange, reason.Meta{"min": "0", "max": reason.Itoa(MaxCorrectionWaitDays), "got": reason.Itoa(d)},
			"policy.correction_wait_days", "must be between 0 (the default, 30) and %d days, got %d", MaxCorrectionWaitDays, d)
	}
	offices := p.GetSingleHandedOffices()
	if n := len(offices); n > MaxSingleHandedOffices {
		vs.addMeta(ReasonTooMany, reason.Meta{"max": reason.Itoa(MaxSingleHandedOffices), "got": reason.Itoa(n)},
			"policy.single_handed_offices", "at most %d offices", MaxSingleHandedOffices)
		return vs.err()
	}
	seen := map[string]int{}
	for i, code := range offices {
		field := fmt.Sprintf("policy.single_handed_offices[%d]", i)
		if j, dup := seen[code]; dup {
			vs.duplicate(field, j, "repeats single_handed_offices[%d]", j)
			continue
		}
		seen[code] = i
		if _, ok := s.offices[code]; !ok {
			vs.notFound(reason.OfficeNotFound, field, "office %q does not exist", code)
		}
	}
	return vs.err()
}

// checkStaffUpdate checks a change of a staff member: one that exists, in
// its office (the office does not change), named, of a department that
// exists, with roles; a credential, when set, is the staff member's.
func (s *state) checkStaffUpdate(u *peerv1.UpdateStaff) error {
	var vs violations
	m := u.GetStaff()
	if m == nil {
		vs.required("staff")
		return vs.err()
	}
	held, ok := s.staff[m.GetUsername()]
	if !ok {
		return entityError(reason.NotFound, "staff", m.GetUsername(), "staff member %q: %w", m.GetUsername(), ErrNotFound)
	}
	switch code := m.GetOfficeCode(); {
	case code == "" && u.GetCredential() != nil:
		// Named, so that the feed sends the new hash where it belongs.
		vs.required("staff.office_code")
	case code != "" && code != held.GetOfficeCode():
		vs.addMeta(reason.Mismatch, reason.Meta{"want": held.GetOfficeCode()}, "staff.office_code", "a staff member's office does not change (%s); create an account at the other office", held.GetOfficeCode())
	}
	if u.GetPasswordOnly() {
		if u.GetCredential() == nil {
			vs.required("credential")
		}
		if held.GetDisabled() {
			return entityError(reason.FailedPrecondition, "staff", m.GetUsername(), "staff member %q is disabled: %w", m.GetUsername(), ErrFailedPrecondition)
		}
		if err := vs.err(); err != nil {
			return err
		}
	} else {
		if blank(m.GetName()) {
			vs.required("staff.name")
		}
		s.checkStaffRoles(&vs, m)
	}
	if c := u.GetCredential(); c != nil && c.GetUsername() != m.GetUsername() {
		vs.addMeta(reason.Mismatch, reason.Meta{"want": m.GetUsername()}, "credential.username", "must be the staff member's username %q, got %q", m.GetUsername(), c.GetUsername())
	}
	return vs.err()
}

// checkStaffRoles checks a staff member's department (one that exists,
// if any) and roles (at least one, each known, once).
func (s *state) checkStaffRoles(vs *violations, m *yizhanv1.StaffMember) {
	if d := m.GetDepartmentCode(); d != "" {
		if _, ok := s.departments[d]; !ok {
			vs.notFound(reason.DepartmentNotFound, "staff.department_code", "department %q does not exist", d)
		}
	}
	if len(m.GetRoles()) == 0 {
		vs.addMeta(ReasonRequired, reason.Meta{"input": "list"}, "staff.roles", "must name at least one role")
	}
	seen := map[yizhanv1.Role]int{}
	for i, role := range m.GetRoles() {
		field := fmt.Sprintf("staff.roles[%d]", i)
		if j, dup := seen[role]; dup {
			vs.duplicate(field, j, "repeats roles[%d] %s", j, role)
			continue
		}
		seen[role] = i
		checkEnum(vs, field, role)
	}
}
