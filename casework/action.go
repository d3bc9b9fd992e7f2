package casework

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/yizhan-gov/yizhan/registry"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
)

// Action is what an office does to a case. Most are asked for by staff
// (NewEvent); ActionRate and ActionComplain by the citizen only;
// ActionForward, ActionReceive and ActionClose are what an office does by
// itself (Pending, NewAutoEvent).
type Action int

// The actions.
const (
	ActionUnspecified Action = iota
	ActionAccept
	ActionRequestCorrection
	ActionResubmit
	ActionRefuse
	ActionReview
	ActionDecide
	ActionCertify
	ActionAssessFee
	ActionPay
	ActionDeliver
	ActionWithdraw
	ActionSuspend
	ActionResume
	ActionExtend
	ActionGiveOpinion
	ActionForward // automatic
	ActionReceive // automatic
	ActionClose   // automatic
	ActionRate    // the citizen rates a closed case (好差评)
	ActionComplain
	ActionPrecheck       // 预审通过: an online filing is taken up
	ActionRejectPrecheck // 预审不通过
	ActionReroute        // automatic: 改派 after a grant changed
	// 补发查询码: a new query code, by staff of the filing office after
	// checking the citizen's identity (the office layer makes the code).
	ActionReissueQueryCode
	// 更正收费: an assessed fee not paid yet corrected, with the reason.
	ActionCorrectFee
)

var actionNames = [...]string{
	ActionUnspecified:       "unspecified",
	ActionAccept:            "accept",
	ActionRequestCorrection: "requestCorrection",
	ActionResubmit:          "resubmit",
	ActionRefuse:            "refuse",
	ActionReview:            "review",
	ActionDecide:            "decide",
	ActionCertify:           "certify",
	ActionAssessFee:         "assessFee",
	ActionPay:               "pay",
	ActionDeliver:           "deliver",
	ActionWithdraw:          "withdraw",
	ActionSuspend:           "suspend",
	ActionResume:            "resume",
	ActionExtend:            "extend",
	ActionGiveOpinion:       "giveOpinion",
	ActionForward:           "forward",
	ActionReceive:           "receive",
	ActionClose:             "close",
	ActionRate:              "rate",
	ActionComplain:          "complain",
	ActionPrecheck:          "precheck",
	ActionRejectPrecheck:    "rejectPrecheck",
	ActionReroute:           "reroute",
	ActionReissueQueryCode:  "reissueQueryCode",
	ActionCorrectFee:        "correctFee",
}

// String is the action's name as in the REST path (/v1/cases/{n}:accept).
func (a Action) String() string {
	if a >= 0 && int(a) < len(actionNames) {
		return actionNames[a]
	}
	return fmt.Sprintf("Action(%d)", int(a))
}

// EventType is the type of the event the action appends (the rule
// table's Event; EVENT_TYPE_UNSPECIFIED for an unknown action).
func (a Action) EventType() yizhanv1.EventType {
	if r := ruleOfAction[a]; r != nil {
		return r.Event
	}
	return yizhanv1.EventType_EVENT_TYPE_UNSPECIFIED
}

// Automatic reports whether the office does the action by itself (the
// rule table's Auto).
func (a Action) Automatic() bool {
	r := ruleOfAction[a]
	return r != nil && r.Auto
}

// Actor is who asks for an action: a signed-in staff member, or a citizen
// (Citizen true; the caller has checked the query code).
type Actor struct {
	Username   string
	Name       string
	Office     string
	Department string
	Roles      []yizhanv1.Role
	Citizen    bool
}

// CitizenActor is the actor name events carry for a citizen.
const CitizenActor = "citizen"

// SystemActor is the actor name of the events an office appends by itself.
const SystemActor = "system"

func (a Actor) actorName() string {
	if a.Citizen {
		return CitizenActor
	}
	return a.Username
}

func (a Actor) has(roles ...yizhanv1.Role) bool {
	if a.Citizen {
		return false
	}
	for _, r := range roles {
		if slices.Contains(a.Roles, r) {
			return true
		}
	}
	return false
}

func (a Actor) String() string {
	if a.Citizen {
		return "the citizen"
	}
	return fmt.Sprintf("staff member %s %v", a.Username, a.Roles)
}

// checkRole reports whether actor may ask for action on event e, by the
// rule table's Roles, Citizen and Asker (a *RuleError wrapping
// ErrPermissionDenied).
func checkRole(action Action, actor Actor, e *yizhanv1.CaseEvent) error {
	r := ruleOfAction[action]
	if r == nil {
		return denied("ROLE", action, func() string { return fmt.Sprintf("%s may not %s: no one asks for it", actor, action) })
	}
	if r.citizenOnly() {
		if !actor.Citizen {
			return denied("CITIZEN_ONLY", action, func() string {
				return fmt.Sprintf("%s may not %s: the citizen does it, with the case's query code", actor, action)
			})
		}
		return nil
	}
	if r.Citizen && actor.Citizen {
		return nil
	}
	if !actor.has(r.Roles...) {
		return denied("ROLE", action, func() string { return fmt.Sprintf("%s may not %s: it needs one of %v", actor, action, r.Roles) })
	}
	for _, g := range r.Asker {
		if g.fails(actor, e) {
			return denied(g.Name, action, func() string { return g.say(actor, e) })
		}
	}
	return nil
}

