package node_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// The operator watches the request latency by route on /metrics. A
// route is a pattern: its label values are few whatever the requests
// name. The urgent reports' and the shifts' routes (/v1/duty/reports/{id},
// /v1/duty/shifts/{id}:swap) put the id itself in the label, and every
// /v1/duty/… route was labelled /v1/duty/{id}: a client asking for fifty
// report ids (no sign-in needed: the 401 is recorded all the same) added
// fifty histograms of 16 buckets to the node's registry, for ever, on a
// village PC, and the page lied about the route. The label is the
// gateway's pattern now.
func TestMetricsRouteLabelIsThePatternNotTheID(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	n := f.nodes["county-1"]
	base := "http://" + n.HTTPAddr()
	for i := range 50 {
		resp, err := http.Get(fmt.Sprintf("%s/v1/duty/reports/zz-report-%d", base, i))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	resp, err := http.Get(base + "/v1/duty/now")
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	routes := map[string]bool{}
	re := regexp.MustCompile(`yizhan_request_duration_seconds_count\{[^}]*route="([^"]*)"`)
	for _, m := range re.FindAllStringSubmatch(string(b), -1) {
		if strings.HasPrefix(m[1], "/v1/duty") {
			routes[m[1]] = true
		}
	}
	var list []string
	for r := range routes {
		list = append(list, r)
	}
	if len(routes) > 2 {
		t.Errorf("50 GETs of /v1/duty/reports/{id} and one of /v1/duty/now left %d route label values under /v1/duty (want the two patterns), e.g. %v",
			len(routes), list[:min(5, len(list))])
	}
	if routes["/v1/duty/{id}"] {
		t.Errorf("GET /v1/duty/now is labelled route=\"/v1/duty/{id}\" (every /v1/duty/… route is the same label): %v", list[:min(5, len(list))])
	}
}
