package casework

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

func TestFoldLifecycle(t *testing.T) {
	w := newWorld(t)
	n := w.file(county, tobacco, countyClerk, tobaccoMaterials[0], tobaccoMaterials[1])
	steps := []struct {
		name  string
		act   Action
		in    *yizhanv1.CaseActionRequest
		actor Actor
		check func(t *testing.T, c *yizhanv1.Case)
	}{
		{name: "correction requested", act: ActionRequestCorrection, actor: countyClerk,
			in: &yizhanv1.CaseActionRequest{MissingMaterials: tobaccoMaterials[2:4]},
			check: func(t *testing.T, c *yizhanv1.Case) {
				wantState(t, c, yizhanv1.CaseState_CASE_STATE_CORRECTION_REQUESTED)
				if !slices.Equal(c.GetMissingMaterials(), tobaccoMaterials[2:4]) {
					t.Errorf("missing materials %v", c.GetMissingMaterials())
				}
			}},
		{name: "resubmitted", act: ActionResubmit, actor: countyClerk,
			in: &yizhanv1.CaseActionRequest{Materials: append(submitted(tobaccoMaterials[2:4]...), &yizhanv1.SubmittedMaterial{Name: tobaccoMaterials[1], Copies: 2, Note: "换新"})},
			check: func(t *testing.T, c *yizhanv1.Case) {
				wantState(t, c, yizhanv1.CaseState_CASE_STATE_FILED)
				if len(c.GetMissingMaterials()) != 0 {
					t.Errorf("the notice is still open: %v", c.GetMissingMaterials())
				}
				var names []string
				for _, m := range c.GetMaterials() {
					names = append(names, m.GetName())
				}
				if !slices.Equal(names, tobaccoMaterials[:4]) || c.GetMaterials()[1].GetCopies() != 2 {
					t.Errorf("materials %v, want the four with 营业执照 replaced", c.GetMaterials())
				}
			}},
		{name: "accepted", act: ActionAccept, actor: countyClerk,
			check: func(t *testing.T, c *yizhanv1.Case) {
				wantState(t, c, yizhanv1.CaseState_CASE_STATE_ACCEPTED)
				if len(c.GetOpinionsPending()) != 0 {
					t.Errorf("a promised item has opinions pending: %v", c.GetOpinionsPending())
				}
			}},
		{name: "suspended", act: ActionSuspend, actor: countyReview,
			in: &yizhanv1.CaseActionRequest{SpecialProcedure: "现场勘查", Reason: "核查经营场所"},
			check: func(t *testing.T, c *yizhanv1.Case) {
				wantState(t, c, yizhanv1.CaseState_CASE_STATE_ACCEPTED)
				if !c.GetSuspended() {
					t.Error("not suspended")
				}
			}},
		{name: "resumed", act: ActionResume, actor: countyReview,
			check: func(t *testing.T, c *yizhanv1.Case) {
				if c.GetSuspended() {
					t.Error("still suspended")
				}
			}},
		{name: "reviewed", act: ActionReview, actor: countyReview, in: &yizhanv1.CaseActionRequest{Reason: "材料齐全", Agrees: true},
			check: func(t *testing.T, c *yizhanv1.Case) { wantState(t, c, yizhanv1.CaseState_CASE_STATE_REVIEWED) }},
		{name: "fee assessed", act: ActionAssessFee, actor: countyClerk, in: &yizhanv1.CaseActionRequest{FeeCents: 2500},
			check: func(t *testing.T, c *yizhanv1.Case) {
				if c.GetFeeCents() != 2500 || c.GetFeePaid() {
					t.Errorf("fee %d paid %v", c.GetFeeCents(), c.GetFeePaid())
				}
			}},
		{name: "approved", act: ActionDecide, actor: countyApprove, in: &yizhanv1.CaseActionRequest{Approved: true, Reason: "符合条件"},
			check: func(t *testing.T, c *yizhanv1.Case) { wantState(t, c, yizhanv1.CaseState_CASE_STATE_APPROVED) }},
		{name: "certified", act: ActionCertify, actor: countyClerk, in: &yizhanv1.CaseActionRequest{CertificateNumber: "450122202500123"},
			check: func(t *testing.T, c *yizhanv1.Case) {
				wantState(t, c, yizhanv1.CaseState_CASE_STATE_CERTIFIED)
				if c.GetCertificateNumber() != "450122202500123" {
					t.Errorf("certificate %q", c.GetCertificateNumber())
				}
			}},
		{name: "fee paid", act: ActionPay, actor: countyClerk, in: &yizhanv1.CaseActionRequest{FeeCents: 2500, ReceiptNumber: "R-1"},
			check: func(t *testing.T, c *yizhanv1.Case) {
				if !c.GetFeePaid() {
					t.Error("fee not paid")
				}
			}},
		{name: "delivered", act: ActionDeliver, actor: countyClerk,
			check: func(t *testing.T, c *yizhanv1.Case) { wantState(t, c, yizhanv1.CaseState_CASE_STATE_DELIVERED) }},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			c, err := w.do(county, n, s.act, s.in, s.actor)
			if err != nil {
				t.Fatal(err)
			}
			s.check(t, c)
			folded, err := Fold(w.books[county].Events(n))
			if err != nil {
				t.Fatal(err)
			}
			c.Mirror = false
			if !proto.Equal(folded, c) {
				t.Errorf("Fold of the log differs from the book's case:\n%v\n%v", folded, c)
			}
		})
	}
	w.settle()
	c, _ := w.books[county].Case(n)
	wantState(t, c, yizhanv1.CaseState_CASE_STATE_CLOSED)
	events := w.books[county].Events(n)
	if c.GetLastSeq() != uint32(len(events)) || !proto.Equal(c.GetUpdatedAt(), events[len(events)-1].GetAt()) || !proto.Equal(c.GetFiledAt(), events[0].GetAt()) {
		t.Errorf("last_seq %d, updated_at %v, filed_at %v do not follow the log", c.GetLastSeq(), c.GetUpdatedAt(), c.GetFiledAt())
	}
	if c.GetOwnerOffice() != county || c.GetOriginOffice() != county || c.GetMirror() {
		t.Errorf("owner %s origin %s mirror %v", c.GetOwnerOffice(), c.GetOriginOffice(), c.GetMirror())
	}
	if c.GetApplicant().GetIdNumber() != applicant().GetIdNumber() {
		t.Errorf("the folded applicant is masked or changed: %v", c.GetApplicant())
	}
	if c.GetItemVersion() != 1 || c.GetItemName() != "烟草专卖零售许可证核发" || len(c.GetGrantIds()) == 0 || len(c.GetRoute()) != 5 {
		t.Errorf("item fields not folded: %v", c)
	}
}

