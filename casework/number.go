package casework

import (
	"crypto/sha256"
	"strconv"
	"strings"
	"time"

	"github.com/yizhan-gov/yizhan/reason"
	"github.com/yizhan-gov/yizhan/registry"
)

// CaseNumber returns the number of an office's seq-th case of the day:
// <office code>-<YYYYMMDD>-<seq>, the date in China Standard Time and seq
// zero-padded to 4 digits (wider when it needs more), e.g.
// 450122101203-20261127-0001.
func CaseNumber(office string, day time.Time, seq uint32) string {
	n := strconv.FormatUint(uint64(seq), 10)
	if len(n) < 4 {
		n = "000"[:4-len(n)] + n
	}
	return office + "-" + day.In(registry.CST).Format("20060102") + "-" + n
}

// NormalizeCaseNumber is a case number as a citizen may type it, made
// canonical: full-width digits and dashes (４５０１－…, from a Chinese
// input method) as half-width ones, any dash-like character as '-',
// spaces dropped, and a number typed as digits alone (24 or more: the
// office code, the day, the sequence) cut into its three parts. What it
// cannot read comes back as it was, for ParseCaseNumber to refuse.
func NormalizeCaseNumber(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		case r == '－' || r == '—' || r == '–' || r == '‐' || r == '―' || r == '_' || r == '＿':
			b.WriteByte('-')
		case r == ' ' || r == '\u3000' || r == '\t':
		default:
			b.WriteRune(r)
		}
	}
	n := b.String()
	if len(n) >= 24 && allDigits(n) {
		n = n[:12] + "-" + n[12:20] + "-" + n[20:]
	}
	return n
}

// ParseCaseNumber splits a case number made by CaseNumber into the office
// code, the day (YYYYMMDD) and the sequence. A number CaseNumber would not
// have made (not canonical, a bad office code or date, seq 0) is a
// *registry.ValidationError on "number".
func ParseCaseNumber(n string) (office, day string, seq uint32, err error) {
	bad := func(format string, args ...any) error {
		return registry.Invalid("number", reason.InvalidFormat, reason.Meta{"format": "CASE_NUMBER"}, format, args...)
	}
	parts := strings.Split(n, "-")
	if len(parts) != 3 {
		return "", "", 0, bad("must be <office code>-<YYYYMMDD>-<sequence>, got %q", n)
	}
	office, day, s := parts[0], parts[1], parts[2]
	if err := registry.ValidCode(office); err != nil {
		return "", "", 0, bad("office part %q: %v", office, err)
	}
	if len(day) != 8 || !allDigits(day) {
		return "", "", 0, bad("day part must be YYYYMMDD, got %q", day)
	}
	if _, err := time.Parse("20060102", day); err != nil {
		return "", "", 0, bad("day part %q is not a date", day)
	}
	v, perr := strconv.ParseUint(s, 10, 32)
	// Zero-padded to 4 digits, no wider than it needs: CaseNumber's
	// %04d would make s again.
	if len(s) < 4 || !allDigits(s) || perr != nil || v == 0 || (len(s) > 4 && s[0] == '0') {
		return "", "", 0, bad("sequence part must be a number from 0001, zero-padded to 4 digits, got %q", s)
	}
	return office, day, uint32(v), nil
}

// QueryCodeHash is what a case filed before the registry's query-code
// keys (key id 0) keeps of the citizen's query code: SHA-256 of
// "yizhan-query:"+code. Cases filed since keep QueryCodeMAC.
func QueryCodeHash(code string) []byte {
	h := sha256.Sum256([]byte("yizhan-query:" + code))
	return h[:]
}
