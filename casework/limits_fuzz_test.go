package casework

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/yizhan-gov/yizhan/registry"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// checkRefusal fails unless err, NewFiling's or NewEvent's, is what a
// client can act on: a *registry.ValidationError whose every limit has a
// reason, or a sentinel; and no message quotes an oversized input.
func checkRefusal(t *testing.T, err error, limitsBroken bool) {
	t.Helper()
	var ve *registry.ValidationError
	if !errors.As(err, &ve) {
		if limitsBroken {
			t.Fatalf("input beyond the limits refused with %v, want a *registry.ValidationError", err)
		}
		for _, s := range []error{ErrNotFound, ErrFailedPrecondition, ErrPermissionDenied, ErrNoRoute, ErrConflict} {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("refused with %v", err)
	}
	for _, v := range ve.Violations {
		if v.Field == "" || v.Description == "" {
			t.Fatalf("violation %+v", v)
		}
		if limitsBroken && v.Reason == "" {
			t.Fatalf("a limit without a reason: %+v", v)
		}
		// The longest a message may quote: an item's material names.
		if len(v.Description) > 4*registry.MaxTitleLen*registry.MaxMaterials {
			t.Fatalf("a description of %d bytes", len(v.Description))
		}
	}
}

// fuzzFile files req at 东村 as its agent (through NewFiling) and checks
// the outcome against CheckFileRequest and the limits.
func fuzzFile(t *testing.T, req *yizhanv1.FileCaseRequest) {
	reg := newReg(t)
	item, err := reg.Item(req.GetItemCode(), 0)
	if err != nil {
		item = reg.item(tobacco)
	}
	limitErr := CheckFileRequest(req)
	e, err := NewFiling(FileInput{
		Number: CaseNumber(village, t0, 1), QueryCode: "731942", Item: item, Office: village,
		Applicant: req.GetApplicant(), Materials: req.GetMaterials(), Actor: eastAgent, At: t0,
	}, reg)
	if err != nil {
		checkRefusal(t, err, limitErr != nil)
		return
	}
	if limitErr != nil {
		t.Fatalf("NewFiling accepted what CheckFileRequest refuses: %v", limitErr)
	}
	if n := proto.Size(e); n > registry.MaxEventBytes {
		t.Fatalf("a filing of %d bytes", n)
	}
	a := e.GetFiling().GetApplicant()
	for _, s := range []string{a.GetName(), a.GetIdNumber(), a.GetPhone(), a.GetAddress()} {
		if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) || utf8.RuneCountInString(s) > registry.MaxAddressLen {
			t.Fatalf("accepted the applicant %v", a)
		}
	}
}

// FuzzNewFiling: whatever the applicant and the materials, NewFiling does
// not panic, refuses input beyond the limits with a reason, and what it
// accepts is within them.
func FuzzNewFiling(f *testing.F) {
	f.Add("韦小宝", idWithCheck("45012219850612301"), "13877112345", "东村3组", uint16(0), "", "原件", int32(1), uint8(4))
	f.Add("韦\x00小宝", "450122198506123010", "0771-6201001-12", "a", uint16(5000), "", "\x1b", int32(2147483647), uint8(5))
	f.Add("", "", "", "路", uint16(200), "材料", "注", int32(-1), uint8(101))
	f.Add("\xff", "X", "1", "\n", uint16(0), "营业执照", "", int32(101), uint8(2))
	f.Fuzz(func(t *testing.T, name, id, phone, address string, addressRep uint16, material, note string, copies int32, n uint8) {
		req := &yizhanv1.FileCaseRequest{ItemCode: tobacco, Applicant: &yizhanv1.Applicant{
			Name: name, IdNumber: id, Phone: phone, Address: strings.Repeat(address, int(addressRep)+1)}}
		for i := range int(n) {
			m := &yizhanv1.SubmittedMaterial{Name: tobaccoMaterials[i%len(tobaccoMaterials)], Copies: copies, Note: note}
			if material != "" {
				m.Name = fmt.Sprint(material, i)
			}
			req.Materials = append(req.Materials, m)
		}
		fuzzFile(t, req)
	})
}

// FuzzFileCaseJSON: a REST body of POST /v1/cases, decoded as the
// gateway decodes it, then checked and filed, never panics.
func FuzzFileCaseJSON(f *testing.F) {
	for _, s := range []string{
		`{"item_code":"YC-LSXK","applicant":{"name":"黄志明","id_number":"450122198703154510","phone":"13907710001"},"materials":[{"name":"烟草专卖零售许可证申请表"},{"name":"营业执照"}]}`,
		`{"item_code":"YC-LSXK","applicant":{"name":"黄\u0000志明","address":"东村\n3组"},"materials":[{"name":"营业执照","copies":2147483647,"note":"\u001b"}]}`,
		`{"item_code":"","office_code":"450122101203","applicant":null,"materials":[{},{},{}]}`,
		`{"applicant":{"name":"` + strings.Repeat("韦", 101) + `"}}`,
		`{"unknown":1}`,
		`not json`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := &yizhanv1.FileCaseRequest{}
		if err := (protojson.UnmarshalOptions{DiscardUnknown: false}).Unmarshal(body, req); err != nil {
			return
		}
		fuzzFile(t, req)
	})
}

