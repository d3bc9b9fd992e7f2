package casework

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/yizhan-gov/yizhan/reason"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Tests of the rule table (table.go): every state × action × role against
// what DESIGN.md says, written here state by state (the table is action by
// action); the transitions against Fold; AllowedActions against NewEvent.

// who is an actor of the combinations: one role, or the citizen.
type who struct {
	name  string
	actor Actor
}

var everyone = []who{
	{"clerk", Actor{Username: "c", Office: county, Department: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}},
	{"agent", Actor{Username: "a", Office: county, Department: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT}}},
	{"reviewer", Actor{Username: "r", Office: county, Department: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_REVIEWER}}},
	{"approver", Actor{Username: "p", Office: county, Department: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_APPROVER}}},
	{"sw reviewer", Actor{Username: "s", Office: county, Department: "sw", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_REVIEWER}}},
	{"admin", Actor{Username: "m", Office: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_ADMIN}}},
	{"head", Actor{Username: "h", Office: county, Department: "yc", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_DEPARTMENT_HEAD}}},
	{"window", Actor{Username: "w", Office: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_WINDOW}}},
	{"citizen", citizen},
}

// mayDo is what each of everyone may do to a case in each state, as
// DESIGN.md tells it: a plain case (its route without REVIEW or CERTIFY
// steps, no fee, not suspended, no opinion pending, not rated), and the
// variants that the guards are about. The staff of the sw department may
// do what the reviewers may, and give sw's opinion.
type mayDo map[string][]Action

var (
	clerkFiled   = []Action{ActionAccept, ActionRequestCorrection, ActionRefuse, ActionWithdraw}
	windowFiled  = []Action{ActionAccept, ActionRequestCorrection, ActionRefuse}
	clockActions = []Action{ActionSuspend}
	headExtends  = []Action{ActionExtend} // §42: the head of the department
)

func plainMayDo(s yizhanv1.CaseState) mayDo {
	switch s {
	case stPrecheck:
		return mayDo{"clerk": {ActionPrecheck, ActionRejectPrecheck, ActionWithdraw}, "agent": {ActionPrecheck, ActionRejectPrecheck, ActionWithdraw}, "citizen": {ActionWithdraw, ActionComplain}}
	case stFiled:
		return mayDo{"clerk": clerkFiled, "agent": clerkFiled, "window": windowFiled, "citizen": {ActionWithdraw, ActionComplain}}
	case stCorrection:
		return mayDo{"clerk": {ActionResubmit, ActionWithdraw}, "agent": {ActionResubmit, ActionWithdraw}, "window": {ActionResubmit}, "citizen": {ActionWithdraw, ActionComplain}}
	case stAccepted:
		return mayDo{"clerk": {ActionAssessFee, ActionWithdraw}, "agent": {ActionWithdraw}, "citizen": {ActionWithdraw, ActionComplain},
			"reviewer": append([]Action{ActionReview}, clockActions...), "sw reviewer": append([]Action{ActionReview}, clockActions...),
			"approver": append([]Action{ActionDecide}, clockActions...), "head": headExtends}
	case stReviewed:
		return mayDo{"clerk": {ActionAssessFee, ActionWithdraw}, "agent": {ActionWithdraw}, "citizen": {ActionWithdraw, ActionComplain},
			"reviewer": clockActions, "sw reviewer": clockActions, "approver": append([]Action{ActionDecide}, clockActions...), "head": headExtends}
	case stApproved:
		return mayDo{"clerk": {ActionCertify, ActionDeliver, ActionAssessFee}, "agent": {ActionDeliver}, "citizen": {ActionComplain}}
	case stCertified:
		return mayDo{"clerk": {ActionDeliver, ActionAssessFee}, "agent": {ActionDeliver}, "citizen": {ActionComplain}}
	case stDenied:
		return mayDo{"clerk": {ActionDeliver}, "agent": {ActionDeliver}, "citizen": {ActionComplain}}
	case stRefused:
		return mayDo{"clerk": {ActionDeliver}, "agent": {ActionDeliver}, "citizen": {ActionComplain}}
	case stClosed:
		return mayDo{"citizen": {ActionRate, ActionComplain}}
	}
	return mayDo{"citizen": {ActionComplain}} // DELIVERED (closed by itself), WITHDRAWN, PRECHECK_REJECTED
}

