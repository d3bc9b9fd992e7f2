package registry

import (
	"testing"

	"github.com/yizhan-gov/yizhan/reason"
)

// A number others call is a person's (mobile, landline with its area
// code), a local landline as caller ID shows it, a service number or a
// 400/800 number; anything else is CONTACT_PHONE's INVALID_FORMAT, whose
// text says what is taken.
func TestValidContactPhone(t *testing.T) {
	for _, ok := range []string{"13907710001", "0771-6201001", "0771-6201001-12", "6201001", "62010012", "110", "12345", "95598",
		"4001234567", "400-123-4567", "800-123-4567"} {
		if err := ValidContactPhone(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"值班室", "95", "123456", "0201001", "1390771000", "0771 6201001", "400-1234-567", "5001234567", "0771-62O1001"} {
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
