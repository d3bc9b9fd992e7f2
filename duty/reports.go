// Package duty is government duty (政务值班): the rules of urgent reports
// (紧急重大情况报告) that travel up the tree. It does no I/O and reads no
// clock: the office layer writes, casebook keeps and carries, node serves.
package duty

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// Urgent reports. A report is written at an office by its duty staff
// (a draft, kept at that office and changed as often as needed), then
// reviewed and signed by the office's leader on duty (带班领导): signed,
// it no longer changes and is carried up the tree, each office keeping a
// copy and passing it on, so the county holds every one. A first report
// (首报) must be signed within its limit of the event (the county's
// policy when it was written, by category and level; the hour by
// default: FirstReportLimit); follow-ups
// (续报) and a final report (终报) are reports of their own naming the
// first. Each office above acknowledges what it receives (签收): an
// acknowledgement is a record of that office, carried up too.

// Prefixes of the ids; a case number starts with an office's digits.
const (
	reportPrefix = "BG-"
	ackPrefix    = "QS-"
)

// ReportID is the id of a report written at office on the day of at.
func ReportID(office string, at time.Time, suffix string) string {
	return reportPrefix + office + "-" + at.In(registry.CST).Format("20060102") + "-" + suffix
}

// IsReportID reports whether s names an urgent report.
func IsReportID(s string) bool {
	return strings.HasPrefix(s, reportPrefix) && strings.Count(s, "-") == 3
}

// AckID is the id of office's acknowledgement of report id.
func AckID(office, report string) string { return ackPrefix + office + "-" + report }

// IsAckID reports whether s names an acknowledgement.
func IsAckID(s string) bool { return strings.HasPrefix(s, ackPrefix) }

// DefaultFirstReportLimit is how long after the event a first report
// must be signed and on its way: one hour (the county's rule).
const DefaultFirstReportLimit = time.Hour

// FirstReportLimit is how long after its event first report r must be
// signed: the limit it was written under (LimitMinutes, stamped from the
// county's policy), else the hour.
func FirstReportLimit(r *yizhanv1.UrgentReport) time.Duration {
	if m := r.GetLimitMinutes(); m > 0 {
		return time.Duration(m) * time.Minute
	}
	return DefaultFirstReportLimit
}

// LimitMinutes is the county's limit for a first report of category c
// and level l under policy p: the limit of that category and level, else
// of the category, else the county's for every report; 0 when the county
// chose none (the hour).
func LimitMinutes(p *yizhanv1.DutyPolicy, c yizhanv1.IncidentCategory, l yizhanv1.IncidentLevel) int32 {
	var ofCategory int32
	for _, lim := range p.GetLimits() {
		if lim.GetCategory() != c {
			continue
		}
		switch lim.GetLevel() {
		case l:
			return lim.GetMinutes()
		case yizhanv1.IncidentLevel_INCIDENT_LEVEL_UNSPECIFIED:
			ofCategory = lim.GetMinutes()
		}
	}
	if ofCategory > 0 {
		return ofCategory
	}
	return p.GetFirstReportMinutes()
}

// Due is a first report's deadline: its limit from when the office
// learnt of the event (known_at), or from when it happened if that is
// later or the time it was learnt is not given — an event in the night
// found at dawn is due an hour after dawn, and both times go up with the
// report for the offices above to judge. Zero for follow-ups and final
// reports, which follow the upper office's requests.
func Due(r *yizhanv1.UrgentReport) time.Time {
	if r.GetKind() != yizhanv1.ReportKind_REPORT_KIND_FIRST || r.GetOccurredAt() == nil {
		return time.Time{}
	}
	from := r.GetOccurredAt().AsTime()
	if k := r.GetKnownAt(); k != nil && k.AsTime().After(from) {
		from = k.AsTime()
	}
	return from.Add(FirstReportLimit(r))
}

// Late reports whether a first report held from at on is late (迟报): at
// its own office, at is when it was signed; above, when that office's
// book stored it.
func Late(r *yizhanv1.UrgentReport, at time.Time) bool {
	due := Due(r)
	return !due.IsZero() && at.After(due)
}

// Limits on a report's texts.
const (
	MaxTitle = 200
	MaxText  = 4000
)

// FieldError is a report's problem with one field.
type FieldError struct {
	Field, Why string // Why: a registry.Reason* code
	Msg        string
	Meta       reason.Meta // what explains it (the limit, the character)
}

