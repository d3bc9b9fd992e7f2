//go:build e2e

package e2e

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestMakeTestInstallsDepsFirst checks that `make test`, the README's test
// command, first installs what it needs (make deps, the step .ci/run uses
// too) and only then runs the tests.
func TestMakeTestInstallsDepsFirst(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make on this machine")
	}
	cmd := exec.Command("make", "-n", "test")
	cmd.Dir = ".."
	// Not the flags of a make this test may run under.
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "MAKEFLAGS=") || strings.HasPrefix(kv, "MAKELEVEL=") || strings.HasPrefix(kv, "MFLAGS=")
	})
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n test: %v\n%s", err, out)
	}
	var steps []string
	for l := range strings.Lines(string(out)) {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "make") {
			steps = append(steps, l)
		}
	}
	deps := slices.IndexFunc(steps, func(s string) bool { return strings.Contains(s, ".ci/deps.sh") })
	firstTest := slices.IndexFunc(steps, func(s string) bool { return strings.Contains(s, " test ") })
	if deps != 0 || firstTest < 0 {
		t.Fatalf("make -n test: want the deps step (.ci/deps.sh) first, then the tests; got:\n%s", out)
	}

	// .ci/run uses the same step, not a list of its own.
	ci, err := os.ReadFile("../.ci/run")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(ci), "\nmake deps\n") || strings.Contains(string(ci), "chromium") {
		t.Errorf(".ci/run should run make deps and name no package of its own:\n%s", ci)
	}
}
