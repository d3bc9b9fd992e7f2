package auth

import (
	"strings"
	"testing"
)

// The hash VerifyAbsent checks against is well formed (else it would be
// refused at once, without the work) and has the current parameters.
func TestAbsentHashIsWellFormed(t *testing.T) {
	ok, err := VerifyPassword(absentHash, "anything")
	if ok || err != nil {
		t.Fatalf("VerifyPassword(absentHash) = %v, %v; want false, nil", ok, err)
	}
	h, _ := HashPassword("x")
	params := func(h string) string { return strings.Join(strings.Split(h, "$")[:4], "$") }
	if params(h) != params(absentHash) {
		t.Errorf("absentHash parameters %s differ from new hashes' %s", params(absentHash), params(h))
	}
	if len(strings.Split(absentHash, "$")[5]) != len(strings.Split(h, "$")[5]) {
		t.Errorf("absentHash key length differs from a real hash's")
	}
}