// variants are the cases the guards are about, each with what everyone
// may do then.
var variants = []struct {
	name   string
	state  yizhanv1.CaseState
	change func(*yizhanv1.Case)
	may    mayDo
}{
	{"suspended", stAccepted, func(c *yizhanv1.Case) { c.Suspended = true },
		mayDo{"clerk": {ActionAssessFee, ActionWithdraw}, "agent": {ActionWithdraw}, "citizen": {ActionWithdraw, ActionComplain},
			"reviewer": {ActionResume}, "sw reviewer": {ActionResume}, "approver": {ActionResume}}},
	{"suspended after review", stReviewed, func(c *yizhanv1.Case) { c.Suspended = true },
		mayDo{"clerk": {ActionAssessFee, ActionWithdraw}, "agent": {ActionWithdraw}, "citizen": {ActionWithdraw, ActionComplain},
			"reviewer": {ActionResume}, "sw reviewer": {ActionResume}, "approver": {ActionResume}}},
	{"a fee unpaid", stAccepted, func(c *yizhanv1.Case) { c.FeeCents = 1000 },
		mayDo{"clerk": {ActionPay, ActionAssessFee, ActionCorrectFee, ActionWithdraw}, "agent": {ActionWithdraw}, "citizen": {ActionWithdraw, ActionComplain},
			"reviewer": append([]Action{ActionReview}, clockActions...), "sw reviewer": append([]Action{ActionReview}, clockActions...),
			"approver": append([]Action{ActionDecide}, clockActions...), "head": headExtends}},
	{"a fee unpaid, certified", stCertified, func(c *yizhanv1.Case) { c.FeeCents = 1000 },
		mayDo{"clerk": {ActionPay, ActionAssessFee, ActionCorrectFee}, "citizen": {ActionComplain}}},
	// No fee after a refusal or a denial (行政许可法 §58, §59): none to
	// pay, and nothing holds up the delivery.
	{"a fee unpaid, refused", stRefused, func(c *yizhanv1.Case) { c.FeeCents = 1000 },
		mayDo{"clerk": {ActionDeliver}, "agent": {ActionDeliver}, "citizen": {ActionComplain}}},
	{"a fee unpaid, denied", stDenied, func(c *yizhanv1.Case) { c.FeeCents = 1000 },
		mayDo{"clerk": {ActionDeliver}, "agent": {ActionDeliver}, "citizen": {ActionComplain}}},
	{"a fee unpaid, approved", stApproved, func(c *yizhanv1.Case) { c.FeeCents = 1000 },
		mayDo{"clerk": {ActionCertify, ActionPay, ActionAssessFee, ActionCorrectFee}, "citizen": {ActionComplain}}},
	{"the fee paid", stApproved, func(c *yizhanv1.Case) { c.FeeCents, c.FeePaid = 1000, true },
		mayDo{"clerk": {ActionCertify, ActionDeliver}, "agent": {ActionDeliver}, "citizen": {ActionComplain}}},
	{"opinions pending", stAccepted, func(c *yizhanv1.Case) { c.OpinionsPending = []string{"sw", "xf"} },
		mayDo{"clerk": {ActionAssessFee, ActionWithdraw}, "agent": {ActionWithdraw}, "citizen": {ActionWithdraw, ActionComplain},
			"reviewer": append([]Action{ActionReview}, clockActions...), "approver": clockActions, "head": headExtends,
			"sw reviewer": append([]Action{ActionGiveOpinion, ActionReview}, clockActions...)}},
	{"a REVIEW step on the route", stAccepted, func(c *yizhanv1.Case) {
		c.Route = append(c.Route, &yizhanv1.RouteStep{Right: rightReview, OfficeCode: county})
	},
		mayDo{"clerk": {ActionAssessFee, ActionWithdraw}, "agent": {ActionWithdraw}, "citizen": {ActionWithdraw, ActionComplain},
			"reviewer": append([]Action{ActionReview}, clockActions...), "sw reviewer": append([]Action{ActionReview}, clockActions...),
			"approver": clockActions, "head": headExtends}},
	{"a REVIEW step on the route, reviewed", stReviewed, func(c *yizhanv1.Case) {
		c.Route = append(c.Route, &yizhanv1.RouteStep{Right: rightReview, OfficeCode: county})
	},
		plainMayDo(stReviewed)},
	{"a CERTIFY step on the route", stApproved, func(c *yizhanv1.Case) {
		c.Route = append(c.Route, &yizhanv1.RouteStep{Right: rightCertify, OfficeCode: county})
	},
		mayDo{"clerk": {ActionCertify, ActionAssessFee}, "citizen": {ActionComplain}}},
	{"rated", stClosed, func(c *yizhanv1.Case) { c.Rating = yizhanv1.Rating_RATING_SATISFIED },
		mayDo{"citizen": {ActionComplain}}},
}