// checkActionRight reports whether office's grants at at allow action on
// c (ErrPermissionDenied): the rule table's Need, where fees, withdrawal,
// the pre-check, ratings and complaints need any right for the item.
func checkActionRight(c *yizhanv1.Case, action Action, office string, at time.Time, reg Registry) error {
	if r := ruleOfAction[action]; r != nil && r.Need == needAnyRight {
		if len(reg.Rights(c.GetItemCode(), office, at)) == 0 {
			return reason.Errorf(reason.NoRightForItem, reason.Meta{"office": office, "item": c.GetItemCode()},
				"office %s holds no right for item %s at %s: %w", office, c.GetItemCode(), at.In(registry.CST).Format(time.DateTime), ErrPermissionDenied)
		}
		return nil
	}
	return checkRight(c, action.EventType(), office, at, 0, reg) // the office's own registry, of now
}

// checkAsked runs the checks of the rule table on action, asked for by
// actor at office at at, as the event e (its type, office and the input
// the rules read): office holds c, the state and the guards, the role,
// the office's grants. NewEvent and AllowedActions both make them.
func checkAsked(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, action Action, e *yizhanv1.CaseEvent, actor Actor, office string, at time.Time, reg Registry) error {
	if err := checkOwner(c, office, ErrFailedPrecondition); err != nil {
		return err
	}
	if err := checkState(c, e); err != nil {
		return err
	}
	if err := checkRole(action, actor, e); err != nil {
		return err
	}
	if err := checkActionRight(c, action, office, at, reg); err != nil {
		return err
	}
	return checkAsks(c, events, action, e, actor, office, at, reg)
}

// AllowedActions returns the actions actor may ask office to take on c
// now (at at), in the rule table's order: those NewEvent would not refuse
// for the office, the case's state and guards, the actor's role or the
// office's grants — the input aside. giveOpinion is allowed when the
// actor may give the opinion of some department that has one pending.
// events is c's log: a case in transit (forwarded, not yet received)
// allows nothing, as Book.Apply would refuse it. The automatic actions
// are never listed.
func AllowedActions(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, actor Actor, office string, at time.Time, reg Registry) []Action {
	if c == nil || inTransit(events) || c.GetOwnerOffice() != office {
		return nil // the last: checkOwner, the first check, fails for every action
	}
	reg = &rightsOnce{Registry: reg}
	var out []Action
	for i := range table {
		r := &table[i]
		if !r.asked() {
			continue
		}
		// checkState refuses every action whose event does not start from
		// the case's state: skip those without building the refusal.
		if er := ruleOfEvent[r.Event]; er == nil || !slices.Contains(er.From, c.GetState()) {
			continue
		}
		probe := func(department string) bool {
			e := &yizhanv1.CaseEvent{Type: r.Event, OfficeCode: office, Actor: actor.actorName(), DepartmentCode: department}
			return checkAsked(c, events, r.Action, e, actor, office, at, reg) == nil
		}
		var ok bool
		if r.Action == ActionGiveOpinion && len(c.GetOpinionsPending()) > 0 {
			ok = slices.ContainsFunc(c.GetOpinionsPending(), probe)
		} else {
			ok = probe("")
		}
		if ok {
			out = append(out, r.Action)
		}
	}
	return out
}

// rightsOnce is a Registry that asks for the rights of an item and office
// at a time once, and for an item's version once (the registry answers
// rights with a copy: AllowedActions probes every action, and only reads).
type rightsOnce struct {
	Registry
	key    [2]string
	at     time.Time
	rights []yizhanv1.Right
	done   bool

	itemKey  string
	itemVer  uint32
	item     *yizhanv1.Item
	itemErr  error
	itemDone bool
}

func (r *rightsOnce) Item(code string, version uint32) (*yizhanv1.Item, error) {
	if !r.itemDone || r.itemKey != code || r.itemVer != version {
		r.item, r.itemErr = itemView(r.Registry, code, version)
		r.itemKey, r.itemVer, r.itemDone = code, version, true
	}
	return r.item, r.itemErr
}

func (r *rightsOnce) Rights(itemCode, officeCode string, at time.Time) []yizhanv1.Right {
	if !r.done || r.key != [2]string{itemCode, officeCode} || !r.at.Equal(at) {
		r.key, r.at, r.rights, r.done = [2]string{itemCode, officeCode}, at, r.Registry.Rights(itemCode, officeCode, at), true
	}
	return r.rights
}

