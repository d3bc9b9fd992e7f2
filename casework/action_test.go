package casework

import (
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

type req = yizhanv1.CaseActionRequest

// step is one action of a scripted case.
type step struct {
	act   Action
	in    *req
	actor Actor
}

var (
	sAccept    = step{ActionAccept, nil, countyClerk}
	sCorrect   = step{ActionRequestCorrection, &req{MissingMaterials: []string{"营业执照"}}, countyClerk}
	sSuspend   = step{ActionSuspend, &req{SpecialProcedure: "现场勘查", Reason: "核查"}, countyReview}
	sReview    = step{ActionReview, &req{Agrees: true, Reason: "同意"}, countyReview}
	sApprove   = step{ActionDecide, &req{Approved: true, Reason: "符合条件"}, countyApprove}
	sDeny      = step{ActionDecide, &req{Approved: false, Reason: "不符合布局要求", LegalBasis: "《烟草专卖法实施条例》第十条"}, countyApprove}
	sCertify   = step{ActionCertify, &req{CertificateNumber: "C-1"}, countyClerk}
	sDeliver   = step{ActionDeliver, nil, countyClerk}
	sRefuse    = step{ActionRefuse, &req{Reason: "不属于本机关职权", LegalBasis: "《行政许可法》第三十二条"}, countyClerk}
	sWithdraw  = step{ActionWithdraw, &req{Reason: "不办了"}, citizen}
	sRate      = step{ActionRate, &req{Rating: yizhanv1.Rating_RATING_VERY_SATISFIED, Reason: "窗口服务热情"}, citizen}
	sComplain  = step{ActionComplain, &req{Reason: "窗口工作人员态度生硬"}, citizen}
	caseScript = map[string][]step{
		"filed":      nil,
		"correction": {sCorrect},
		"accepted":   {sAccept},
		"suspended":  {sAccept, sSuspend},
		"reviewed":   {sAccept, sReview},
		"approved":   {sAccept, sReview, sApprove},
		"denied":     {sAccept, sReview, sDeny},
		"certified":  {sAccept, sReview, sApprove, sCertify},
		"delivered":  {sAccept, sReview, sApprove, sCertify, sDeliver},
		"closed":     {sAccept, sReview, sApprove, sCertify, sDeliver}, // and settled
		"rated":      {sAccept, sReview, sApprove, sCertify, sDeliver}, // settled, then rated
		"refused":    {sRefuse},
		"withdrawn":  {sWithdraw},
	}
)

// caseIn files a tobacco case at the county (every step there) and drives
// it to the named state.
func caseIn(t *testing.T, state string) (*world, string) {
	t.Helper()
	w := newWorld(t)
	n := w.file(county, tobacco, countyClerk, tobaccoMaterials[:4]...)
	script, ok := caseScript[state]
	if !ok {
		t.Fatalf("no script for %s", state)
	}
	for _, s := range script {
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

func TestNewEventStateGuards(t *testing.T) {
	tests := []struct {
		name  string
		state string
		step  step
		want  []string
	}{
		{name: "accept during correction", state: "correction", step: sAccept, want: []string{"case is CASE_STATE_CORRECTION_REQUESTED", "resubmission"}},
		{name: "accept twice", state: "accepted", step: sAccept, want: []string{"case is CASE_STATE_ACCEPTED", "accepted already"}},
		{name: "refuse after review", state: "reviewed", step: sRefuse, want: []string{"case is CASE_STATE_REVIEWED"}},
		{name: "correction after approval", state: "approved", step: sCorrect, want: []string{"case is CASE_STATE_APPROVED"}},
		{name: "resubmit without a notice", state: "filed", step: step{ActionResubmit, &req{Materials: submitted("营业执照")}, countyClerk}, want: []string{"case is CASE_STATE_FILED", "no correction notice"}},
		{name: "review before acceptance", state: "filed", step: sReview, want: []string{"case is CASE_STATE_FILED: accept it first"}},
		{name: "review twice", state: "reviewed", step: sReview, want: []string{"case is CASE_STATE_REVIEWED"}},
		{name: "review while suspended", state: "suspended", step: sReview, want: []string{"case is CASE_STATE_ACCEPTED and suspended"}},
		{name: "decide before acceptance", state: "filed", step: sApprove, want: []string{"case is CASE_STATE_FILED: accept it first"}},
		{name: "decide during correction", state: "correction", step: sApprove, want: []string{"case is CASE_STATE_CORRECTION_REQUESTED"}},
		{name: "decide skipping the review step", state: "accepted", step: sApprove, want: []string{"case is CASE_STATE_ACCEPTED: review it first"}},
		{name: "decide while suspended", state: "suspended", step: sApprove, want: []string{"suspended: resume it first"}},
		{name: "decide twice", state: "approved", step: sDeny, want: []string{"case is CASE_STATE_APPROVED"}},
		{name: "decide a refused case", state: "refused", step: sApprove, want: []string{"case is CASE_STATE_REFUSED"}},
		{name: "certify before the decision", state: "reviewed", step: sCertify, want: []string{"case is CASE_STATE_REVIEWED: decide it first"}},
		{name: "certify a denial", state: "denied", step: sCertify, want: []string{"case is CASE_STATE_DENIED"}},
		{name: "certify twice", state: "certified", step: sCertify, want: []string{"case is CASE_STATE_CERTIFIED"}},
		{name: "assess a fee before acceptance", state: "filed", step: step{ActionAssessFee, &req{FeeCents: 100}, countyClerk}, want: []string{"case is CASE_STATE_FILED"}},
		{name: "assess a fee after delivery", state: "delivered", step: step{ActionAssessFee, &req{FeeCents: 100}, countyClerk}, want: []string{"case is CASE_STATE_DELIVERED"}},
		{name: "assess a fee of a refused case", state: "refused", step: step{ActionAssessFee, &req{FeeCents: 100}, countyClerk}, want: []string{"case is CASE_STATE_REFUSED"}},
		{name: "pay without a fee", state: "accepted", step: step{ActionPay, &req{FeeCents: 0, ReceiptNumber: "R"}, countyClerk}, want: []string{"case is CASE_STATE_ACCEPTED", "no fee"}},
		{name: "deliver before the decision", state: "reviewed", step: sDeliver, want: []string{"case is CASE_STATE_REVIEWED: decide it first"}},
		{name: "deliver before certifying", state: "approved", step: sDeliver, want: []string{"case is CASE_STATE_APPROVED: certify it first"}},
		{name: "deliver twice", state: "delivered", step: sDeliver, want: []string{"case is CASE_STATE_DELIVERED"}},
		{name: "withdraw after approval", state: "approved", step: sWithdraw, want: []string{"case is CASE_STATE_APPROVED", "too late"}},
		{name: "withdraw after denial", state: "denied", step: sWithdraw, want: []string{"case is CASE_STATE_DENIED"}},
		{name: "suspend before acceptance", state: "filed", step: sSuspend, want: []string{"case is CASE_STATE_FILED"}},
		{name: "suspend twice", state: "suspended", step: sSuspend, want: []string{"suspended"}},
		{name: "extend after the decision", state: "approved", step: step{ActionExtend, &req{ExtensionDays: 5, Reason: "x"}, countyApprove}, want: []string{"case is CASE_STATE_APPROVED"}},
		{name: "extend while suspended", state: "suspended", step: step{ActionExtend, &req{ExtensionDays: 5, Reason: "x"}, countyApprove}, want: []string{"suspended"}},
		{name: "resume what is not suspended", state: "accepted", step: step{ActionResume, nil, countyReview}, want: []string{"case is CASE_STATE_ACCEPTED: it is not suspended"}},
		{name: "opinion on an item that is not joint", state: "accepted", step: step{ActionGiveOpinion, &req{DepartmentCode: "sw", Reason: "同意"}, taxReviewer}, want: []string{"case is CASE_STATE_ACCEPTED", "no opinion pending"}},
		{name: "opinion before acceptance", state: "filed", step: step{ActionGiveOpinion, &req{DepartmentCode: "sw", Reason: "同意"}, taxReviewer}, want: []string{"case is CASE_STATE_FILED"}},
		{name: "anything after closing", state: "closed", step: sDeliver, want: []string{"case is CASE_STATE_CLOSED"}},
		{name: "withdraw after closing", state: "closed", step: sWithdraw, want: []string{"case is CASE_STATE_CLOSED"}},
		{name: "anything after withdrawal", state: "withdrawn", step: sAccept, want: []string{"case is CASE_STATE_WITHDRAWN"}},
		{name: "resume after withdrawal", state: "withdrawn", step: step{ActionResume, nil, countyReview}, want: []string{"case is CASE_STATE_WITHDRAWN"}},
		{name: "rate a filed case", state: "filed", step: sRate, want: []string{"case is CASE_STATE_FILED", "only a closed case can be rated"}},
		{name: "rate an accepted case", state: "accepted", step: sRate, want: []string{"case is CASE_STATE_ACCEPTED", "only a closed case"}},
		{name: "rate before closing", state: "delivered", step: sRate, want: []string{"case is CASE_STATE_DELIVERED", "only a closed case"}},
		{name: "rate a refused case before delivery", state: "refused", step: sRate, want: []string{"case is CASE_STATE_REFUSED"}},
		{name: "rate a withdrawn case", state: "withdrawn", step: sRate, want: []string{"case is CASE_STATE_WITHDRAWN", "only a closed case"}},
		{name: "rate twice", state: "rated", step: sRate, want: []string{"case is CASE_STATE_CLOSED", "rated already", "RATING_VERY_SATISFIED"}},
		{name: "rate twice, differently", state: "rated", step: step{ActionRate, &req{Rating: yizhanv1.Rating_RATING_DISSATISFIED, Reason: "改主意了"}, citizen}, want: []string{"rated already"}},
		{name: "anything after rating", state: "rated", step: sDeliver, want: []string{"case is CASE_STATE_CLOSED"}},
		{name: "withdraw after rating", state: "rated", step: sWithdraw, want: []string{"case is CASE_STATE_CLOSED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, n := caseIn(t, tt.state)
			before := w.books[county].Events(n)
			_, err := w.do(county, n, tt.step.act, tt.step.in, tt.step.actor)
			wantErr(t, err, ErrFailedPrecondition, tt.want...)
			if after := w.books[county].Events(n); len(after) != len(before) {
				t.Errorf("a refused action appended an event")
			}
		})
	}
}

func TestNewEventWrongOffice(t *testing.T) {
	w, n := caseIn(t, "filed")
	c, _ := w.books[county].Case(n)
	_, err := NewEvent(c, nil, ActionAccept, nil, townClerk, township, w.tick(), w.reg)
	wantErr(t, err, ErrFailedPrecondition, "held by office "+county)

	_, err = NewEvent(nil, nil, ActionAccept, nil, countyClerk, county, w.tick(), w.reg)
	wantErr(t, err, ErrNotFound)

	for _, a := range []Action{ActionForward, ActionReceive, ActionClose, ActionUnspecified, Action(99)} {
		_, err := NewEvent(c, nil, a, nil, countyClerk, county, w.tick(), w.reg)
		wantErr(t, err, ErrPermissionDenied, a.String())
	}
}

func TestNewEventRoles(t *testing.T) {
	countyAgent := Actor{Username: "county.agent", Office: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_AGENT}}
	admin := Actor{Username: "county.admin", Office: county, Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_ADMIN}}
	tests := []struct {
		name  string
		state string
		step  step
		ok    bool
	}{
		{name: "accept by a reviewer", state: "filed", step: step{ActionAccept, nil, countyReview}},
		{name: "accept by an admin", state: "filed", step: step{ActionAccept, nil, admin}},
		{name: "accept by the citizen", state: "filed", step: step{ActionAccept, nil, citizen}},
		{name: "accept by an agent at the county (of no department)", state: "filed", step: step{ActionAccept, nil, countyAgent}},
		{name: "refuse by an approver", state: "filed", step: step{ActionRefuse, sRefuse.in, countyApprove}},
		{name: "correction by a reviewer", state: "filed", step: step{ActionRequestCorrection, sCorrect.in, countyReview}},
		{name: "resubmit by the citizen", state: "correction", step: step{ActionResubmit, &req{Materials: submitted("营业执照")}, citizen}},
		{name: "review by a clerk", state: "accepted", step: step{ActionReview, nil, countyClerk}},
		{name: "review by an approver", state: "accepted", step: step{ActionReview, nil, countyApprove}},
		{name: "decide by a reviewer", state: "reviewed", step: step{ActionDecide, sApprove.in, countyReview}},
		{name: "certify by an approver", state: "approved", step: step{ActionCertify, sCertify.in, countyApprove}},
		{name: "assess a fee by a reviewer", state: "accepted", step: step{ActionAssessFee, &req{FeeCents: 100}, countyReview}},
		{name: "deliver by an approver", state: "certified", step: step{ActionDeliver, nil, countyApprove}},
		{name: "deliver by an agent", state: "certified", step: step{ActionDeliver, nil, countyAgent}, ok: true},
		{name: "suspend by a clerk", state: "accepted", step: step{ActionSuspend, sSuspend.in, countyClerk}},
		{name: "suspend by an approver", state: "accepted", step: step{ActionSuspend, sSuspend.in, countyApprove}, ok: true},
		{name: "extend by a clerk", state: "accepted", step: step{ActionExtend, &req{ExtensionDays: 3, Reason: "x"}, countyClerk}},
		{name: "extend by an approver", state: "accepted", step: step{ActionExtend, &req{ExtensionDays: 3, Reason: "x"}, countyApprove}},
		{name: "extend by the head of the department", state: "accepted", step: step{ActionExtend, &req{ExtensionDays: 3, Reason: "现场核查需要"}, countyHead}, ok: true},
		{name: "resume by a clerk", state: "suspended", step: step{ActionResume, nil, countyClerk}},
		{name: "withdraw by a reviewer", state: "accepted", step: step{ActionWithdraw, &req{Reason: "x"}, countyReview}},
		{name: "withdraw by a clerk", state: "accepted", step: step{ActionWithdraw, &req{Reason: "申请人书面撤回", Materials: submitted(WithdrawalRequest)}, countyClerk}, ok: true},
		{name: "withdraw by the citizen", state: "accepted", step: step{ActionWithdraw, &req{Reason: "不办了"}, citizen}, ok: true},
		{name: "rate by a clerk", state: "closed", step: step{ActionRate, sRate.in, countyClerk}},
		{name: "rate by an approver", state: "closed", step: step{ActionRate, sRate.in, countyApprove}},
		{name: "rate by an admin", state: "closed", step: step{ActionRate, sRate.in, admin}},
		{name: "rate by the citizen", state: "closed", step: sRate, ok: true},
		{name: "complain by a clerk", state: "accepted", step: step{ActionComplain, sComplain.in, countyClerk}},
		{name: "complain by an agent", state: "filed", step: step{ActionComplain, sComplain.in, countyAgent}},
		{name: "complain by the citizen", state: "accepted", step: sComplain, ok: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, n := caseIn(t, tt.state)
			_, err := w.do(county, n, tt.step.act, tt.step.in, tt.step.actor)
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			wantErr(t, err, ErrPermissionDenied, tt.step.act.String())
		})
	}
}