func plainCase(s yizhanv1.CaseState) *yizhanv1.Case {
	return &yizhanv1.Case{Number: "450122000000-20250303-0001", State: s, OriginOffice: county, OwnerOffice: county, Route: []*yizhanv1.RouteStep{
		{Right: rightAccept, OfficeCode: county}, {Right: rightApprove, OfficeCode: county}, {Right: rightDeliver, OfficeCode: county},
	}}
}

// TestRuleTableEveryCombination runs checkState and checkRole on every
// state × asked action × role, for a plain case and the variants, against
// mayDo. A refused combination fails with ErrPermissionDenied where some
// role may do it in that state (the state allowed it), with
// ErrFailedPrecondition where no one may.
func TestRuleTableEveryCombination(t *testing.T) {
	type combo struct {
		name string
		c    *yizhanv1.Case
		may  mayDo
	}
	// Whatever the state, the receiving staff may reissue a query code
	// (at the filing office: an ask rule, not checked here).
	withReissue := func(m mayDo) mayDo {
		out := mayDo{}
		for k, v := range m {
			out[k] = v
		}
		for _, w := range []string{"clerk", "agent", "window"} {
			out[w] = append(slices.Clone(out[w]), ActionReissueQueryCode)
		}
		return out
	}
	var combos []combo
	for _, st := range stateTable {
		combos = append(combos, combo{stateName(st.State), plainCase(st.State), withReissue(plainMayDo(st.State))})
	}
	for _, v := range variants {
		c := plainCase(v.state)
		v.change(c)
		combos = append(combos, combo{stateName(v.state) + ", " + v.name, c, withReissue(v.may)})
	}
	n := 0
	for _, cb := range combos {
		for _, a := range AskedActions() {
			someone := slices.ContainsFunc(slices.Collect(maps.Values(cb.may)), func(as []Action) bool { return slices.Contains(as, a) })
			for _, w := range everyone {
				n++
				e := &yizhanv1.CaseEvent{Type: a.EventType(), OfficeCode: county, DepartmentCode: w.actor.Department}
				err := checkState(cb.c, e)
				if err == nil {
					err = checkRole(a, w.actor, e)
				}
				want := slices.Contains(cb.may[w.name], a)
				switch {
				case want && err != nil:
					t.Errorf("%s: the %s may %s, refused: %v", cb.name, w.name, a, err)
				case !want && err == nil:
					t.Errorf("%s: the %s may not %s, allowed", cb.name, w.name, a)
				case a == ActionGiveOpinion && !want:
					// The department is the input: a department with no
					// opinion pending fails by the state, whoever asks.
				case !want && someone && !errors.Is(err, ErrPermissionDenied):
					t.Errorf("%s: the %s may not %s, but others may: got %v, want permission denied", cb.name, w.name, a, err)
				case !want && !someone && !errors.Is(err, ErrFailedPrecondition):
					t.Errorf("%s: no one may %s: got %v, want a failed precondition", cb.name, a, err)
				}
				var re *RuleError
				if err != nil && (!errors.As(err, &re) || re.Rule == "") {
					t.Errorf("%s: %s by the %s: %v is not a *RuleError naming its rule", cb.name, a, w.name, err)
				}
			}
		}
	}
	t.Logf("%d combinations", n)
}

