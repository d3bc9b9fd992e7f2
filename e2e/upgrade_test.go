//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// previousRelease is the last commit of the release before the case book
// moved to disk: the book in memory and in raft's snapshots (format 2),
// raft's log in badger.
const previousRelease = "8e83c0e"

// buildPrevious builds the previous release's binary from the repository's
// history, with raft snapshots taken after 32 entries (not 8,192), so that
// a short test leaves data directories holding snapshots of the old
// format as well as log entries after them.
func buildPrevious(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	archive := exec.Command("sh", "-c", fmt.Sprintf("git -C .. archive --format=tar %s | tar -x -C %s", previousRelease, src))
	if out, err := archive.CombinedOutput(); err != nil {
		t.Fatalf("the previous release (%s) from git: %v\n%s", previousRelease, err, out)
	}
	nodeGo := filepath.Join(src, "cmd", "yizhan", "node.go")
	b, err := os.ReadFile(nodeGo)
	if err != nil {
		t.Fatal(err)
	}
	const literal = "TLS: bundle, BootstrapAdminPassword: adminPassword, Logger: logger,"
	if !strings.Contains(string(b), literal) {
		t.Fatalf("%s: no %q to add the timing to", nodeGo, literal)
	}
	b = []byte(strings.Replace(string(b), literal, literal+" Timing: upgradeTestTiming(),", 1))
	timing := `package main

import (
	"time"

	"github.com/yizhan-gov/yizhan/federation/raftgroup"
)

func upgradeTestTiming() raftgroup.Timing {
	t := raftgroup.DefaultTiming()
	t.SnapshotThreshold, t.SnapshotInterval, t.TrailingLogs = 32, time.Second, 16
	return t
}
`
	if err := os.WriteFile(nodeGo, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "cmd", "yizhan", "upgrade_timing.go"), []byte(timing), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "yizhan-previous")
	build := exec.Command("go", "build", "-o", bin, "./cmd/yizhan")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the previous release: %v\n%s", err, out)
	}
	return bin
}