// NewEvent makes the event for action on c (events: its log, for the
// rules that read it; nil when not at hand, and those rules hold), asked
// for by actor at office at at, with the arguments in in. The event is
// not sealed: seq is
// c.last_seq+1, and the caller sets prev_hash and hash (Seal) and signs
// it. Checks, in this order:
//
//  0. the input limits (*registry.ValidationError with a reason code:
//     lengths, entries, ranges, characters; CheckActionRequest);
//  1. office holds the case (ErrFailedPrecondition "case … is held by
//     office X");
//  2. the case's state and the guards of the action's rule in the rule
//     table (table.go) allow it (a *RuleError wrapping
//     ErrFailedPrecondition naming the state, e.g. "case is
//     CASE_STATE_FILED: accept it first");
//  3. the actor's role, by the rule's Roles, Citizen and Asker (a
//     *RuleError wrapping ErrPermissionDenied);
//  4. the office's grants at at for the case's item, by the rule's Need
//     (ErrPermissionDenied);
//  5. the input (*registry.ValidationError naming the REST field; a
//     complaint about a case that has MaxComplaints is TOO_MANY);
//  6. the event's encoded size (registry.MaxEventBytes, TOO_LARGE).
//
// The automatic actions are made by NewAutoEvent. NewEvent cannot see
// that a case handed to office has not been received yet (the Case does
// not show it): Book.Apply refuses anything but RECEIVED then.
func NewEvent(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, action Action, in *yizhanv1.CaseActionRequest, actor Actor, office string, at time.Time, reg Registry) (*yizhanv1.CaseEvent, error) {
	if c == nil {
		return nil, fmt.Errorf("no case: %w", ErrNotFound)
	}
	if action.Automatic() || action.EventType() == yizhanv1.EventType_EVENT_TYPE_UNSPECIFIED {
		return nil, fmt.Errorf("%s is not an action staff can ask for: %w", action, ErrPermissionDenied)
	}
	if in == nil {
		in = &yizhanv1.CaseActionRequest{}
	}
	e := eventInput(action, in)
	// The limits first: the checks below quote what was sent.
	var vs violations
	actionLimits(&vs, action, e)
	if err := vs.err(); err != nil {
		return nil, err
	}
	e.Seq = c.GetLastSeq() + 1
	e.Type = action.EventType()
	e.RegistryIndex = registryIndex(reg)
	e.At = timestamppb.New(at)
	e.Actor = actor.actorName()
	e.ActorName = actor.Name
	e.OfficeCode = office

	if err := checkAsked(c, events, action, e, actor, office, at, reg); err != nil {
		return nil, err
	}
	if err := checkInput(c, events, action, e, in, actor, reg); err != nil {
		return nil, err
	}
	if action == ActionRefuse || (action == ActionDecide && !e.GetApproved()) {
		// The appeal notice's bodies as they are now, kept with it.
		e.ReconsiderationBody, e.Court = AppealBodies(reg.CasePolicy(), office)
	}
	if err := eventSize(e); err != nil {
		return nil, err
	}
	return e, nil
}

// eventInput is an event holding the arguments of in that action reads,
// as NewEvent records them (texts trimmed).
func eventInput(action Action, in *yizhanv1.CaseActionRequest) *yizhanv1.CaseEvent {
	e := &yizhanv1.CaseEvent{Reason: strings.TrimSpace(in.GetReason())}
	switch action {
	case ActionRequestCorrection:
		e.MissingMaterials = slices.Clone(in.GetMissingMaterials())
	case ActionResubmit:
		for _, m := range in.GetMaterials() {
			e.Materials = append(e.Materials, proto.CloneOf(m))
		}
	case ActionRefuse:
		e.LegalBasis = strings.TrimSpace(in.GetLegalBasis())
	case ActionReview:
		e.Agrees = in.GetAgrees() || in.GetConclusion() == yizhanv1.Conclusion_CONCLUSION_AGREE
	case ActionWithdraw:
		for _, m := range in.GetMaterials() {
			e.Materials = append(e.Materials, proto.CloneOf(m))
		}
	case ActionDecide:
		e.Approved = in.GetApproved()
		e.LegalBasis = strings.TrimSpace(in.GetLegalBasis())
	case ActionCertify:
		e.CertificateNumber = strings.TrimSpace(in.GetCertificateNumber())
	case ActionAssessFee, ActionCorrectFee:
		e.FeeCents = in.GetFeeCents()
		e.FeeUnits = in.GetFeeUnits()
	case ActionPay:
		e.FeeCents = in.GetFeeCents()
		e.ReceiptNumber = strings.TrimSpace(in.GetReceiptNumber())
	case ActionExtend:
		e.ExtensionDays = in.GetExtensionDays()
	case ActionSuspend:
		e.SpecialProcedure = strings.TrimSpace(in.GetSpecialProcedure())
	case ActionGiveOpinion:
		e.DepartmentCode = strings.TrimSpace(in.GetDepartmentCode())
		e.Agrees = in.GetAgrees() || in.GetConclusion() == yizhanv1.Conclusion_CONCLUSION_AGREE
	case ActionRate:
		e.Rating = in.GetRating()
	}
	return e
}