// TestRuleFailuresAreNamed checks that each guard's failure, and each
// state's note, is its own named rule.
func TestRuleFailuresAreNamed(t *testing.T) {
	names := map[string]string{}
	for i := range table {
		r := &table[i]
		for _, g := range slices.Concat(r.Guards, r.Waits) {
			if g.Name == "" || g.Holds == "" || g.fails == nil || g.say == nil {
				t.Errorf("%s: a guard without a name, a text or its functions: %+v", r.Event, g)
			}
			if other, ok := names[g.Name]; ok && other != g.Holds {
				t.Errorf("guard name %s is both %q and %q", g.Name, other, g.Holds)
			}
			names[g.Name] = g.Holds
		}
	}
	for _, reserved := range []string{"STATE", "FINAL", "PRECHECK_FIRST", "UNKNOWN_EVENT", "ROLE", "CITIZEN_ONLY", "OTHER_DEPARTMENT"} {
		if _, ok := names[reserved]; ok {
			t.Errorf("a guard is named %s, the name of another failure", reserved)
		}
	}
	// Each guard, failing, is named in its error.
	c := plainCase(stAccepted)
	c.Suspended = true
	var re *RuleError
	if err := checkState(c, &yizhanv1.CaseEvent{Type: evDecided}); !errors.As(err, &re) || re.Rule != "SUSPENDED" || !strings.Contains(err.Error(), "case is CASE_STATE_ACCEPTED and suspended: resume it first") {
		t.Errorf("decide while suspended: %v", err)
	}
	if err := checkState(plainCase(stClosed), &yizhanv1.CaseEvent{Type: evAccepted}); !errors.As(err, &re) || re.Rule != "FINAL" || re.State != stClosed {
		t.Errorf("accept a closed case: %v", err)
	}
	if err := checkState(plainCase(stPrecheck), &yizhanv1.CaseEvent{Type: evAccepted}); !errors.As(err, &re) || re.Rule != "PRECHECK_FIRST" {
		t.Errorf("accept before the pre-check: %v", err)
	}
	if err := checkState(plainCase(stFiled), &yizhanv1.CaseEvent{Type: evReviewed}); !errors.As(err, &re) || re.Rule != "STATE" || err.Error() != "case is CASE_STATE_FILED: accept it first: casework: failed precondition" {
		t.Errorf("review before acceptance: %v", err)
	}

	// And the reason each is answered with.
	rated := plainCase(stClosed)
	rated.Rating = yizhanv1.Rating_RATING_SATISFIED
	for _, tt := range []struct {
		name   string
		err    error
		reason string
		meta   reason.Meta
	}{
		{"decide while suspended", checkState(c, &yizhanv1.CaseEvent{Type: evDecided}), reason.CaseState,
			reason.Meta{"rule": "SUSPENDED", "state": "CASE_STATE_ACCEPTED", "event": "EVENT_TYPE_DECIDED", "action": "decide", "suspended": "true"}},
		{"deliver unpaid", checkState(func() *yizhanv1.Case { c := plainCase(stApproved); c.FeeCents = 100; return c }(), &yizhanv1.CaseEvent{Type: evDelivered}), reason.CaseState,
			reason.Meta{"rule": "FEE_UNPAID", "state": "CASE_STATE_APPROVED", "event": "EVENT_TYPE_DELIVERED", "action": "deliver"}},
		{"receive a closed case", checkState(plainCase(stClosed), &yizhanv1.CaseEvent{Type: evReceived}), reason.CaseState,
			reason.Meta{"rule": "FINAL", "state": "CASE_STATE_CLOSED", "event": "EVENT_TYPE_RECEIVED", "action": "receive"}},
		{"rate twice", checkState(rated, &yizhanv1.CaseEvent{Type: evRated}), reason.AlreadyRated, reason.Meta{"rule": "RATED_ALREADY", "action": "rate"}},
		{"decide by a clerk", checkRole(ActionDecide, countyClerk, nil), reason.WrongRole, reason.Meta{"rule": "ROLE", "action": "decide", "roles": "ROLE_APPROVER"}},
		{"rate by a clerk", checkRole(ActionRate, countyClerk, nil), reason.CitizenOnly, reason.Meta{"rule": "CITIZEN_ONLY", "action": "rate"}},
	} {
		e := reason.Of(tt.err)
		if e == nil || e.Reason != tt.reason || !maps.Equal(e.Meta, tt.meta) {
			t.Errorf("%s: %v: reason %+v, want %s %v", tt.name, tt.err, e, tt.reason, tt.meta)
		}
	}
}

