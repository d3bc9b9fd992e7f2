package casework

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// The law's rules in the case rules (行政许可法 §32, §38, §58, §59; the
// one-time notice; the separation of duties; joint items), as a table:
// each a setup, an action, and the failure it must give (a rule of the
// table with its reason, a field, or none).
func TestTheLawsRules(t *testing.T) {
	type setup func(t *testing.T, w *world) string // files and drives a case, returns its number
	// filed files a tobacco licence at the county with the materials.
	filed := func(materials ...string) setup {
		return func(t *testing.T, w *world) string { return w.file(county, tobacco, countyClerk, materials...) }
	}
	complete := filed(tobaccoMaterials[:4]...)
	then := func(s setup, steps ...step) setup {
		return func(t *testing.T, w *world) string {
			n := s(t, w)
			for _, st := range steps {
				w.mustDo(county, n, st.act, st.in, st.actor)
			}
			return n
		}
	}
	jointFiled := func(t *testing.T, w *world) string {
		n := w.file(county, joint, scjgClerk, "食品经营许可申请书", "营业执照")
		w.mustDo(county, n, ActionAccept, nil, scjgClerk)
		w.mustDo(county, n, ActionReview, sReview.in, scjgReviewer)
		return n
	}
	opinion := func(d string, a Actor, agrees bool) step {
		c := yizhanv1.Conclusion_CONCLUSION_DISAGREE
		if agrees {
			c = yizhanv1.Conclusion_CONCLUSION_AGREE
		}
		return step{ActionGiveOpinion, &req{DepartmentCode: d, Conclusion: c, Reason: "意见"}, a}
	}
	swDisagrees := func(t *testing.T, w *world) string {
		n := jointFiled(t, w)
		w.mustDo(county, n, ActionGiveOpinion, opinion("sw", taxReviewer, false).in, taxReviewer)
		w.mustDo(county, n, ActionGiveOpinion, opinion("xf", fireApprover, true).in, fireApprover)
		return n
	}
	// The clerk who accepts also holds the approver's role.
	clerkApprover := Actor{Username: "county.clerk", Name: "县窗口", Office: county, Department: "yc",
		Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_APPROVER}}
	mzClerkApprover := Actor{Username: "mz.clerk", Name: "民政窗口", Office: county, Department: "mz",
		Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK, yizhanv1.Role_ROLE_APPROVER}}
	approve := &req{Approved: true, Reason: "符合条件"}

	tests := []struct {
		name   string
		setup  setup
		step   step
		rule   string // the rule that refuses it
		field  string // or the field
		denied bool   // a failure of who asks (PermissionDenied)
		check  func(t *testing.T, c *yizhanv1.Case)
	}{
		// 1. The one-time notice.
		{name: "accept with a required material missing", setup: filed(tobaccoMaterials[:3]...), step: sAccept, rule: "MATERIALS_MISSING"},
		{name: "the notice lists every required material missing, and what the clerk adds", setup: filed(tobaccoMaterials[0], tobaccoMaterials[2]),
			step: step{ActionRequestCorrection, &req{MissingMaterials: []string{tobaccoMaterials[4]}}, countyClerk},
			check: func(t *testing.T, c *yizhanv1.Case) {
				want := []string{tobaccoMaterials[1], tobaccoMaterials[3], tobaccoMaterials[4]}
				if !slices.Equal(c.GetMissingMaterials(), want) {
					t.Errorf("the notice lists %v, want %v", c.GetMissingMaterials(), want)
				}
			}},
		{name: "a notice with nothing missing and nothing named", setup: complete, step: step{ActionRequestCorrection, &req{}, countyClerk}, field: "missing_materials"},
		{name: "a second notice", setup: then(filed(tobaccoMaterials[:3]...), step{ActionRequestCorrection, &req{}, countyClerk},
			step{ActionResubmit, &req{Materials: submitted(tobaccoMaterials[3])}, countyClerk}),
			step: step{ActionRequestCorrection, &req{MissingMaterials: []string{tobaccoMaterials[0]}}, countyClerk}, rule: "NOTICE_GIVEN"},
		{name: "accepted once the notice is answered", setup: then(filed(tobaccoMaterials[:3]...), step{ActionRequestCorrection, &req{}, countyClerk},
			step{ActionResubmit, &req{Materials: submitted(tobaccoMaterials[3])}, countyClerk}), step: sAccept},

		// 3. Fees by the standard, once, never on a refusal or denial.
		{name: "a fee on a free item", setup: func(t *testing.T, w *world) string {
			n := w.file(county, townItem, zrzyClerk, "农村宅基地和建房申请表", "户口簿")
			w.mustDo(county, n, ActionAccept, nil, zrzyClerk)
			return n
		}, step: step{ActionAssessFee, &req{}, zrzyClerk}, rule: "NO_FEE_STANDARD"},
		{name: "a fee off the standard", setup: then(complete, sAccept), step: step{ActionAssessFee, &req{FeeCents: 5000}, countyClerk}, field: "fee_cents"},
		{name: "the standard's fee by default", setup: then(complete, sAccept), step: step{ActionAssessFee, &req{}, countyClerk},
			check: func(t *testing.T, c *yizhanv1.Case) {
				if c.GetFeeCents() != 2500 {
					t.Errorf("assessed %d fen, want the standard's 2500", c.GetFeeCents())
				}
			}},
		{name: "a second assessment", setup: then(complete, sAccept, step{ActionAssessFee, &req{}, countyClerk}), step: step{ActionAssessFee, &req{FeeCents: 2500}, countyClerk}, rule: "FEE_ASSESSED"},
		{name: "a fee on a denied case", setup: then(complete, sAccept, sReview, sDeny), step: step{ActionAssessFee, &req{}, countyClerk}, rule: "STATE"},
		{name: "a fee assessed before the denial is not paid", setup: then(complete, sAccept, step{ActionAssessFee, &req{}, countyClerk}, sReview, sDeny),
			step: step{ActionPay, &req{FeeCents: 2500, ReceiptNumber: "R-1"}, countyClerk}, rule: "NO_FEE"},
		{name: "and does not hold up the denial's delivery", setup: then(complete, sAccept, step{ActionAssessFee, &req{}, countyClerk}, sReview, sDeny), step: sDeliver},

		// 5. Withdrawal.
		{name: "staff withdraw without the written request", setup: then(complete, sAccept), step: step{ActionWithdraw, &req{Reason: "申请人要求撤回"}, countyClerk}, field: "materials"},
		{name: "staff withdraw with it", setup: then(complete, sAccept), step: step{ActionWithdraw, &req{Reason: "申请人要求撤回", Materials: submitted(WithdrawalRequest)}, countyClerk}},
		{name: "the citizen withdraws with the query code", setup: then(complete, sAccept), step: sWithdraw},

		// 6. Denials cite their basis.
		{name: "a denial without a legal basis", setup: then(complete, sAccept, sReview), step: step{ActionDecide, &req{Reason: "不符合条件"}, countyApprove}, field: "legal_basis"},

		// 4. Reviews conclude; a co-department's 不同意.
		{name: "a review without a conclusion", setup: then(complete, sAccept), step: step{ActionReview, &req{Reason: "已审"}, countyReview}, field: "conclusion"},
		{name: "a review that disagrees is recorded", setup: then(complete, sAccept),
			step: step{ActionReview, &req{Reason: "布局不符", Conclusion: yizhanv1.Conclusion_CONCLUSION_DISAGREE}, countyReview},
			check: func(t *testing.T, c *yizhanv1.Case) {
				if r := c.GetReview(); r == nil || r.GetAgrees() || r.GetBy() != countyReview.Username || r.GetReason() != "布局不符" {
					t.Errorf("the review: %v", r)
				}
			}},
		{name: "approve against a co-department's 不同意", setup: swDisagrees, step: step{ActionDecide, approve, scjgApprover}, rule: "DISSENT"},
		{name: "deny after it", setup: swDisagrees, step: step{ActionDecide, &req{Reason: "税务意见不同意", LegalBasis: "《食品经营许可管理办法》"}, scjgApprover}},
		{name: "the department revises its opinion, and the approval goes through", setup: then(swDisagrees, opinion("sw", taxReviewer, true)),
			step: step{ActionDecide, approve, scjgApprover},
			check: func(t *testing.T, c *yizhanv1.Case) {
				if len(c.GetOpinions()) != 2 || !c.GetOpinions()[0].GetAgrees() || !c.GetOpinions()[1].GetAgrees() {
					t.Errorf("the opinions: %v", c.GetOpinions())
				}
			}},

		// §42 (the window-work issue): one extension, by the head of the
		// department, at most 10 working days or the item law's limit.
		{name: "a second extension", setup: then(complete, sAccept, step{ActionExtend, &req{ExtensionDays: 5, Reason: "需现场核查"}, countyHead}),
			step: step{ActionExtend, &req{ExtensionDays: 3, Reason: "再延"}, countyHead}, rule: "EXTENDED_ALREADY"},
		{name: "an extension after the statutory limit ran out", setup: func(t *testing.T, w *world) string {
			n := then(complete, sAccept)(t, w)
			w.now = w.now.AddDate(0, 2, 0) // past its 20 working days
			return n
		}, step: step{ActionExtend, &req{ExtensionDays: 5, Reason: "需现场核查"}, countyHead}, rule: "EXTENSION_TOO_LATE"},
		{name: "an extension on the limit's last day", setup: func(t *testing.T, w *world) string {
			n := then(complete, sAccept)(t, w)
			c, _ := w.books[county].Case(n)
			due := Clocks(c, w.books[county].Events(n), w.reg, w.now).GetStatutoryDue().AsTime()
			w.now = due.Add(-2 * time.Hour) // ticks on by 10 minutes before the step
			return n
		}, step: step{ActionExtend, &req{ExtensionDays: 5, Reason: "需现场核查"}, countyHead}},
		{name: "an item whose law allows 15 days", setup: func(t *testing.T, w *world) string {
			it := w.reg.item(tobacco)
			it.Code, it.ExtensionLimitDays = "YC-EXT", 15
			w.reg.apply(createItemCmd(it))
			w.reg.grant(&yizhanv1.Grant{ItemCode: "YC-EXT", OfficeCode: county, Rights: allRights})
			n := w.file(county, "YC-EXT", countyClerk, tobaccoMaterials[:4]...)
			w.mustDo(county, n, ActionAccept, nil, countyClerk)
			return n
		}, step: step{ActionExtend, &req{ExtensionDays: 15, Reason: "需专家论证"}, countyHead},
			check: func(t *testing.T, c *yizhanv1.Case) {
				if c.GetExtensions() != 1 {
					t.Errorf("extensions %d", c.GetExtensions())
				}
			}},

		// 9. The separation of duties.
		{name: "decided by who accepted it", setup: then(complete, step{ActionAccept, nil, clerkApprover}, sReview),
			step: step{ActionDecide, approve, clerkApprover}, rule: "SAME_PERSON", denied: true},
		{name: "decided by who reviewed it", setup: then(complete, sAccept, step{ActionReview, &req{Agrees: true, Reason: "同意"}, Actor{Username: countyApprove.Username, Office: county, Department: "yc",
			Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_REVIEWER, yizhanv1.Role_ROLE_APPROVER}}}),
			step: step{ActionDecide, approve, countyApprove}, rule: "SAME_PERSON", denied: true},
		{name: "an immediate item is one person's", setup: func(t *testing.T, w *world) string {
			n := w.file(county, immediate, mzClerk, "居民身份证")
			w.mustDo(county, n, ActionAccept, nil, mzClerkApprover)
			w.mustDo(county, n, ActionReview, &req{Agrees: true, Reason: "同意"}, mzReviewer)
			return n
		}, step: step{ActionDecide, approve, mzClerkApprover}},
		{name: "so is a case at an office the county names", setup: func(t *testing.T, w *world) string {
			w.reg.apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_PutCasePolicy{PutCasePolicy: &peerv1.PutCasePolicy{
				Policy: &yizhanv1.CasePolicy{SingleHandedOffices: []string{county}}}}})
			return then(complete, step{ActionAccept, nil, clerkApprover}, sReview)(t, w)
		}, step: step{ActionDecide, approve, clerkApprover}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t)
			n := tt.setup(t, w)
			c, err := w.do(county, n, tt.step.act, tt.step.in, tt.step.actor)
			switch {
			case tt.field != "":
				wantField(t, err, tt.field)
			case tt.rule != "":
				var re *RuleError
				if !errors.As(err, &re) || re.Rule != tt.rule {
					t.Fatalf("got %v, want rule %s", err, tt.rule)
				}
				want := ErrFailedPrecondition
				if tt.denied {
					want = ErrPermissionDenied
				}
				if !errors.Is(err, want) {
					t.Errorf("%v is not %v", err, want)
				}
				if e := reason.Of(err); e == nil || e.Meta["rule"] != tt.rule {
					t.Errorf("reason %+v", e)
				} else if d, ok := reason.Lookup(e.Reason); !ok || d.Text(e.Meta) == "" {
					t.Errorf("reason %s has no text", e.Reason)
				}
				// No button is shown for what would be refused (but for
				// DISSENT, which the input decides: a denial goes through).
				cur, _ := w.books[county].Case(n)
				if slices.Contains(AllowedActions(cur, w.books[county].Events(n), tt.step.actor, county, w.now, w.reg), tt.step.act) && tt.rule != "DISSENT" {
					t.Errorf("%s is allowed to %v", tt.step.act, tt.step.actor)
				}
			case err != nil:
				t.Fatal(err)
			case tt.check != nil:
				tt.check(t, c)
			}
		})
	}
}

