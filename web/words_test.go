package web

import "testing"

// A case handed up the tree is reported (上报), down it is sent (下发).
func TestAbove(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"450122000000", "450122101000", true},  // county above township
		{"450122000000", "450122101203", true},  // county above village
		{"450122101000", "450122101203", true},  // township above its village
		{"450122101000", "450122102203", false}, // not another township's village
		{"450122101203", "450122101000", false}, // a village is below
		{"450122101000", "450122101000", false}, // itself
	} {
		if got := above(tt.a, tt.b); got != tt.want {
			t.Errorf("above(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