// TestEveryTransitionLeadsToItsNextState runs each action of the table
// that takes a case on, from each state it may happen in, in the test
// county, and checks the state it leads to.
func TestEveryTransitionLeadsToItsNextState(t *testing.T) {
	for i := range table {
		r := &table[i]
		if r.Action == ActionUnspecified || len(r.To) == 0 {
			continue
		}
		for _, from := range r.From {
			t.Run(fmt.Sprintf("%s from %s", r.Action, stateName(from)), func(t *testing.T) {
				w, n := caseAt(t, from, r.Action)
				for _, in := range transitionInputs(r.Action) {
					c, _ := w.books[county].Case(n)
					if c.GetState() != from {
						t.Fatalf("the case is %s, want %s", c.GetState(), from)
					}
					var got *yizhanv1.Case
					if r.Auto {
						action, to, ok := Pending(c, w.books[county].Events(n), county)
						if !ok || action != r.Action {
							t.Fatalf("Pending: %s %v, want %s", action, ok, r.Action)
						}
						var err error
						if got, err = w.appendEvent(county, NewAutoEvent(c, action, to, county, w.tick()), n); err != nil {
							t.Fatal(err)
						}
					} else {
						got = w.mustDo(county, n, r.Action, in.req, actorFor(r))
					}
					if got.GetState() != in.want && !(in.want == 0 && slices.Contains(r.To, got.GetState())) {
						t.Errorf("%s from %s: %s, want %v", r.Action, stateName(from), got.GetState(), r.To)
					}
					if !slices.Contains(r.To, got.GetState()) {
						t.Errorf("%s from %s leads to %s, not to one of the table's %v", r.Action, stateName(from), got.GetState(), r.To)
					}
					if len(transitionInputs(r.Action)) > 1 { // decide: the other input on a fresh case
						w, n = caseAt(t, from, r.Action)
					}
				}
			})
		}
	}
}

type transitionInput struct {
	req  *req
	want yizhanv1.CaseState // 0: any of To
}

// transitionInputs are inputs that NewEvent takes for an action (decide:
// an approval and a denial).
func transitionInputs(a Action) []transitionInput {
	switch a {
	case ActionDecide:
		return []transitionInput{{&req{Approved: true, Reason: "符合条件"}, stApproved}, {&req{Reason: "不符合条件", LegalBasis: "《行政许可法》第三十八条"}, stDenied}}
	case ActionRequestCorrection:
		return []transitionInput{{&req{MissingMaterials: []string{"居民身份证"}}, 0}}
	case ActionResubmit:
		return []transitionInput{{&req{Materials: submitted("居民身份证")}, 0}}
	case ActionRefuse:
		return []transitionInput{{&req{Reason: "不属于本机关职权", LegalBasis: "《行政许可法》第三十二条"}, 0}}
	case ActionReview:
		return []transitionInput{{&req{Agrees: true, Reason: "同意"}, 0}}
	case ActionCertify:
		return []transitionInput{{&req{CertificateNumber: "C-1"}, 0}}
	case ActionWithdraw:
		return []transitionInput{{&req{Reason: "不办了", Materials: submitted(WithdrawalRequest)}, 0}}
	case ActionRejectPrecheck:
		return []transitionInput{{&req{Reason: "不办了"}, 0}}
	}
	return []transitionInput{{nil, 0}}
}

// actorFor is a county staff member who may ask for the rule's action (the
// citizen for the citizen's own).
func actorFor(r *rule) Actor {
	if len(r.Roles) == 0 {
		return citizen
	}
	return Actor{Username: "county.staff", Office: county, Department: "mz", Roles: r.Roles[:1]}
}

