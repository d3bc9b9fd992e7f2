package casework

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"io"
	"strings"

	"google.golang.org/protobuf/proto"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Query codes. The citizen follows, withdraws, rates and complains about a
// case with its number and its query code, and nothing else: the code is
// the only secret. It is 12 characters from a 32-character alphabet
// without look-alikes (no 0, O, 1, I), shown in three groups of four
// (7KQ9-M3XP-2WHD): 60 bits, 32^12 ≈ 1.15×10^18 codes. Typed in, case,
// spaces and dashes do not matter. What a case keeps is an HMAC-SHA256 of
// the number and the code under a key of the registry (see
// QueryCodeMAC); cases filed before the keys keep the SHA-256 of their
// 8-digit code (QueryCodeHash, key id 0), which goes on working. See
// DESIGN.md for the limits that go with the length.

// QueryCodeAlphabet is the characters of a query code: the digits 2–9 and
// the letters A–Z but I and O.
const QueryCodeAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

// QueryCodeLength is the characters in a query code.
const QueryCodeLength = 12

// NewQueryCode draws a query code from rand (crypto/rand.Reader; casework
// draws no randomness of its own) and returns it in groups of four,
// 7KQ9-M3XP-2WHD.
func NewQueryCode(rand io.Reader) (string, error) {
	var b [QueryCodeLength]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", fmt.Errorf("casework: query code: %w", err)
	}
	var sb strings.Builder
	for i, v := range b {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		// 32 divides 256: taking 5 bits of each byte has no bias.
		sb.WriteByte(QueryCodeAlphabet[v&31])
	}
	return sb.String(), nil
}

// NormalizeQueryCode is a typed-in query code as it is checked: white
// space and dashes (ASCII and full-width) dropped, letters in upper case,
// full-width letters and digits made ASCII.
func NormalizeQueryCode(s string) string {
	var sb strings.Builder
	for _, r := range s {
		switch {
		case r == '-' || r == '－' || r == '—' || r == '‐' || r == ' ' || r == '\u3000' || r == '\t':
			continue
		case r >= '０' && r <= '９':
			r = '0' + (r - '０')
		case r >= 'ａ' && r <= 'ｚ':
			r = 'A' + (r - 'ａ')
		case r >= 'Ａ' && r <= 'Ｚ':
			r = 'A' + (r - 'Ａ')
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		sb.WriteRune(r)
	}
	return sb.String()
}

// ValidQueryCode reports whether a typed-in code can be a query code at
// all: 12 characters of the alphabet, or 8 digits (cases filed before
// 12-character codes). Others need not be looked up.
func ValidQueryCode(s string) bool {
	c := NormalizeQueryCode(s)
	if len(c) == 8 && allDigits(c) {
		return true
	}
	if len(c) != QueryCodeLength {
		return false
	}
	for i := range len(c) {
		if strings.IndexByte(QueryCodeAlphabet, c[i]) < 0 {
			return false
		}
	}
	return true
}

// QueryCodeMAC is what a case filed under a query-code key keeps of its
// code: HMAC-SHA256 under key of "yizhan-query-v2", the case number and
// the normalized code. The number is in it, so that one computation
// serves one case only.
func QueryCodeMAC(key []byte, number, code string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("yizhan-query-v2\x00"))
	m.Write([]byte(number))
	m.Write([]byte{0})
	m.Write([]byte(NormalizeQueryCode(code)))
	return m.Sum(nil)
}

// QueryCodeKeys finds a query-code key by id (*registry.Registry
// satisfies it).
type QueryCodeKeys interface {
	QueryCodeKey(id uint32) ([]byte, bool)
}

// QueryCodeMatches reports whether code is the query code of the case
// whose filing is f. known is false when the filing's key is not among
// keys (this replica's registry is behind): the code cannot be checked
// here.
func QueryCodeMatches(f *yizhanv1.CaseFiling, code string, keys QueryCodeKeys) (match, known bool) {
	want := f.GetQueryCodeHash()
	var got []byte
	if id := f.GetQueryCodeKeyId(); id == 0 {
		got = QueryCodeHash(NormalizeQueryCode(code))
	} else {
		key, ok := keys.QueryCodeKey(id)
		if !ok {
			return false, false
		}
		got = QueryCodeMAC(key, f.GetNumber(), code)
	}
	return len(want) > 0 && subtle.ConstantTimeCompare(got, want) == 1, true
}

// queryCodeHash is what the filing keeps of in.QueryCode.
func (in FileInput) queryCodeHash() []byte {
	if in.QueryCodeKeyID == 0 {
		return QueryCodeHash(NormalizeQueryCode(in.QueryCode))
	}
	return QueryCodeMAC(in.QueryCodeKey, in.Number, in.QueryCode)
}

// QueryCodeFiling is the filing of a case (its log events) as its query
// code now stands: the FILED event's filing, with the hash and key of
// the latest QUERY_CODE_REISSUED event (补发查询码) when there is one, so
// that the old code stops working. nil for an empty log.
func QueryCodeFiling(events []*yizhanv1.CaseEvent) *yizhanv1.CaseFiling {
	if len(events) == 0 {
		return nil
	}
	f := events[0].GetFiling()
	for i := len(events) - 1; i > 0; i-- {
		if e := events[i]; e.GetType() == yizhanv1.EventType_EVENT_TYPE_QUERY_CODE_REISSUED {
			f = proto.CloneOf(f)
			f.QueryCodeHash, f.QueryCodeKeyId = e.GetQueryCodeHash(), e.GetQueryCodeKeyId()
			break
		}
	}
	return f
}