// checkString checks a text field with registry's CheckLine (multiline:
// CheckText): valid UTF-8, at most max characters, no control character.
func checkString(field, v string, max int, multiline bool) error {
	check := registry.CheckLine
	if multiline {
		check = registry.CheckText
	}
	if fv := check(field, v, max); fv != nil {
		return &FieldError{Field: fv.Field, Why: fv.Reason, Msg: fv.Description, Meta: fv.Meta}
	}
	return nil
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// checkChoice checks an enum field that must be set: unset is REQUIRED
// (a choice to make), a value its enum does not declare OUT_OF_RANGE
// (enum, got), as the registry's enums are checked; what says the
// choices.
func checkChoice(field string, e protoreflect.Enum, what string) error {
	switch {
	case e.Number() == 0:
		return &FieldError{Field: field, Why: registry.ReasonRequired, Meta: reason.Meta{"input": "choice"}, Msg: "is required: " + what}
	case e.Descriptor().Values().ByNumber(e.Number()) == nil:
		return &FieldError{Field: field, Why: registry.ReasonOutOfRange,
			Meta: reason.Meta{"enum": string(e.Descriptor().Name()), "got": reason.Itoa(int32(e.Number()))},
			Msg:  fmt.Sprintf("%d is not a known %s value: %s", e.Number(), e.Descriptor().Name(), what)}
	}
	return nil
}

// checkPhone checks a phone number field with valid (registry.ValidPhone,
// as an applicant's phone is checked: a mobile number, or a landline with
// its area code; registry.ValidContactPhone for a number to call back);
// an empty one is none, and passes.
func checkPhone(field, v string, valid func(string) error) error {
	if v == "" {
		return nil
	}
	if err := valid(v); err != nil {
		fe := &FieldError{Field: field, Why: reason.InvalidFormat, Msg: err.Error(), Meta: reason.Meta{"format": "PHONE"}}
		if e := reason.Of(err); e != nil {
			fe.Why, fe.Meta = e.Reason, e.Meta
		}
		return fe
	}
	return nil
}

// CheckContent checks what a duty officer writes in a report, before it
// is kept: the fields a first report needs, the numbers not negative, the
// texts bounded, the times in order and not in the future of now.
func CheckContent(r *yizhanv1.UrgentReport, now time.Time) error {
	bad := func(field, why, format string, args ...any) error {
		return &FieldError{Field: "report." + field, Why: why, Msg: fmt.Sprintf(format, args...)}
	}
	for _, f := range []struct {
		name, what string
		v          protoreflect.Enum
	}{{"kind", "first, follow-up or final", r.GetKind()}, {"category", "natural disaster, accident, public health, social safety or other", r.GetCategory()},
		{"level", "level I to IV", r.GetLevel()}} {
		if err := checkChoice("report."+f.name, f.v, f.what); err != nil {
			return err
		}
	}
	switch r.GetKind() {
	case yizhanv1.ReportKind_REPORT_KIND_FIRST:
		if r.GetFirstId() != "" {
			return bad("first_id", registry.ReasonOutOfRange, "a first report names no first report")
		}
	case yizhanv1.ReportKind_REPORT_KIND_FOLLOW_UP, yizhanv1.ReportKind_REPORT_KIND_FINAL:
		if !IsReportID(r.GetFirstId()) {
			return bad("first_id", registry.ReasonRequired, "a follow-up or final report names its first report")
		}
	}
	for _, f := range []struct {
		name, v        string
		max            int
		req, multiline bool
	}{{"title", r.GetTitle(), MaxTitle, true, false}, {"place", r.GetPlace(), MaxTitle, true, false}, {"details", r.GetDetails(), MaxText, true, true},
		{"measures", r.GetMeasures(), MaxText, false, true}, {"losses", r.GetLosses(), MaxText, false, true}, {"contact", r.GetContact(), 32, false, false}} {
		if f.req && strings.TrimSpace(f.v) == "" {
			return bad(f.name, registry.ReasonRequired, "is required")
		}
		if err := checkString("report."+f.name, f.v, f.max, f.multiline); err != nil {
			return err
		}
	}
	if err := checkPhone("report.contact", r.GetContact(), registry.ValidPhone); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		v    int32
	}{{"deaths", r.GetDeaths()}, {"injured", r.GetInjured()}, {"missing", r.GetMissing()}} {
		if f.v < 0 || f.v > 1_000_000 {
			return bad(f.name, registry.ReasonOutOfRange, "from 0 to 1,000,000")
		}
	}
	if r.GetOccurredAt() == nil {
		return bad("occurred_at", registry.ReasonRequired, "when it happened")
	}
	occurred := r.GetOccurredAt().AsTime()
	if occurred.After(now.Add(ClockSkew)) {
		return bad("occurred_at", registry.ReasonOutOfRange, "is in the future")
	}
	if r.GetKnownAt() != nil {
		known := r.GetKnownAt().AsTime()
		if known.Before(occurred) {
			return bad("known_at", registry.ReasonOutOfRange, "is before the event happened")
		}
		if known.After(now.Add(ClockSkew)) {
			return bad("known_at", registry.ReasonOutOfRange, "is in the future")
		}
	}
	return nil
}