// itemOf returns the item version c was filed under, as the registry
// holds it: read it, never change it.
func itemOf(c *yizhanv1.Case, reg Registry) (*yizhanv1.Item, error) {
	it, err := itemView(reg, c.GetItemCode(), c.GetItemVersion())
	if err != nil {
		return nil, fmt.Errorf("case %s: item %s version %d: %w: %w", c.GetNumber(), c.GetItemCode(), c.GetItemVersion(), ErrNotFound, err)
	}
	return it, nil
}

func materialNames(it *yizhanv1.Item) []string {
	names := make([]string, len(it.GetMaterials()))
	for i, m := range it.GetMaterials() {
		names[i] = m.GetName()
	}
	return names
}

// MaxFeeUnits bounds the units of a fee standard one case is charged.
const MaxFeeUnits = 10_000

// feeOf is the fee of units of item it's standard, checking the units
// against it: an item with a fee unit (Item.fee_unit) charges 1 to
// MaxFeeUnits of them (an assessment must name how many); one without
// charges its fee once (units 0 or 1 when assessing); a correction may
// also go to none (0 units, 免收). It returns the fee and the units the
// event records.
func feeOf(vs *violations, it *yizhanv1.Item, action Action, units uint32) (int64, uint32, bool) {
	least := uint32(1)
	if action == ActionCorrectFee {
		least = 0
	}
	most := uint32(MaxFeeUnits)
	if it.GetFeeUnit() == "" {
		most = 1
		if action == ActionAssessFee && units == 0 {
			units = 1
		}
	}
	if units < least || units > most {
		what := "must be the number of " + it.GetFeeUnit() + " charged"
		if it.GetFeeUnit() == "" {
			what = "must be 1 (the item's fee has no unit)"
			if action == ActionCorrectFee {
				what = "must be 0 (免收) or 1 (the item's fee has no unit)"
			}
		}
		vs.addMeta(registry.ReasonOutOfRange, reason.Meta{"min": reason.Itoa(least), "max": reason.Itoa(most), "got": reason.Itoa(units)},
			"fee_units", "%s, %d to %d, got %d", what, least, most, units)
		return 0, 0, false
	}
	return it.GetFeeCents() * int64(units), units, true
}

// DefaultExtensionDays is the longest extension of a time limit (行政许可法
// §42) when the item's law names no other (Item.extension_limit_days).
const DefaultExtensionDays = 10

// WithdrawalRequest is the material a withdrawal asked for by staff
// records: the citizen's written request (撤回申请书). A citizen
// withdrawing with the query code needs none.
const WithdrawalRequest = "撤回申请书"

// requiredInput refuses an action without the arguments it always needs,
// whatever the case's state: checked where the request comes in, before it
// is relayed to the office holding the case, and again by NewEvent once
// the case's state and the actor's rights allow the action.
func requiredInput(vs *violations, action Action, e *yizhanv1.CaseEvent) {
	needReason := func(what string) {
		if e.GetReason() == "" {
			vs.addReason(registry.ReasonRequired, "reason", "is required: %s", what)
		}
	}
	switch action {
	case ActionRejectPrecheck:
		needReason("the citizen is told why the filing was turned down")
	case ActionRefuse:
		needReason("a refusal states its reason")
		if e.GetLegalBasis() == "" {
			vs.addReason(registry.ReasonRequired, "legal_basis", "is required: a refusal cites its legal basis")
		}
	case ActionDecide:
		needReason("approvals and denials both state their reasons")
		if !e.GetApproved() && e.GetLegalBasis() == "" {
			vs.addReason(registry.ReasonRequired, "legal_basis", "is required: a denial cites its legal basis (行政许可法 §38)")
		}
	case ActionCertify:
		if e.GetCertificateNumber() == "" {
			vs.addReason(registry.ReasonRequired, "certificate_number", "is required")
		}
	case ActionReissueQueryCode:
		needReason("say how the citizen's identity was checked (核验身份证原件)")
	}
}