func TestGiveOpinionDepartment(t *testing.T) {
	w := newWorld(t)
	n := w.file(county, joint, scjgClerk, "食品经营许可申请书", "营业执照")
	w.mustDo(county, n, ActionAccept, nil, scjgClerk)
	// A reviewer of 烟草 cannot speak for 税务.
	_, err := w.do(county, n, ActionGiveOpinion, &req{DepartmentCode: "sw", Reason: "同意"}, countyReview)
	wantErr(t, err, ErrPermissionDenied, `"sw"`)
	// A clerk of 税务 has no opinion to give either.
	swClerk := Actor{Username: "sw.clerk", Office: county, Department: "sw", Roles: []yizhanv1.Role{yizhanv1.Role_ROLE_CLERK}}
	_, err = w.do(county, n, ActionGiveOpinion, &req{DepartmentCode: "sw", Reason: "同意"}, swClerk)
	wantErr(t, err, ErrPermissionDenied)
	c := w.mustDo(county, n, ActionGiveOpinion, &req{DepartmentCode: "sw", Reason: "同意", Agrees: true}, taxReviewer)
	if !slices.Equal(c.GetOpinionsPending(), []string{"xf"}) {
		t.Errorf("pending %v", c.GetOpinionsPending())
	}
	events := w.books[county].Events(n)
	last := events[len(events)-1]
	if last.GetDepartmentCode() != "sw" || !last.GetAgrees() || last.GetReason() != "同意" || last.GetActor() != "sw.reviewer" {
		t.Errorf("opinion event %v", last)
	}
}

