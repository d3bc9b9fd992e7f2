package casework

import (
	"bytes"
	"crypto/rand"
	"regexp"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

type keys map[uint32][]byte

func (k keys) QueryCodeKey(id uint32) ([]byte, bool) { v, ok := k[id]; return v, ok }

func TestNewQueryCode(t *testing.T) {
	form := regexp.MustCompile(`^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$`)
	seen := map[string]bool{}
	used := map[rune]bool{}
	for range 2000 {
		c, err := NewQueryCode(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !form.MatchString(c) || !ValidQueryCode(c) {
			t.Fatalf("query code %q is not of the form XXXX-XXXX-XXXX over %s", c, QueryCodeAlphabet)
		}
		if seen[c] {
			t.Fatalf("query code %q drawn twice", c)
		}
		seen[c] = true
		for _, r := range c {
			used[r] = true
		}
	}
	if len(used) != len(QueryCodeAlphabet)+1 { // and the dash
		t.Errorf("2000 codes used %d characters, want all %d of the alphabet", len(used)-1, len(QueryCodeAlphabet))
	}
	if _, err := NewQueryCode(bytes.NewReader(nil)); err == nil {
		t.Error("no randomness, and still a code")
	}
}

func TestNormalizeAndValidQueryCode(t *testing.T) {
	for in, want := range map[string]string{
		"7KQ9-M3XP-2WHD":   "7KQ9M3XP2WHD",
		"7kq9 m3xp 2whd":   "7KQ9M3XP2WHD",
		" 7KQ9－M3XP－2WHD ": "7KQ9M3XP2WHD",
		"７ＫＱ９ｍ３ｘｐ２ＷＨＤ":     "7KQ9M3XP2WHD",
		"94277256":         "94277256",
		"9427 7256":        "94277256",
	} {
		if got := NormalizeQueryCode(in); got != want {
			t.Errorf("NormalizeQueryCode(%q) = %q, want %q", in, got, want)
		}
		if !ValidQueryCode(in) {
			t.Errorf("ValidQueryCode(%q) = false", in)
		}
	}
	for _, in := range []string{"", "1234567", "123456789", "7KQ9-M3XP-2WH", "7KQ9-M3XP-2WH0", "OKQ9-M3XP-2WHD", "7KQ9-M3XP-2WHD-A", "办件查询码一二三四五六"} {
		if ValidQueryCode(in) {
			t.Errorf("ValidQueryCode(%q) = true", in)
		}
	}
}

func TestQueryCodeMatches(t *testing.T) {
	k := keys{1: bytes.Repeat([]byte{7}, 32), 2: bytes.Repeat([]byte{8}, 32)}
	const number = "450122101203-20261127-0004"
	in := FileInput{Number: number, QueryCode: "7KQ9-M3XP-2WHD", QueryCodeKeyID: 2, QueryCodeKey: k[2]}
	f := &yizhanv1.CaseFiling{Number: number, QueryCodeHash: in.queryCodeHash(), QueryCodeKeyId: 2}
	if bytes.Equal(f.QueryCodeHash, QueryCodeHash(NormalizeQueryCode(in.QueryCode))) {
		t.Fatal("a keyed filing keeps the plain SHA-256 of its code")
	}
	for code, want := range map[string]bool{"7KQ9-M3XP-2WHD": true, "7kq9m3xp2whd": true, "7KQ9-M3XP-2WHE": false, "": false} {
		if got, known := QueryCodeMatches(f, code, k); got != want || !known {
			t.Errorf("QueryCodeMatches(%q) = %v, %v; want %v", code, got, known, want)
		}
	}
	// The number is in the MAC: the same code of another case does not
	// match, nor the same code under another key.
	if bytes.Equal(QueryCodeMAC(k[2], number, in.QueryCode), QueryCodeMAC(k[2], "450122101203-20261127-0005", in.QueryCode)) ||
		bytes.Equal(QueryCodeMAC(k[2], number, in.QueryCode), QueryCodeMAC(k[1], number, in.QueryCode)) {
		t.Error("the MAC does not depend on the number and the key")
	}
	// A key this replica does not hold: cannot be checked here.
	if _, known := QueryCodeMatches(f, in.QueryCode, keys{1: k[1]}); known {
		t.Error("a filing under an unknown key was checked")
	}
	// Cases filed before the keys: key id 0, SHA-256 of the 8-digit code.
	old := &yizhanv1.CaseFiling{Number: number, QueryCodeHash: QueryCodeHash("94277256")}
	if ok, known := QueryCodeMatches(old, "9427-7256", nil); !ok || !known {
		t.Error("an 8-digit code of an older case no longer matches")
	}
	if ok, _ := QueryCodeMatches(&yizhanv1.CaseFiling{Number: number}, "", nil); ok {
		t.Error("an empty code matched a filing without a hash")
	}
}
