package casework

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The case rule table, written once: for each action (and each event type
// no one asks for), the states it may happen in and the state it leads
// to, who may ask for it, what the office needs for the item, and the
// conditions besides the state, as named guards. checkState (NewEvent,
// Permitted, Book.Apply), checkRole, eventRight, AllowedActions, Pending
// and nextStepOffice read it; the diagram at the top of rules.go and in
// DESIGN.md is rendered from it (TestDiagram).

// need is what an office must hold for a case's item to append an event.
type need int

const (
	// needNothing: FILED, which NewFiling and permitFiling check.
	needNothing need = iota
	// needRight: the rule's Right.
	needRight
	// needAnyRight: some right for the item, to ask for it (NewEvent);
	// being on the case's path, for an event appended elsewhere
	// (Permitted). A fee assessed, or corrected: handling the item.
	needAnyRight
	// needPath: being on the case's path (PathUp of the origin). What
	// the office holding a case does for it whatever it may do for the
	// item now (a grant taken back after it took the case): the pre-check
	// of a filing it took in time, taking a fee assessed, a withdrawal,
	// the citizen's rating and complaint.
	needPath
)

// A guard is a condition a rule needs besides the state: a distinct,
// named failure.
type guard struct {
	Name  string               // the failure, for a reason code: "SUSPENDED"
	Holds string               // what must hold, as the diagram says it
	In    []yizhanv1.CaseState // the states it is checked in; none: all of the rule's
	fails func(c *yizhanv1.Case, e *yizhanv1.CaseEvent) bool
	say   func(c *yizhanv1.Case, e *yizhanv1.CaseEvent) string // the message: caseIs(c, …)
}

// An askerGuard is a condition on who asks, besides the role
// (ErrPermissionDenied).
type askerGuard struct {
	Name  string
	Holds string
	fails func(a Actor, e *yizhanv1.CaseEvent) bool
	say   func(a Actor, e *yizhanv1.CaseEvent) string
}

// An askRule is a condition of asking for an action that reads what a
// guard cannot see (the case's item version, the county's case policy,
// who asks): the procedure the office holding the case follows when its
// staff ask (NewEvent, AllowedActions). A receiving office does not check
// it again (Permitted): an event another office appended was asked for
// there, perhaps under the rules of an older release, and the log it is
// part of stays valid.
type askRule struct {
	Name  string // the failure, for a reason code: "MATERIALS_MISSING"
	Holds string // what must hold, as the diagram says it
	Deny  bool   // a failure of who asks (ErrPermissionDenied), else of the case (ErrFailedPrecondition)
	fails func(a *asking) bool
	say   func(a *asking) string
}

// asking is what an askRule reads.
type asking struct {
	action Action
	c      *yizhanv1.Case
	e      *yizhanv1.CaseEvent
	actor  Actor
	office string
	reg    Registry
	item   *yizhanv1.Item // the case's item version; nil when the registry does not hold it
	// events is the case's log (nil: not at hand, and the rules that read
	// it hold), at the time the action is asked at.
	events []*yizhanv1.CaseEvent
	at     time.Time
}

// A hint says why a rule does not apply in the states In.
type hint struct {
	In  []yizhanv1.CaseState
	Say string
}

// A rule is one row of the table.
type rule struct {
	Action Action               // ActionUnspecified: no one asks for it (FILED, WITHDRAWAL_REQUESTED)
	Event  yizhanv1.EventType   // the event it appends
	From   []yizhanv1.CaseState // the states it may happen in
	To     []yizhanv1.CaseState // the state it leads to (decide: approved or denied); none: the state stays

	Roles   []yizhanv1.Role // the staff roles that may ask for it
	Citizen bool            // the citizen may ask for it (the node checks the query code)
	Auto    bool            // the office does it by itself (Pending, NewAutoEvent)

	Need  need           // what the office needs for the item
	Right yizhanv1.Right // the right, for needRight

	Guards []guard      // conditions on the case besides the state, checked in order
	Asker  []askerGuard // conditions on who asks, besides the role
	Asks   []askRule    // conditions of asking that read the item version or the policy (not re-checked on receipt)
	Waits  []guard      // automatic: Pending takes it only when these hold too

	// Why not, in a state not in From: a state's own note first (the
	// final states, PRECHECK; not for Besides), then the first hint
	// naming the state, else Else.
	Hints []hint
	Else  string
	// Besides: the citizen's say, which changes no state and comes after
	// the final states too.
	Besides bool
}

// A stateRow is one state of a case.
type stateRow struct {
	State yizhanv1.CaseState
	Final bool // nothing more can happen to the case, but the citizen's say
	Local bool // an online filing not taken up: it queues no mail, but one carded 逾期未受理 goes up (MailLateFilingUp)
	// Note is why no rule that leaves the state out of its From may
	// happen in it (before the rule's own hints), Rule the failure's name.
	Note, Rule string
}

// The states, in the order of a case's life.
var stateTable = []stateRow{
	{State: stPrecheck, Local: true, Rule: "PRECHECK_FIRST", Note: "an online filing is pre-checked first (precheck or rejectPrecheck)"},
	{State: stFiled},
	{State: stCorrection},
	{State: stAccepted},
	{State: stReviewed},
	{State: stApproved},
	{State: stDenied},
	{State: stCertified},
	{State: stRefused},
	{State: stDelivered},
	{State: stClosed, Final: true, Rule: "FINAL", Note: "it is closed: nothing more can happen"},
	{State: stWithdrawn, Final: true, Rule: "FINAL", Note: "it was withdrawn: nothing more can happen"},
	{State: stPrecheckRejected, Final: true, Local: true, Rule: "FINAL", Note: "it was turned down at the pre-check: nothing more can happen"},
}

// Sets of states the table names.
var (
	anyState   = statesWhere(func(stateRow) bool { return true })
	openStates = statesWhere(func(s stateRow) bool { return !s.Final && !s.Local }) // neither final nor waiting at the pre-check
	clockRuns  = states(stAccepted, stReviewed)                                     // accepted, not decided
	undecided  = states(stPrecheck, stFiled, stCorrection, stAccepted, stReviewed)
)

// Why staff may not act before the decision, or after it.
var beforeDecision = []hint{
	{In: states(stFiled), Say: "accept it first"},
	{In: states(stCorrection), Say: "wait for the resubmission, then accept it"},
	{In: states(stRefused), Say: "it was refused"},
}

const decidedAlready = "it was decided already"

// Why a filed case's actions do not apply.
var notFiled = []hint{
	{In: states(stCorrection), Say: "the correction notice is open: wait for the resubmission"},
	{In: states(stAccepted, stReviewed), Say: "it was accepted already"},
}

const onlyFiled = "only a filed case can be accepted, refused or sent a correction notice"

// Why the clock's actions do not apply.
var clockStopped = []hint{{In: states(stFiled, stCorrection), Say: "accept it first: the clock has not started"}}

var (
	clerkOrAgent       = roles(yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_AGENT)
	receiving          = roles(yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_AGENT, yizhanv1.Role_ROLE_WINDOW) // the acceptance's: the comprehensive window too
	head               = roles(yizhanv1.Role_ROLE_DEPARTMENT_HEAD)
	clerk              = roles(yizhanv1.Role_ROLE_CLERK)
	reviewer           = roles(yizhanv1.Role_ROLE_REVIEWER)
	approver           = roles(yizhanv1.Role_ROLE_APPROVER)
	reviewerOrApprover = roles(yizhanv1.Role_ROLE_REVIEWER, yizhanv1.Role_ROLE_APPROVER)
)

// Short names for the rights and the event types.
const (
	rightAccept  = yizhanv1.Right_RIGHT_ACCEPT
	rightReview  = yizhanv1.Right_RIGHT_REVIEW
	rightApprove = yizhanv1.Right_RIGHT_APPROVE
	rightCertify = yizhanv1.Right_RIGHT_CERTIFY
	rightDeliver = yizhanv1.Right_RIGHT_DELIVER

	evFiled             = yizhanv1.EventType_EVENT_TYPE_FILED
	evPrechecked        = yizhanv1.EventType_EVENT_TYPE_PRECHECKED
	evPrecheckRejected  = yizhanv1.EventType_EVENT_TYPE_PRECHECK_REJECTED
	evAccepted          = yizhanv1.EventType_EVENT_TYPE_ACCEPTED
	evCorrection        = yizhanv1.EventType_EVENT_TYPE_CORRECTION_REQUESTED
	evResubmitted       = yizhanv1.EventType_EVENT_TYPE_RESUBMITTED
	evRefused           = yizhanv1.EventType_EVENT_TYPE_REFUSED
	evResumed           = yizhanv1.EventType_EVENT_TYPE_RESUMED
	evOpinion           = yizhanv1.EventType_EVENT_TYPE_OPINION_GIVEN
	evReviewed          = yizhanv1.EventType_EVENT_TYPE_REVIEWED
	evDecided           = yizhanv1.EventType_EVENT_TYPE_DECIDED
	evCertified         = yizhanv1.EventType_EVENT_TYPE_CERTIFIED
	evFeePaid           = yizhanv1.EventType_EVENT_TYPE_FEE_PAID
	evDelivered         = yizhanv1.EventType_EVENT_TYPE_DELIVERED
	evFeeAssessed       = yizhanv1.EventType_EVENT_TYPE_FEE_ASSESSED
	evFeeCorrected      = yizhanv1.EventType_EVENT_TYPE_FEE_CORRECTED
	evSuspended         = yizhanv1.EventType_EVENT_TYPE_SUSPENDED
	evExtended          = yizhanv1.EventType_EVENT_TYPE_EXTENDED
	evWithdrawn         = yizhanv1.EventType_EVENT_TYPE_WITHDRAWN
	evWithdrawRequested = yizhanv1.EventType_EVENT_TYPE_WITHDRAWAL_REQUESTED
	evRated             = yizhanv1.EventType_EVENT_TYPE_RATED
	evComplained        = yizhanv1.EventType_EVENT_TYPE_COMPLAINED
	evForwarded         = yizhanv1.EventType_EVENT_TYPE_FORWARDED
	evReceived          = yizhanv1.EventType_EVENT_TYPE_RECEIVED
	evClosed            = yizhanv1.EventType_EVENT_TYPE_CLOSED
	evRerouted          = yizhanv1.EventType_EVENT_TYPE_REROUTED
	evQueryCodeReissued = yizhanv1.EventType_EVENT_TYPE_QUERY_CODE_REISSUED
)

// The table. Its order is the order AllowedActions lists the actions in
// (and the web UI shows them).
var table = []rule{
	{Action: ActionPrecheck, Event: evPrechecked, From: states(stPrecheck), To: states(stFiled),
		Roles: clerkOrAgent, Need: needPath,
		Else: "only an online filing waiting for its pre-check can be taken up or turned down"},
	{Action: ActionRejectPrecheck, Event: evPrecheckRejected, From: states(stPrecheck), To: states(stPrecheckRejected),
		Roles: clerkOrAgent, Need: needPath,
		Else: "only an online filing waiting for its pre-check can be taken up or turned down"},
	{Action: ActionAccept, Event: evAccepted, From: states(stFiled), To: states(stAccepted),
		Roles: receiving, Need: needRight, Right: rightAccept,
		Asks:  []askRule{itsDepartmentOrWindow, materialsComplete},
		Hints: notFiled, Else: onlyFiled},
	{Action: ActionRequestCorrection, Event: evCorrection, From: states(stFiled), To: states(stCorrection),
		Roles: receiving, Need: needRight, Right: rightAccept,
		Asks:  []askRule{itsDepartmentOrWindow, oneNotice},
		Hints: notFiled, Else: onlyFiled},
	{Action: ActionResubmit, Event: evResubmitted, From: states(stCorrection), To: states(stFiled),
		Roles: receiving, Need: needRight, Right: rightAccept,
		Asks: []askRule{itsDepartmentOrWindow},
		Else: "no correction notice is open"},
	{Action: ActionRefuse, Event: evRefused, From: states(stFiled), To: states(stRefused),
		Roles: receiving, Need: needRight, Right: rightAccept,
		Asks:  []askRule{itsDepartmentOrWindow},
		Hints: notFiled, Else: onlyFiled},
	{Action: ActionResume, Event: evResumed, From: openStates,
		Roles: reviewerOrApprover, Need: needRight, Right: rightApprove,
		Guards: guards(isSuspended), Asks: []askRule{itsDepartment}},
	{Action: ActionGiveOpinion, Event: evOpinion, From: clockRuns,
		Roles: reviewerOrApprover, Need: needRight, Right: rightApprove,
		Guards: guards(notSuspended, opinionPending), Asker: []askerGuard{ofTheDepartment},
		Hints: beforeDecision, Else: decidedAlready},
	{Action: ActionReview, Event: evReviewed, From: states(stAccepted), To: states(stReviewed),
		Roles: reviewer, Need: needRight, Right: rightReview,
		Guards: guards(notSuspended), Asks: []askRule{itsDepartment},
		Hints: append([]hint{{In: states(stReviewed), Say: "it was reviewed already"}}, beforeDecision...), Else: decidedAlready},
	{Action: ActionDecide, Event: evDecided, From: clockRuns, To: states(stApproved, stDenied),
		Roles: approver, Need: needRight, Right: rightApprove,
		Guards: guards(notSuspended, noOpinionsPending, reviewFirst),
		Asks:   []askRule{itsDepartment, anotherPerson, noDissent},
		Hints:  beforeDecision, Else: decidedAlready},
	{Action: ActionCertify, Event: evCertified, From: states(stApproved), To: states(stCertified),
		Roles: clerk, Need: needRight, Right: rightCertify, Asks: []askRule{itsDepartment},
		Hints: []hint{
			{In: states(stCertified), Say: "it was certified already"},
			{In: states(stDenied), Say: "a denied case gets no certificate"},
			{In: clockRuns, Say: "decide it first"},
		}, Else: "only an approved case gets a certificate"},
	{Action: ActionPay, Event: evFeePaid, From: openStates,
		Roles: clerk, Need: needPath,
		Guards: guards(feeAssessed, feeNotPaid)},
	{Action: ActionDeliver, Event: evDelivered, From: states(stApproved, stDenied, stCertified, stRefused), To: states(stDelivered),
		Roles: clerkOrAgent, Need: needRight, Right: rightDeliver,
		Guards: guards(certifyFirst, noFeeUnpaid), Asks: []askRule{itsDepartmentWindowOrAgent},
		Hints: []hint{
			{In: states(stDelivered), Say: "it was delivered already"},
			{In: clockRuns, Say: "decide it first"},
		}, Else: "accept or refuse it first"},
	{Action: ActionAssessFee, Event: evFeeAssessed, From: states(stAccepted, stReviewed, stApproved, stCertified),
		Roles: clerk, Need: needAnyRight,
		Guards: guards(feeNotPaid),
		Asks:   []askRule{itsDepartment, feeStandard, feeOnce},
		Hints: []hint{
			{In: states(stFiled, stCorrection), Say: "accept it first"},
			{In: states(stRefused, stDenied), Say: "a refused or denied case pays no fee (行政许可法 §58, §59)"},
		}, Else: "it was delivered already"},
	// A fee corrected before it is paid: its own event, with the reason
	// (the amount still the standard's: another number of units, or none).
	{Action: ActionCorrectFee, Event: evFeeCorrected, From: states(stAccepted, stReviewed, stApproved, stCertified),
		Roles: clerk, Need: needAnyRight,
		Guards: guards(feeAssessed, feeNotPaid), Asks: []askRule{itsDepartment},
		Hints: []hint{
			{In: states(stFiled, stCorrection), Say: "accept it first"},
			{In: states(stRefused, stDenied), Say: "a refused or denied case pays no fee (行政许可法 §58, §59)"},
		}, Else: "it was delivered already"},
	{Action: ActionSuspend, Event: evSuspended, From: clockRuns,
		Roles: reviewerOrApprover, Need: needRight, Right: rightApprove,
		Guards: guards(notSuspended), Asks: []askRule{itsDepartment},
		Hints: clockStopped, Else: "the clock has stopped"},
	// §42: one extension, approved by the head of the department.
	{Action: ActionExtend, Event: evExtended, From: clockRuns,
		Roles: head, Need: needRight, Right: rightApprove,
		Guards: guards(notSuspended), Asks: []askRule{itsDepartment, oneExtension, withinTheLimit},
		Hints: clockStopped, Else: "the clock has stopped"},
	{Action: ActionWithdraw, Event: evWithdrawn, From: undecided, To: states(stWithdrawn),
		Roles: clerkOrAgent, Citizen: true, Need: needPath, Asks: []askRule{itsDepartmentWindowOrAgent},
		Else: "it was decided already: too late to withdraw"},
	{Action: ActionRate, Event: evRated, From: states(stClosed), Besides: true,
		Citizen: true, Need: needPath,
		Guards: guards(notRated),
		Else:   "only a closed case can be rated"},
	{Action: ActionComplain, Event: evComplained, From: anyState, Besides: true,
		Citizen: true, Need: needPath},
	// 补发查询码: staff of the office where the case was filed, who can
	// check the citizen's identity there, in any state; the office holding
	// the case appends it.
	{Action: ActionReissueQueryCode, Event: evQueryCodeReissued, From: anyState, Besides: true,
		Roles: receiving, Need: needPath, Asks: []askRule{atTheFilingOffice}},
	{Action: ActionForward, Event: evForwarded, From: openStates,
		Auto: true, Need: needPath,
		Guards: guards(toNeighbour), Waits: guards(notSuspended, noFeeUnpaid)},
	{Action: ActionReceive, Event: evReceived, From: openStates, // after FORWARDED only: a rule of the log (Follows)
		Auto: true, Need: needPath},
	{Action: ActionClose, Event: evClosed, From: states(stDelivered), To: states(stClosed),
		Auto: true, Need: needPath,
		Else: "deliver it first"},
	// 改派: the owner, by itself (its leader's sweep: Reroute), when a
	// grant changed under a case in flight.
	{Action: ActionReroute, Event: evRerouted, From: openStates,
		Auto: true, Need: needPath},
	{Event: evFiled, // the first event, and only the first: NewFiling, permitFiling
		Need: needNothing, Else: "it was filed already"},
	{Event: evWithdrawRequested, From: undecided, // known, not used: only the owner withdraws
		Need: needPath, Else: "it was decided already: too late to withdraw"},
}

// The guards.
var (
	notSuspended = guard{Name: "SUSPENDED", Holds: "not suspended",
		fails: func(c *yizhanv1.Case, _ *yizhanv1.CaseEvent) bool { return c.GetSuspended() },
		say: func(c *yizhanv1.Case, _ *yizhanv1.CaseEvent) string {
			return fmt.Sprintf("case is %s and suspended: resume it first", c.GetState())
		}}
	isSuspended = guard{Name: "NOT_SUSPENDED", Holds: "suspended",
		fails: func(c *yizhanv1.Case, _ *yizhanv1.CaseEvent) bool { return !c.GetSuspended() },
		say:   func(c *yizhanv1.Case, _ *yizhanv1.CaseEvent) string { return caseIs(c, "it is not suspended") }}
	noOpinionsPending = guard{Name: "OPINIONS_PENDING", Holds: "no opinion pending",
		fails: func(c *yizhanv1.Case, _ *yizhanv1.CaseEvent) bool { return len(c.GetOpinionsPending()) > 0 },
		say: func(c *yizhanv1.Case, _ *yizhanv1.CaseEvent) string {
			return caseIs(c, "the opinions of %v are pending", c.GetOpinionsPending())
		}}
	opinionPending = guard{Name: "NO_OPINION_PENDING", Holds: "the department's opinion pending (or its 不同意 to revise)",
		fails: func(c *yizhanv1.Case, e *yizhanv1.CaseEvent) bool {
			if d := e.GetDepartmentCode(); d != "" {
				return !slices.Contains(c.GetOpinionsPending(), d) && !dissents(c, d)
			}
			return len(c.GetOpinionsPending()) == 0 && !dissents(c, "")
		},
		say: func(c *yizhanv1.Case, e *yizhanv1.CaseEvent) string {
			if d := e.GetDepartmentCode(); d != "" {
				return caseIs(c, "department %q has no opinion pending (pending: %v)", d, c.GetOpinionsPending())
			}
			return caseIs(c, "no opinion pending")
		}}
	reviewFirst = guard{Name: "REVIEW_FIRST", Holds: "no REVIEW step on the route", In: states(stAccepted),
		fails: func(c *yizhanv1.Case, _ *yizhanv1.CaseEvent) bool { return stepOffice(c.GetRoute(), rightReview) != "" },
		say:   func(c *yizhanv1.Case, _ *yizhanv1.CaseEvent) string { return caseIs(c, "review it first") }}
	certifyFirst = guard{Name: "CERTIFY_FIRST", Holds: "no CERTIFY step on the route", In: states(stApproved),
		fails: func(c *yizhanv1.Case, _ *yizhanv1.CaseEvent) bool {
			return stepOffice(c.GetRoute(), rightCertify) != ""
		},
		say: func(c *yizhanv1.Case, _ *yizhanv1.CaseEvent) string { return caseIs(c, "certify it first") }}
	noFeeUnpaid = guard{Name: "FEE_UNPAID", Holds: "no fee unpaid",
		fails: func(c *yizhanv1.Case, _ *yizhanv1.CaseEvent) bool { return unpaid(c) },
		say: func(c *yizhanv1.Case, _ *yizhanv1.CaseEvent) string {
			return caseIs(c, "fee of %d fen unpaid", c.GetFeeCents())
		}}
	feeNotPaid = guard{Name: "FEE_PAID", Holds: "the fee not paid yet",
		fails: func(c *yizhanv1.Case, _ *yizhanv1.CaseEvent) bool { return c.GetFeePaid() && c.GetFeeCents() > 0 },
		say: func(c *yizhanv1.Case, _ *yizhanv1.CaseEvent) string {
			return caseIs(c, "the fee of %d fen is paid already", c.GetFeeCents())
		}}
	feeAssessed = guard{Name: "NO_FEE", Holds: "a fee due (assessed; not refused or denied)",
		fails: func(c *yizhanv1.Case, _ *yizhanv1.CaseEvent) bool { return !feeDue(c) },
		say:   func(c *yizhanv1.Case, _ *yizhanv1.CaseEvent) string { return caseIs(c, "no fee is due") }}
	notRated = guard{Name: "RATED_ALREADY", Holds: "not rated yet",
		fails: func(c *yizhanv1.Case, _ *yizhanv1.CaseEvent) bool {
			return c.GetRating() != yizhanv1.Rating_RATING_UNSPECIFIED
		},
		say: func(c *yizhanv1.Case, _ *yizhanv1.CaseEvent) string {
			return caseIs(c, "it was rated already (%s)", c.GetRating())
		}}
	toNeighbour = guard{Name: "NOT_A_NEIGHBOUR", Holds: "to a neighbour on the path",
		fails: func(c *yizhanv1.Case, e *yizhanv1.CaseEvent) bool {
			from, to := e.GetOfficeCode(), e.GetToOffice()
			return to == "" || to == from || !slices.Contains(PathUp(c.GetOriginOffice()), to) ||
				(registry.ParentCode(from) != to && registry.ParentCode(to) != from)
		},
		say: func(c *yizhanv1.Case, e *yizhanv1.CaseEvent) string {
			return caseIs(c, "cannot forward from %s to %q: the next office must be a neighbour on the path %v",
				e.GetOfficeCode(), e.GetToOffice(), PathUp(c.GetOriginOffice()))
		}}

	ofTheDepartment = askerGuard{Name: "OTHER_DEPARTMENT", Holds: "of its department",
		fails: func(a Actor, e *yizhanv1.CaseEvent) bool {
			return e.GetDepartmentCode() != "" && a.Department != e.GetDepartmentCode()
		},
		say: func(a Actor, e *yizhanv1.CaseEvent) string {
			return fmt.Sprintf("%s of department %q may not give the opinion of department %q", a, a.Department, e.GetDepartmentCode())
		}}
)

// The ask rules.
var (
	itsDepartment = askRule{Name: "NOT_ITS_DEPARTMENT", Holds: "asked by staff of the item's department (at the county)", Deny: true,
		fails: func(a *asking) bool { return !ofItsDepartment(a, false) },
		say:   notItsDepartment}
	itsDepartmentOrWindow = askRule{Name: "NOT_ITS_DEPARTMENT", Holds: "asked by staff of the item's department, or the comprehensive window (at the county)", Deny: true,
		fails: func(a *asking) bool { return !ofItsDepartment(a, true) },
		say:   notItsDepartment}
	// 帮办代办: an agent hands over the result, or withdraws the filing,
	// for the citizen, whatever the item; so does the comprehensive
	// window (综合窗口: the county's policy says whether it accepts, not
	// whether it hands over).
	itsDepartmentWindowOrAgent = askRule{Name: "NOT_ITS_DEPARTMENT", Holds: "asked by staff of the item's department, the comprehensive window or an agent (at the county)", Deny: true,
		fails: func(a *asking) bool {
			return !a.actor.has(yizhanv1.Role_ROLE_AGENT, yizhanv1.Role_ROLE_WINDOW) && !ofItsDepartment(a, false)
		},
		say: notItsDepartment}
	atTheFilingOffice = askRule{Name: "NOT_THE_FILING_OFFICE", Holds: "asked by staff of the office where the case was filed", Deny: true,
		fails: func(a *asking) bool { return a.actor.Office != a.c.GetOriginOffice() },
		say: func(a *asking) string {
			return fmt.Sprintf("%s of office %s may not reissue the query code of case %s: staff of %s, where it was filed, check the citizen's identity", a.actor, a.actor.Office, a.c.GetNumber(), a.c.GetOriginOffice())
		}}
	oneExtension = askRule{Name: "EXTENDED_ALREADY", Holds: "not extended before (§42: once)",
		fails: func(a *asking) bool { return a.c.GetExtensions() > 0 },
		say: func(a *asking) string {
			return caseIs(a.c, "its time limit was extended already: once per case (行政许可法 §42)")
		}}
	withinTheLimit = askRule{Name: "EXTENSION_TOO_LATE", Holds: "asked within the statutory limit (§42)",
		fails: func(a *asking) bool {
			return len(a.events) > 0 && a.at.After(Clocks(a.c, a.events, a.reg, a.at).GetStatutoryDue().AsTime())
		},
		say: func(a *asking) string {
			return caseIs(a.c, "its statutory limit ran out on %s: an extension is decided within it (行政许可法 §42)",
				Clocks(a.c, a.events, a.reg, a.at).GetStatutoryDue().AsTime().In(registry.CST).Format(time.DateOnly))
		}}
	materialsComplete = askRule{Name: "MATERIALS_MISSING", Holds: "every required material handed in",
		fails: func(a *asking) bool { return a.item != nil && len(MissingMaterials(a.item, a.c.GetMaterials())) > 0 },
		say: func(a *asking) string {
			return caseIs(a.c, "required materials are missing %v: send the one-time correction notice (行政许可法 §32)", MissingMaterials(a.item, a.c.GetMaterials()))
		}}
	oneNotice = askRule{Name: "NOTICE_GIVEN", Holds: "no correction notice before (one-time notice)",
		fails: func(a *asking) bool { return a.c.GetCorrectionNotices() > 0 },
		say: func(a *asking) string {
			return caseIs(a.c, "the one-time correction notice was given already: accept the filing or refuse it")
		}}
	feeStandard = askRule{Name: "NO_FEE_STANDARD", Holds: "the item has a fee standard",
		fails: func(a *asking) bool { return a.item != nil && a.item.GetFeeCents() <= 0 },
		say: func(a *asking) string {
			return caseIs(a.c, "item %s is free of charge: a fee only by law and its standard (行政许可法 §58)", a.c.GetItemCode())
		}}
	feeOnce = askRule{Name: "FEE_ASSESSED", Holds: "no fee assessed before",
		fails: func(a *asking) bool { return a.c.GetFeeAssessed() || a.c.GetFeeCents() > 0 },
		say: func(a *asking) string {
			return caseIs(a.c, "the fee of %d fen is assessed already: once per case", a.c.GetFeeCents())
		}}
	anotherPerson = askRule{Name: "SAME_PERSON", Holds: "asked by another person than who accepted and reviewed it", Deny: true,
		fails: func(a *asking) bool {
			if a.actor.Citizen || a.c.GetCaseKind() == yizhanv1.CaseKind_CASE_KIND_IMMEDIATE || singleHanded(a.reg, a.office) {
				return false
			}
			return a.actor.Username != "" && (a.actor.Username == a.c.GetAcceptedBy() || a.actor.Username == a.c.GetReviewedBy())
		},
		say: func(a *asking) string {
			return fmt.Sprintf("%s accepted or reviewed case %s: the decision is another person's (审批与受理、审核分离)", a.actor, a.c.GetNumber())
		}}
	noDissent = askRule{Name: "DISSENT", Holds: "no co-department's 不同意 standing (to approve)",
		fails: func(a *asking) bool { return a.e.GetApproved() && dissents(a.c, "") },
		say: func(a *asking) string {
			var against []string
			for _, o := range a.c.GetOpinions() {
				if !o.GetAgrees() {
					against = append(against, o.GetDepartmentCode())
				}
			}
			return caseIs(a.c, "co-departments %v answered 不同意: a joint item is approved only with every co-department's agreement; coordinate and let them give their opinion again, or deny it", against)
		}}
)

// ofItsDepartment reports whether who asks may act on the case's item
// for its department: at the county centre, where each department sits at
// its own windows, staff of the item's lead department (the comprehensive
// window too, for the acceptance, when window is true and the county's
// case policy lets it accept); at a township or a village, which work as
// one window for every item their office holds, anyone of the office.
func ofItsDepartment(a *asking, window bool) bool {
	if a.actor.Citizen || a.item == nil {
		return true
	}
	if a.action == ActionResubmit && a.actor.Office != "" && a.actor.Office != a.office {
		return true // corrections relayed from another office on the route
	}
	if tier, err := registry.TierOf(a.office); err != nil || tier != yizhanv1.Tier_TIER_COUNTY {
		return true
	}
	if a.actor.Department != "" && a.actor.Department == a.item.GetDepartmentCode() {
		return true
	}
	return window && a.actor.has(yizhanv1.Role_ROLE_WINDOW) && a.reg.CasePolicy().GetComprehensiveWindowAccepts()
}

// DepartmentSees reports whether staff member a may see what a case
// filed as f shows only to the staff who handle it (its scans), as far
// as departments go (which offices handle it is the node's check): staff
// of a township or a village, any (it works as one window); staff of the
// county centre, those of the item's lead department or one of its
// co-departments, and the comprehensive window (综合窗口), which receives
// any item. It is the staff member's office that counts, not the node's
// that answers: a township's staff reading through the county are not
// the county's departments.
func DepartmentSees(a Actor, f *yizhanv1.CaseFiling) bool {
	if tier, err := registry.TierOf(a.Office); err != nil || tier != yizhanv1.Tier_TIER_COUNTY {
		return true
	}
	if a.Department != "" && (a.Department == f.GetDepartmentCode() || slices.Contains(f.GetCoDepartmentCodes(), a.Department)) {
		return true
	}
	return a.has(yizhanv1.Role_ROLE_WINDOW)
}

func notItsDepartment(a *asking) string {
	return fmt.Sprintf("%s of department %q may not %s case %s of item %s, which department %q handles", a.actor, a.actor.Department,
		a.action, a.c.GetNumber(), a.c.GetItemCode(), a.item.GetDepartmentCode())
}

// dissents reports whether department d's latest opinion on c is 不同意
// (d empty: any department's).
func dissents(c *yizhanv1.Case, d string) bool {
	return slices.ContainsFunc(c.GetOpinions(), func(o *yizhanv1.Opinion) bool {
		return !o.GetAgrees() && (d == "" || o.GetDepartmentCode() == d)
	})
}

// feeDue reports whether c owes a fee it has been assessed: not after a
// refusal or a denial (行政许可法 §58, §59: no fee for them).
func feeDue(c *yizhanv1.Case) bool {
	return c.GetFeeCents() > 0 && c.GetState() != stRefused && c.GetState() != stDenied
}

// singleHanded reports whether the county lets one person accept, review
// and decide a case at office (a small office: CasePolicy).
func singleHanded(reg Registry, office string) bool {
	return slices.Contains(reg.CasePolicy().GetSingleHandedOffices(), office)
}

// checkAsks runs the ask rules of action's rule (after checkAsked).
func checkAsks(c *yizhanv1.Case, events []*yizhanv1.CaseEvent, action Action, e *yizhanv1.CaseEvent, actor Actor, office string, at time.Time, reg Registry) error {
	r := ruleOfAction[action]
	if r == nil || len(r.Asks) == 0 {
		return nil
	}
	a := &asking{action: action, c: c, e: e, actor: actor, office: office, reg: reg, events: events, at: at}
	a.item, _ = itemView(reg, c.GetItemCode(), c.GetItemVersion())
	for _, q := range r.Asks {
		if !q.fails(a) {
			continue
		}
		if q.Deny {
			return denied(q.Name, action, func() string { return q.say(a) })
		}
		return precondition(q.Name, c, e.GetType(), func() string { return q.say(a) })
	}
	return nil
}

// MayAsk reports whether actor may ask office for action by the rule
// table's checks of who asks alone: the role (the rule's Roles, Citizen
// and asker guards) and the ask rules that deny (the item's department,
// another person than who accepted and reviewed, the office where the
// case was filed), on the case as its log before the action stood
// (before) with the action's event e. Not the state, the guards, the
// grants or the input: an action done, asked for again under its request
// ID, is answered with what it answered then, and only to a caller who
// may ask for it (office's replay). nil when actor may; else a
// *RuleError wrapping ErrPermissionDenied.
func MayAsk(before []*yizhanv1.CaseEvent, e *yizhanv1.CaseEvent, action Action, actor Actor, office string, reg Registry) error {
	if err := checkRole(action, actor, e); err != nil {
		return err
	}
	c, err := Fold(before)
	if err != nil {
		return err
	}
	a := &asking{action: action, c: c, e: e, actor: actor, office: office, reg: reg, events: before, at: e.GetAt().AsTime()}
	a.item, _ = itemView(reg, c.GetItemCode(), c.GetItemVersion())
	for _, q := range ruleOfAction[action].Asks {
		if q.Deny && q.fails(a) {
			return denied(q.Name, action, func() string { return q.say(a) })
		}
	}
	return nil
}

// caseIs is a message about case c: "case is CASE_STATE_FILED: accept it
// first".
func caseIs(c *yizhanv1.Case, format string, args ...any) string {
	return fmt.Sprintf("case is %s: %s", c.GetState(), fmt.Sprintf(format, args...))
}

// A RuleError is what the rule table says against an event or an action:
// the case's state or a guard (ErrFailedPrecondition), who asks
// (ErrPermissionDenied). Rule names the rule that failed: STATE (the
// state does not allow it; the message says why), FINAL, PRECHECK_FIRST,
// UNKNOWN_EVENT, a guard's name (SUSPENDED, FEE_UNPAID, REVIEW_FIRST,
// RATED_ALREADY, …), ROLE, CITIZEN_ONLY, OTHER_DEPARTMENT.
type RuleError struct {
	Rule   string
	State  yizhanv1.CaseState // unset for who asks
	Event  yizhanv1.EventType
	Action Action // unset for an event no one asks for
	Roles  []yizhanv1.Role
	// say makes the message when it is asked for (AllowedActions asks
	// for none), from the case and the event as they were checked.
	say func() string
	err error // ErrFailedPrecondition or ErrPermissionDenied
}

// Message is what the rule says: "case is CASE_STATE_FILED: accept it
// first".
func (e *RuleError) Message() string { return e.say() }

func (e *RuleError) Error() string { return e.say() + ": " + e.err.Error() }

// Unwrap is ErrFailedPrecondition or ErrPermissionDenied.
func (e *RuleError) Unwrap() error { return e.err }

// ErrorReason is the reason of the refusal (reason.Reasoner):
// ALREADY_RATED, CITIZEN_ONLY, WRONG_ROLE (with the action and the
// roles; the rule SAME_PERSON too), else CASE_STATE (with the state, the event, the action, whether
// the case is suspended); the meta's rule is Rule.
func (e *RuleError) ErrorReason() (string, reason.Meta) {
	m := reason.Meta{"rule": e.Rule}
	if e.Action != ActionUnspecified {
		m["action"] = e.Action.String()
	}
	switch e.Rule {
	case notRated.Name:
		return reason.AlreadyRated, m
	case "CITIZEN_ONLY":
		return reason.CitizenOnly, m
	case "ROLE", ofTheDepartment.Name, anotherPerson.Name, itsDepartment.Name, atTheFilingOffice.Name:
		var roles []string
		for _, r := range e.Roles {
			roles = append(roles, r.String())
		}
		if len(roles) > 0 {
			m["roles"] = strings.Join(roles, ",")
		}
		return reason.WrongRole, m
	}
	m["state"], m["event"] = e.State.String(), e.Event.String()
	if e.Rule == notSuspended.Name {
		m["suspended"] = "true"
	}
	return reason.CaseState, m
}

// precondition is a failure of checkState: of rule, for case c and event
// type t, saying say().
func precondition(rule string, c *yizhanv1.Case, t yizhanv1.EventType, say func() string) error {
	e := &RuleError{Rule: rule, State: c.GetState(), Event: t, say: say, err: ErrFailedPrecondition}
	if r := ruleOfEvent[t]; r != nil {
		e.Action = r.Action
	}
	return e
}

// denied is a failure of checkRole: of rule, for action, saying say().
func denied(rule string, action Action, say func() string) error {
	return &RuleError{Rule: rule, Action: action, Event: action.EventType(), Roles: action.Roles(), say: say, err: ErrPermissionDenied}
}

// The table, indexed.
var (
	ruleOfEvent  = indexRules(func(r *rule) (yizhanv1.EventType, bool) { return r.Event, true })
	ruleOfAction = indexRules(func(r *rule) (Action, bool) { return r.Action, r.Action != ActionUnspecified })
	stateOf      = func() map[yizhanv1.CaseState]*stateRow {
		m := map[yizhanv1.CaseState]*stateRow{}
		for i := range stateTable {
			m[stateTable[i].State] = &stateTable[i]
		}
		return m
	}()
)

func indexRules[K comparable](key func(*rule) (K, bool)) map[K]*rule {
	m := map[K]*rule{}
	for i := range table {
		if k, ok := key(&table[i]); ok {
			if m[k] != nil {
				panic(fmt.Sprintf("casework: the rule table has %v twice", k))
			}
			m[k] = &table[i]
		}
	}
	return m
}

// checkedIn reports whether g is checked in state s.
func (g guard) checkedIn(s yizhanv1.CaseState) bool {
	return len(g.In) == 0 || slices.Contains(g.In, s)
}

// asked reports whether staff or the citizen ask for the rule's action.
func (r *rule) asked() bool { return r.Action != ActionUnspecified && !r.Auto }

// citizenOnly reports whether only the citizen asks for the rule's action.
func (r *rule) citizenOnly() bool { return r.Citizen && len(r.Roles) == 0 }

// movesOn reports whether the rule takes a case on from state s to
// another state.
func (r *rule) movesOn(s yizhanv1.CaseState) bool {
	return len(r.To) > 0 && slices.Contains(r.From, s)
}

// AskedActions returns the actions staff or the citizen ask for (not the
// automatic ones), in the table's order.
func AskedActions() []Action {
	var out []Action
	for i := range table {
		if table[i].asked() {
			out = append(out, table[i].Action)
		}
	}
	return out
}

// Roles returns the staff roles that may ask for the action (none for the
// citizen's own and the automatic ones).
func (a Action) Roles() []yizhanv1.Role {
	if r := ruleOfAction[a]; r != nil {
		return slices.Clone(r.Roles)
	}
	return nil
}

// ByCitizen reports whether the citizen may ask for the action, with the
// case's number and query code (withdraw, rate, complain).
func (a Action) ByCitizen() bool {
	r := ruleOfAction[a]
	return r != nil && r.Citizen
}

// CitizenOnly reports whether only the citizen may ask for the action
// (rate, complain): staff may not, even for the citizen.
func (a Action) CitizenOnly() bool {
	r := ruleOfAction[a]
	return r != nil && r.citizenOnly()
}

func states(s ...yizhanv1.CaseState) []yizhanv1.CaseState { return s }

func roles(r ...yizhanv1.Role) []yizhanv1.Role { return r }

func guards(g ...guard) []guard { return g }

func statesWhere(f func(stateRow) bool) []yizhanv1.CaseState {
	var out []yizhanv1.CaseState
	for _, s := range stateTable {
		if f(s) {
			out = append(out, s.State)
		}
	}
	return out
}
