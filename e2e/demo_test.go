//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// demoAdminPassword is the password the demo gives every account.
const demoAdminPassword = "yizhan-demo"

// TestDemoCommand runs `yizhan demo` twice on one data directory: the
// first run fills a small county with sample data, the second reuses it.
// Each run says in plain words which node is up and who leads each office
// before its table (the first, a clean start, with no warning or error
// logged before it), serves the catalogue at its last village, signs the
// county admin in, and stops cleanly on SIGINT.
func TestDemoCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo-data")
	// The demo's node i listens on base+i (HTTP), base+100+i (peers) and
	// base+200+i (raft): 3 county nodes, a township, two villages.
	const nodes = 6
	base := freePortBlock(t, nodes, 0, 100, 200)
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{}}
	t.Cleanup(client.CloseIdleConnections)
	county := &api{t: t, http: client, base: "http://127.0.0.1:" + strconv.Itoa(base)}
	xicun := &api{t: t, http: client, base: "http://127.0.0.1:" + strconv.Itoa(base+nodes-1)}

	var first []string
	var firstTobacco string // the tobacco item's version and update time in the first run
	for run := 1; run <= 2; run++ {
		p := newProc(t, fmt.Sprintf("demo-run-%d", run), "demo", "--data", dir, "--http-base-port", strconv.Itoa(base))
		p.start()
		waitFor(t, fmt.Sprintf("run %d: the demo's node table", run), func() error {
			if !p.running() {
				t.Fatalf("run %d: the demo exited while starting", run)
			}
			if !strings.Contains(p.output(), "Press Ctrl-C") {
				return errNotYet
			}
			return nil
		}, 2*startTimeout)
		checkDemoProgress(t, run, p.output(), run == 1)

		// The catalogue at the last village: it is fed down the tree, so
		// wait for it to hold everything the county seeded.
		var items []any
		waitFor(t, fmt.Sprintf("run %d: the catalogue at xicun-1", run), func() error {
			code, body, err := xicun.call("GET", "/v1/items", nil)
			if err != nil {
				return err
			}
			if code != http.StatusOK {
				return fmt.Errorf("%d %v", code, body)
			}
			items, _ = body["items"].([]any)
			if len(items) < 10 || !slices.Contains(codes(items), "450122-YC-001") {
				return fmt.Errorf("%d items: %v", len(items), codes(items))
			}
			return nil
		}, syncTimeout)
		var tobacco map[string]any
		for _, it := range items {
			if m, _ := it.(map[string]any); m["name"] == "烟草专卖零售许可证核发" {
				tobacco = m
			}
		}
		if tobacco == nil {
			t.Fatalf("run %d: no tobacco retail licence among %v", run, codes(items))
		}
		if tobacco["statutory_limit_days"] != float64(20) || tobacco["promised_limit_days"] != float64(10) {
			t.Errorf("run %d: tobacco retail licence limits %v/%v days, want 20/10",
				run, tobacco["statutory_limit_days"], tobacco["promised_limit_days"])
		}
		// The second run finds the data of the first: the same items, the
		// tobacco licence not written again.
		got := codes(items)
		slices.Sort(got)
		stamp := fmt.Sprintf("version %v updated %v", tobacco["version"], tobacco["updated_at"])
		if run == 1 {
			first, firstTobacco = got, stamp
		} else {
			if !slices.Equal(got, first) {
				t.Errorf("the second run serves items %v, the first served %v", got, first)
			}
			if stamp != firstTobacco {
				t.Errorf("the second run's tobacco licence is %s, the first's %s: the data was not reused", stamp, firstTobacco)
			}
		}

		county.token = ""
		county.login("admin", demoAdminPassword)

		took, err := p.signal(os.Interrupt, stopTimeout)
		if err != nil {
			t.Fatalf("run %d: the demo exited after SIGINT with %v", run, err)
		}
		t.Logf("run %d: %d items; stopped %s after SIGINT", run, len(items), took.Round(time.Millisecond))
	}
}

// checkDemoProgress checks what the demo wrote before its node table: a
// line for each node that is up, one for each office's leader, the last
// "every node is ready." line; and, if clean, no warn or error log line.
func checkDemoProgress(t testing.TB, run int, out string, clean bool) {
	t.Helper()
	before, _, ok := strings.Cut(out, "\nOFFICE ")
	if !ok {
		t.Fatalf("run %d: no node table in the demo's output:\n%s", run, out)
	}
	lines := strings.Split(before, "\n")
	has := func(re *regexp.Regexp) bool { return slices.ContainsFunc(lines, re.MatchString) }
	var missing []string
	for _, name := range []string{"county-1", "county-2", "county-3", "chengguan-1", "dongcun-1", "xicun-1"} {
		if re := regexp.MustCompile(`^` + name + ` is up \(.+\): http://127\.0\.0\.1:\d+$`); !has(re) {
			missing = append(missing, re.String())
		}
	}
	for _, office := range []string{"the county 青山县", "the township 城关镇", "the village 东村", "the village 西村"} {
		if re := regexp.MustCompile(`^\S+ leads ` + office + `$`); !has(re) {
			missing = append(missing, re.String())
		}
	}
	if re := regexp.MustCompile(`^every node is ready\.$`); !has(re) {
		missing = append(missing, re.String())
	}
	if len(missing) > 0 {
		t.Errorf("run %d: the demo's progress before its table lacks lines matching %q:\n%s", run, missing, before)
	}
	if !clean {
		return
	}
	for _, l := range lines {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			t.Errorf("run %d, a clean start: the demo logged before its table:\n%s", run, l)
		}
	}
}