func TestNewEventRights(t *testing.T) {
	t.Run("village agent may not accept a county item", func(t *testing.T) {
		w := newWorld(t)
		n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
		for _, s := range []step{{ActionAccept, nil, eastAgent}, {ActionRefuse, sRefuse.in, eastAgent}, {ActionRequestCorrection, sCorrect.in, eastAgent}} {
			_, err := w.do(village, n, s.act, s.in, s.actor)
			wantErr(t, err, ErrPermissionDenied, "RIGHT_ACCEPT", village)
		}
	})
	t.Run("the relaying township holds no right", func(t *testing.T) {
		w := newWorld(t)
		n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
		w.autos()   // village forwards
		w.deliver() // township receives the handoff
		w.autos()   // township appends RECEIVED (and nothing else yet)
		c, _ := w.books[township].Case(n)
		if c.GetOwnerOffice() != township {
			t.Fatalf("owner %s", c.GetOwnerOffice())
		}
		_, err := NewEvent(c, nil, ActionAccept, nil, townClerk, township, w.tick(), w.reg)
		wantErr(t, err, ErrPermissionDenied, "RIGHT_ACCEPT")
		// What the office holding the case does for it, not for the item,
		// needs no grant (needPath): the citizen's complaint is taken.
		if _, err = NewEvent(c, nil, ActionComplain, sComplain.in, citizen, township, w.tick(), w.reg); err != nil {
			t.Errorf("the citizen's complaint at the relaying township: %v", err)
		}
	})
	t.Run("a grant that expired", func(t *testing.T) {
		w := newWorld(t)
		// The township may accept tobacco licences filed at its villages
		// until 10 March 2025.
		w.reg.grant(&yizhanv1.Grant{ItemCode: tobacco, OfficeCode: township, Rights: []yizhanv1.Right{right.accept}, ValidUntil: ts(cst(2025, 3, 10, 0))})
		n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
		w.settle()
		c, _ := w.books[township].Case(n)
		if c.GetOwnerOffice() != township {
			t.Fatalf("owner %s, want the township (ACCEPT office)", c.GetOwnerOffice())
		}
		_, err := NewEvent(c, nil, ActionAccept, nil, townClerk, township, cst(2025, 3, 10, 9), w.reg)
		wantErr(t, err, ErrPermissionDenied, "RIGHT_ACCEPT")
		if _, err := NewEvent(c, nil, ActionAccept, nil, townClerk, township, cst(2025, 3, 7, 9), w.reg); err != nil {
			t.Errorf("accept while the grant ran: %v", err)
		}
	})
}

