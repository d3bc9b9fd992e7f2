package registry

import (
	"fmt"
	"unicode"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// This file is the one place that holds the limits on what a client may
// send: the length of every text, the number of entries of every list,
// the range of every number, and the encoded size of a whole registry
// command or case event. docs/LIMITS.md lists them field by field.
//
// The limits are checked before anything is proposed (Check here, and
// casework's NewFiling and NewEvent), each violation a FieldViolation
// with a reason code. They are not checked again where a log is replayed
// (Apply, Replay, a case message received): what is already in a raft log
// or a changelog was accepted by the binary that wrote it, and refusing it
// later, or on a node that runs a newer binary, would make offices differ
// or stop a feed for ever.

// Reason codes of a FieldViolation of the limits (the package reason
// lists every reason).
const (
	ReasonRequired         = reason.Required         // a required field is empty
	ReasonInvalidFormat    = reason.InvalidFormat    // not of the field's form (a code, a date, an ID number, …)
	ReasonTooLong          = reason.TooLong          // more characters than the field may have
	ReasonTooShort         = reason.TooShort         // fewer characters than the field needs (a password)
	ReasonTooMany          = reason.TooMany          // more entries than the list may have
	ReasonOutOfRange       = reason.OutOfRange       // a number (or enum value) outside its range
	ReasonControlCharacter = reason.ControlCharacter // a control character (line breaks and tabs only in multi-line text)
	ReasonInvalidUTF8      = reason.InvalidUTF8      // text that is not valid UTF-8
	ReasonTooLarge         = reason.TooLarge         // the whole command or event is too large encoded
)

// Lengths of text, in characters (Unicode code points: 一 counts one).
const (
	MaxDivisionCodeLen   = 12    // a division code (office_code, parent_code), 12 digits
	MaxDepartmentCodeLen = 32    // a department code
	MaxCodeLen           = 64    // other codes and numbers: item code, grant id, case number, certificate and receipt numbers; the bound on a code whose form is checked too (username, date)
	MaxPhoneLen          = 32    // a phone number as written: 0771-6201001 or 13907710001, with an extension
	MaxNameLen           = 100   // names: of a person, an office, a department, a step, a special procedure, a holiday, a node
	MaxTitleLen          = 200   // an item's name (事项名称), a material's name
	MaxAddressLen        = 200   // an office's or an applicant's address
	MaxHostPortLen       = 261   // host:port: a DNS name of 253 characters and a port
	MaxPasswordLen       = 128   // a password as typed
	MaxPasswordHashLen   = 512   // an encoded password hash (argon2id: about 100)
	MaxShortTextLen      = 1000  // short free text: a material's condition and notes, a step's description, where to apply, office hours, a grant's note, a submitted material's note
	MaxTextLen           = 4000  // free text: fee basis and standard; a case action's reason and legal basis (opinion, rating comment, complaint)
	MaxLongTextLen       = 20000 // long free text: an item's legal basis (设定依据) and conditions (受理条件)
)

// Entries of lists.
const (
	MaxMaterials         = 100 // materials of an item; submitted with a filing or a resubmission; named by a correction notice
	MaxSteps             = 30  // procedure steps of an item
	MaxSpecialProcedures = 20  // special procedures of an item
	MaxCoDepartments     = 20  // co-departments of a joint item
	MaxAliases           = 20  // everyday names of an item (常用名)
	MaxAliasLen          = 50  // characters of one
	MaxCalendarDays      = 366 // days a calendar lists
	MaxComplaints        = 20  // complaints about one case
	// A grant's rights and a staff member's roles: at most one of each
	// declared value, checked against the enums.
)

// Ranges of numbers.
const (
	MaxCopies    = 100           // copies of a material (0: not stated, one)
	MaxLimitDays = 365           // working days of a time limit: statutory, promised, a step's, a special procedure's, an extension
	MaxFeeCents  = 1_000_000_000 // a fee in fen: 10 million yuan
	MaxVisits    = 10            // visits an item asks of the applicant (到现场次数)
)

// Encoded sizes.
const (
	// MaxCommandBytes bounds a registry command's protobuf encoding. The
	// largest item the field limits allow in practice (a long legal basis
	// and conditions, dozens of materials) is a few tens of KiB; 256 KiB
	// leaves room for that, and keeps 16 commands within gRPC's default
	// 4 MiB message, so a feed batch or a forwarded write can carry it.
	MaxCommandBytes = 256 << 10
	// MaxEventBytes bounds a case event's encoding before it is signed (a
	// signature and the certificate chain add about 2 KiB). An event is
	// 1 to 10 KiB in practice; a case's whole log travels in one message
	// to the next office, so each event must stay small.
	MaxEventBytes = 64 << 10
)

// CheckLine checks a single-line text field: valid UTF-8, at most max
// characters, no control character. It returns the violation, or nil.
func CheckLine(field, s string, max int) *FieldViolation { return checkString(field, s, max, false) }

// CheckText is CheckLine for multi-line free text, which may also hold
// line breaks (\n, or \r\n) and tabs.
func CheckText(field, s string, max int) *FieldViolation { return checkString(field, s, max, true) }

// CheckLength checks only that s has at most max characters.
func CheckLength(field, s string, max int) *FieldViolation {
	if len(s) <= max { // bytes ≥ characters: count only what may be too long
		return nil
	}
	if n := utf8.RuneCountInString(s); n > max {
		return &FieldViolation{Field: field, Reason: ReasonTooLong, Meta: reason.Meta{"max": reason.Itoa(max), "got": reason.Itoa(n)},
			Description: fmt.Sprintf("must be at most %d characters, got %d", max, n)}
	}
	return nil
}

func checkString(field, s string, max int, multiline bool) *FieldViolation {
	if !utf8.ValidString(s) {
		return &FieldViolation{Field: field, Description: "must be valid UTF-8 text", Reason: ReasonInvalidUTF8}
	}
	if v := CheckLength(field, s, max); v != nil {
		return v
	}
	pos := 0
	for i, r := range s {
		pos++
		if !isControl(r) {
			continue
		}
		if multiline && (r == '\n' || r == '\t' || (r == '\r' && i+1 < len(s) && s[i+1] == '\n')) {
			continue
		}
		what := "control characters"
		if multiline {
			what = "control characters other than line breaks and tabs"
		}
		meta := reason.Meta{"position": reason.Itoa(pos)}
		if multiline {
			meta["multiline"] = "true"
		}
		return &FieldViolation{Field: field, Reason: ReasonControlCharacter, Meta: meta,
			Description: fmt.Sprintf("must not contain %s, found %U at character %d", what, r, pos)}
	}
	return nil
}

// isControl reports whether r is a control character (Unicode Cc: C0,
// DEL, C1) or a line or paragraph separator.
func isControl(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}

// CheckCount checks that a list has at most max entries.
func CheckCount(field string, n, max int) *FieldViolation {
	if n <= max {
		return nil
	}
	return &FieldViolation{Field: field, Reason: ReasonTooMany, Meta: reason.Meta{"max": reason.Itoa(max), "got": reason.Itoa(n)},
		Description: fmt.Sprintf("must have at most %d entries, got %d", max, n)}
}

// CheckAtMost checks a number's upper bound (the lower bound, usually 0,
// is the field's own check: "must not be negative").
func CheckAtMost(field string, v, max int64) *FieldViolation {
	if v <= max {
		return nil
	}
	return &FieldViolation{Field: field, Reason: ReasonOutOfRange, Meta: reason.Meta{"max": reason.Itoa(max), "got": reason.Itoa(v)},
		Description: fmt.Sprintf("must be at most %d, got %d", max, v)}
}

// CheckSize checks that m is at most max bytes encoded. The violation
// names the field of m that is largest (going down into a message field:
// "applicant.address"), prefixed with prefix; what names the whole for
// the description ("command", "event").
func CheckSize(prefix string, m proto.Message, max int, what string) *FieldViolation {
	n := proto.Size(m)
	if n <= max {
		return nil
	}
	field := joinPath(prefix, LargestField(m))
	if field == "" {
		field = what
	}
	return &FieldViolation{Field: field, Reason: ReasonTooLarge, Meta: sizeMeta(n, max), Description: sizeDescription(what, n, max)}
}

func sizeMeta(n, max int) reason.Meta {
	return reason.Meta{"bytes": reason.Itoa(n), "max": reason.Itoa(max)}
}

func sizeDescription(what string, n, max int) string {
	return fmt.Sprintf("makes the %s too large: %d bytes encoded, at most %d", what, n, max)
}

func joinPath(prefix, path string) string {
	switch {
	case prefix == "":
		return path
	case path == "":
		return prefix
	}
	return prefix + "." + path
}

// LargestField is the path of m's largest field encoded, going down into
// singular message fields ("filing.applicant.address"); a list is named
// as a whole ("materials"). It is "" when m has no field set, or when
// unknown fields are the largest part.
func LargestField(m proto.Message) string {
	if m == nil {
		return ""
	}
	return largestField(m.ProtoReflect())
}

func largestField(m protoreflect.Message) string {
	if !m.IsValid() {
		return ""
	}
	var best protoreflect.FieldDescriptor
	bestSize := -1
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		one := m.New()
		one.Set(fd, v)
		n := proto.Size(one.Interface())
		if n > bestSize || (n == bestSize && fd.Number() < best.Number()) {
			best, bestSize = fd, n
		}
		return true
	})
	if best == nil || len(m.GetUnknown()) > bestSize {
		return ""
	}
	name := string(best.Name())
	if best.Kind() == protoreflect.MessageKind && best.Cardinality() != protoreflect.Repeated {
		return joinPath(name, largestField(m.Get(best).Message()))
	}
	return name
}