// caseAt files a case at the county and drives it to state from, for an
// action from there: an item without REVIEW and CERTIFY steps (so decide
// and deliver need neither), but for review and certify themselves, and
// the states they lead to.
func caseAt(t *testing.T, from yizhanv1.CaseState, a Action) (*world, string) {
	t.Helper()
	w := newWorld(t)
	w.reg.apply(createItemCmd(&yizhanv1.Item{Code: plainItem, Name: "户籍证明", Type: yizhanv1.ItemType_ITEM_TYPE_PUBLIC_SERVICE, DepartmentCode: "mz",
		Materials: []*yizhanv1.Material{{Name: "居民身份证", Required: true}}, StatutoryLimitDays: 5, PromisedLimitDays: 3,
		CaseKind: yizhanv1.CaseKind_CASE_KIND_PROMISED, ExerciseTier: yizhanv1.Tier_TIER_COUNTY}))
	w.reg.grant(&yizhanv1.Grant{ItemCode: plainItem, OfficeCode: county, Rights: []yizhanv1.Right{rightAccept, rightApprove, rightDeliver}})
	withSteps := a == ActionReview || a == ActionCertify || from == stReviewed || from == stCertified
	item := plainItem
	if withSteps {
		item = immediate // every step at the county
	}
	var n string
	if from == stPrecheck {
		n = w.file(county, item, citizen, "居民身份证")
		return w, n
	}
	n = w.file(county, item, countyClerk, "居民身份证")
	clerk := Actor{Username: "county.clerk", Office: county, Department: "mz", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}
	approve := &req{Approved: true, Reason: "符合条件"}
	scripts := map[yizhanv1.CaseState][]step{
		stFiled:      nil,
		stCorrection: {{ActionRequestCorrection, &req{MissingMaterials: []string{"居民身份证"}}, clerk}},
		stAccepted:   {{ActionAccept, nil, clerk}},
		stReviewed:   {{ActionAccept, nil, clerk}, {ActionReview, &req{Agrees: true, Reason: "同意"}, mzReviewer}},
		stApproved:   {{ActionAccept, nil, clerk}, {ActionDecide, approve, mzApprover}},
		stDenied:     {{ActionAccept, nil, clerk}, {ActionDecide, &req{Reason: "不符合条件", LegalBasis: "《行政许可法》第三十八条"}, mzApprover}},
		stCertified:  {{ActionAccept, nil, clerk}, {ActionReview, &req{Agrees: true, Reason: "同意"}, mzReviewer}, {ActionDecide, approve, mzApprover}, {ActionCertify, &req{CertificateNumber: "Z-1"}, clerk}},
		stRefused:    {{ActionRefuse, &req{Reason: "不属于本机关职权", LegalBasis: "《行政许可法》第三十二条"}, clerk}},
		stDelivered:  {{ActionAccept, nil, clerk}, {ActionDecide, approve, mzApprover}, {ActionDeliver, nil, clerk}},
	}
	if withSteps {
		scripts[stApproved] = []step{{ActionAccept, nil, clerk}, {ActionReview, &req{Agrees: true, Reason: "同意"}, mzReviewer}, {ActionDecide, approve, mzApprover}}
		scripts[stAccepted] = scripts[stAccepted][:1]
	}
	script, ok := scripts[from]
	if !ok {
		t.Fatalf("no script to reach %s", from)
	}
	for _, s := range script {
		w.mustDo(county, n, s.act, s.in, s.actor)
	}
	return w, n
}

const plainItem = "HJ-ZM" // county item with ACCEPT, APPROVE and DELIVER only: no REVIEW, no CERTIFY step