func TestNewEventFields(t *testing.T) {
	tests := []struct {
		name  string
		state string
		step  step
		field string
	}{
		{name: "refuse without reason", state: "filed", step: step{ActionRefuse, &req{LegalBasis: "x"}, countyClerk}, field: "reason"},
		{name: "refuse without legal basis", state: "filed", step: step{ActionRefuse, &req{Reason: "x"}, countyClerk}, field: "legal_basis"},
		{name: "refuse with blank reason", state: "filed", step: step{ActionRefuse, &req{Reason: "  ", LegalBasis: "x"}, countyClerk}, field: "reason"},
		{name: "approve without reason", state: "reviewed", step: step{ActionDecide, &req{Approved: true}, countyApprove}, field: "reason"},
		{name: "deny without reason", state: "reviewed", step: step{ActionDecide, &req{}, countyApprove}, field: "reason"},
		{name: "correction naming nothing", state: "filed", step: step{ActionRequestCorrection, &req{}, countyClerk}, field: "missing_materials"},
		{name: "correction naming an unknown material", state: "filed", step: step{ActionRequestCorrection, &req{MissingMaterials: []string{"营业执照", "户口簿"}}, countyClerk}, field: "missing_materials[1]"},
		{name: "correction naming a material twice", state: "filed", step: step{ActionRequestCorrection, &req{MissingMaterials: []string{"营业执照", "委托书", "营业执照"}}, countyClerk}, field: "missing_materials[2]"},
		{name: "resubmit nothing", state: "correction", step: step{ActionResubmit, &req{}, countyClerk}, field: "materials"},
		{name: "resubmit an unknown material", state: "correction", step: step{ActionResubmit, &req{Materials: submitted("户口簿")}, countyClerk}, field: "materials[0].name"},
		{name: "certify without number", state: "approved", step: step{ActionCertify, &req{}, countyClerk}, field: "certificate_number"},
		{name: "negative fee", state: "accepted", step: step{ActionAssessFee, &req{FeeCents: -1}, countyClerk}, field: "fee_cents"},
		{name: "extend by 0 days", state: "accepted", step: step{ActionExtend, &req{Reason: "x"}, countyHead}, field: "extension_days"},
		{name: "extend beyond §42's 10 days", state: "accepted", step: step{ActionExtend, &req{ExtensionDays: 11, Reason: "x"}, countyHead}, field: "extension_days"},
		{name: "extend without reason", state: "accepted", step: step{ActionExtend, &req{ExtensionDays: 10}, countyHead}, field: "reason"},
		{name: "suspend without procedure", state: "accepted", step: step{ActionSuspend, &req{Reason: "x"}, countyApprove}, field: "special_procedure"},
		{name: "suspend for a procedure the item lacks", state: "accepted", step: step{ActionSuspend, &req{SpecialProcedure: "专家评审", Reason: "x"}, countyApprove}, field: "special_procedure"},
		{name: "suspend without reason", state: "accepted", step: step{ActionSuspend, &req{SpecialProcedure: "听证"}, countyApprove}, field: "reason"},
		{name: "withdraw without reason", state: "accepted", step: step{ActionWithdraw, &req{}, citizen}, field: "reason"},
		{name: "rate without a rating", state: "closed", step: step{ActionRate, &req{Reason: "好"}, citizen}, field: "rating"},
		{name: "rate with an unknown rating", state: "closed", step: step{ActionRate, &req{Rating: 9, Reason: "好"}, citizen}, field: "rating"},
		{name: "rate 不满意 without a comment", state: "closed", step: step{ActionRate, &req{Rating: yizhanv1.Rating_RATING_DISSATISFIED}, citizen}, field: "reason"},
		{name: "rate 非常不满意 with a blank comment", state: "closed", step: step{ActionRate, &req{Rating: yizhanv1.Rating_RATING_VERY_DISSATISFIED, Reason: "  "}, citizen}, field: "reason"},
		{name: "complain without reason", state: "accepted", step: step{ActionComplain, &req{}, citizen}, field: "reason"},
		{name: "complain with a blank reason", state: "closed", step: step{ActionComplain, &req{Reason: " \n "}, citizen}, field: "reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, n := caseIn(t, tt.state)
			_, err := w.do(county, n, tt.step.act, tt.step.in, tt.step.actor)
			wantField(t, err, tt.field)
		})
	}
	t.Run("opinion fields", func(t *testing.T) {
		w := newWorld(t)
		n := w.file(county, joint, scjgClerk, "食品经营许可申请书", "营业执照")
		w.mustDo(county, n, ActionAccept, nil, scjgClerk)
		_, err := w.do(county, n, ActionGiveOpinion, &req{DepartmentCode: "sw"}, taxReviewer)
		wantField(t, err, "reason")
		_, err = w.do(county, n, ActionGiveOpinion, &req{Reason: "同意"}, taxReviewer)
		wantField(t, err, "department_code")
	})
}