// checkInput checks the action's arguments, which NewEvent has copied
// into e from in, and fills what the rules compute (the one-time
// notice's materials, the assessed fee).
func checkInput(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, action Action, e *yizhanv1.CaseEvent, in *yizhanv1.CaseActionRequest, actor Actor, reg Registry) error {
	var vs violations
	if action == ActionComplain {
		checkComplaints(&vs, c)
		if err := vs.err(); err != nil {
			return err
		}
	}
	needReason := func(what string) {
		if e.GetReason() == "" {
			vs.addReason(registry.ReasonRequired, "reason", "is required: %s", what)
		}
	}
	requiredInput(&vs, action, e)
	switch action {
	case ActionReview:
		checkConclusion(&vs, in)

	case ActionRequestCorrection:
		it, err := itemOf(c, reg)
		if err != nil {
			return err
		}
		names := materialNames(it)
		// The one-time notice (一次性告知): every required material the
		// filing lacks, computed, then those the clerk adds (a material
		// handed in that is not right).
		missing := MissingMaterials(it, c.GetMaterials())
		if len(missing) == 0 && len(e.GetMissingMaterials()) == 0 {
			vs.addReason(registry.ReasonRequired, "missing_materials", "is required: every required material was handed in; name those that are not right")
		}
		for i, m := range e.GetMissingMaterials() {
			field := fmt.Sprintf("missing_materials[%d]", i)
			if j := slices.Index(e.GetMissingMaterials()[:i], m); j >= 0 {
				vs.addMeta(reason.Duplicate, reason.Meta{"index": reason.Itoa(j)}, field, "repeats missing_materials[%d] %q", j, m)
			} else if !slices.Contains(names, m) {
				vs.addMeta(reason.NotAMaterial, materialMeta(m, it), field, "%q is not a material of item %s version %d (%v)", m, it.GetCode(), it.GetVersion(), names)
			}
		}
		for _, m := range e.GetMissingMaterials() {
			if !slices.Contains(missing, m) {
				missing = append(missing, m)
			}
		}
		e.MissingMaterials = missing
		e.CorrectionWaitDays = int32(CorrectionWaitDays(reg.CasePolicy()))

	case ActionResubmit:
		it, err := itemOf(c, reg)
		if err != nil {
			return err
		}
		checkMaterials(&vs, e.GetMaterials(), it)
		if len(e.GetMaterials()) == 0 {
			vs.addReason(registry.ReasonRequired, "materials", "is required: hand in what the correction notice asked for")
		}
		// The case's files as they will be (a material handed in again
		// replaces the earlier one) stay within the limit a filing has.
		if total := filesSize(mergeMaterials(c.GetMaterials(), e.GetMaterials())); total > MaxCaseAttachmentBytes {
			vs.addReason(registry.ReasonOutOfRange, "materials",
				"the case's files would come to %d bytes with these, more than the %d a case may hold", total, MaxCaseAttachmentBytes)
		}

	case ActionAssessFee, ActionCorrectFee:
		if e.GetFeeCents() < 0 {
			vs.addMeta(registry.ReasonOutOfRange, reason.Meta{"min": "0", "got": reason.Itoa(e.GetFeeCents())}, "fee_cents", "must not be negative, got %d", e.GetFeeCents())
			break
		}
		if action == ActionCorrectFee {
			needReason("a correction of the fee states why (e.g. 数量有误、依法免收)")
		}
		it, err := itemOf(c, reg)
		if err != nil {
			return err
		}
		// A fee only by the item's standard (行政许可法 §58, §59): the
		// amount is the standard's, per unit where it has one; one typed
		// must be it.
		fee, units, ok := feeOf(&vs, it, action, e.GetFeeUnits())
		if !ok {
			break
		}
		e.FeeUnits = units
		if e.GetFeeCents() != 0 && e.GetFeeCents() != fee {
			vs.addMeta(reason.FeeMismatch, reason.Meta{"fee": reason.Itoa(fee), "got": reason.Itoa(e.GetFeeCents())},
				"fee_cents", "must be the item's fee standard of %d fen, got %d", fee, e.GetFeeCents())
		}
		if action == ActionCorrectFee && fee == c.GetFeeCents() {
			vs.addMeta(reason.FeeMismatch, reason.Meta{"fee": reason.Itoa(c.GetFeeCents()), "got": reason.Itoa(fee)},
				"fee_units", "would leave the fee at %d fen: a correction changes it", fee)
		}
		e.FeeCents = fee
		if action == ActionCorrectFee {
			e.PreviousFeeCents = c.GetFeeCents()
		}

	case ActionPay:
		if e.GetReceiptNumber() == "" {
			vs.addReason(registry.ReasonRequired, "receipt_number", "is required")
		}
		if e.GetFeeCents() != c.GetFeeCents() {
			vs.addMeta(reason.FeeMismatch, reason.Meta{"fee": reason.Itoa(c.GetFeeCents()), "got": reason.Itoa(e.GetFeeCents())},
				"fee_cents", "must be the assessed fee of %d fen, got %d", c.GetFeeCents(), e.GetFeeCents())
		}

	case ActionExtend:
		needReason("an extension states its reason")
		it, err := itemOf(c, reg)
		if err != nil {
			return err
		}
		// §42: once, by at most 10 working days, or what the item's law
		// allows (extension_limit_days).
		limit := it.GetExtensionLimitDays()
		if limit <= 0 {
			limit = DefaultExtensionDays
		}
		if d := e.GetExtensionDays(); it.GetStatutoryLimitDays() < 1 {
			vs.addMeta(reason.NoStatutoryLimit, reason.Meta{"item": it.GetCode()}, "extension_days", "item %s has no statutory limit to extend (an immediate item)", it.GetCode())
		} else if d < 1 || d > limit {
			vs.addMeta(registry.ReasonOutOfRange, reason.Meta{"unit": "workingDays", "min": "1", "max": reason.Itoa(limit), "got": reason.Itoa(d)},
				"extension_days", "must be 1 to %d working days (行政许可法 §42, or the item's law), got %d", limit, d)
		}

	case ActionSuspend:
		it, err := itemOf(c, reg)
		if err != nil {
			return err
		}
		var names []string
		for _, sp := range it.GetSpecialProcedures() {
			names = append(names, sp.GetName())
		}
		switch sp := e.GetSpecialProcedure(); {
		case sp == "":
			vs.addMeta(registry.ReasonRequired, reason.Meta{"input": "choice"}, "special_procedure", "is required: one of %v", names)
		case !slices.Contains(names, sp):
			vs.addMeta(reason.NotASpecialProcedure, reason.Meta{"procedure": sp, "item": it.GetCode(), "version": reason.Itoa(it.GetVersion())},
				"special_procedure", "%q is not a special procedure of item %s version %d (%v)", sp, it.GetCode(), it.GetVersion(), names)
		}
		needReason("a suspension states its reason")

	case ActionWithdraw:
		needReason("a withdrawal states its reason")
		// A correction notice past its wait closes as 逾期未补正 without
		// the citizen's request.
		due := CorrectionDue(c, events, reg.CasePolicy())
		lapsed := !due.IsZero() && e.GetAt().AsTime().After(due)
		requested := slices.ContainsFunc(e.GetMaterials(), func(m *yizhanv1.SubmittedMaterial) bool { return m.GetName() == WithdrawalRequest })
		// Closed by staff for the lapse, not at the citizen's request:
		// recorded, so that supervision counts 逾期未补正 apart.
		e.CorrectionLapsed = lapsed && !actor.Citizen && !requested
		if !actor.Citizen && !lapsed && !requested {
			vs.addMeta(registry.ReasonRequired, reason.Meta{"material": WithdrawalRequest}, "materials",
				"is required: staff withdraw a case only with the citizen's written request, recorded as the material %q (the citizen may withdraw with the query code)", WithdrawalRequest)
		}
		for i, m := range e.GetMaterials() {
			if m.GetName() != WithdrawalRequest {
				vs.addMeta(reason.NotAMaterial, reason.Meta{"material": m.GetName()}, fmt.Sprintf("materials[%d].name", i), "a withdrawal records only %q", WithdrawalRequest)
			}
		}

	case ActionGiveOpinion:
		needReason("the opinion")
		checkConclusion(&vs, in)
		if e.GetDepartmentCode() == "" {
			vs.addReason(registry.ReasonRequired, "department_code", "is required: the co-department giving the opinion")
		}

	case ActionRate:
		switch r := e.GetRating(); {
		case r == yizhanv1.Rating_RATING_UNSPECIFIED:
			vs.addMeta(registry.ReasonRequired, reason.Meta{"input": "choice"}, "rating", "is required: one of %v", knownRatings)
		case !knownRating(r):
			vs.addMeta(registry.ReasonOutOfRange, reason.Meta{"enum": "Rating", "got": reason.Itoa(int32(r))}, "rating", "%d is not a rating: one of %v", int32(r), knownRatings)
		case badRating(r) && e.GetReason() == "":
			vs.addMeta(registry.ReasonRequired, reason.Meta{"rating": r.String()}, "reason", "is required for a rating of %s: say what went wrong, so that it can be followed up", r)
		}

	case ActionComplain:
		needReason("a complaint says what it is about")
	}
	return vs.err()
}

