package registry

import (
	"strings"

	"github.com/yizhan-gov/yizhan/reason"
)

// ValidPhone reports why s is not a phone number a person gives, or nil:
// an 11-digit mobile number 1[3-9]xxxxxxxxx, or a landline: a trunk code
// of 3 or 4 digits starting with 0, '-', then 7 or 8 digits
// (0771-6201001), with an optional extension after another '-'. The
// error names its reason: REQUIRED, or INVALID_FORMAT (meta format MOBILE
// or PHONE).
func ValidPhone(s string) error {
	if s == "" {
		return reason.Errorf(reason.Required, nil, "is required")
	}
	if s[0] == '1' {
		if len(s) != 11 || !allDigits(s) || s[1] < '3' {
			return reason.Errorf(reason.InvalidFormat, reason.Meta{"format": "MOBILE"}, "a mobile number must be 11 digits 1[3-9]xxxxxxxxx")
		}
		return nil
	}
	parts := strings.Split(s, "-")
	ok := len(parts) == 2 || len(parts) == 3
	if ok {
		area, number := parts[0], parts[1]
		ok = (len(area) == 3 || len(area) == 4) && area[0] == '0' && allDigits(area) &&
			(len(number) == 7 || len(number) == 8) && number[0] != '0' && allDigits(number)
	}
	if ok && len(parts) == 3 {
		ok = len(parts[2]) >= 1 && len(parts[2]) <= 6 && allDigits(parts[2])
	}
	if !ok {
		return reason.Errorf(reason.InvalidFormat, reason.Meta{"format": "PHONE"}, "must be a mobile number (11 digits 1[3-9]xxxxxxxxx) or a landline with its area code (0771-6201001)")
	}
	return nil
}

// ValidContactPhone reports why s is not a number the public or a duty
// officer may call, or nil: what ValidPhone takes; a local landline of 7
// or 8 digits without its area code (6201001: how caller ID shows a
// local call, and how a county writes its own numbers); a landline with
// its area code and no '-' (07716201001: caller ID of a call from another
// area); a service number of 3 to 5 digits starting with 1 or 9 (110,
// 12345, 95598); or a national 400/800 number of 10 digits, written whole
// or as 400-xxx-xxxx. An office's, a department's and a duty contact's
// phone, an item's 咨询电话 and 投诉电话, and a caller's in the duty log
// are such numbers; an applicant's is a person's (ValidPhone). The error
// is INVALID_FORMAT, format CONTACT_PHONE.
func ValidContactPhone(s string) error {
	err := ValidPhone(s)
	if err == nil || s == "" {
		return err
	}
	local := (len(s) == 7 || len(s) == 8) && s[0] >= '2' && allDigits(s)
	// A call from another area as caller ID shows it: the trunk code and
	// the number with no '-' (07716201001, 02012345678).
	trunk := len(s) >= 10 && len(s) <= 12 && s[0] == '0' && s[1] != '0' && allDigits(s)
	service := len(s) >= 3 && len(s) <= 5 && (s[0] == '1' || s[0] == '9') && allDigits(s)
	if local || trunk || service || nationalNumber(s) {
		return nil
	}
	return reason.Errorf(reason.InvalidFormat, reason.Meta{"format": "CONTACT_PHONE"},
		"must be a mobile number (11 digits 1[3-9]xxxxxxxxx), a landline (0771-6201001, or 6201001 locally), a service number (12345, 95598) or a 400/800 number")
}

// nationalNumber reports whether s is a 400 or 800 number: 10 digits, or
// 3-3-4 with hyphens.
func nationalNumber(s string) bool {
	if p := strings.Split(s, "-"); len(p) == 3 && len(p[0]) == 3 && len(p[1]) == 3 && len(p[2]) == 4 {
		s = p[0] + p[1] + p[2]
	}
	return len(s) == 10 && allDigits(s) && (strings.HasPrefix(s, "400") || strings.HasPrefix(s, "800"))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
