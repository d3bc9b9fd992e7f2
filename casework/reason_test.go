package casework

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// TestFilingRefusalsNameTheirReasons files with bad input: each violation
// names its reason, and its Chinese text is made from the reason and
// its meta.
func TestFilingRefusalsNameTheirReasons(t *testing.T) {
	w := newWorld(t)
	yc := w.reg.item(tobacco)
	id := applicant().GetIdNumber()
	wrongCheck := id[:17] + string("0123456789X"[(strings.IndexByte("0123456789X", id[17])+1)%11])
	for _, tc := range []struct {
		name         string
		change       func(*FileInput)
		field, why   string
		zh           string
		metaKey, val string
	}{
		{"ID number mistyped", func(in *FileInput) { in.Applicant.IdNumber = wrongCheck }, "applicant.id_number", reason.IDNumberChecksum, "身份证号校验位不符，号码可能输错了", "", ""},
		{"ID number of 17", func(in *FileInput) { in.Applicant.IdNumber = id[:17] }, "applicant.id_number", reason.InvalidFormat, "身份证号须为 18 位（现为 17 位）", "part", "LENGTH"},
		{"a mobile number of 10 digits", func(in *FileInput) { in.Applicant.Phone = "1390771000" }, "applicant.phone", reason.InvalidFormat, "手机号须为 11 位数字", "format", "MOBILE"},
		{"no phone", func(in *FileInput) { in.Applicant.Phone = "" }, "applicant.phone", reason.Required, "必填", "", ""},
		{"a material the item does not list", func(in *FileInput) { in.Materials[0].Name = "户口本" }, "materials[0].name", reason.NotAMaterial, "“户口本”不是该事项的申请材料", "material", "户口本"},
		{"another office's number", func(in *FileInput) { in.Number = CaseNumber(county, t0, 1) }, "number", reason.WrongOffice, "本节点属于办事点 " + village + "，请到办事点 " + county + " 办理", "want", county},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := FileInput{
				Number: CaseNumber(village, t0, 1), QueryCode: "731942", Item: yc, Office: village,
				Applicant: applicant(), Materials: submitted(tobaccoMaterials[:4]...), Actor: eastAgent, At: t0,
			}
			tc.change(&in)
			_, err := NewFiling(in, w.reg)
			var ve *registry.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %v, want a ValidationError", err)
			}
			for _, v := range ve.Violations {
				if v.Reason == "" || !hasHan(reason.FieldText(v.Reason, v.Meta)) {
					t.Errorf("%s: reason %q, text %q", v.Field, v.Reason, reason.FieldText(v.Reason, v.Meta))
				}
				if v.Field != tc.field {
					continue
				}
				if v.Reason != tc.why || reason.FieldText(v.Reason, v.Meta) != tc.zh || (tc.metaKey != "" && v.Meta[tc.metaKey] != tc.val) {
					t.Errorf("%s: %s %v %q, want %s %q", v.Field, v.Reason, v.Meta, reason.FieldText(v.Reason, v.Meta), tc.why, tc.zh)
				}
				return
			}
			t.Errorf("no violation of %s in %v", tc.field, ve.Violations)
		})
	}
}

func TestActionOnAnotherOfficesCaseNamesTheOwner(t *testing.T) {
	w := newWorld(t)
	n := w.file(village, tobacco, eastAgent, tobaccoMaterials[:4]...)
	c, _ := w.books[village].Case(n)
	_, err := NewEvent(c, nil, ActionAccept, &yizhanv1.CaseActionRequest{}, countyClerk, county, w.tick(), w.reg)
	e := reason.Of(err)
	if e == nil || e.Reason != reason.CaseHeldElsewhere || e.Meta["owner"] != village || !errors.Is(err, ErrFailedPrecondition) {
		t.Fatalf("error %v (%+v), want CASE_HELD_ELSEWHERE naming %s", err, e, village)
	}
}

func hasHan(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.Is(unicode.Han, r) }) >= 0
}
