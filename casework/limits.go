package casework

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The limits on a case's input (lengths, entries, ranges, the encoded
// size of an event) are registry's (registry/limits.go), the one place
// that holds them. NewFiling and NewEvent check them before anything
// else about the input, so a message never echoes an oversized value;
// CheckFileRequest and CheckActionRequest let a node check them before
// it forwards a request. Received events are not checked against them
// (Permitted): a log another office accepted is taken as it is.

func (vs *violations) put(v *registry.FieldViolation) bool {
	if v == nil {
		return true
	}
	*vs = append(*vs, *v)
	return false
}

// elem is the path of a list's i-th element, field[i]: joined, not
// formatted, for it is built for every element of every filing.
func elem(field string, i int) string {
	return field + "[" + strconv.Itoa(i) + "]"
}

func (vs *violations) line(field, s string, max int) bool {
	return vs.put(registry.CheckLine(field, s, max))
}

func (vs *violations) text(field, s string, max int) bool {
	return vs.put(registry.CheckText(field, s, max))
}

func (vs *violations) count(field string, n, max int) bool {
	return vs.put(registry.CheckCount(field, n, max))
}

func (vs *violations) atMost(field string, v, max int64) bool {
	return vs.put(registry.CheckAtMost(field, v, max))
}

// applicantLimits checks the applicant's fields. The ID number and the
// phone have formats of their own, checked after the limits.
func applicantLimits(vs *violations, a *yizhanv1.Applicant) {
	vs.line("applicant.name", a.GetName(), registry.MaxNameLen)
	vs.line("applicant.id_number", a.GetIdNumber(), registry.MaxCodeLen)
	vs.line("applicant.credit_code", a.GetCreditCode(), registry.MaxCodeLen)
	vs.line("applicant.phone", a.GetPhone(), registry.MaxPhoneLen)
	vs.line("applicant.address", a.GetAddress(), registry.MaxAddressLen)
}

// submittedLimits checks materials handed in (a filing, a resubmission).
func submittedLimits(vs *violations, field string, ms []*yizhanv1.SubmittedMaterial) {
	if !vs.count(field, len(ms), registry.MaxMaterials) {
		return
	}
	for i, m := range ms {
		p := elem(field, i) + "."
		vs.line(p+"name", m.GetName(), registry.MaxTitleLen)
		vs.atMost(p+"copies", int64(m.GetCopies()), registry.MaxCopies)
		vs.text(p+"note", m.GetNote(), registry.MaxShortTextLen)
	}
}

// CheckFileRequest checks a filing request against the limits only (not
// whether the item exists, nor the ID number's or phone's form: NewFiling
// does that). A node calls it before it forwards the request.
func CheckFileRequest(req *yizhanv1.FileCaseRequest) error {
	var vs violations
	vs.line("item_code", req.GetItemCode(), registry.MaxCodeLen)
	vs.line("office_code", req.GetOfficeCode(), registry.MaxDivisionCodeLen)
	applicantLimits(&vs, req.GetApplicant())
	submittedLimits(&vs, "materials", req.GetMaterials())
	return vs.err()
}

// CheckActionRequest checks a case action's request against the limits
// only: the number, the query code and the fields the action reads. A
// node calls it before it forwards the request; NewEvent checks the same.
func CheckActionRequest(action Action, in *yizhanv1.CaseActionRequest) error {
	return checkActionRequest(action, in, true)
}

// checkActionRequest checks the request's limits and, with required, the
// fields the action always needs. NewEvent refuses a request beyond the
// limits before anything else, and one without a required field only
// once the case's state and the actor allow the action.
func checkActionRequest(action Action, in *yizhanv1.CaseActionRequest, required bool) error {
	var vs violations
	vs.line("number", in.GetNumber(), registry.MaxCodeLen)
	vs.line("query_code", in.GetQueryCode(), registry.MaxCodeLen)
	e := eventInput(action, in)
	actionLimits(&vs, action, e)
	if required {
		requiredInput(&vs, action, e)
	}
	return vs.err()
}

// actionLimits checks the arguments of action, as NewEvent copied them
// into e. The fields are named as in the request.
func actionLimits(vs *violations, action Action, e *yizhanv1.CaseEvent) {
	vs.text("reason", e.GetReason(), registry.MaxTextLen)
	vs.text("legal_basis", e.GetLegalBasis(), registry.MaxTextLen)
	if vs.count("missing_materials", len(e.GetMissingMaterials()), registry.MaxMaterials) {
		for i, m := range e.GetMissingMaterials() {
			vs.line(fmt.Sprintf("missing_materials[%d]", i), m, registry.MaxTitleLen)
		}
	}
	submittedLimits(vs, "materials", e.GetMaterials())
	vs.line("certificate_number", e.GetCertificateNumber(), registry.MaxCodeLen)
	vs.line("receipt_number", e.GetReceiptNumber(), registry.MaxCodeLen)
	vs.atMost("fee_cents", e.GetFeeCents(), registry.MaxFeeCents)
	vs.atMost("extension_days", int64(e.GetExtensionDays()), registry.MaxLimitDays)
	vs.line("special_procedure", e.GetSpecialProcedure(), registry.MaxNameLen)
	vs.line("department_code", e.GetDepartmentCode(), registry.MaxDepartmentCodeLen)
}

// checkComplaints refuses a complaint about a case that has had
// MaxComplaints: a case's log travels whole to the next office, and the
// citizen needs no sign-in to complain.
func checkComplaints(vs *violations, c *yizhanv1.Case) {
	if n := c.GetComplaints(); n >= registry.MaxComplaints {
		vs.addMeta(registry.ReasonTooMany, reason.Meta{"kind": "complaints", "got": reason.Itoa(n), "max": reason.Itoa(registry.MaxComplaints)},
			"complaints", "case %s has %d complaints, the most one case takes", c.GetNumber(), n)
	}
}

// eventSize refuses an event whose encoding (before it is signed) is
// larger than MaxEventBytes, naming the largest field as the request
// names it (a filing's "applicant.address", not "filing.applicant.address").
func eventSize(e *yizhanv1.CaseEvent) error {
	v := registry.CheckSize("", e, registry.MaxEventBytes, "event")
	if v == nil {
		return nil
	}
	v.Field = strings.TrimPrefix(v.Field, "filing.")
	return &registry.ValidationError{Violations: []registry.FieldViolation{*v}}
}
