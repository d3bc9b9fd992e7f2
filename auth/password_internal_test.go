package auth

import (
	"strings"
	"testing"
)

// The hash VerifyAbsent checks against is well formed (else it would be
// refused at once, without the work) and has the parameters of new
// hashes, at the default cost and at a test's.
func TestAbsentHashIsWellFormed(t *testing.T) {
	for _, c := range []Cost{DefaultCost, TestingCost} {
		restore := UseCostForTests(c)
		absent := absentHash(currentCost())
		ok, err := VerifyPassword(absent, "anything")
		if ok || err != nil {
			t.Fatalf("VerifyPassword(absentHash(%v)) = %v, %v; want false, nil", c, ok, err)
		}
		h, _ := HashPassword("x")
		params := func(h string) string { return strings.Join(strings.Split(h, "$")[:4], "$") }
		if params(h) != params(absent) {
			t.Errorf("absentHash parameters %s differ from new hashes' %s", params(absent), params(h))
		}
		if len(strings.Split(absent, "$")[5]) != len(strings.Split(h, "$")[5]) {
			t.Errorf("absentHash key length differs from a real hash's")
		}
		restore()
	}
	if h, _ := HashPassword("x"); !strings.Contains(h, "$m=19456,t=2,p=1$") {
		t.Errorf("after the test's cost was restored, a new hash is %s, want the default cost m=19456,t=2", h)
	}
}