func TestNewEventFields_pay(t *testing.T) {
	w, n := caseIn(t, "accepted")
	w.mustDo(county, n, ActionAssessFee, &req{FeeCents: 2500}, countyClerk)
	_, err := w.do(county, n, ActionPay, &req{FeeCents: 2500}, countyClerk)
	wantField(t, err, "receipt_number")
	_, err = w.do(county, n, ActionPay, &req{FeeCents: 2000, ReceiptNumber: "R-9"}, countyClerk)
	wantField(t, err, "fee_cents")
	c := w.mustDo(county, n, ActionPay, &req{FeeCents: 2500, ReceiptNumber: "R-9"}, countyClerk)
	if !c.GetFeePaid() {
		t.Error("not paid")
	}
	_, err = w.do(county, n, ActionPay, &req{FeeCents: 2500, ReceiptNumber: "R-10"}, countyClerk)
	wantErr(t, err, ErrFailedPrecondition, "paid already")
	_, err = w.do(county, n, ActionAssessFee, &req{FeeCents: 3000}, countyClerk)
	wantErr(t, err, ErrFailedPrecondition, "paid already")
}

func TestFeeBlocksDelivery(t *testing.T) {
	w := newWorld(t)
	n := w.file(county, immediate, mzClerk, "居民身份证")
	w.mustDo(county, n, ActionAccept, nil, mzClerk)
	// The fee defaults to the item's: 10 yuan.
	c := w.mustDo(county, n, ActionAssessFee, nil, mzClerk)
	if c.GetFeeCents() != 1000 {
		t.Fatalf("assessed %d fen, want the item's 1000", c.GetFeeCents())
	}
	w.mustDo(county, n, ActionReview, &req{Agrees: true, Reason: "同意"}, mzReviewer)
	w.mustDo(county, n, ActionDecide, &req{Approved: true, Reason: "出具证明"}, mzApprover)
	w.mustDo(county, n, ActionCertify, &req{CertificateNumber: "Z-1"}, mzClerk)
	_, err := w.do(county, n, ActionDeliver, nil, mzClerk)
	wantErr(t, err, ErrFailedPrecondition, "case is CASE_STATE_CERTIFIED", "fee of 1000 fen unpaid")
	w.mustDo(county, n, ActionPay, &req{FeeCents: 1000, ReceiptNumber: "财-0001"}, mzClerk)
	c = w.mustDo(county, n, ActionDeliver, nil, mzClerk)
	wantState(t, c, yizhanv1.CaseState_CASE_STATE_DELIVERED)
}