// put adds v, if any, and reports whether there was none.
func (vs *violations) put(v *FieldViolation) bool {
	if v == nil {
		return true
	}
	*vs = append(*vs, *v)
	return false
}

func (vs *violations) line(field, s string, max int) bool { return vs.put(CheckLine(field, s, max)) }

// contactPhone checks a phone the public or a duty officer calls, when
// given: its length and characters, then its form (ValidContactPhone).
// A limit, not checked at apply: a number of the old form kept by an
// earlier release applies as it was.
func (vs *violations) contactPhone(field, s string) {
	if s == "" || !vs.line(field, s, MaxPhoneLen) {
		return
	}
	if err := ValidContactPhone(s); err != nil {
		e := reason.Of(err)
		vs.addMeta(e.Reason, e.Meta, field, "%s", err.Error())
	}
}
func (vs *violations) text(field, s string, max int) bool { return vs.put(CheckText(field, s, max)) }
func (vs *violations) count(field string, n, max int) bool {
	return vs.put(CheckCount(field, n, max))
}
func (vs *violations) atMost(field string, v, max int64) bool {
	return vs.put(CheckAtMost(field, v, max))
}

// enumValues is the number of declared values of e's enum but the zero
// one: the most entries a list of distinct values can have.
func enumValues(e protoreflect.Enum) int { return e.Descriptor().Values().Len() - 1 }