// TestAllowedActionsAgreesWithNewEvent asks, for every case of a county
// in many states, every office holding it, every actor and every action,
// AllowedActions and NewEvent: an action is allowed if and only if
// NewEvent does not refuse it for the office, the state, the role or the
// grants (ErrFailedPrecondition, ErrPermissionDenied) — the input aside:
// NewEvent is asked with no input (and giveOpinion with each department),
// and may then name a missing field. A case in transit allows nothing
// (NewEvent cannot tell; Book.Apply refuses). An action allowed and made
// leaves the case in a state its rule leads to (or where it was).
func TestAllowedActionsAgreesWithNewEvent(t *testing.T) {
	w := newWorld(t)
	var numbers []string
	for state := range caseScript {
		_, n := caseInWorld(t, w, state)
		numbers = append(numbers, n)
	}
	// A joint case with opinions pending, one with a fee unpaid, one
	// suspended after review, a village's online filing before its
	// pre-check, a township item on its way, a village case at the
	// county, a case delivered to the village.
	joint := w.file(county, joint, scjgClerk, "食品经营许可申请书", "营业执照")
	w.mustDo(county, joint, ActionAccept, nil, scjgClerk)
	fee := w.file(county, immediate, mzClerk, "居民身份证")
	w.mustDo(county, fee, ActionAccept, nil, mzClerk)
	w.mustDo(county, fee, ActionAssessFee, nil, mzClerk)
	susp := w.file(county, tobacco, countyClerk, tobaccoMaterials[:4]...)
	w.mustDo(county, susp, ActionAccept, nil, countyClerk)
	w.mustDo(county, susp, ActionReview, &req{Agrees: true, Reason: "同意"}, countyReview)
	w.mustDo(county, susp, ActionSuspend, &req{SpecialProcedure: "听证", Reason: "听证"}, countyApprove)
	online := w.file(village, tobacco, citizen, tobaccoMaterials[:4]...)
	town := w.file(village, townItem, eastAgent, "农村宅基地和建房申请表", "户口簿")
	up := w.file(village2, tobacco, westAgent, tobaccoMaterials[:4]...)
	down := w.file(village, immediate, eastAgent, "居民身份证")
	w.settle()
	w.mustDo(county, down, ActionAccept, nil, mzClerk)
	w.mustDo(county, down, ActionReview, &req{Agrees: true, Reason: "同意"}, mzReviewer)
	w.mustDo(county, down, ActionDecide, &req{Approved: true, Reason: "出具证明"}, mzApprover)
	w.mustDo(county, down, ActionCertify, &req{CertificateNumber: "Z-2"}, mzClerk)
	w.settle() // handed down to the village to deliver
	numbers = append(numbers, joint, fee, susp, online, up, down)
	// The township item: forwarded by the village, not yet received.
	town2 := w.file(village, townItem, eastAgent, "农村宅基地和建房申请表")
	w.autos()
	w.deliver()
	numbers = append(numbers, town, town2)

	actors := []Actor{eastAgent, westAgent, townClerk, townReviewer, townApprover, countyClerk, countyReview, countyApprove, taxReviewer, fireApprover,
		countyHead, scjgClerk, scjgReviewer, scjgApprover, mzClerk, mzReviewer, mzApprover,
		{Username: "county.window", Office: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_WINDOW}},
		{Username: "county.agent", Office: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT}},
		{Username: "county.admin", Office: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_ADMIN}},
		{Username: "east.clerk", Office: village, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_AGENT}},
		citizen}
	at := w.tick()
	checked, allowed, transit := 0, 0, 0
	for _, office := range []string{county, township, village, village2} {
		b := w.books[office]
		for _, n := range numbers {
			c, ok := b.Case(n)
			if !ok {
				continue
			}
			events := b.Events(n)
			for _, actor := range actors {
				got := AllowedActions(c, events, actor, office, at, w.reg)
				if inTransit(events) {
					transit++
					if len(got) > 0 {
						t.Errorf("%s at %s, in transit: %s may %v", n, office, actor, got)
					}
					continue
				}
				for _, a := range AskedActions() {
					checked++
					wantOK, e := newEventAllows(c, a, actor, office, at, w.reg)
					if gotOK := slices.Contains(got, a); gotOK != wantOK {
						t.Errorf("case %s (%s) at %s, %s, %s: AllowedActions %v, NewEvent %v", n, c.GetState(), office, actor, a, gotOK, wantOK)
					}
					if !wantOK {
						continue
					}
					allowed++
					if e != nil { // the event made: where it leads
						after := proto.CloneOf(c)
						foldEvent(after, events[0].GetFiling(), e)
						if r := ruleOfAction[a]; after.GetState() != c.GetState() && !slices.Contains(r.To, after.GetState()) {
							t.Errorf("%s from %s led to %s, not to the table's %v", a, c.GetState(), after.GetState(), r.To)
						}
					}
				}
				if !slices.IsSortedFunc(got, func(a, b Action) int { return tableIndex(a) - tableIndex(b) }) {
					t.Errorf("AllowedActions %v are not in the table's order", got)
				}
			}
		}
	}
	if transit == 0 || allowed == 0 {
		t.Errorf("%d in transit, %d allowed: the world tests too little", transit, allowed)
	}
	t.Logf("%d (case, office, actor, action) checked, %d allowed", checked, allowed)
}

// newEventAllows reports whether NewEvent would not refuse action for the
// office, the state, the role or the grants, with no input (giveOpinion:
// some department's), and the event when it made one.
func newEventAllows(c *yizhanv1.Case, a Action, actor Actor, office string, at time.Time, reg Registry) (bool, *yizhanv1.CaseEvent) {
	ins := []*req{nil}
	if a == ActionGiveOpinion {
		ins = nil
		for _, d := range []string{"yc", "scjg", "sw", "xf", "zrzy", "mz"} {
			ins = append(ins, &req{DepartmentCode: d, Reason: "同意"})
		}
	}
	for _, in := range ins {
		e, err := NewEvent(c, nil, a, in, actor, office, at, reg)
		if !errors.Is(err, ErrFailedPrecondition) && !errors.Is(err, ErrPermissionDenied) {
			return true, e
		}
	}
	return false, nil
}