func TestOneTimeNotice(t *testing.T) {
	w := newWorld(t)
	it := w.reg.item(tobacco)
	n := w.file(village, tobacco, eastAgent, "营业执照", "委托书")
	w.settle()
	events := w.books[county].Events(n)
	missing := MissingMaterials(it, events[0].GetMaterials())
	want := []string{"烟草专卖零售许可证申请表", "经营者身份证明", "经营场所使用证明"}
	if !slices.Equal(missing, want) {
		t.Fatalf("MissingMaterials = %v, want %v (the conditional 委托书 is not required)", missing, want)
	}
	c := w.mustDo(county, n, ActionRequestCorrection, &req{MissingMaterials: missing, Reason: "请一次性补齐"}, countyClerk)
	if !slices.Equal(c.GetMissingMaterials(), want) {
		t.Errorf("the notice lists %v", c.GetMissingMaterials())
	}
	events = w.books[county].Events(n)
	notices := 0
	for _, e := range events {
		if e.GetType() == yizhanv1.EventType_EVENT_TYPE_CORRECTION_REQUESTED {
			notices++
			if !slices.Equal(e.GetMissingMaterials(), want) {
				t.Errorf("the notice event lists %v", e.GetMissingMaterials())
			}
		}
	}
	if notices != 1 {
		t.Errorf("%d notices, want one", notices)
	}
	// While the notice is open the case waits at the county for the citizen.
	if _, _, ok := w.books[county].Pending(n); ok {
		t.Error("the county wants to act by itself on an open notice")
	}
	c = w.mustDo(county, n, ActionResubmit, &req{Materials: submitted(missing...)}, countyClerk)
	if len(c.GetMissingMaterials()) != 0 || len(MissingMaterials(it, c.GetMaterials())) != 0 {
		t.Errorf("after resubmission missing %v, materials %v", c.GetMissingMaterials(), c.GetMaterials())
	}
	if MissingMaterials(it, nil) == nil || len(MissingMaterials(it, submitted(tobaccoMaterials...))) != 0 {
		t.Error("MissingMaterials of nothing or everything is wrong")
	}
}

func TestNewFiling(t *testing.T) {
	reg := newReg(t)
	yc := reg.item(tobacco)
	good := func() FileInput {
		return FileInput{
			Number: CaseNumber(village, t0, 1), QueryCode: "731942", Item: yc, Office: village,
			Applicant: applicant(), Materials: submitted(tobaccoMaterials[:4]...), Actor: eastAgent, At: t0,
		}
	}
	e, err := NewFiling(good(), reg)
	if err != nil {
		t.Fatal(err)
	}
	f := e.GetFiling()
	if e.GetSeq() != 1 || e.GetType() != yizhanv1.EventType_EVENT_TYPE_FILED || e.GetOfficeCode() != village || e.GetActor() != "east.agent" || len(e.GetHash()) != 0 {
		t.Errorf("event %v", e)
	}
	if f.GetNumber() != "450122101203-20250303-0001" || f.GetItemVersion() != 1 || f.GetStatutoryLimitDays() != 20 || f.GetPromisedLimitDays() != 10 ||
		f.GetOriginOffice() != village || f.GetDepartmentCode() != "yc" || f.GetCaseKind() != yizhanv1.CaseKind_CASE_KIND_PROMISED ||
		string(f.GetQueryCodeHash()) != string(QueryCodeHash("731942")) || f.GetOnline() || len(f.GetRoute()) != 5 || len(f.GetGrantIds()) != 2 {
		t.Errorf("filing %v", f)
	}
	if f.GetApplicant().GetIdNumber() != applicant().GetIdNumber() {
		t.Errorf("applicant %v", f.GetApplicant())
	}

	online := good()
	online.Actor = citizen
	if e, err := NewFiling(online, reg); err != nil || !e.GetFiling().GetOnline() || e.GetActor() != CitizenActor {
		t.Errorf("online filing: %v, %v", e, err)
	}

	tests := []struct {
		name     string
		change   func(*FileInput)
		field    string
		sentinel error
	}{
		{name: "no applicant name", change: func(in *FileInput) { in.Applicant.Name = " " }, field: "applicant.name"},
		{name: "no applicant", change: func(in *FileInput) { in.Applicant = nil }, field: "applicant.id_number"},
		{name: "bad id number", change: func(in *FileInput) { in.Applicant.IdNumber = "450122198506123010" + "0" }, field: "applicant.id_number"},
		{name: "wrong check digit", change: func(in *FileInput) { in.Applicant.IdNumber = wrongCheckDigit(in.Applicant.IdNumber) }, field: "applicant.id_number"},
		{name: "credit code mistyped", change: func(in *FileInput) { in.Applicant.CreditCode = "91350100M000100Y44" }, field: "applicant.credit_code"},
		{name: "bad phone", change: func(in *FileInput) { in.Applicant.Phone = "12345" }, field: "applicant.phone"},
		{name: "unknown material", change: func(in *FileInput) { in.Materials[2].Name = "户口簿" }, field: "materials[2].name"},
		{name: "material twice", change: func(in *FileInput) { in.Materials[3].Name = in.Materials[0].Name }, field: "materials[3].name"},
		{name: "no query code", change: func(in *FileInput) { in.QueryCode = "" }, field: "query_code"},
		{name: "another office's number", change: func(in *FileInput) { in.Number = CaseNumber(village2, t0, 1) }, field: "number"},
		{name: "no number", change: func(in *FileInput) { in.Number = "" }, field: "number"},
		{name: "no item", change: func(in *FileInput) { in.Item = nil }, field: "item_code"},
		{name: "office not a code", change: func(in *FileInput) { in.Office = "east"; in.Actor.Office = "east" }, field: "office_code"},
		{name: "a reviewer may not file", change: func(in *FileInput) { in.Actor = countyReview; in.Office = county }, sentinel: ErrPermissionDenied},
		{name: "an agent files at their own office only", change: func(in *FileInput) { in.Actor = westAgent }, sentinel: ErrPermissionDenied},
		{name: "the township may not take in tobacco licences", change: func(in *FileInput) {
			in.Office, in.Actor, in.Number = township, townClerk, CaseNumber(township, t0, 1)
		}, sentinel: ErrPermissionDenied},
		{name: "before the grants", change: func(in *FileInput) { in.At = regAt.AddDate(0, 0, -1) }, sentinel: ErrPermissionDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := good()
			tt.change(&in)
			_, err := NewFiling(in, reg)
			if tt.sentinel != nil {
				wantErr(t, err, tt.sentinel)
				return
			}
			wantField(t, err, tt.field)
		})
	}

	t.Run("all field problems at once", func(t *testing.T) {
		in := good()
		in.Applicant = &yizhanv1.Applicant{}
		_, err := NewFiling(in, reg)
		for _, f := range []string{"applicant.name", "applicant.id_number", "applicant.phone"} {
			wantField(t, err, f)
		}
	})

	t.Run("no route", func(t *testing.T) {
		it := reg.item(tobacco)
		it.Code = "NOAPPROVE"
		reg.apply(createItemCmd(it))
		reg.grant(&yizhanv1.Grant{ItemCode: "NOAPPROVE", Tier: yizhanv1.Tier_TIER_VILLAGE, Rights: []yizhanv1.Right{right.proxy, right.deliver}})
		reg.grant(&yizhanv1.Grant{ItemCode: "NOAPPROVE", OfficeCode: county, Rights: []yizhanv1.Right{right.accept}})
		in := good()
		in.Item = reg.item("NOAPPROVE")
		_, err := NewFiling(in, reg)
		wantErr(t, err, ErrNoRoute, "RIGHT_APPROVE")
	})
}