// checkConclusion checks that a review or an opinion says 同意 or 不同意:
// conclusion, or agrees for 同意, not both ways.
func checkConclusion(vs *violations, in *yizhanv1.CaseActionRequest) {
	switch c := in.GetConclusion(); {
	case c == yizhanv1.Conclusion_CONCLUSION_DISAGREE && in.GetAgrees():
		vs.addMeta(registry.ReasonOutOfRange, reason.Meta{"enum": "Conclusion"}, "conclusion", "says 不同意 while agrees says 同意")
	case c == yizhanv1.Conclusion_CONCLUSION_UNSPECIFIED && !in.GetAgrees():
		vs.addMeta(registry.ReasonRequired, reason.Meta{"input": "choice"}, "conclusion", "is required: 同意 (CONCLUSION_AGREE) or 不同意 (CONCLUSION_DISAGREE)")
	case c != yizhanv1.Conclusion_CONCLUSION_UNSPECIFIED && c != yizhanv1.Conclusion_CONCLUSION_AGREE && c != yizhanv1.Conclusion_CONCLUSION_DISAGREE:
		vs.addMeta(registry.ReasonOutOfRange, reason.Meta{"enum": "Conclusion", "got": reason.Itoa(int32(c))}, "conclusion", "not a conclusion")
	}
}