// CheckLimits checks cmd against the limits: every text's length and
// characters, every list's entries, every number's upper bound, and the
// encoded size of the whole (MaxCommandBytes, checked once the fields
// are within their limits). Check runs it before everything else.
func CheckLimits(cmd *peerv1.RegistryCommand) error {
	var vs violations
	var prefix string
	var entity proto.Message
	switch op := cmd.GetOp().(type) {
	case *peerv1.RegistryCommand_CreateOffice:
		prefix, entity = "office", op.CreateOffice.GetOffice()
		vs.officeLimits(op.CreateOffice.GetOffice())
	case *peerv1.RegistryCommand_CreateDepartment:
		prefix, entity = "department", op.CreateDepartment.GetDepartment()
		vs.departmentLimits(op.CreateDepartment.GetDepartment())
	case *peerv1.RegistryCommand_UpdateOffice:
		prefix, entity = "office", op.UpdateOffice.GetOffice()
		vs.officeLimits(op.UpdateOffice.GetOffice())
	case *peerv1.RegistryCommand_UpdateDepartment:
		prefix, entity = "department", op.UpdateDepartment.GetDepartment()
		vs.departmentLimits(op.UpdateDepartment.GetDepartment())
	case *peerv1.RegistryCommand_CreateItem:
		prefix, entity = "item", op.CreateItem.GetItem()
		vs.itemLimits(op.CreateItem.GetItem())
	case *peerv1.RegistryCommand_UpdateItem:
		prefix, entity = "item", op.UpdateItem.GetItem()
		vs.itemLimits(op.UpdateItem.GetItem())
	case *peerv1.RegistryCommand_CreateGrant:
		prefix, entity = "grant", op.CreateGrant.GetGrant()
		vs.grantLimits(op.CreateGrant.GetGrant())
	case *peerv1.RegistryCommand_RevokeGrant:
		prefix, entity = "id", nil
		vs.line("id", op.RevokeGrant.GetId(), MaxCodeLen)
	case *peerv1.RegistryCommand_CreateStaff:
		prefix, entity = "staff", op.CreateStaff.GetStaff()
		vs.staffLimits(op.CreateStaff)
	case *peerv1.RegistryCommand_UpdateStaff:
		prefix, entity = "staff", op.UpdateStaff.GetStaff()
		vs.staffLimits(&peerv1.CreateStaff{Staff: op.UpdateStaff.GetStaff(), Credential: op.UpdateStaff.GetCredential()})
	case *peerv1.RegistryCommand_PutCalendar:
		prefix, entity = "calendar", op.PutCalendar.GetCalendar()
		vs.calendarLimits(op.PutCalendar.GetCalendar())
	case *peerv1.RegistryCommand_PutSupervisionPolicy:
		prefix, entity = "policy", op.PutSupervisionPolicy.GetPolicy()
	case *peerv1.RegistryCommand_PutDutyPolicy:
		prefix, entity = "policy", op.PutDutyPolicy.GetPolicy()
		for i, c := range op.PutDutyPolicy.GetPolicy().GetContacts() {
			vs.contactPhone(fmt.Sprintf("policy.contacts[%d].phone", i), c.GetPhone())
		}
	case *peerv1.RegistryCommand_PutCasePolicy:
		prefix, entity = "policy", op.PutCasePolicy.GetPolicy()
		p := op.PutCasePolicy.GetPolicy()
		vs.line("policy.reconsideration_body", p.GetReconsiderationBody(), MaxNameLen)
		vs.line("policy.court", p.GetCourt(), MaxNameLen)
		if vs.count("policy.single_handed_offices", len(p.GetSingleHandedOffices()), MaxSingleHandedOffices) {
			for i, o := range p.GetSingleHandedOffices() {
				vs.line(fmt.Sprintf("policy.single_handed_offices[%d]", i), o, MaxDivisionCodeLen)
			}
		}
	case *peerv1.RegistryCommand_PutNode:
		prefix, entity = "node", op.PutNode.GetNode()
		vs.nodeLimits(op.PutNode.GetNode())
	case *peerv1.RegistryCommand_PutQueryCodeKey:
		// Made by the county's node, of a fixed size (checkQueryCodeKey).
		prefix, entity = "key", op.PutQueryCodeKey.GetKey()
	case *peerv1.RegistryCommand_PutOfficialCalendars:
		// Made by the county's node from its binary's data (some 4 KB).
		prefix, entity = "data", nil
	}
	if n := proto.Size(cmd); len(vs) == 0 && n > MaxCommandBytes {
		// Name the field in the request's terms: "item.conditions", not
		// "create_item.item.conditions".
		field := "command"
		if prefix != "" {
			field = joinPath(prefix, LargestField(entity))
		}
		vs.addMeta(ReasonTooLarge, sizeMeta(n, MaxCommandBytes), field, "%s", sizeDescription("command", n, MaxCommandBytes))
	}
	return vs.err()
}