func wrongCheckDigit(id string) string {
	if id[17] == '0' {
		return id[:17] + "1"
	}
	return id[:17] + "0"
}

func TestRate(t *testing.T) {
	for _, tt := range []struct {
		rating  yizhanv1.Rating
		comment string
	}{
		{yizhanv1.Rating_RATING_VERY_SATISFIED, ""},
		{yizhanv1.Rating_RATING_SATISFIED, "办事快"},
		{yizhanv1.Rating_RATING_BASICALLY_SATISFIED, ""},
		{yizhanv1.Rating_RATING_DISSATISFIED, "跑了两趟"},
		{yizhanv1.Rating_RATING_VERY_DISSATISFIED, "  等了一上午  "},
	} {
		t.Run(tt.rating.String(), func(t *testing.T) {
			w, n := caseIn(t, "closed")
			before, _ := w.books[county].Case(n)
			c := w.mustDo(county, n, ActionRate, &req{Rating: tt.rating, Reason: tt.comment}, citizen)
			wantState(t, c, stClosed)
			if c.GetRating() != tt.rating || c.GetRatingComment() != strings.TrimSpace(tt.comment) {
				t.Errorf("rating %s %q, want %s %q", c.GetRating(), c.GetRatingComment(), tt.rating, strings.TrimSpace(tt.comment))
			}
			if c.GetLastSeq() != before.GetLastSeq()+1 || c.GetOwnerOffice() != before.GetOwnerOffice() {
				t.Errorf("seq %d owner %s after rating, was %d %s", c.GetLastSeq(), c.GetOwnerOffice(), before.GetLastSeq(), before.GetOwnerOffice())
			}
			events := w.books[county].Events(n)
			last := events[len(events)-1]
			if last.GetType() != yizhanv1.EventType_EVENT_TYPE_RATED || last.GetActor() != CitizenActor || last.GetRating() != tt.rating || last.GetOfficeCode() != county {
				t.Errorf("rated event %v", last)
			}
			if _, _, ok := w.books[county].Pending(n); ok {
				t.Error("a rated case asks the office to act")
			}
		})
	}
}

func TestComplainInAnyState(t *testing.T) {
	for state := range caseScript {
		t.Run(state, func(t *testing.T) {
			w, n := caseIn(t, state)
			before, _ := w.books[county].Case(n)
			pendingBefore := w.books[county].NeedsAction()
			c := w.mustDo(county, n, sComplain.act, sComplain.in, sComplain.actor)
			if c.GetState() != before.GetState() || c.GetSuspended() != before.GetSuspended() || c.GetRating() != before.GetRating() {
				t.Errorf("a complaint changed the case: %s → %s", before.GetState(), c.GetState())
			}
			if c.GetComplaints() != 1 {
				t.Errorf("complaints %d, want 1", c.GetComplaints())
			}
			c = w.mustDo(county, n, ActionComplain, &req{Reason: "仍未答复"}, citizen)
			if c.GetComplaints() != 2 {
				t.Errorf("complaints %d after the second, want 2", c.GetComplaints())
			}
			if got := w.books[county].NeedsAction(); !slices.Equal(got, pendingBefore) {
				t.Errorf("NeedsAction %v after complaints, was %v", got, pendingBefore)
			}
		})
	}
}