func tableIndex(a Action) int {
	return slices.IndexFunc(table, func(r rule) bool { return r.Action == a })
}

// caseInWorld files a tobacco case at the county of w and drives it to
// the named state of caseScript.
func caseInWorld(t *testing.T, w *world, state string) (*world, string) {
	t.Helper()
	n := w.file(county, tobacco, countyClerk, tobaccoMaterials[:4]...)
	for _, s := range caseScript[state] {
		w.mustDo(county, n, s.act, s.in, s.actor)
	}
	if state == "closed" || state == "rated" {
		w.settle()
	}
	if state == "rated" {
		w.mustDo(county, n, sRate.act, sRate.in, sRate.actor)
	}
	return w, n
}

// TestAllowedActions shows AllowedActions on a few cases.
func TestAllowedActions(t *testing.T) {
	w := newWorld(t)
	n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
	vc, _ := w.books[village].Case(n)
	// The village may not accept a county item (it holds PROXY_FILE and
	// DELIVER); a withdrawal needs some right, which it has; the query
	// code is reissued where the case was filed.
	if got := AllowedActions(vc, w.books[village].Events(n), eastAgent, village, w.now, w.reg); !slices.Equal(got, []Action{ActionWithdraw, ActionReissueQueryCode}) {
		t.Errorf("the village agent on a filed county item: %v, want [withdraw reissueQueryCode]", got)
	}
	w.settle()
	// At the county now; the village holds a mirror: no staff actions.
	vc, _ = w.books[village].Case(n)
	if got := AllowedActions(vc, w.books[village].Events(n), eastAgent, village, w.now, w.reg); got != nil {
		t.Errorf("the village's mirror: %v, want none", got)
	}
	cc, _ := w.books[county].Case(n)
	for _, tt := range []struct {
		actor Actor
		want  []Action
	}{
		{countyClerk, []Action{ActionAccept, ActionRequestCorrection, ActionRefuse, ActionWithdraw}},
		{countyReview, nil},
		{citizen, []Action{ActionWithdraw, ActionComplain}},
	} {
		if got := AllowedActions(cc, w.books[county].Events(n), tt.actor, county, w.now, w.reg); !slices.Equal(got, tt.want) {
			t.Errorf("%s at the county: %v, want %v", tt.actor, got, tt.want)
		}
	}
	// A joint case: each co-department gives its own opinion.
	j := w.file(county, joint, scjgClerk, "食品经营许可申请书", "营业执照")
	w.mustDo(county, j, ActionAccept, nil, scjgClerk)
	jc, _ := w.books[county].Case(j)
	ev := w.books[county].Events(j)
	if got := AllowedActions(jc, ev, taxReviewer, county, w.now, w.reg); !slices.Contains(got, ActionGiveOpinion) {
		t.Errorf("the tax reviewer may not give sw's opinion: %v", got)
	}
	if got := AllowedActions(jc, ev, countyReview, county, w.now, w.reg); slices.Contains(got, ActionGiveOpinion) {
		t.Errorf("the yc reviewer may give an opinion: %v", got)
	}
	if got := AllowedActions(jc, ev, countyApprove, county, w.now, w.reg); slices.Contains(got, ActionDecide) {
		t.Errorf("decide while opinions are pending: %v", got)
	}
	if AllowedActions(nil, nil, countyClerk, county, w.now, w.reg) != nil {
		t.Error("no case allows something")
	}
}

// BenchmarkAllowedActions: the actions a clerk may take on a case just
// filed, as a filing's answer lists them (every action of the rule table
// probed).
func BenchmarkAllowedActions(b *testing.B) {
	w := newWorld(b)
	n := w.file(county, tobacco, countyClerk, tobaccoMaterials[:4]...)
	c, _ := w.books[county].Case(n)
	events := w.books[county].Events(n)
	at := w.tick()
	if len(AllowedActions(c, events, countyClerk, county, at, w.reg)) == 0 {
		b.Fatal("a clerk may do nothing with a case just filed")
	}
	b.ReportAllocs()
	for b.Loop() {
		AllowedActions(c, events, countyClerk, county, at, w.reg)
	}
}