func wantState(t *testing.T, c *yizhanv1.Case, s yizhanv1.CaseState) {
	t.Helper()
	if c.GetState() != s {
		t.Errorf("state %s, want %s", c.GetState(), s)
	}
}

func TestFoldOwnership(t *testing.T) {
	w := newWorld(t)
	n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
	w.autos()
	c, _ := w.books[village].Case(n)
	if c.GetOwnerOffice() != township || !c.GetMirror() {
		t.Errorf("after FORWARDED the village shows owner %s mirror %v, want the township's", c.GetOwnerOffice(), c.GetMirror())
	}
	w.settle()
	// Status mirrors travel down as well as up: every office on the route
	// sees the county own it.
	for _, tt := range []struct{ office, owner string }{{village, county}, {township, county}, {county, county}} {
		c, ok := w.books[tt.office].Case(n)
		if !ok {
			t.Fatalf("%s does not hold %s", tt.office, n)
		}
		if c.GetOwnerOffice() != tt.owner {
			t.Errorf("%s sees owner %s, want %s", tt.office, c.GetOwnerOffice(), tt.owner)
		}
		if c.GetMirror() != (tt.office != county) {
			t.Errorf("%s: mirror %v", tt.office, c.GetMirror())
		}
	}
}

func TestFoldRejectsMalformedLogs(t *testing.T) {
	_, events := sealedLog(t)
	tests := []struct {
		name   string
		events []*yizhanv1.CaseEvent
	}{
		{name: "empty"},
		{name: "not starting with FILED", events: events[1:]},
		{name: "FILED without filing", events: []*yizhanv1.CaseEvent{{Seq: 1, Type: yizhanv1.EventType_EVENT_TYPE_FILED}}},
		{name: "gap", events: []*yizhanv1.CaseEvent{events[0], {Seq: 3}}},
		{name: "filed twice", events: []*yizhanv1.CaseEvent{events[0], {Seq: 2, Type: yizhanv1.EventType_EVENT_TYPE_FILED, Filing: events[0].GetFiling()}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Fold(tt.events)
			wantErr(t, err, ErrConflict)
		})
	}
}

