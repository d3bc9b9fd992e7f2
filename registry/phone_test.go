package registry

import (
	"errors"
	"testing"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"

	"github.com/yizhan-gov/yizhan/reason"
)

// A number others call is a person's (mobile, landline with its area
// code), a local landline as caller ID shows it, a service number or a
// 400/800 number; anything else is CONTACT_PHONE's INVALID_FORMAT, whose
// text says what is taken.
func TestValidContactPhone(t *testing.T) {
	for _, ok := range []string{"13907710001", "0771-6201001", "0771-6201001-12", "6201001", "62010012", "110", "12345", "95598",
		"4001234567", "400-123-4567", "800-123-4567", "07716201001", "02012345678"} {
		if err := ValidContactPhone(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"值班室", "95", "123456", "0201001", "1390771000", "0771 6201001", "400-1234-567", "5001234567", "0771-62O1001", "0012345678", "077162010012345"} {
		err := ValidContactPhone(bad)
		if e := reason.Of(err); e == nil || e.Reason != reason.InvalidFormat || e.Meta["format"] != "CONTACT_PHONE" {
			t.Errorf("%q: %v, want INVALID_FORMAT (CONTACT_PHONE)", bad, err)
		}
	}
	// A person's phone is not a service number.
	if err := ValidPhone("12345"); err == nil {
		t.Error("ValidPhone took the service number 12345 for a person's phone")
	}
}

// An item's 咨询电话 and 投诉电话, printed on its guide for the public to
// call, are numbers to call: they were any text of 32 characters.
func TestAnItemsConsultationAndComplaintPhonesAreNumbersToCall(t *testing.T) {
	for _, tc := range []struct {
		it    *yizhanv1.Item
		field string
	}{
		{&yizhanv1.Item{Code: "ZM-JB", ConsultationPhone: "电话见公示栏"}, "item.consultation_phone"},
		{&yizhanv1.Item{Code: "ZM-JB", ComplaintPhone: "值班室"}, "item.complaint_phone"},
	} {
		err := CheckLimits(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateItem{CreateItem: &peerv1.CreateItem{Item: tc.it}}})
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Violations) != 1 || ve.Violations[0].Field != tc.field || ve.Violations[0].Reason != reason.InvalidFormat {
			t.Errorf("an item with %s %v: %v, want INVALID_FORMAT naming it", tc.field, tc.it, err)
		}
	}
	ok := &yizhanv1.Item{Code: "ZM-JB", ConsultationPhone: "0771-6220012", ComplaintPhone: "12345"}
	if err := CheckLimits(&peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateItem{CreateItem: &peerv1.CreateItem{Item: ok}}}); err != nil {
		t.Errorf("an item with a landline to ask and 12345 to complain: %v", err)
	}
}
