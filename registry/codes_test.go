package registry

import (
	"strings"
	"testing"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

func TestCodes(t *testing.T) {
	tests := []struct {
		name   string
		code   string
		valid  bool
		tier   yizhanv1.Tier
		parent string
	}{
		{name: "county", code: "450122000000", valid: true, tier: yizhanv1.Tier_TIER_COUNTY, parent: ""},
		{name: "township", code: "450122101000", valid: true, tier: yizhanv1.Tier_TIER_TOWNSHIP, parent: "450122000000"},
		{name: "village", code: "450122101203", valid: true, tier: yizhanv1.Tier_TIER_VILLAGE, parent: "450122101000"},
		{name: "village ending in zeros", code: "450122101200", valid: true, tier: yizhanv1.Tier_TIER_VILLAGE, parent: "450122101000"},
		{name: "empty", code: ""},
		{name: "six digits", code: "450122"},
		{name: "nine digits", code: "450122101"},
		{name: "thirteen digits", code: "4501221012031"},
		{name: "letter", code: "45012210120X"},
		{name: "full-width digit", code: "45012210120３"},
		{name: "space", code: "450122 01203"},
		{name: "sign", code: "+45012210120"},
		{name: "all zeros", code: "000000000000"},
		{name: "village without township", code: "450122000203"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidCode(tt.code)
			if (err == nil) != tt.valid {
				t.Fatalf("ValidCode(%q) = %v, want valid %v", tt.code, err, tt.valid)
			}
			tier, err := TierOf(tt.code)
			if (err == nil) != tt.valid || tier != tt.tier {
				t.Errorf("TierOf(%q) = %v, %v; want %v", tt.code, tier, err, tt.tier)
			}
			if got := ParentCode(tt.code); got != tt.parent {
				t.Errorf("ParentCode(%q) = %q, want %q", tt.code, got, tt.parent)
			}
		})
	}
}

func TestIsAncestorOrSelf(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		want bool
	}{
		{name: "self", a: village, b: village, want: true},
		{name: "parent", a: township, b: village, want: true},
		{name: "grandparent", a: county, b: village, want: true},
		{name: "county of township", a: county, b: township, want: true},
		{name: "child", a: village, b: township, want: false},
		{name: "sibling", a: village2, b: village, want: false},
		{name: "uncle", a: township2, b: village, want: false},
		{name: "other county", a: "450123000000", b: township, want: false},
		{name: "prefix but not a parent", a: "450122100000", b: "450122101000", want: false},
		{name: "invalid a", a: "4501", b: village, want: false},
		{name: "invalid both, equal", a: "x", b: "x", want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsAncestorOrSelf(tt.a, tt.b); got != tt.want {
				t.Errorf("IsAncestorOrSelf(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func FuzzValidCode(f *testing.F) {
	for _, s := range []string{"450122000000", "450122101000", "450122101203", "", "000000000000", "45012200020X", "450122000203"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, code string) {
		err := ValidCode(code)
		tier, tierErr := TierOf(code)
		if (err == nil) != (tierErr == nil) {
			t.Fatalf("ValidCode = %v but TierOf = %v", err, tierErr)
		}
		parent := ParentCode(code)
		if err != nil {
			if parent != "" || tier != yizhanv1.Tier_TIER_UNSPECIFIED || IsAncestorOrSelf(code, code) {
				t.Fatalf("invalid %q has parent %q, tier %v", code, parent, tier)
			}
			return
		}
		if !IsAncestorOrSelf(code, code) {
			t.Fatalf("%q is not its own ancestor", code)
		}
		switch tier {
		case yizhanv1.Tier_TIER_COUNTY:
			if parent != "" {
				t.Fatalf("county %q has parent %q", code, parent)
			}
		default:
			ptier, perr := TierOf(parent)
			if perr != nil || ptier != tier-1 {
				t.Fatalf("%q (%v) has parent %q (%v, %v)", code, tier, parent, ptier, perr)
			}
			if !IsAncestorOrSelf(parent, code) || IsAncestorOrSelf(code, parent) {
				t.Fatalf("ancestry of %q and %q is wrong", code, parent)
			}
		}
	})
}

func TestSubtreePrefix(t *testing.T) {
	for code, want := range map[string]string{
		"450122000000": "450122",
		"450122101000": "450122101",
		"450122101203": "450122101203",
		"45012210120":  "",
		"000000101000": "",
	} {
		if got := SubtreePrefix(code); got != want {
			t.Errorf("SubtreePrefix(%q) = %q, want %q", code, got, want)
		}
	}
	// Every office below shares the prefix, no other does.
	for _, c := range []struct {
		a, b  string
		below bool
	}{
		{"450122101000", "450122101203", true},
		{"450122101000", "450122102203", false},
		{"450122000000", "450123101203", false},
	} {
		if got := len(SubtreePrefix(c.a)) > 0 && strings.HasPrefix(c.b, SubtreePrefix(c.a)); got != c.below || got != IsAncestorOrSelf(c.a, c.b) {
			t.Errorf("%s below %s by prefix: %v, want %v", c.b, c.a, got, c.below)
		}
	}
}
