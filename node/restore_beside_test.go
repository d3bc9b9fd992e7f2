package node_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/node"
)

// One county node restored from a backup while the other two run (the
// docs say: give it an empty data directory and --join instead). Its
// restored index jumps above everything the office committed, so it never
// takes the office's log; it used to count itself caught up (past the
// leader's commit index) and serve the backup's registry as the county's,
// for good (a load balancer sent it clients). It says on /readyz that it
// is not ready, why, and what to do; the running nodes keep what was
// written after the backup.
func TestOneCountyNodeRestoredBesideTheOthersIsNeverReady(t *testing.T) {
	f := newFed(t)
	f.startCounty(3)
	admin := dial(t, f.countyLeader()).login("admin", password)
	b, err := fetchBackupOf(t, f, "county-3", county, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "county.yzb")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: "after", Name: "备份后的部门"}}); err != nil {
		t.Fatal(err)
	}
	f.stop("county-3")
	var members []raftgroup.BackupMember
	for _, name := range []string{"county-1", "county-2", "county-3"} {
		members = append(members, raftgroup.BackupMember{ID: name, Address: f.cfgs[name].RaftAddr, Voter: true})
	}
	cfg := f.cfgs["county-3"]
	cfg.DataDir = filepath.Join(t.TempDir(), "county-3")
	if _, err := node.Restore(path, cfg.DataDir, "county-3", members); err != nil {
		t.Fatal(err)
	}
	restored := f.run("county-3", cfg)
	waitFor(t, "county-3 to say why it is not ready", func() bool {
		ok, why := restored.Office().CaughtUp()
		return !ok && strings.Contains(why, "--join")
	}, 20*time.Second)
	time.Sleep(2 * time.Second) // and it stays so
	if ok, why := restored.Office().CaughtUp(); ok || restored.Ready() {
		t.Errorf("county-3, restored beside its running office: caught up %v (%s), ready %v", ok, why, restored.Ready())
	}
	for _, name := range []string{"county-1", "county-2"} {
		if _, err := f.nodes[name].Registry().Department("after"); err != nil {
			t.Errorf("%s lost the department committed after the backup: %v", name, err)
		}
	}
}
