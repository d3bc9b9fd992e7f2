//go:build e2e

package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// TestVersion: `yizhan version` says the version and the commit the binary
// was built from (commit unknown when the build had no version control
// information), and a node logs them as it starts.
func TestVersion(t *testing.T) {
	out := strings.TrimSuffix(runCLI(t, "version"), "\n")
	re := regexp.MustCompile(`^yizhan \S+ commit ([0-9a-f]{40}( \([^)]*\))?|unknown \(built without version control information\)) go\S+$`)
	if !re.MatchString(out) {
		t.Errorf("yizhan version = %q, want a line matching %s", out, re)
	}
	version := strings.Fields(out)[1]

	c := newCluster(t)
	n := c.start("county-1", countyCode, "--bootstrap", "--bootstrap-admin-password-file", c.pwFile)
	logged := regexp.MustCompile(`level=INFO msg="yizhan node starting" office=` + countyCode + ` node=county-1 version=` +
		regexp.QuoteMeta(version) + ` commit=([0-9a-f]{40}|unknown)\b.* go=go\S+`)
	waitFor(t, "the node's version line", func() error {
		if !logged.MatchString(n.output()) {
			return errNotYet
		}
		return nil
	}, startTimeout)
	n.stop(stopTimeout)
}