// Check checks that r is a well-formed record as a book keeps it: its id
// names its office, a draft is unsigned, a signed report names who signed
// it and when.
func Check(r *yizhanv1.UrgentReport) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("report %s: %s", r.GetId(), fmt.Sprintf(format, args...))
	}
	if !IsReportID(r.GetId()) || !strings.HasPrefix(r.GetId(), reportPrefix+r.GetOfficeCode()+"-") {
		return bad("the id does not name office %s", r.GetOfficeCode())
	}
	if r.GetVersion() == 0 || r.GetWrittenAt() == nil {
		return bad("no version or no time written")
	}
	switch r.GetState() {
	case yizhanv1.ReportState_REPORT_STATE_DRAFT:
		if r.GetSignedBy() != "" || r.GetSignedAt() != nil {
			return bad("a draft is not signed")
		}
	case yizhanv1.ReportState_REPORT_STATE_SIGNED:
		if r.GetSignedBy() == "" || r.GetSignedAt() == nil {
			return bad("a signed report names who signed it and when")
		}
	default:
		return bad("state %v", r.GetState())
	}
	return nil
}

// Changes checks that next may follow held at the reporting office: a
// draft changed or signed (the next version, the same id, kind, first
// report and writer); a signed report does not change.
func Changes(next, held *yizhanv1.UrgentReport) error {
	if held.GetState() == yizhanv1.ReportState_REPORT_STATE_SIGNED {
		return fmt.Errorf("report %s is signed: it does not change (write a follow-up)", held.GetId())
	}
	if next.GetVersion() != held.GetVersion()+1 {
		return fmt.Errorf("report %s: version %d does not follow %d", next.GetId(), next.GetVersion(), held.GetVersion())
	}
	if next.GetId() != held.GetId() || next.GetKind() != held.GetKind() || next.GetFirstId() != held.GetFirstId() ||
		next.GetOfficeCode() != held.GetOfficeCode() || next.GetReporter() != held.GetReporter() {
		return fmt.Errorf("report %s: a change keeps its id, kind, first report, office and writer", held.GetId())
	}
	return nil
}

// Sign is draft r signed by the leader on duty at at.
func Sign(r *yizhanv1.UrgentReport, by, name string, at time.Time) *yizhanv1.UrgentReport {
	r = proto.CloneOf(r)
	r.State, r.SignedBy, r.SignedByName = yizhanv1.ReportState_REPORT_STATE_SIGNED, by, name
	r.SignedAt = timestamppb.New(at)
	r.Version++
	return r
}

// Hash is what a signed report's or an acknowledgement's signature signs:
// the record without its signature, marshalled deterministically.
func Hash(m proto.Message) []byte {
	u := proto.Clone(m)
	switch v := u.(type) {
	case *yizhanv1.UrgentReport:
		v.Signature, v.SignerChain = nil, nil
	case *yizhanv1.ReportAck:
		v.Signature, v.SignerChain = nil, nil
	case *yizhanv1.DutyShift:
		v.Signature, v.SignerChain = nil, nil
	case *yizhanv1.ZeroReport:
		v.Signature, v.SignerChain = nil, nil
	case *yizhanv1.UnsignedReportFlag:
		v.Signature, v.SignerChain = nil, nil
	case *yizhanv1.ReportExport:
		v.Signature, v.SignerChain = nil, nil
	}
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(u)
	sum := sha256.Sum256(b)
	return sum[:]
}

// CheckAck checks that a is a well-formed acknowledgement.
func CheckAck(a *yizhanv1.ReportAck) error {
	if a.GetId() != AckID(a.GetOfficeCode(), a.GetReportId()) || !IsReportID(a.GetReportId()) {
		return fmt.Errorf("acknowledgement %s does not name its office and report", a.GetId())
	}
	if a.GetBy() == "" || a.GetAt() == nil {
		return fmt.Errorf("acknowledgement %s: no one, or no time", a.GetId())
	}
	return nil
}

// ReportOffice is the office that wrote report id ("" if id is not one).
func ReportOffice(id string) string {
	if !IsReportID(id) {
		return ""
	}
	parts := strings.Split(id, "-")
	return parts[1]
}
