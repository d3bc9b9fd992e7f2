package registry

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// FuzzCheckItem edits an item's texts and numbers and proposes the new
// version as a proposer does: Check, then Apply. Check must not panic.
// What it accepts is within the limits (valid UTF-8, short enough, no
// control character but line breaks and tabs in free text, numbers in
// range, the command small enough) and applies; what it refuses names
// fields of the item, each limit with its reason, and changes nothing.
func FuzzCheckItem(f *testing.F) {
	// Long texts are a short text and a repeat count: small inputs that
	// the fuzzer can mutate and minimize quickly reach every length.
	f.Add("烟草专卖零售许可证核发", uint8(0), "一、申请人具备条件；\n二、……", uint16(0), "申请表", "原件一份", uint16(0), int32(1), int32(20), int32(10), int64(0), uint8(1), uint8(2))
	f.Add("证", uint8(200), "\x00", uint16(0), "表\n", "\r", uint16(0), int32(-1), int32(366), int32(400), int64(-1), uint8(0), uint8(31))
	f.Add("", uint8(0), "条", uint16(MaxLongTextLen), "", "\xff", uint16(0), int32(2147483647), int32(0), int32(0), int64(MaxFeeCents+1), uint8(101), uint8(0))
	f.Add("许可\u2028", uint8(0), "a\r\nb\tc", uint16(0), "材", "注", uint16(MaxShortTextLen-1), int32(MaxCopies), int32(MaxLimitDays), int32(MaxLimitDays), int64(MaxFeeCents), uint8(100), uint8(30))
	f.Fuzz(func(t *testing.T, name string, nameRep uint8, conditions string, condRep uint16, material, notes string, notesRep uint16,
		copies, statutory, promised int32, fee int64, nMaterials, nSteps uint8) {
		name = strings.Repeat(name, int(nameRep)+1)
		conditions = strings.Repeat(conditions, int(condRep)+1)
		notes = strings.Repeat(notes, int(notesRep)+1)
		r := newCounty(t)
		mustApply(t, r, createItem(validItem("YC")))
		it := validItem("YC")
		it.Name, it.Conditions = name, conditions
		it.StatutoryLimitDays, it.PromisedLimitDays, it.FeeCents = statutory, promised, fee
		it.Materials = nil
		for i := range int(nMaterials) {
			it.Materials = append(it.Materials, &yizhanv1.Material{Name: fmt.Sprint(material, i), Copies: copies, Notes: notes})
		}
		it.Steps = nil
		for i := range int(nSteps) {
			it.Steps = append(it.Steps, &yizhanv1.ProcedureStep{Name: fmt.Sprint("步骤", i), Description: notes})
		}
		cmd := updateItem(it, 1)
		before := r.Snapshot()

		err := r.Check(cmd)
		if err == nil {
			lines, texts := []string{name}, []string{conditions}
			if nMaterials > 0 {
				lines = append(lines, material)
			}
			if nMaterials > 0 || nSteps > 0 {
				texts = append(texts, notes)
			}
			for _, s := range lines {
				if !utf8.ValidString(s) || strings.ContainsFunc(s, isControl) {
					t.Fatalf("Check accepted the line %q", s)
				}
			}
			for _, s := range texts {
				if !utf8.ValidString(s) || strings.ContainsFunc(strings.ReplaceAll(s, "\r\n", ""), func(r rune) bool { return isControl(r) && r != '\n' && r != '\t' }) {
					t.Fatalf("Check accepted the text %q", s)
				}
			}
			switch {
			case utf8.RuneCountInString(name) > MaxTitleLen, utf8.RuneCountInString(conditions) > MaxLongTextLen,
				(nMaterials > 0 || nSteps > 0) && utf8.RuneCountInString(notes) > MaxShortTextLen,
				nMaterials > 0 && copies > MaxCopies,
				int(nMaterials) > MaxMaterials, int(nSteps) > MaxSteps,
				statutory > MaxLimitDays, promised > MaxLimitDays, fee > MaxFeeCents, proto.Size(cmd) > MaxCommandBytes:
				t.Fatalf("Check accepted an item beyond the limits (%d bytes)", proto.Size(cmd))
			}
			if _, err := r.Apply(r.Index()+1, cmd); err != nil {
				t.Fatalf("Check accepted what Apply refuses: %v", err)
			}
			return
		}
		if !proto.Equal(before, r.Snapshot()) {
			t.Fatalf("a refused command changed the registry: %v", err)
		}
		var ve *ValidationError
		if !errors.As(err, &ve) {
			return // a sentinel: ErrConflict and the like
		}
		limits := CheckLimits(cmd) != nil
		for _, v := range ve.Violations {
			if !strings.HasPrefix(v.Field, "item.") || v.Description == "" {
				t.Fatalf("violation %+v", v)
			}
			if limits && v.Reason == "" {
				t.Fatalf("a limit without a reason: %+v", v)
			}
			if len(v.Description) > 500 {
				t.Fatalf("a description of %d bytes quotes the input: %.100s…", len(v.Description), v.Description)
			}
		}
	})
}
