package charts

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

// alertRule is one rule of the PrometheusRule the chart renders.
type alertRule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

// alertRules renders the chart with vals and returns its alert rules
// (none without a PrometheusRule).
func alertRules(t *testing.T, vals map[string]any) []alertRule {
	t.Helper()
	rendered, err := render(t, "county", vals, false)
	if err != nil {
		t.Fatal(err)
	}
	o := decodeOffice(t, rendered)
	if o.rules == nil {
		return nil
	}
	js, err := json.Marshal(o.rules.Object["spec"])
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Groups []struct {
			Rules []alertRule `json:"rules"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(js, &spec); err != nil {
		t.Fatal(err)
	}
	var out []alertRule
	for _, g := range spec.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

// exportedMetrics are the yizhan_* names the node registers (node/*.go,
// tests left out), with a histogram's series.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "node", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("node sources: %v", err)
	}
	names := map[string]bool{}
	re := regexp.MustCompile(`"(yizhan_[a-z0-9_]+)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			for _, s := range []string{"", "_bucket", "_count", "_sum"} {
				names[m[1]+s] = true
			}
		}
	}
	return names
}

// The county example, which asks for monitoring, ships the alerts an
// operator needs (docs/OPERATIONS.md "Alerts"): each a valid PromQL
// expression, on metrics a node exports, on this office's series only
// (Prometheus evaluates every rule over everything it scrapes: an
// unscoped rule would fire once for each office's release), with a
// severity and a summary.
func TestTheCountyExampleShipsAlertsOnItsOwnSeries(t *testing.T) {
	vals := exampleValues(t, "county.yaml")
	rules := alertRules(t, vals)
	if len(rules) == 0 {
		t.Fatal("the county example renders no PrometheusRule")
	}
	exported := exportedMetrics(t)
	office := vals["officeCode"].(string)
	var names []string
	for _, r := range rules {
		names = append(names, r.Alert)
		expr, err := parser.NewParser(parser.Options{}).ParseExpr(r.Expr)
		if err != nil {
			t.Errorf("alert %s: not PromQL: %v (%q)", r.Alert, err, r.Expr)
			continue
		}
		selectors := parser.ExtractSelectors(expr)
		if len(selectors) == 0 {
			t.Errorf("alert %s reads no series: %q", r.Alert, r.Expr)
		}
		for _, sel := range selectors {
			var name string
			scoped := false
			for _, m := range sel {
				if m.Name == labels.MetricName {
					name = m.Value
				}
				if m.Name == "office" && m.Type == labels.MatchEqual && m.Value == office {
					scoped = true
				}
			}
			if name == "up" {
				// Prometheus's own series of its scrapes: this release's
				// pods by the job of their headless Service.
				if !slices.ContainsFunc(sel, func(m *labels.Matcher) bool { return m.Name == "job" && m.Value == "county-peers" }) {
					t.Errorf("alert %s reads up of every target, not of this release's pods: %q", r.Alert, r.Expr)
				}
				continue
			}
			if !exported[name] {
				t.Errorf("alert %s: %s is no metric a node exports", r.Alert, name)
			}
			if !scoped {
				t.Errorf("alert %s reads %s of every office, not of office %s only", r.Alert, name, office)
			}
		}
		if s := r.Labels["severity"]; s != "warning" && s != "critical" {
			t.Errorf("alert %s: severity %q", r.Alert, s)
		}
		if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
			t.Errorf("alert %s has no summary or description", r.Alert)
		}
	}
	for _, want := range []string{"YizhanOfficeWithoutLeader", "YizhanNodeDown", "YizhanNodeNotReady", "YizhanDiskFilling", "YizhanSnapshotsFailing", "YizhanNoRecentBackup", "YizhanCaseMailFailing", "YizhanCertificateExpiring", "YizhanCalendarRunningOut", "YizhanCasesSetAside"} {
		if !slices.Contains(names, want) {
			t.Errorf("no alert %s among %v", want, names)
		}
	}
}

// An operator leaves out an alert by name, and a release without
// prometheusRule.enabled renders none.
func TestAlertsLeftOutByNameOrNotAskedFor(t *testing.T) {
	vals := exampleValues(t, "county.yaml")
	setPath(vals, "prometheusRule.disabled", []any{"YizhanClockOff"})
	for _, r := range alertRules(t, vals) {
		if r.Alert == "YizhanClockOff" {
			t.Errorf("YizhanClockOff rendered though disabled")
		}
	}
	setPath(vals, "prometheusRule.enabled", false)
	if rules := alertRules(t, vals); len(rules) != 0 {
		t.Errorf("without prometheusRule.enabled: %d rules", len(rules))
	}
	setPath(vals, "prometheusRule.disabled", []any{"YizhanNoSuchAlert"})
	if _, err := render(t, "county", vals, false); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("an unknown alert name in prometheusRule.disabled: %v; want refused naming the value", err)
	}
}
