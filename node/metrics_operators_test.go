package node_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/node"
)

// The series an operator watching a node through its /metrics alone (a
// village PC: no Kubernetes, no node_exporter) alerts on: whether the
// node is ready and why not, the disk filling, raft's snapshots, the
// last backup, the office's overdue cases and cards, a failed check of
// the book.

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

// The office's overdue cases (超期) and the cards its sweep issues are
// what a county watches first: an accepted case left past its promised
// due time counts in yizhan_cases_overdue and its red card in
// yizhan_cards_held{colour="red"}.
func TestTheMetricsCountTheOverdueCasesAndTheirRedCards(t *testing.T) {
	var skew atomic.Int64
	f := newTunedCaseFed(t, 1, func(_ string, c *node.Config) {
		c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
		c.CardSweepInterval = 50 * time.Millisecond
	})
	countyNode := f.nodes["county-1"]
	clerk := dial(t, countyNode).login("clerk", password)
	resp, err := caseClient(t, clerk).FileCase(clerk.ctx(), &yizhanv1.FileCaseRequest{ItemCode: tobacco().Code,
		Applicant: &yizhanv1.Applicant{Name: "韦丽", IdNumber: applicantID, Phone: "13907710001"},
		Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	n := resp.GetCase().GetNumber()
	if _, err := caseClient(t, clerk).Accept(clerk.ctx(), &yizhanv1.CaseActionRequest{Number: n}); err != nil {
		t.Fatal(err)
	}
	skew.Store(int64(60 * 24 * time.Hour)) // far past its 10 promised working days
	book := countyNode.Office().Cases()
	waitFor(t, "the red card", func() bool {
		cs, _, err := book.Cards(casebook.CardQuery{CaseNumber: n, Rule: yizhanv1.CardRule_CARD_RULE_OVERDUE})
		return err == nil && len(cs) == 1
	}, 20*time.Second)
	if v := oneSeries(t, countyNode, "yizhan_cases_overdue"); v != 1 {
		t.Errorf("yizhan_cases_overdue %v, want 1 (case %s)", v, n)
	}
	cards := seriesOf(t, countyNode, "yizhan_cards_held")
	for labels, v := range cards {
		if strings.Contains(labels, `colour="red"`) && v != 1 {
			t.Errorf("yizhan_cards_held{%s} %v, want 1 (the OVERDUE card of case %s)", labels, v, n)
		}
	}
	if len(cards) != 2 {
		t.Errorf("yizhan_cards_held: %v, want a series for red and one for yellow", cards)
	}
}

// A backup a day decides how much a restored office takes back from its
// neighbours (docs/OPERATIONS.md): yizhan_backup_last_taken_timestamp_seconds
// on the node that served it says when the last was taken, after the
// node restarts too, so that an alert sees a cron job that stopped.
func TestTheMetricsTellWhenTheLastBackupWasTaken(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	n := f.nodes["county-1"]
	if v := oneSeries(t, n, "yizhan_backup_last_taken_timestamp_seconds"); v != 0 {
		t.Errorf("before any backup: %v, want 0", v)
	}
	before := time.Now().Truncate(time.Second)
	if _, err := fetchBackupOf(t, f, "county-1", county, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	after := time.Now()
	in := func(v float64) bool { return v >= float64(before.Unix()) && v <= float64(after.Unix()) }
	if v := oneSeries(t, n, "yizhan_backup_last_taken_timestamp_seconds"); !in(v) {
		t.Errorf("after a backup: %v, want between %d and %d", v, before.Unix(), after.Unix())
	}
	f.stop("county-1")
	n = f.restart("county-1")
	if v := oneSeries(t, n, "yizhan_backup_last_taken_timestamp_seconds"); !in(v) {
		t.Errorf("after a restart: %v, want the backup's time, between %d and %d", v, before.Unix(), after.Unix())
	}
}

// A raft snapshot that fails (a full disk, a snapshot directory that
// cannot be written) lets raft's log grow and leaves a follower far
// behind nothing to take; raft only logs it. The node counts it in
// yizhan_raft_snapshot_failures_total, and yizhan_raft_last_snapshot_index
// says how far its newest snapshot reaches.
func TestTheMetricsTellRaftsSnapshotsAndTheirFailures(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	n := f.nodes["county-1"]
	if v := oneSeries(t, n, "yizhan_raft_snapshot_failures_total"); v != 0 {
		t.Errorf("yizhan_raft_snapshot_failures_total %v before any failure, want 0", v)
	}
	// The snapshot directory replaced by a file: no snapshot can be
	// created there.
	snaps := filepath.Join(f.cfgs["county-1"].DataDir, "snapshots")
	if err := os.Rename(snaps, snaps+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(snaps, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := n.Office().Group().Snapshot(); err == nil {
		t.Fatal("premise: a snapshot fails where its directory cannot be made")
	}
	if v := oneSeries(t, n, "yizhan_raft_snapshot_failures_total"); v != 1 {
		t.Errorf("yizhan_raft_snapshot_failures_total %v after a snapshot failed, want 1", v)
	}
	if err := os.Remove(snaps); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(snaps+".away", snaps); err != nil {
		t.Fatal(err)
	}
	if err := n.Office().Group().Snapshot(); err != nil {
		t.Fatal(err)
	}
	want, _ := strconv.ParseFloat(n.Office().Group().Stats()["last_snapshot_index"], 64)
	if v := oneSeries(t, n, "yizhan_raft_last_snapshot_index"); v != want || v == 0 {
		t.Errorf("yizhan_raft_last_snapshot_index %v, want raft's %v", v, want)
	}
	if v := oneSeries(t, n, "yizhan_raft_snapshot_failures_total"); v != 1 {
		t.Errorf("yizhan_raft_snapshot_failures_total %v after a snapshot that worked, want 1 still", v)
	}
}

// A full disk stops raft's log, and once lost a case book's keys: the
// node says how much room its data directory's file system has left
// (yizhan_data_dir_free_bytes) and what raft's log takes
// (yizhan_raft_log_bytes), beside badger's files.
func TestTheMetricsTellTheDataDirectorysRoomAndRaftsLog(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	n := f.nodes["county-1"]
	if v := oneSeries(t, n, "yizhan_data_dir_free_bytes"); v <= 0 {
		t.Errorf("yizhan_data_dir_free_bytes %v, want the room left on the test's disk", v)
	}
	if v := oneSeries(t, n, "yizhan_raft_log_bytes"); v <= 0 {
		t.Errorf("yizhan_raft_log_bytes %v, want the size of a bootstrapped office's raft-wal", v)
	}
}

// A node started with --check-book reports what the check found, and
// yizhan_casebook_check_failed 0 for a check that ran to its end (1 is
// a check that failed, which leaves yizhan_casebook_problems at -1,
// "not checked").
func TestTheMetricsTellTheCheckOfTheBookRanToItsEnd(t *testing.T) {
	f := newFed(t)
	f.start("county-1", county, func(c *node.Config) {
		c.Bootstrap = true
		c.BootstrapAdminPassword = password
		c.CheckBook = true
	})
	n := f.nodes["county-1"]
	waitFor(t, "the check of the book", func() bool { return oneSeries(t, n, "yizhan_casebook_problems") >= 0 }, 20*time.Second)
	if v := oneSeries(t, n, "yizhan_casebook_problems"); v != 0 {
		t.Errorf("yizhan_casebook_problems %v, want 0", v)
	}
	if v := oneSeries(t, n, "yizhan_casebook_check_failed"); v != 0 {
		t.Errorf("yizhan_casebook_check_failed %v, want 0", v)
	}
}
