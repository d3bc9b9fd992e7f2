package registry

import (
	"fmt"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Division codes (GB/T 2260 extended to 12 digits) name every office:
//
//	county   450122000000  6 significant digits, then 000000
//	township 450122101000  9 significant digits, then 000
//	village  450122101203  12 digits, the last 3 not 000
//
// The tier and the parent of an office follow from its code alone.

// ValidCode reports why code is not a 12-digit division code, or nil.
func ValidCode(code string) error {
	if len(code) != 12 {
		return fmt.Errorf("must be 12 digits, got %d characters", len(code))
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return fmt.Errorf("must be 12 digits, found %q at position %d", code[i], i+1)
		}
	}
	if code[:6] == "000000" {
		return fmt.Errorf("the county part (first 6 digits) must not be 000000")
	}
	if code[6:9] == "000" && code[9:] != "000" {
		return fmt.Errorf("a village code needs a township part (digits 7-9 must not be 000)")
	}
	return nil
}

// TierOf returns the tier a division code names.
func TierOf(code string) (yizhanv1.Tier, error) {
	if err := ValidCode(code); err != nil {
		return yizhanv1.Tier_TIER_UNSPECIFIED, fmt.Errorf("division code %q: %w", code, err)
	}
	switch {
	case code[6:] == "000000":
		return yizhanv1.Tier_TIER_COUNTY, nil
	case code[9:] == "000":
		return yizhanv1.Tier_TIER_TOWNSHIP, nil
	default:
		return yizhanv1.Tier_TIER_VILLAGE, nil
	}
}

// ParentCode returns the code of the office directly above code: a
// village's township, a township's county. It returns "" for a county and
// for an invalid code.
func ParentCode(code string) string {
	tier, err := TierOf(code)
	if err != nil {
		return ""
	}
	switch tier {
	case yizhanv1.Tier_TIER_TOWNSHIP:
		return code[:6] + "000000"
	case yizhanv1.Tier_TIER_VILLAGE:
		return code[:9] + "000"
	default:
		return ""
	}
}

// SubtreePrefix is the beginning every code of the office code and the
// offices below it shares (and no other office's): the county's first 6
// digits, a township's 9, a village's whole code. "" for an invalid code.
func SubtreePrefix(code string) string {
	tier, err := TierOf(code)
	if err != nil {
		return ""
	}
	switch tier {
	case yizhanv1.Tier_TIER_COUNTY:
		return code[:6]
	case yizhanv1.Tier_TIER_TOWNSHIP:
		return code[:9]
	default:
		return code
	}
}

// IsAncestorOrSelf reports whether a is b or an office above b. Both must
// be valid codes.
func IsAncestorOrSelf(a, b string) bool {
	if ValidCode(a) != nil || ValidCode(b) != nil {
		return false
	}
	for c := b; c != ""; c = ParentCode(c) {
		if c == a {
			return true
		}
	}
	return false
}
