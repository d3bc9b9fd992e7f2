package casework

import (
	"strings"
	"time"
	"unicode/utf8"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// Identity numbers and phone numbers of applicants.

// idWeights are the GB 11643 weights of the first 17 digits: 2^(17-i) mod 11.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// idCheck maps the weighted sum mod 11 to the check character (ISO 7064
// MOD 11-2).
const idCheck = "10X98765432"

// ValidIDNumber reports why s is not an 18-character resident identity
// number (GB 11643-1999), or nil: 17 digits then a digit or 'X', a birth
// date YYYYMMDD at characters 7–14, and the ISO 7064 MOD 11-2 check
// character last. The error names its reason: REQUIRED, INVALID_FORMAT
// (meta part: LENGTH, DIGITS, LAST, PROVINCE, BIRTH_DATE) or
// ID_NUMBER_CHECKSUM.
func ValidIDNumber(s string) error {
	part := func(p string, format string, args ...any) error {
		return reason.Errorf(reason.InvalidFormat, reason.Meta{"format": "ID_NUMBER", "part": p}, format, args...)
	}
	if s == "" {
		return reason.Errorf(reason.Required, nil, "is required")
	}
	if len(s) != 18 {
		n := utf8.RuneCountInString(s)
		return reason.Errorf(reason.InvalidFormat, reason.Meta{"format": "ID_NUMBER", "part": "LENGTH", "got": reason.Itoa(n)},
			"must be 18 characters, got %d", n)
	}
	sum := 0
	for i := 0; i < 17; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return part("DIGITS", "the first 17 characters must be digits, found %q at position %d", c, i+1)
		}
		sum += int(c-'0') * idWeights[i]
	}
	last := s[17]
	if (last < '0' || last > '9') && last != 'X' {
		return part("LAST", "the last character must be a digit or X, found %q", last)
	}
	if s[0] == '0' {
		return part("PROVINCE", "the first digit (the province) must not be 0")
	}
	birth, err := time.Parse("20060102", s[6:14])
	if err != nil || birth.Year() < 1800 {
		// Not the characters themselves: they are a birth date, and the
		// message goes into logs.
		return part("BIRTH_DATE", "characters 7-14 must be a birth date YYYYMMDD, and are not one")
	}
	if want := idCheck[sum%11]; last != want {
		return reason.Errorf(reason.IDNumberChecksum, nil, "check character is %c, want %c: the number is mistyped", last, want)
	}
	return nil
}

// creditChars are the characters of a unified social credit code, in the
// order of their values (GB 32100-2015: no I, O, Z, S, V).
const creditChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// ValidCreditCode reports why s is not a unified social credit code
// (统一社会信用代码, GB 32100-2015), or nil: 18 characters of
// creditChars, the last the check character: with the first 17 weighted
// 3^i mod 31, it is the character of value 31 − (sum mod 31) (0 for 31).
// The error names its reason: INVALID_FORMAT (format CREDIT_CODE) or
// CREDIT_CODE_CHECKSUM. An empty s is no error: the code is optional.
func ValidCreditCode(s string) error {
	if s == "" {
		return nil
	}
	bad := func(format string, args ...any) error {
		return reason.Errorf(reason.InvalidFormat, reason.Meta{"format": "CREDIT_CODE"}, format, args...)
	}
	if len(s) != 18 {
		return bad("must be 18 characters, got %d", utf8.RuneCountInString(s))
	}
	sum, w := 0, 1
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(creditChars, s[i])
		if v < 0 {
			return bad("character %d (%q) is not a digit or a capital other than I, O, Z, S, V", i+1, s[i])
		}
		sum += v * w
		w = w * 3 % 31
	}
	if strings.IndexByte(creditChars, s[17]) < 0 {
		return bad("character 18 (%q) is not a digit or a capital other than I, O, Z, S, V", s[17])
	}
	if want := creditChars[(31-sum%31)%31]; s[17] != want {
		return reason.Errorf(reason.CreditCodeChecksum, nil, "check character is %c, want %c: the code is mistyped", s[17], want)
	}
	return nil
}

// MaskIDNumber hides the middle of an identity number: the first 4 and
// the last 4 characters around 10 stars (4501**********1234). Anything
// shorter than 9 characters is all stars.
func MaskIDNumber(s string) string {
	r := []rune(s)
	if len(r) < 9 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:4]) + strings.Repeat("*", 10) + string(r[len(r)-4:])
}

// MaskPhone hides the middle of a phone number: the first 3 and the last
// 4 characters around stars (139****0001, 077*****1001). Anything shorter
// than 8 characters is all stars.
func MaskPhone(s string) string {
	r := []rune(s)
	if len(r) < 8 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
}

// maskedAddressKeep is how many characters of an address MaskAddress
// keeps: about the county and the township (广西南宁市武鸣区…), not the
// street and the house.
const maskedAddressKeep = 6

// MaskAddress keeps the first 6 characters of an address and puts *** in
// place of the rest (广西壮族自治区***). A short address keeps half of
// its characters at most; an empty one stays empty.
func MaskAddress(s string) string {
	r := []rune(s)
	if len(r) == 0 {
		return ""
	}
	keep := min(maskedAddressKeep, len(r)/2)
	return string(r[:keep]) + "***"
}

// MaskApplicant masks an applicant's ID number, phone and address in
// place, for readers who do not handle the case. The name stays: it is on
// every notice the citizen is given. a may be nil.
func MaskApplicant(a *yizhanv1.Applicant) {
	if a == nil {
		return
	}
	a.IdNumber = MaskIDNumber(a.GetIdNumber())
	a.Phone = MaskPhone(a.GetPhone())
	a.Address = MaskAddress(a.GetAddress())
}

// ValidPhone reports why s is not a phone number a person gives, or nil
// (registry.ValidPhone: a mobile number, or a landline with its area
// code).
func ValidPhone(s string) error { return registry.ValidPhone(s) }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
