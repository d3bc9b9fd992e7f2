package casework

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/yizhan-gov/yizhan/registry"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// wantLimit checks that err is a *registry.ValidationError whose violation
// of field has the reason and a short description.
func wantLimit(t testing.TB, err error, field, reason string) {
	t.Helper()
	var ve *registry.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, registry.ErrInvalidArgument) {
		t.Fatalf("error %v, want a *registry.ValidationError of %s (%s)", err, field, reason)
	}
	for _, v := range ve.Violations {
		if v.Field == field {
			if v.Reason != reason {
				t.Errorf("%s: reason %q, want %q (%s)", field, v.Reason, reason, v.Description)
			}
			if v.Description == "" || len(v.Description) > 200 {
				t.Errorf("%s: description %q: want a short one", field, v.Description)
			}
			return
		}
	}
	t.Errorf("violations %v, want one of %s (%s)", ve.Violations, field, reason)
}

// fileAt files in at the world's office book as a node does: NewFiling,
// and only then append. It returns NewFiling's error.
func (w *world) fileInput(in FileInput) error {
	e, err := NewFiling(in, w.reg)
	if err != nil {
		return err
	}
	_, err = w.appendEvent(in.Office, e, in.Number)
	return err
}

func TestFilingLimits(t *testing.T) {
	w := newWorld(t)
	yc := w.reg.item(tobacco)
	good := func() FileInput {
		return FileInput{
			Number: CaseNumber(village, t0, 1), QueryCode: "731942", Item: yc, Office: village,
			Applicant: applicant(), Materials: submitted(tobaccoMaterials[:4]...), Actor: eastAgent, At: t0,
		}
	}
	many := func(n int) []*yizhanv1.SubmittedMaterial {
		out := make([]*yizhanv1.SubmittedMaterial, n)
		for i := range out {
			out[i] = &yizhanv1.SubmittedMaterial{Name: fmt.Sprint("材料", i)}
		}
		return out
	}
	tests := []struct {
		name   string
		change func(*FileInput)
		field  string
		reason string
		own    bool // NewFiling's own check after the limits, not CheckFileRequest's
	}{
		{"address of 5 MB", func(in *FileInput) { in.Applicant.Address = strings.Repeat("a", 5<<20) }, "applicant.address", registry.ReasonTooLong, false},
		{"address of 201 characters", func(in *FileInput) { in.Applicant.Address = strings.Repeat("路", 201) }, "applicant.address", registry.ReasonTooLong, false},
		{"name of 600 KB", func(in *FileInput) { in.Applicant.Name = strings.Repeat("韦", 200_000) }, "applicant.name", registry.ReasonTooLong, false},
		{"NUL in the name", func(in *FileInput) { in.Applicant.Name = "韦\x00小宝" }, "applicant.name", registry.ReasonControlCharacter, false},
		{"line break in the name", func(in *FileInput) { in.Applicant.Name = "韦\n小宝" }, "applicant.name", registry.ReasonControlCharacter, false},
		{"name not UTF-8", func(in *FileInput) { in.Applicant.Name = "韦\xc3" }, "applicant.name", registry.ReasonInvalidUTF8, false},
		{"address with ESC", func(in *FileInput) { in.Applicant.Address = "东村\x1b[2J" }, "applicant.address", registry.ReasonControlCharacter, false},
		{"phone of 1 MB", func(in *FileInput) { in.Applicant.Phone = strings.Repeat("1", 1<<20) }, "applicant.phone", registry.ReasonTooLong, false},
		{"id number of 1 MB", func(in *FileInput) { in.Applicant.IdNumber = strings.Repeat("4", 1<<20) }, "applicant.id_number", registry.ReasonTooLong, false},
		{"id number of 19", func(in *FileInput) { in.Applicant.IdNumber += "0" }, "applicant.id_number", registry.ReasonInvalidFormat, true},
		{"no id number", func(in *FileInput) { in.Applicant.IdNumber = "" }, "applicant.id_number", registry.ReasonRequired, true},
		{"101 materials", func(in *FileInput) { in.Materials = many(101) }, "materials", registry.ReasonTooMany, false},
		{"material name of 201", func(in *FileInput) { in.Materials[1].Name = strings.Repeat("表", 201) }, "materials[1].name", registry.ReasonTooLong, false},
		{"copies 2^31-1", func(in *FileInput) { in.Materials[0].Copies = math.MaxInt32 }, "materials[0].copies", registry.ReasonOutOfRange, false},
		{"copies 101", func(in *FileInput) { in.Materials[0].Copies = 101 }, "materials[0].copies", registry.ReasonOutOfRange, false},
		{"note of 1001", func(in *FileInput) { in.Materials[2].Note = strings.Repeat("注", 1001) }, "materials[2].note", registry.ReasonTooLong, false},
		{"NUL in a note", func(in *FileInput) { in.Materials[2].Note = "原件\x00" }, "materials[2].note", registry.ReasonControlCharacter, false},
		// NewFiling's own checks, after the limits, have reasons too.
		{"copies negative", func(in *FileInput) { in.Materials[0].Copies = -1 }, "materials[0].copies", registry.ReasonOutOfRange, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := good()
			tt.change(&in)
			before := w.books[village].Len()
			wantLimit(t, w.fileInput(in), tt.field, tt.reason)
			if w.books[village].Len() != before {
				t.Errorf("a refused filing was written")
			}
			req := &yizhanv1.FileCaseRequest{ItemCode: tobacco, Applicant: in.Applicant, Materials: in.Materials}
			if err := CheckFileRequest(req); !tt.own {
				wantLimit(t, err, tt.field, tt.reason)
			} else if err != nil {
				t.Errorf("CheckFileRequest: %v", err)
			}
		})
	}

	t.Run("within the limits", func(t *testing.T) {
		in := good()
		in.Applicant.Name = strings.Repeat("韦", registry.MaxNameLen)
		in.Applicant.Address = strings.Repeat("路", registry.MaxAddressLen)
		in.Materials[0].Copies = registry.MaxCopies
		in.Materials[1].Note = "原件一份\n复印件两份\t已核对"
		if err := w.fileInput(in); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("the event too large", func(t *testing.T) {
		// An item of 100 materials, each handed in with a long note: every
		// field within its limit, the whole over MaxEventBytes.
		big := proto.CloneOf(yc)
		big.Code, big.Materials = "BIG", nil
		for i := range registry.MaxMaterials {
			big.Materials = append(big.Materials, &yizhanv1.Material{Name: fmt.Sprint("材料", i)})
		}
		w.reg.apply(createItemCmd(big))
		w.reg.grant(&yizhanv1.Grant{ItemCode: "BIG", OfficeCode: county, Rights: allRights})
		in := good()
		in.Item, in.Office, in.Actor, in.Number = w.reg.item("BIG"), county, countyClerk, CaseNumber(county, t0, 1)
		in.Materials = many(registry.MaxMaterials)
		for _, m := range in.Materials {
			m.Note = strings.Repeat("注", registry.MaxShortTextLen)
		}
		if err := CheckFileRequest(&yizhanv1.FileCaseRequest{Materials: in.Materials}); err != nil {
			t.Fatalf("each field is within its limit, but: %v", err)
		}
		before := w.books[county].Len()
		wantLimit(t, w.fileInput(in), "materials", registry.ReasonTooLarge)
		if w.books[county].Len() != before {
			t.Errorf("a refused filing was written")
		}
	})
}

func TestActionLimits(t *testing.T) {
	huge := strings.Repeat("a", 5<<20)
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprint("材料", i)
		}
		return out
	}
	tests := []struct {
		name   string
		action Action
		in     *req
		actor  Actor
		field  string
		reason string
	}{
		{"review reason of 4001", ActionReview, &req{Agrees: true, Reason: strings.Repeat("同", 4001)}, countyReview, "reason", registry.ReasonTooLong},
		{"decide reason of 5 MB", ActionDecide, &req{Approved: true, Reason: huge}, countyApprove, "reason", registry.ReasonTooLong},
		{"decide legal basis", ActionDecide, &req{Reason: "否", LegalBasis: strings.Repeat("法", 4001)}, countyApprove, "legal_basis", registry.ReasonTooLong},
		{"refuse legal basis with NUL", ActionRefuse, &req{Reason: "否", LegalBasis: "第\x00条"}, countyClerk, "legal_basis", registry.ReasonControlCharacter},
		{"correction: 101 materials", ActionRequestCorrection, &req{MissingMaterials: many(101)}, countyClerk, "missing_materials", registry.ReasonTooMany},
		{"correction: a name of 201", ActionRequestCorrection, &req{MissingMaterials: []string{strings.Repeat("表", 201)}}, countyClerk, "missing_materials[0]", registry.ReasonTooLong},
		{"resubmit: copies 2^31-1", ActionResubmit, &req{Materials: []*yizhanv1.SubmittedMaterial{{Name: "营业执照", Copies: math.MaxInt32}}}, countyClerk, "materials[0].copies", registry.ReasonOutOfRange},
		{"resubmit: 101 materials", ActionResubmit, &req{Materials: make([]*yizhanv1.SubmittedMaterial, 101)}, countyClerk, "materials", registry.ReasonTooMany},
		{"certificate number", ActionCertify, &req{CertificateNumber: strings.Repeat("C", 65)}, countyClerk, "certificate_number", registry.ReasonTooLong},
		{"certificate number with a line break", ActionCertify, &req{CertificateNumber: "C-1\nC-2"}, countyClerk, "certificate_number", registry.ReasonControlCharacter},
		{"assessed fee", ActionAssessFee, &req{FeeCents: math.MaxInt64}, countyClerk, "fee_cents", registry.ReasonOutOfRange},
		{"paid fee", ActionPay, &req{FeeCents: registry.MaxFeeCents + 1, ReceiptNumber: "R-1"}, countyClerk, "fee_cents", registry.ReasonOutOfRange},
		{"receipt number", ActionPay, &req{ReceiptNumber: huge}, countyClerk, "receipt_number", registry.ReasonTooLong},
		{"extension", ActionExtend, &req{Reason: "复杂", ExtensionDays: math.MaxInt32}, countyReview, "extension_days", registry.ReasonOutOfRange},
		{"special procedure", ActionSuspend, &req{Reason: "勘查", SpecialProcedure: huge}, countyReview, "special_procedure", registry.ReasonTooLong},
		{"opinion department", ActionGiveOpinion, &req{Reason: "同意", DepartmentCode: huge}, taxReviewer, "department_code", registry.ReasonTooLong},
		{"opinion with a bell", ActionGiveOpinion, &req{Reason: "同意\a", DepartmentCode: "sw"}, taxReviewer, "reason", registry.ReasonControlCharacter},
		{"withdrawal reason", ActionWithdraw, &req{Reason: huge}, citizen, "reason", registry.ReasonTooLong},
		{"rating comment", ActionRate, &req{Rating: yizhanv1.Rating_RATING_DISSATISFIED, Reason: strings.Repeat("差", 4001)}, citizen, "reason", registry.ReasonTooLong},
		{"complaint not UTF-8", ActionComplain, &req{Reason: "态度\xff"}, citizen, "reason", registry.ReasonInvalidUTF8},
		{"complaint of 5 MB", ActionComplain, &req{Reason: huge}, citizen, "reason", registry.ReasonTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The limits come before the state, the role and the grants:
			// any case will do, and nothing quotes what was sent.
			w, n := caseIn(t, "accepted")
			before := w.books[county].Events(n)
			_, err := w.do(county, n, tt.action, tt.in, tt.actor)
			wantLimit(t, err, tt.field, tt.reason)
			if got := w.books[county].Events(n); len(got) != len(before) {
				t.Errorf("a refused action was written: %d events, was %d", len(got), len(before))
			}
			in := proto.CloneOf(tt.in)
			in.Number = n
			wantLimit(t, CheckActionRequest(tt.action, in), tt.field, tt.reason)
		})
	}

	t.Run("multi-line reasons", func(t *testing.T) {
		w, n := caseIn(t, "accepted")
		w.mustDo(county, n, ActionReview, &req{Agrees: true, Reason: "材料齐全，\r\n同意。\n\t——县审核"}, countyReview)
	})

	t.Run("request number and query code", func(t *testing.T) {
		wantLimit(t, CheckActionRequest(ActionWithdraw, &req{Number: huge}), "number", registry.ReasonTooLong)
		wantLimit(t, CheckActionRequest(ActionWithdraw, &req{Number: "n", QueryCode: "1\x002"}), "query_code", registry.ReasonControlCharacter)
	})

	t.Run("complaints", func(t *testing.T) {
		w, n := caseIn(t, "closed")
		for range registry.MaxComplaints {
			w.mustDo(county, n, ActionComplain, &req{Reason: "仍未答复"}, citizen)
		}
		before := len(w.books[county].Events(n))
		_, err := w.do(county, n, ActionComplain, &req{Reason: "仍未答复"}, citizen)
		wantLimit(t, err, "complaints", registry.ReasonTooMany)
		if len(w.books[county].Events(n)) != before {
			t.Errorf("a refused complaint was written")
		}
	})
}

// TestReceivedEventsAreNotHeldToTheLimits: an event another office
// appended (by a binary before the limits) is taken as it is, so that a
// case on its way is not stopped.
func TestReceivedEventsAreNotHeldToTheLimits(t *testing.T) {
	w := newWorld(t)
	n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
	c, _ := w.books[village].Case(n)
	e, err := NewEvent(c, nil, ActionWithdraw, &req{Reason: "不办了", Materials: submitted(WithdrawalRequest)}, eastAgent, village, w.tick(), w.reg)
	if err != nil {
		t.Fatal(err)
	}
	e.Reason = strings.Repeat("不", registry.MaxTextLen+1)
	if _, err := w.appendEvent(village, e, n); err != nil {
		t.Fatalf("an event over the limits in the log: %v", err)
	}
	w.settle() // fails if the township or the county refuses the case
	for _, o := range []string{township, county} {
		if evs := w.books[o].Events(n); len(evs) != 2 || evs[1].GetReason() != e.GetReason() {
			t.Errorf("%s holds %d events of the case, want the 2", o, len(evs))
		}
	}
}
