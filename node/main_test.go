package node

import (
	"os"
	"testing"

	"github.com/yizhan-gov/yizhan/auth"
)

// TestMain runs the package's tests with cheap password hashes: the
// tests start whole offices and make and sign in accounts hundreds of
// times, and each hash at the default cost takes 30–130 ms (0.7 s
// under the race detector). The sign-in's benchmarks put the default
// cost back.
func TestMain(m *testing.M) {
	auth.UseCostForTests(auth.TestingCost)
	os.Exit(m.Run())
}