// The statutory clocks around the limit, across holidays: §32's five
// working days for the first answer, §44's ten for the delivery, and the
// correction notice's wait (the county's case policy), after which staff
// may close the case as 逾期未补正 without the written request.
func TestStatutoryClocks(t *testing.T) {
	w := newWorld(t)
	day := func(ts interface{ AsTime() time.Time }) string {
		return ts.AsTime().In(registry.CST).Format(time.DateOnly)
	}

	// Filed Friday 26 September 2025: 28 September (a Sunday) is worked,
	// 1 to 8 October are off: the five days are 28, 29, 30 September, 9
	// and 10 October.
	w.now = cst(2025, 9, 26, 10)
	n := w.file(county, tobacco, countyClerk, tobaccoMaterials[:4]...)
	c, _ := w.books[county].Case(n)
	d := Clocks(c, w.books[county].Events(n), w.reg, cst(2025, 10, 10, 17))
	if day(d.GetAcceptanceDue()) != "2025-10-10" || d.GetAcceptanceOverdue() {
		t.Errorf("on 10 October: acceptance due %s, overdue %v", day(d.GetAcceptanceDue()), d.GetAcceptanceOverdue())
	}
	if d := Clocks(c, w.books[county].Events(n), w.reg, cst(2025, 10, 11, 9)); !d.GetAcceptanceOverdue() {
		t.Error("not answered on 11 October: not overdue")
	}
	w.now = cst(2025, 10, 11, 9) // the first answer, a day late
	w.mustDo(county, n, ActionAccept, nil, countyClerk)
	w.mustDo(county, n, sReview.act, sReview.in, sReview.actor)
	w.now = cst(2025, 10, 13, 9) // Monday
	c = w.mustDo(county, n, sApprove.act, sApprove.in, sApprove.actor)
	d = Clocks(c, w.books[county].Events(n), w.reg, cst(2025, 10, 27, 17))
	// Decided 13 October: 14 to 17, 20 to 24, 27 October.
	if !d.GetAcceptanceOverdue() || day(d.GetDeliveryDue()) != "2025-10-27" || d.GetDeliveryOverdue() {
		t.Errorf("on 27 October: acceptance overdue %v, delivery due %s, overdue %v", d.GetAcceptanceOverdue(), day(d.GetDeliveryDue()), d.GetDeliveryOverdue())
	}
	if d := Clocks(c, w.books[county].Events(n), w.reg, cst(2025, 10, 28, 9)); !d.GetDeliveryOverdue() {
		t.Error("not delivered on 28 October: not overdue")
	}

	// A correction notice waits 10 days under the county's policy.
	w.reg.apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_PutCasePolicy{PutCasePolicy: &peerv1.PutCasePolicy{
		Policy: &yizhanv1.CasePolicy{CorrectionWaitDays: 10}}}})
	w.now = cst(2025, 3, 3, 10)
	m := w.file(county, tobacco, countyClerk, tobaccoMaterials[:3]...)
	c = w.mustDo(county, m, ActionRequestCorrection, &req{}, countyClerk)
	if d := Clocks(c, w.books[county].Events(m), w.reg, w.now); day(d.GetCorrectionDue()) != "2025-03-13" {
		t.Errorf("correction due %s, want 2025-03-13", day(d.GetCorrectionDue()))
	}
	w.now = cst(2025, 3, 12, 10)
	_, err := w.do(county, m, ActionWithdraw, &req{Reason: "逾期未补正"}, countyClerk)
	wantField(t, err, "materials")
	w.now = cst(2025, 3, 14, 10)
	if c := w.mustDo(county, m, ActionWithdraw, &req{Reason: "逾期未补正，视为撤回申请"}, countyClerk); c.GetState() != yizhanv1.CaseState_CASE_STATE_WITHDRAWN {
		t.Errorf("closed as 逾期未补正: %s", c.GetState())
	}
	// Recorded as the lapse, so that supervision counts it apart from the
	// withdrawals the citizens asked for; only a staff withdrawal may say so.
	events := w.books[county].Events(m)
	if last := events[len(events)-1]; !last.GetCorrectionLapsed() {
		t.Errorf("the withdrawal for the lapse is not marked correction_lapsed: %v", last)
	}
	if err := checkCitizens(&yizhanv1.CaseEvent{Type: yizhanv1.EventType_EVENT_TYPE_DECIDED, Actor: "approver", CorrectionLapsed: true}); err == nil {
		t.Error("a decision marked correction_lapsed was permitted")
	}
	if err := checkCitizens(&yizhanv1.CaseEvent{Type: yizhanv1.EventType_EVENT_TYPE_WITHDRAWN, Actor: CitizenActor, CorrectionLapsed: true}); err == nil {
		t.Error("the citizen's withdrawal marked correction_lapsed was permitted")
	}
}
