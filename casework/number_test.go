package casework

import "testing"

// A number typed without its dashes, with full-width characters or an
// input method's long dash, is read as the number it is.
func TestNormalizeCaseNumber(t *testing.T) {
	const want = "450122101203-20261127-0001"
	for _, typed := range []string{
		want, "450122101203202611270001", "４５０１２２１０１２０３－２０２６１１２７－０００１",
		"450122101203—20261127—0001", " 450122101203 - 20261127 - 0001 ", "450122101203_20261127_0001",
	} {
		if got := NormalizeCaseNumber(typed); got != want {
			t.Errorf("NormalizeCaseNumber(%q) = %q", typed, got)
		}
	}
	if got := NormalizeCaseNumber("4501221012032026112700012"); got != "450122101203-20261127-00012" {
		t.Errorf("a five-digit sequence: %q", got)
	}
	if got := NormalizeCaseNumber("abc"); got != "abc" {
		t.Errorf("not a number: %q", got)
	}
}