func (vs *violations) officeLimits(o *yizhanv1.Office) {
	vs.line("office.name", o.GetName(), MaxNameLen)
	vs.line("office.parent_code", o.GetParentCode(), MaxDivisionCodeLen)
	vs.line("office.address", o.GetAddress(), MaxAddressLen)
	vs.contactPhone("office.phone", o.GetPhone())
	vs.line("office.authority", o.GetAuthority(), MaxNameLen)
}

func (vs *violations) departmentLimits(d *yizhanv1.Department) {
	vs.line("department.name", d.GetName(), MaxNameLen)
	vs.contactPhone("department.phone", d.GetPhone())
}

func (vs *violations) itemLimits(it *yizhanv1.Item) {
	vs.line("item.name", it.GetName(), MaxTitleLen)
	if vs.count("item.aliases", len(it.GetAliases()), MaxAliases) {
		for i, a := range it.GetAliases() {
			vs.line(fmt.Sprintf("item.aliases[%d]", i), a, MaxAliasLen)
		}
	}
	vs.line("item.department_code", it.GetDepartmentCode(), MaxDepartmentCodeLen)
	vs.text("item.change_note", it.GetChangeNote(), MaxShortTextLen)
	if vs.count("item.co_department_codes", len(it.GetCoDepartmentCodes()), MaxCoDepartments) {
		for i, co := range it.GetCoDepartmentCodes() {
			vs.line(fmt.Sprintf("item.co_department_codes[%d]", i), co, MaxDepartmentCodeLen)
		}
	}
	vs.text("item.legal_basis", it.GetLegalBasis(), MaxLongTextLen)
	vs.text("item.conditions", it.GetConditions(), MaxLongTextLen)
	if vs.count("item.materials", len(it.GetMaterials()), MaxMaterials) {
		for i, m := range it.GetMaterials() {
			p := fmt.Sprintf("item.materials[%d].", i)
			vs.line(p+"name", m.GetName(), MaxTitleLen)
			if f := m.GetForm(); f != 0 && !knownEnum(f) {
				vs.addMeta(ReasonOutOfRange, reason.Meta{"enum": string(f.Descriptor().Name()), "got": reason.Itoa(f)}, p+"form", "%d is not a known %s value", f, f.Descriptor().Name())
			}
			vs.atMost(p+"copies", int64(m.GetCopies()), MaxCopies)
			vs.text(p+"condition", m.GetCondition(), MaxShortTextLen)
			vs.text(p+"notes", m.GetNotes(), MaxShortTextLen)
		}
	}
	if vs.count("item.steps", len(it.GetSteps()), MaxSteps) {
		for i, st := range it.GetSteps() {
			p := fmt.Sprintf("item.steps[%d].", i)
			vs.line(p+"name", st.GetName(), MaxNameLen)
			vs.text(p+"description", st.GetDescription(), MaxShortTextLen)
			vs.atMost(p+"limit_days", int64(st.GetLimitDays()), MaxLimitDays)
		}
	}
	vs.atMost("item.statutory_limit_days", int64(it.GetStatutoryLimitDays()), MaxLimitDays)
	vs.atMost("item.extension_limit_days", int64(it.GetExtensionLimitDays()), MaxLimitDays)
	vs.atMost("item.promised_limit_days", int64(it.GetPromisedLimitDays()), MaxLimitDays)
	vs.text("item.fee_basis", it.GetFeeBasis(), MaxTextLen)
	vs.text("item.fee_standard", it.GetFeeStandard(), MaxTextLen)
	vs.atMost("item.fee_cents", it.GetFeeCents(), MaxFeeCents)
	vs.line("item.fee_unit", it.GetFeeUnit(), MaxAliasLen)
	if vs.count("item.special_procedures", len(it.GetSpecialProcedures()), MaxSpecialProcedures) {
		for i, sp := range it.GetSpecialProcedures() {
			p := fmt.Sprintf("item.special_procedures[%d].", i)
			vs.line(p+"name", sp.GetName(), MaxNameLen)
			vs.atMost(p+"limit_days", int64(sp.GetLimitDays()), MaxLimitDays)
		}
	}
	vs.atMost("item.visits", int64(it.GetVisits()), MaxVisits)
	vs.text("item.where_to_apply", it.GetWhereToApply(), MaxShortTextLen)
	vs.text("item.office_hours", it.GetOfficeHours(), MaxShortTextLen)
	vs.contactPhone("item.consultation_phone", it.GetConsultationPhone())
	vs.contactPhone("item.complaint_phone", it.GetComplaintPhone())
}