// A federation running the previous release — case books in memory and
// in snapshots of the old format, raft's logs in badger — is stopped and
// started with this release on the same data directories: every node
// moves its log to raft-wal and imports its book, every case is there in
// the state it had, indexes and counters check, and the work goes on
// (old cases decided, new ones filed, a citizen's cases found by ID).
func TestUpgradeFromThePreviousRelease(t *testing.T) {
	c := newCluster(t)
	c.previous = buildPrevious(t)
	c, admin := startCaseCluster(c, 1)
	agent := c.api("dongcun-1").login("dongcun", adminPassword)
	clerk := c.api("county-1").login("clerk", adminPassword)
	approver := c.api("county-1").login("approver", adminPassword)

	// Filings under request IDs first, so that the snapshots of the old
	// format hold their answers: sent again after the upgrade, each
	// answers its case.
	retried, _ := fileWithRetriesAs(t, agent, 10, "upgrade", time.Now().Add(syncTimeout))
	if t.Failed() {
		t.FailNow()
	}
	numbers := fileCases(t, agent, 80)
	for n := range retried {
		numbers[n] = true
	}
	var some []string
	for n := range numbers {
		caseWaitOwned(t, admin, n, countyCode)
		some = append(some, n)
	}
	accepted, decided := some[0], some[1]
	for _, n := range []string{accepted, decided} {
		caseDo(t, clerk, "POST", "/v1/cases/"+n+":accept", map[string]any{})
	}
	caseDo(t, clerk, "POST", "/v1/cases/"+decided+":review", map[string]any{"reason": "材料齐全"})
	caseDo(t, approver, "POST", "/v1/cases/"+decided+":decide", map[string]any{"approved": true, "reason": "符合条件"})
	// Snapshots of the old format at the county and the village, then
	// entries after them in the logs.
	for _, name := range []string{"county-1", "dongcun-1"} {
		dir := filepath.Join(c.dir, name, "data", "snapshots", "snapshots") // raft's file store adds a level
		waitFor(t, name+" to take a snapshot", func() error {
			if m, _ := filepath.Glob(filepath.Join(dir, "*", "meta.json")); len(m) == 0 {
				return fmt.Errorf("none in %s", dir)
			}
			return nil
		}, syncTimeout)
	}
	for n := range fileCases(t, agent, 5) {
		numbers[n] = true
		caseWaitOwned(t, admin, n, countyCode)
	}

	// The upgrade: every node stopped, and started with this release.
	for _, n := range c.nodes {
		n.stop(stopTimeout)
	}
	for _, n := range c.nodes {
		n.proc.bin = ""
		n.proc.args = append(n.proc.args, "--check-book")
		n.start()
	}
	for name := range c.nodes {
		c.waitReady(name)
		waitBookChecked(t, c, name)
		if _, err := os.Stat(filepath.Join(c.dir, name, "data", "raft-wal")); err != nil {
			t.Errorf("%s: no raft-wal after the upgrade: %v", name, err)
		}
	}
	asAdmin := func(name string) *api {
		a := c.api(name)
		a.token = admin.token
		return a
	}
	for name, office := range map[string]string{"county-1": countyCode, "dongcun-1": villageCode, "chengguan-1": townshipCode} {
		held, err := casesListed(asAdmin(name), office)
		if err != nil {
			t.Fatal(err)
		}
		for n := range numbers {
			if held[n] != 1 {
				t.Errorf("%s lists case %s %d times after the upgrade", name, n, held[n])
			}
		}
	}
	state := func(number string) string {
		t.Helper()
		code, body, err := admin.call("GET", "/v1/cases/"+number, nil)
		if err != nil || code != http.StatusOK {
			t.Fatalf("get %s: %d %v %v", number, code, body, err)
		}
		return fmt.Sprint(body["case"].(map[string]any)["state"])
	}
	if got := state(decided); got != "CASE_STATE_APPROVED" {
		t.Errorf("the case decided before the upgrade is %s", got)
	}
	if got := state(accepted); got != "CASE_STATE_ACCEPTED" {
		t.Errorf("the case accepted before the upgrade is %s", got)
	}

	// A client whose answer was lost before the upgrade sends its filing
	// again after it: the case it made, not a new one.
	agent = c.api("dongcun-1").login("dongcun", adminPassword)
	for i := range 10 {
		code, body, err := agent.call("POST", "/v1/cases", retriedFiling("upgrade", i))
		if err != nil || code != http.StatusOK {
			t.Fatalf("filing %d sent again after the upgrade: %d %v %v", i, code, body, err)
		}
		if n := fmt.Sprint(body["case"].(map[string]any)["number"]); retried[n] == 0 {
			t.Errorf("filing %d, made before the upgrade, sent again under its request ID after it made case %s, a new one", i, n)
		}
	}

	// The work goes on: a case accepted before is decided after, a new
	// filing gets a number of its own, the applicant's cases are found.
	clerk = c.api("county-1").login("clerk", adminPassword)
	approver = c.api("county-1").login("approver", adminPassword)
	caseDo(t, clerk, "POST", "/v1/cases/"+accepted+":review", map[string]any{"reason": "材料齐全", "conclusion": "CONCLUSION_AGREE"})
	caseDo(t, approver, "POST", "/v1/cases/"+accepted+":decide", map[string]any{"approved": false, "reason": "不符合条件", "legal_basis": "《烟草专卖法实施条例》第十条"})
	agent = c.api("dongcun-1").login("dongcun", adminPassword)
	for n := range fileCases(t, agent, 1) {
		if numbers[n] {
			t.Errorf("the first filing after the upgrade got %s, a number used before", n)
		}
		caseWaitOwned(t, admin, n, countyCode)
	}
	found := 0
	token := ""
	for {
		code, body, err := clerk.call("GET", "/v1/cases?applicant="+url.QueryEscape(caseIDNumber("45012219850312002"))+"&page_size=50&page_token="+token, nil)
		if err != nil || code != http.StatusOK {
			t.Fatalf("search by ID number: %d %v %v", code, body, err)
		}
		list, _ := body["cases"].([]any)
		found += len(list)
		if token, _ = body["next_page_token"].(string); token == "" {
			break
		}
	}
	if want := len(numbers) + 1; found != want {
		t.Errorf("the applicant's cases at the county: %d, want %d", found, want)
	}
	// The nodes whose newest snapshot was of the old format replace it,
	// so that they can bring a follower up to date by snapshot.
	for _, name := range []string{"county-1", "dongcun-1"} {
		waitFor(t, name+" to take a snapshot of the new format", func() error {
			if !strings.Contains(c.nodes[name].output(), "took the first snapshot of the new format") {
				return fmt.Errorf("not yet")
			}
			return nil
		}, syncTimeout)
	}
}