// A fee standard with a unit (计费单位: 10 元 per 份) is charged by the
// units the assessment names; a correction before payment is its own
// event with the reason, to another number of units or to none (免收);
// the amount is the standard's either way, and an assessment is once per
// case even after a correction to none.
func TestFeeUnitsAndCorrections(t *testing.T) {
	w := newWorld(t)
	it := proto.CloneOf(w.reg.item(immediate))
	it.FeeUnit, it.FeeStandard = "份", "每份 10 元"
	w.reg.apply(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_UpdateItem{UpdateItem: &peerv1.UpdateItem{Item: it, BaseVersion: it.GetVersion()}}})
	n := w.file(county, immediate, mzClerk, "居民身份证")
	w.mustDo(county, n, ActionAccept, nil, mzClerk)

	_, err := w.do(county, n, ActionAssessFee, nil, mzClerk)
	wantField(t, err, "fee_units")
	_, err = w.do(county, n, ActionAssessFee, &req{FeeUnits: 3, FeeCents: 1000}, mzClerk)
	wantField(t, err, "fee_cents")
	_, err = w.do(county, n, ActionAssessFee, &req{FeeUnits: MaxFeeUnits + 1}, mzClerk)
	wantField(t, err, "fee_units")
	c := w.mustDo(county, n, ActionAssessFee, &req{FeeUnits: 3}, mzClerk)
	if c.GetFeeCents() != 3000 || c.GetFeeUnits() != 3 || !c.GetFeeAssessed() {
		t.Fatalf("assessed %d fen for %d units, want 3000 for 3", c.GetFeeCents(), c.GetFeeUnits())
	}

	_, err = w.do(county, n, ActionCorrectFee, &req{FeeUnits: 2}, mzClerk)
	wantField(t, err, "reason")
	_, err = w.do(county, n, ActionCorrectFee, &req{FeeUnits: 3, Reason: "复核"}, mzClerk)
	wantField(t, err, "fee_units")
	c = w.mustDo(county, n, ActionCorrectFee, &req{FeeUnits: 2, Reason: "申请人只需 2 份，数量有误"}, mzClerk)
	if c.GetFeeCents() != 2000 || c.GetFeeUnits() != 2 {
		t.Errorf("corrected to %d fen for %d units, want 2000 for 2", c.GetFeeCents(), c.GetFeeUnits())
	}
	events := w.books[county].Events(n)
	last := events[len(events)-1]
	if last.GetType() != yizhanv1.EventType_EVENT_TYPE_FEE_CORRECTED || last.GetPreviousFeeCents() != 3000 || last.GetFeeCents() != 2000 || last.GetReason() == "" {
		t.Errorf("the correction's event: %v", last)
	}
	c = w.mustDo(county, n, ActionCorrectFee, &req{Reason: "依法免收"}, mzClerk)
	if c.GetFeeCents() != 0 || unpaid(c) {
		t.Errorf("waived: %d fen, unpaid %v", c.GetFeeCents(), unpaid(c))
	}
	_, err = w.do(county, n, ActionAssessFee, &req{FeeUnits: 1}, mzClerk)
	wantErr(t, err, ErrFailedPrecondition, "once per case")
	_, err = w.do(county, n, ActionCorrectFee, &req{FeeUnits: 1, Reason: "又要收"}, mzClerk)
	wantErr(t, err, ErrFailedPrecondition, "no fee is due")

	// Paid is final: no correction after.
	m := w.file(county, immediate, mzClerk, "居民身份证")
	w.mustDo(county, m, ActionAccept, nil, mzClerk)
	w.mustDo(county, m, ActionAssessFee, &req{FeeUnits: 1}, mzClerk)
	w.mustDo(county, m, ActionPay, &req{FeeCents: 1000, ReceiptNumber: "财-0002"}, mzClerk)
	_, err = w.do(county, m, ActionCorrectFee, &req{Reason: "免收"}, mzClerk)
	wantErr(t, err, ErrFailedPrecondition, "paid already")
}

// Without a unit the fee is charged once: an assessment names 1 unit or
// none, a correction 0 (免收) or 1.
func TestFeeWithoutAUnit(t *testing.T) {
	w, n := caseIn(t, "accepted")
	_, err := w.do(county, n, ActionAssessFee, &req{FeeUnits: 2}, countyClerk)
	wantField(t, err, "fee_units")
	c := w.mustDo(county, n, ActionAssessFee, nil, countyClerk)
	if c.GetFeeCents() != 2500 || c.GetFeeUnits() != 1 {
		t.Fatalf("assessed %d fen for %d units, want 2500 for 1", c.GetFeeCents(), c.GetFeeUnits())
	}
	_, err = w.do(county, n, ActionCorrectFee, &req{FeeUnits: 2, Reason: "多收"}, countyClerk)
	wantField(t, err, "fee_units")
	_, err = w.do(county, n, ActionCorrectFee, &req{FeeUnits: 1, Reason: "复核"}, countyClerk)
	wantField(t, err, "fee_units")
	if c := w.mustDo(county, n, ActionCorrectFee, &req{Reason: "符合减免政策，免收"}, countyClerk); c.GetFeeCents() != 0 {
		t.Errorf("waived: %d fen", c.GetFeeCents())
	}
}