func (vs *violations) grantLimits(g *yizhanv1.Grant) {
	vs.line("grant.item_code", g.GetItemCode(), MaxCodeLen)
	vs.line("grant.office_code", g.GetOfficeCode(), MaxDivisionCodeLen)
	vs.count("grant.rights", len(g.GetRights()), enumValues(yizhanv1.Right_RIGHT_UNSPECIFIED))
	vs.text("grant.note", g.GetNote(), MaxShortTextLen)
}

func (vs *violations) staffLimits(c *peerv1.CreateStaff) {
	m := c.GetStaff()
	vs.line("staff.name", m.GetName(), MaxNameLen)
	vs.line("staff.office_code", m.GetOfficeCode(), MaxDivisionCodeLen)
	vs.line("staff.department_code", m.GetDepartmentCode(), MaxDepartmentCodeLen)
	vs.count("staff.roles", len(m.GetRoles()), enumValues(yizhanv1.Role_ROLE_UNSPECIFIED))
	vs.line("credential.username", c.GetCredential().GetUsername(), MaxCodeLen)
	vs.line("credential.password_hash", c.GetCredential().GetPasswordHash(), MaxPasswordHashLen)
}

func (vs *violations) calendarLimits(c *yizhanv1.Calendar) {
	if !vs.count("calendar.days", len(c.GetDays()), MaxCalendarDays) {
		return
	}
	for i, d := range c.GetDays() {
		// Generous: a wrong date of ordinary length gets the format's
		// message ("must be a date YYYY-MM-DD").
		vs.line(fmt.Sprintf("calendar.days[%d].date", i), d.GetDate(), MaxCodeLen)
		vs.line(fmt.Sprintf("calendar.days[%d].name", i), d.GetName(), MaxNameLen)
	}
}

func (vs *violations) nodeLimits(n *yizhanv1.NodeEntry) {
	vs.line("node.name", n.GetName(), MaxNameLen)
	vs.line("node.office_code", n.GetOfficeCode(), MaxDivisionCodeLen)
	vs.line("node.raft_address", n.GetRaftAddress(), MaxHostPortLen)
	vs.line("node.peer_address", n.GetPeerAddress(), MaxHostPortLen)
	vs.line("node.http_address", n.GetHttpAddress(), MaxHostPortLen)
}