func TestFoldJointOpinionsAnyOrder(t *testing.T) {
	for _, order := range [][]Actor{{taxReviewer, fireApprover}, {fireApprover, taxReviewer}} {
		t.Run(order[0].Department+" first", func(t *testing.T) {
			w := newWorld(t)
			n := w.file(county, joint, scjgClerk, "食品经营许可申请书", "营业执照")
			c := w.mustDo(county, n, ActionAccept, nil, scjgClerk)
			if !slices.Equal(c.GetOpinionsPending(), []string{"sw", "xf"}) {
				t.Fatalf("opinions pending %v, want [sw xf]", c.GetOpinionsPending())
			}
			_, err := w.do(county, n, ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "同意"}, scjgApprover)
			wantErr(t, err, ErrFailedPrecondition, "CASE_STATE_ACCEPTED", "sw", "xf")

			first, second := order[0], order[1]
			c = w.mustDo(county, n, ActionGiveOpinion, &yizhanv1.CaseActionRequest{DepartmentCode: first.Department, Agrees: true, Reason: "无异议"}, first)
			if !slices.Equal(c.GetOpinionsPending(), []string{second.Department}) {
				t.Fatalf("opinions pending %v, want [%s]", c.GetOpinionsPending(), second.Department)
			}
			// The same department cannot give its opinion twice.
			_, err = w.do(county, n, ActionGiveOpinion, &yizhanv1.CaseActionRequest{DepartmentCode: first.Department, Reason: "再议"}, first)
			wantErr(t, err, ErrFailedPrecondition, "no opinion pending")
			_, err = w.do(county, n, ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "同意"}, scjgApprover)
			wantErr(t, err, ErrFailedPrecondition, second.Department)

			c = w.mustDo(county, n, ActionGiveOpinion, &yizhanv1.CaseActionRequest{DepartmentCode: second.Department, Agrees: true, Reason: "符合消防要求"}, second)
			if len(c.GetOpinionsPending()) != 0 {
				t.Fatalf("opinions pending %v after both", c.GetOpinionsPending())
			}
			// The route has REVIEW at the county: review, then decide.
			w.mustDo(county, n, ActionReview, &yizhanv1.CaseActionRequest{Agrees: true, Reason: "同意"}, scjgReviewer)
			c = w.mustDo(county, n, ActionDecide, &yizhanv1.CaseActionRequest{Approved: true, Reason: "准予许可"}, scjgApprover)
			wantState(t, c, yizhanv1.CaseState_CASE_STATE_APPROVED)
		})
	}
}

func TestFoldRatingAndComplaints(t *testing.T) {
	w, n := caseIn(t, "closed")
	w.mustDo(county, n, ActionComplain, &yizhanv1.CaseActionRequest{Reason: "多跑了一趟"}, citizen)
	w.mustDo(county, n, ActionRate, &yizhanv1.CaseActionRequest{Rating: yizhanv1.Rating_RATING_DISSATISFIED, Reason: "要求补交的材料事先没说清"}, citizen)
	c := w.mustDo(county, n, ActionComplain, &yizhanv1.CaseActionRequest{Reason: "差评后无人联系"}, citizen)
	folded, err := Fold(w.books[county].Events(n))
	if err != nil {
		t.Fatal(err)
	}
	c.Mirror = false
	if !proto.Equal(folded, c) {
		t.Errorf("Fold of the log differs from the book's case:\n%v\n%v", folded, c)
	}
	wantState(t, folded, yizhanv1.CaseState_CASE_STATE_CLOSED)
	if folded.GetRating() != yizhanv1.Rating_RATING_DISSATISFIED || folded.GetRatingComment() != "要求补交的材料事先没说清" || folded.GetComplaints() != 2 {
		t.Errorf("rating %s %q, complaints %d", folded.GetRating(), folded.GetRatingComment(), folded.GetComplaints())
	}
	events := w.books[county].Events(n)
	if !proto.Equal(folded.GetUpdatedAt(), events[len(events)-1].GetAt()) {
		t.Errorf("updated_at %v does not follow the log", folded.GetUpdatedAt())
	}
}
