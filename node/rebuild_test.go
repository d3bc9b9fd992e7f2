package node_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/node"
)

// A village point's PC dies with no backup. Started on a new disk with
// --bootstrap --rebuild, the village takes back from its township every
// case it held, and numbers the next case above any the lost disk handed
// out: 王五's case does not take the number of 张三's, which the
// township and the county hold, and reaches them.
func TestAVillageRebuiltWithNoBackupTakesBackItsCasesAndNumbersAbove(t *testing.T) {
	f := newCaseFed(t, 1)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	first := fileTobacco(t, agent, "张三")
	second := fileTobacco(t, agent, "李四")
	tw, county := f.nodes["chengguan-1"], f.nodes["county-1"]
	waitFor(t, "the township to hold the village's cases", func() bool {
		_, a := tw.Office().Cases().Case(first.GetNumber())
		_, b := tw.Office().Cases().Case(second.GetNumber())
		return a && b
	}, 30*time.Second)

	// The disk dies; a new one.
	f.stop("dongcun-1")
	cfg := f.cfgs["dongcun-1"]
	cfg.DataDir, cfg.Bootstrap, cfg.Rebuild = filepath.Join(t.TempDir(), "new-disk"), true, true
	n := f.run("dongcun-1", cfg)
	waitFor(t, "the rebuilt village takes back its cases", func() bool {
		_, a := n.Office().Cases().Case(first.GetNumber())
		_, b := n.Office().Cases().Case(second.GetNumber())
		return a && b
	}, 60*time.Second)
	again := dial(t, n).login("dongcun", password)
	c := fileTobacco(t, again, "王五")
	if c.GetNumber() == first.GetNumber() || c.GetNumber() == second.GetNumber() {
		t.Fatalf("the rebuilt village numbered 王五's case %s, a number its township holds for another citizen", c.GetNumber())
	}
	if seq := c.GetNumber()[strings.LastIndex(c.GetNumber(), "-")+1:]; seq <= "5000" {
		t.Errorf("the rebuilt village numbered 王五's case %s: want above 5000 on the day of the rebuild", c.GetNumber())
	}
	waitFor(t, "王五's case at the county", func() bool { return received(county, c.GetNumber()) }, 30*time.Second)
	if held, ok := tw.Office().Cases().Case(first.GetNumber()); !ok || held.GetApplicant().GetName() != "张三" {
		t.Errorf("the township's case %s: %v", first.GetNumber(), held.GetApplicant())
	}
	if q := tw.Office().Cases().QuarantinedLen(); q > 0 {
		t.Errorf("the township quarantined %d messages", q)
	}
}

// --rebuild starts an office that lost its data: not the county (whose
// registry no neighbour holds whole), and never beside --join.
func TestRebuildIsRefusedWhereItCannotHold(t *testing.T) {
	f := newFed(t)
	for _, tc := range []struct {
		name, office string
		mod          func(*node.Config)
		want         string
	}{
		{"the county", county, func(c *node.Config) { c.Bootstrap, c.Rebuild = true, true }, "below the county"},
		{"without --bootstrap", dongcun, func(c *node.Config) { c.Rebuild = true; c.Upstream = []string{"127.0.0.1:1"} }, "--bootstrap"},
	} {
		cfg := node.Config{Office: tc.office, Name: "n1", DataDir: filepath.Join(t.TempDir(), "d"),
			HTTPAddr: "127.0.0.1:0", PeerAddr: "127.0.0.1:0", RaftAddr: "127.0.0.1:0", TLS: f.bundle(tc.office, "n1"), Logger: testLogger()}
		tc.mod(&cfg)
		n, err := node.New(cfg)
		if err == nil {
			n.Close()
			t.Errorf("%s: --rebuild accepted", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to say %q", tc.name, err, tc.want)
		}
	}
}