// actors are who may ask for each action, so that a fuzzed action gets
// past the role check.
var fuzzActors = map[Action]Actor{
	ActionReview: countyReview, ActionSuspend: countyReview, ActionResume: countyReview, ActionExtend: countyReview,
	ActionDecide: countyApprove, ActionGiveOpinion: taxReviewer,
	ActionWithdraw: citizen, ActionRate: citizen, ActionComplain: citizen,
}

// FuzzNewEvent: whatever the action's arguments, NewEvent (and so
// checkInput) does not panic; input beyond the limits is refused with a
// reason before anything else, and CheckActionRequest agrees; what it
// accepts is within the limits.
func FuzzNewEvent(f *testing.F) {
	f.Add(uint8(ActionReview), "材料齐全，同意。", uint16(0), "", "", uint8(0), int64(0), int32(0), int32(1), uint8(0), "accepted")
	f.Add(uint8(ActionDecide), "否", uint16(4000), "《行政许可法》", "", uint8(0), int64(0), int32(0), int32(1), uint8(0), "reviewed")
	f.Add(uint8(ActionRequestCorrection), "", uint16(0), "", "营业执照", uint8(0), int64(0), int32(0), int32(1), uint8(101), "filed")
	f.Add(uint8(ActionResubmit), "\x00", uint16(0), "", "营业执照", uint8(0), int64(0), int32(0), int32(2147483647), uint8(1), "correction")
	f.Add(uint8(ActionCertify), "", uint16(0), "", "C", uint8(64), int64(0), int32(0), int32(1), uint8(0), "approved")
	f.Add(uint8(ActionPay), "", uint16(0), "", "R-1", uint8(0), int64(9223372036854775807), int32(0), int32(1), uint8(0), "accepted")
	f.Add(uint8(ActionExtend), "复杂", uint16(0), "", "", uint8(0), int64(0), int32(2147483647), int32(1), uint8(0), "accepted")
	f.Add(uint8(ActionComplain), "态度\xff", uint16(0), "", "", uint8(0), int64(0), int32(0), int32(1), uint8(0), "closed")
	f.Fuzz(func(t *testing.T, act uint8, reason string, reasonRep uint16, legalBasis, text string, textRep uint8,
		fee int64, days, copies int32, n uint8, state string) {
		if _, ok := caseScript[state]; !ok {
			state = "accepted"
		}
		action := Action(int(act) % (int(ActionRejectPrecheck) + 1))
		actor, ok := fuzzActors[action]
		if !ok {
			actor = countyClerk
		}
		text = strings.Repeat(text, int(textRep)+1)
		in := &req{Reason: strings.Repeat(reason, int(reasonRep)+1), LegalBasis: legalBasis,
			CertificateNumber: text, ReceiptNumber: text, SpecialProcedure: text, DepartmentCode: text,
			FeeCents: fee, ExtensionDays: days, Rating: yizhanv1.Rating(days)}
		for i := range int(n) {
			in.MissingMaterials = append(in.MissingMaterials, fmt.Sprint(text, i))
			in.Materials = append(in.Materials, &yizhanv1.SubmittedMaterial{Name: fmt.Sprint(text, i), Copies: copies})
		}
		w, number := caseIn(t, state)
		c, _ := w.books[county].Case(number)
		in.Number = number
		limitErr := checkActionRequest(action, in, false)
		e, err := NewEvent(c, nil, action, in, actor, county, w.tick(), w.reg)
		if err != nil {
			if action.Automatic() || action == ActionUnspecified {
				return
			}
			checkRefusal(t, err, limitErr != nil)
			return
		}
		if limitErr != nil {
			t.Fatalf("NewEvent accepted what CheckActionRequest refuses: %v", limitErr)
		}
		if err := CheckActionRequest(action, in); err != nil {
			t.Fatalf("NewEvent accepted a request that CheckActionRequest refuses for a required field: %v", err)
		}
		if size := proto.Size(e); size > registry.MaxEventBytes {
			t.Fatalf("an event of %d bytes", size)
		}
		if utf8.RuneCountInString(e.GetReason()) > registry.MaxTextLen || e.GetFeeCents() > registry.MaxFeeCents || e.GetExtensionDays() > registry.MaxLimitDays {
			t.Fatalf("accepted the event %v", e)
		}
		if _, err := w.appendEvent(county, e, number); err != nil {
			t.Fatalf("append what NewEvent made: %v", err)
		}
	})
}