// checkMaterials checks that every submitted material is named as in the
// item's list, once.
func checkMaterials(vs *violations, submitted []*yizhanv1.SubmittedMaterial, it *yizhanv1.Item) {
	names := materialNames(it)
	for i, m := range submitted {
		field := fmt.Sprintf("materials[%d].name", i)
		name := m.GetName()
		switch {
		case strings.TrimSpace(name) == "":
			vs.addReason(registry.ReasonRequired, field, "is required")
		case !slices.Contains(names, name):
			vs.addMeta(reason.NotAMaterial, materialMeta(name, it), field, "%q is not a material of item %s version %d (%v)", name, it.GetCode(), it.GetVersion(), names)
		default:
			if j := slices.IndexFunc(submitted[:i], func(o *yizhanv1.SubmittedMaterial) bool { return o.GetName() == name }); j >= 0 {
				vs.addMeta(reason.Duplicate, reason.Meta{"index": reason.Itoa(j)}, field, "repeats materials[%d] %q", j, name)
			}
		}
		if m.GetCopies() < 0 {
			vs.addMeta(registry.ReasonOutOfRange, reason.Meta{"min": "0", "got": reason.Itoa(m.GetCopies())}, fmt.Sprintf("materials[%d].copies", i), "must not be negative, got %d", m.GetCopies())
		}
	}
	checkFiles(vs, "materials", submitted)
}

// FileInput is what a filing needs.
type FileInput struct {
	Number    string         // from CaseNumber and Book.NextSeq; its office part is Office
	QueryCode string         // given to the citizen; the case keeps its hash
	Item      *yizhanv1.Item // the item's current version
	Office    string         // where it is filed
	Applicant *yizhanv1.Applicant
	Materials []*yizhanv1.SubmittedMaterial
	Actor     Actor
	At        time.Time

	// QueryCodeKeyID and QueryCodeKey are the registry's newest query-code
	// key (QueryCodeMAC); id 0 and no key: the unkeyed QueryCodeHash.
	QueryCodeKeyID uint32
	QueryCodeKey   []byte
}

// MayFile reports whether actor may file a case at office: the citizen
// (online), or staff of the office who take filings in (an agent, a
// clerk, the window). nil when actor may; else an error wrapping
// ErrPermissionDenied. NewFiling checks it first; a filing done, sent
// again under its request ID, is answered only to a caller who may file
// (office's replay).
func MayFile(actor Actor, office string) error {
	switch {
	case actor.Citizen:
	case !actor.has(yizhanv1.Role_ROLE_AGENT, yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_WINDOW):
		return reason.Errorf(reason.WrongRole, reason.Meta{"action": "file", "roles": yizhanv1.Role_ROLE_AGENT.String() + "," + yizhanv1.Role_ROLE_CLERK.String() + "," + yizhanv1.Role_ROLE_WINDOW.String()},
			"%s may not file a case: it needs %v, %v or %v: %w", actor, yizhanv1.Role_ROLE_AGENT, yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_WINDOW, ErrPermissionDenied)
	case actor.Office != office:
		return fmt.Errorf("%s of office %s may not file at office %s: %w", actor, actor.Office, office, ErrPermissionDenied)
	}
	return nil
}

