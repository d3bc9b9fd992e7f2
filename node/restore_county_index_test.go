package node_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/node"
)

// A county restored twice from one backup (the first restore's machine
// failed too, or the operator restores again after a botched start), or
// again from an older backup after it ran, feeds its offices below: each
// restore starts the county's index above any index it reached before
// (the restore's time in microseconds), so the township fed during the
// first restore's life is behind the second's and takes its registry
// whole: the second life's writes reach it, and the first life's, gone
// from the county, are gone from it too. The second restore started at
// the same index as the first, below the township's, and the feed sent
// the township nothing, for good.
func TestACountyRestoredTwiceFromOneBackupFeedsItsTownship(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	admin := dial(t, f.countyLeader()).login("admin", password)
	if _, err := admin.reg.CreateOffice(admin.ctx(), &yizhanv1.CreateOfficeRequest{Office: &yizhanv1.Office{Code: township, Name: "城关镇便民服务中心"}}); err != nil {
		t.Fatal(err)
	}
	tw := f.start("chengguan-1", township, func(c *node.Config) {
		c.Bootstrap = true
		c.Upstream = f.peerAddrs("county-1")
	})
	waitFor(t, "the township ready", tw.Ready, 20*time.Second)
	waitFor(t, "the township in the county's directory", func() bool {
		return len(f.nodes["county-1"].Registry().Nodes(township)) > 0
	}, 30*time.Second)

	b, err := fetchBackupOf(t, f, "county-1", county, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "county.yzb")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	restore := func(life string) *client {
		f.stop("county-1")
		cfg := f.cfgs["county-1"]
		cfg.DataDir, cfg.Bootstrap = filepath.Join(t.TempDir(), life), false
		if _, err := node.Restore(path, cfg.DataDir, "county-1", nil); err != nil {
			t.Fatal(err)
		}
		n := f.run("county-1", cfg)
		waitFor(t, "the restored county ready ("+life+")", n.Ready, 30*time.Second)
		return dial(t, n).login("admin", password)
	}
	dept := func(a *client, code string) {
		t.Helper()
		if _, err := a.reg.CreateDepartment(a.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: code, Name: "部门" + code}}); err != nil {
			t.Fatal(err)
		}
	}

	// First life after the restore: ten registry writes, fed below.
	admin = restore("first")
	for _, c := range []string{"fa", "fb", "fc", "fd", "fe", "ff", "fg", "fh", "fi", "fj"} {
		dept(admin, c)
	}
	countyIdx := f.nodes["county-1"].Registry().Index()
	waitFor(t, "the township fed the first life's writes", func() bool { return tw.Registry().Index() >= countyIdx }, 30*time.Second)

	// Restored again from the same file; one registry write.
	admin = restore("second")
	dept(admin, "sa")
	countyNode := f.nodes["county-1"]
	waitFor(t, "the township holds the second life's write", func() bool {
		_, err := tw.Registry().Department("sa")
		return err == nil
	}, 15*time.Second)
	if _, err := tw.Registry().Department("fa"); err == nil {
		t.Errorf("the township keeps department fa, written in the county's first life after the restore and gone from the county's registry")
	}
	waitFor(t, "the township at the county's registry index", func() bool {
		return tw.Registry().Index() == countyNode.Registry().Index()
	}, 15*time.Second)
}
