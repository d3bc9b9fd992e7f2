package node_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/node"
)

// The series an operator watching a node through its /metrics alone (a
// village PC: no Kubernetes, no node_exporter) alerts on: whether the
// node is ready and why not.

// seriesOf returns the values of metric name on n's /metrics, by the
// labels the node gives it (what is between the braces).
func seriesOf(t *testing.T, n *node.Node, name string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + n.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (!strings.HasPrefix(rest, "{") && !strings.HasPrefix(rest, " ")) {
			continue
		}
		sp := strings.LastIndexByte(rest, ' ')
		v, err := strconv.ParseFloat(rest[sp+1:], 64)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		out[strings.Trim(rest[:sp], "{}")] = v
	}
	return out
}

// oneSeries is the value of metric name, which n gives one series of.
func oneSeries(t *testing.T, n *node.Node, name string) float64 {
	t.Helper()
	s := seriesOf(t, n, name)
	if len(s) != 1 {
		t.Fatalf("%s has %d series on /metrics, want 1: %v", name, len(s), s)
	}
	for _, v := range s {
		return v
	}
	return 0
}

// A node that is never ready (here started with neither --bootstrap nor
// --join, one of the waits "A node that is never ready" says never end
// on their own) says so on /metrics, and why, as its /readyz does:
// yizhan_ready is 0 and yizhan_not_ready_reason names the wait. A ready
// node reads 1 and gives no reason.
func TestTheMetricsSayWhetherANodeIsReadyAndWhyNot(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	lost := f.start("lost-1", county, nil) // no Bootstrap, no Join
	time.Sleep(time.Second)
	if lost.Ready() {
		t.Fatal("premise: a node of no raft group is not ready")
	}
	if v := oneSeries(t, lost, "yizhan_ready"); v != 0 {
		t.Errorf("yizhan_ready of a node of no raft group: %v, want 0", v)
	}
	reasons := seriesOf(t, lost, "yizhan_not_ready_reason")
	if len(reasons) != 1 {
		t.Fatalf("yizhan_not_ready_reason of a node of no raft group: %v, want one series", reasons)
	}
	for labels, v := range reasons {
		if !strings.Contains(labels, `reason="no_raft_group"`) || v != 1 {
			t.Errorf("yizhan_not_ready_reason{%s} %v, want reason=\"no_raft_group\" at 1", labels, v)
		}
	}

	ready := f.nodes["county-1"]
	if v := oneSeries(t, ready, "yizhan_ready"); v != 1 {
		t.Errorf("yizhan_ready of a ready node: %v, want 1", v)
	}
	if reasons := seriesOf(t, ready, "yizhan_not_ready_reason"); len(reasons) != 0 {
		t.Errorf("a ready node gives a reason not to be: %v", reasons)
	}
}