// NewFiling makes the FILED event (seq 1, not sealed: Seal it with
// GenesisHash(in.Number)) of a new case. Checks, in this order: the actor
// is a citizen online or staff of in.Office with the AGENT or CLERK role,
// and in.Office holds ACCEPT or PROXY_FILE for the item at in.At
// (ErrPermissionDenied); the input limits (*registry.ValidationError with
// a reason code: applicant.*, materials[i].*; CheckFileRequest), then the
// input (item_code, office_code, number, query_code, applicant.name,
// applicant.id_number, applicant.phone, materials[i].name); the route
// (ErrNoRoute); the event's encoded size (registry.MaxEventBytes). The
// filing pins the item version, its limits, fee, case kind and
// departments, the route and the grants it rests on, the origin office,
// the query code's hash, and whether the citizen filed online.
func NewFiling(in FileInput, reg Registry) (*yizhanv1.CaseEvent, error) {
	if err := MayFile(in.Actor, in.Office); err != nil {
		return nil, err
	}
	if in.Item == nil || in.Item.GetCode() == "" {
		return nil, registry.Invalid("item_code", reason.Required, nil, "is required")
	}
	if err := registry.ValidCode(in.Office); err != nil {
		return nil, registry.Invalid("office_code", reason.InvalidFormat, reason.Meta{"format": "DIVISION_CODE"}, "%v", err)
	}
	it := in.Item
	if it.GetRetired() {
		return nil, registry.Invalid("item_code", reason.ItemRetired, reason.Meta{"code": it.GetCode()},
			"item %s (%s) is retired (废止): it takes no new filings", it.GetCode(), it.GetName())
	}
	rights := reg.Rights(it.GetCode(), in.Office, in.At)
	if !slices.Contains(rights, yizhanv1.Right_RIGHT_ACCEPT) && !slices.Contains(rights, yizhanv1.Right_RIGHT_PROXY_FILE) {
		return nil, reason.Errorf(reason.NoRightForItem, reason.Meta{"office": in.Office, "item": it.GetCode(), "right": yizhanv1.Right_RIGHT_ACCEPT.String()},
			"office %s may not take in item %s (%s): it holds neither %s nor %s at %s: %w",
			in.Office, it.GetCode(), it.GetName(), yizhanv1.Right_RIGHT_ACCEPT, yizhanv1.Right_RIGHT_PROXY_FILE,
			in.At.In(registry.CST).Format(time.DateTime), ErrPermissionDenied)
	}

	var vs violations
	// The limits first: the messages below quote what was sent.
	a := in.Applicant
	applicantLimits(&vs, a)
	submittedLimits(&vs, "materials", in.Materials)
	if err := vs.err(); err != nil {
		return nil, err
	}
	if office, _, _, err := ParseCaseNumber(in.Number); err != nil {
		vs.addMeta(reason.InvalidFormat, reason.Meta{"format": "CASE_NUMBER"}, "number", "%q is not a case number", in.Number)
	} else if office != in.Office {
		vs.addMeta(reason.WrongOffice, reason.Meta{"office": in.Office, "want": office}, "number", "%s is a number of office %s, not %s", in.Number, office, in.Office)
	}
	if in.QueryCode == "" {
		vs.addReason(registry.ReasonRequired, "query_code", "is required")
	}
	if strings.TrimSpace(a.GetName()) == "" {
		vs.addReason(registry.ReasonRequired, "applicant.name", "is required")
	}
	if err := ValidIDNumber(a.GetIdNumber()); err != nil {
		vs.addErr("applicant.id_number", err)
	}
	if err := ValidCreditCode(a.GetCreditCode()); err != nil {
		vs.addErr("applicant.credit_code", err)
	}
	if err := ValidPhone(a.GetPhone()); err != nil {
		vs.addErr("applicant.phone", err)
	}
	checkMaterials(&vs, in.Materials, it)
	if err := vs.err(); err != nil {
		return nil, err
	}

	route, grants, err := Route(reg, it, in.Office, in.At)
	if err != nil {
		return nil, err
	}
	e := &yizhanv1.CaseEvent{
		Seq:           1,
		Type:          yizhanv1.EventType_EVENT_TYPE_FILED,
		RegistryIndex: registryIndex(reg),
		At:            timestamppb.New(in.At),
		Actor:         in.Actor.actorName(),
		ActorName:     in.Actor.Name,
		OfficeCode:    in.Office,
		Filing: &yizhanv1.CaseFiling{
			Number:             in.Number,
			ItemCode:           it.GetCode(),
			ItemVersion:        it.GetVersion(),
			ItemName:           it.GetName(),
			CaseKind:           it.GetCaseKind(),
			GrantIds:           grants,
			OriginOffice:       in.Office,
			Route:              route,
			Applicant:          proto.CloneOf(a),
			QueryCodeHash:      in.queryCodeHash(),
			QueryCodeKeyId:     in.QueryCodeKeyID,
			StatutoryLimitDays: it.GetStatutoryLimitDays(),
			PromisedLimitDays:  it.GetPromisedLimitDays(),
			FeeCents:           it.GetFeeCents(),
			CoDepartmentCodes:  slices.Clone(it.GetCoDepartmentCodes()),
			DepartmentCode:     it.GetDepartmentCode(),
			Online:             in.Actor.Citizen,
			Precheck:           in.Actor.Citizen,
		},
	}
	for _, m := range in.Materials {
		e.Materials = append(e.Materials, proto.CloneOf(m))
	}
	if err := eventSize(e); err != nil {
		return nil, err
	}
	return e, nil
}

// materialMeta is the meta of a material the item's version does not list.
func materialMeta(name string, it *yizhanv1.Item) reason.Meta {
	return reason.Meta{"material": name, "item": it.GetCode(), "version": reason.Itoa(it.GetVersion())}
}

// MissingMaterials returns the names of the item's required materials
// that were not submitted, in the item's order: what the one-time
// correction notice lists.
func MissingMaterials(item *yizhanv1.Item, submitted []*yizhanv1.SubmittedMaterial) []string {
	var missing []string
	for _, m := range item.GetMaterials() {
		if !m.GetRequired() {
			continue
		}
		if !slices.ContainsFunc(submitted, func(s *yizhanv1.SubmittedMaterial) bool { return s.GetName() == m.GetName() }) {
			missing = append(missing, m.GetName())
		}
	}
	return missing
}
