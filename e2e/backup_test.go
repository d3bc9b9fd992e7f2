//go:build e2e

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// backupOf takes a backup of name's office with `yizhan backup` from the
// node's peer port, with the node's own certificate.
func (c *cluster) backupOf(name string) string {
	c.t.Helper()
	n := c.nodes[name]
	tls := filepath.Join(c.dir, name, "tls")
	out := filepath.Join(c.dir, name+".backup")
	msg := runCLI(c.t, "backup", "--peer", n.peerAddr, "--out", out,
		"--tls-cert", filepath.Join(tls, "node.crt"), "--tls-key", filepath.Join(tls, "node.key"), "--tls-ca", filepath.Join(tls, "ca.crt"))
	c.t.Logf("%s", strings.TrimSpace(msg))
	return out
}

// diskDies kills name and throws its data directory away; restoreFrom
// makes it again from a backup and starts the node with its old flags.
func (c *cluster) diskDies(name string) {
	c.t.Helper()
	c.nodes[name].kill()
	if err := os.RemoveAll(filepath.Join(c.dir, name, "data")); err != nil {
		c.t.Fatal(err)
	}
}

func (c *cluster) restoreFrom(name, backup string, extra ...string) {
	c.t.Helper()
	msg := runCLI(c.t, append([]string{"restore", "--from", backup, "--data", filepath.Join(c.dir, name, "data"), "--name", name}, extra...)...)
	c.t.Logf("%s", strings.TrimSpace(msg))
	c.nodes[name].start()
}

// waitRecovered waits until the leader among names says it took back
// from every neighbouring office what changed since the backup.
func (c *cluster) waitRecovered(names ...string) {
	c.t.Helper()
	waitFor(c.t, fmt.Sprint(names, " to finish the recovery"), func() error {
		for _, name := range names {
			out := c.nodes[name].output()
			if i := strings.LastIndex(out, "start "+name); i >= 0 && strings.Contains(out[i:], "took back from every neighbouring office") {
				return nil
			}
		}
		return fmt.Errorf("not yet")
	}, 2*syncTimeout)
}

// holdsExactly waits until a node lists every case of want for office,
// each once, and fails if it lists one twice.
func holdsExactly(t testing.TB, a *api, office string, want map[string]bool) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%s to hold the %d cases", a.base, len(want)), func() error {
		seen, err := casesListed(a, office)
		if err != nil {
			return err
		}
		missing := 0
		for n := range want {
			if seen[n] == 0 {
				missing++
			}
		}
		for n, k := range seen {
			if k > 1 {
				t.Errorf("%s lists %s %d times", a.base, n, k)
			}
		}
		if missing > 0 {
			return fmt.Errorf("%d of %d missing", missing, len(want))
		}
		return nil
	}, 2*syncTimeout)
}

// A backup of each tier, taken online while cases flow; then each
// office's disk dies after more cases were filed and handed on, and the
// office is restored from its backup: the village, then the township,
// then the whole county of three. Each restored office takes back from
// its neighbours what changed since its backup, holds every case once,
// and numbers its next case above anything it may have handed out.
func TestBackupAndRestoreOfEachTier(t *testing.T) {
	c, admin := newCaseCluster(t, 3)
	agent := c.api("dongcun-1").login("dongcun", adminPassword)
	clerk := c.api("county-1").login("clerk", adminPassword)
	all := fileCases(t, agent, 10)
	countyView := c.api("county-2")
	countyView.token = admin.token
	holdsExactly(t, countyView, villageCode, all)

	// Only a certificate of the office may take its backup (the client
	// refuses a node of another office; the node refuses a certificate of
	// another office: node/backup_test.go).
	tls := filepath.Join(c.dir, "chengguan-1", "tls")
	out, err := exec.Command(binary, "backup", "--peer", c.nodes["dongcun-1"].peerAddr, "--out", filepath.Join(c.dir, "stolen.backup"),
		"--tls-cert", filepath.Join(tls, "node.crt"), "--tls-key", filepath.Join(tls, "node.key"), "--tls-ca", filepath.Join(tls, "ca.crt")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "certificate names another office") {
		t.Errorf("the township's certificate took the village's backup: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(c.dir, "stolen.backup")); err == nil {
		t.Error("a refused backup left a file")
	}

	villageBackup := c.backupOf("dongcun-1")
	townshipBackup := c.backupOf("chengguan-1")
	countyBackup := c.backupOf("county-2") // a follower, likely: any node of the office serves
	if msg := runCLI(t, "restore", "--from", countyBackup, "--info"); !strings.Contains(msg, "office "+countyCode) || !strings.Contains(msg, "10 cases") {
		t.Errorf("restore --info: %s", msg)
	}

	// After the backups: more filings, handed on to the county, and a
	// case filed before them accepted there (an event that travels down).
	for n := range fileCases(t, agent, 10) {
		all[n] = true
	}
	var early string
	for n := range all {
		early = n
		break
	}
	caseWaitOwned(t, clerk, early, countyCode)
	caseDo(t, clerk, "POST", "/v1/cases/"+early+":accept", map[string]any{})
	// A registry write after the county's backup: it reaches the village,
	// and is lost with the county.
	lostIdx := admin.write("/v1/departments", map[string]string{"code": "lost", "name": "备份后新建的部门"})
	c.api("dongcun-1").getAt("/v1/departments", lostIdx, syncTimeout)
	holdsExactly(t, countyView, villageCode, all)
	waitAccepted := func(a *api) {
		t.Helper()
		waitFor(t, early+" seen accepted at "+a.base, func() error {
			code, body, err := a.call("GET", "/v1/cases/"+early, nil)
			if err != nil || code != http.StatusOK {
				return fmt.Errorf("%d %v %v", code, body, err)
			}
			if s := body["case"].(map[string]any)["state"]; s != "CASE_STATE_ACCEPTED" {
				return fmt.Errorf("state %v", s)
			}
			return nil
		}, syncTimeout)
	}
	waitAccepted(agent)

	// The village's disk dies.
	c.diskDies("dongcun-1")
	c.restoreFrom("dongcun-1", villageBackup)
	c.waitReady("dongcun-1")
	agent = c.api("dongcun-1").login("dongcun", adminPassword)
	c.waitRecovered("dongcun-1")
	holdsExactly(t, agent, villageCode, all)
	waitAccepted(agent)
	next := fileCases(t, agent, 1)
	for n := range next {
		if all[n] {
			t.Fatalf("the restored village numbered a new case %s, a number it had used", n)
		}
		seq, _ := strconv.Atoi(n[strings.LastIndexByte(n, '-')+1:])
		if seq <= 5000 {
			t.Errorf("the restored village numbered %s: not above the floor of numbers it may have handed out since its backup", n)
		}
		all[n] = true
	}
	holdsExactly(t, countyView, villageCode, all)
	waitBookChecked(t, c, "dongcun-1")

	// The township's disk dies: it takes back its village's cases.
	c.diskDies("chengguan-1")
	c.restoreFrom("chengguan-1", townshipBackup)
	c.waitReady("chengguan-1")
	township := c.api("chengguan-1")
	township.token = admin.token
	c.waitRecovered("chengguan-1")
	holdsExactly(t, township, villageCode, all)
	waitBookChecked(t, c, "chengguan-1")

	// The whole county is lost and restored, every node from the one
	// backup; it takes back from the township what came since. A backup
	// of several nodes restores only with every one of them named.
	for _, name := range c.county() {
		c.diskDies(name)
	}
	if out, err := exec.Command(binary, "restore", "--from", countyBackup, "--data", filepath.Join(c.dir, "county-1", "data"), "--name", "county-1").CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "--members") {
		t.Errorf("a node of an office of 3 restored without --members: %v\n%s", err, out)
	}
	var members []string
	for _, name := range c.county() {
		members = append(members, name+"="+c.nodes[name].raftAddr)
	}
	for _, name := range c.county() {
		c.restoreFrom(name, countyBackup, "--members", strings.Join(members, ","))
	}
	for _, name := range c.county() {
		c.waitReady(name)
	}
	admin = c.api("county-1").login("admin", adminPassword)
	c.waitRecovered(c.county()...)
	for _, name := range c.county() {
		a := c.api(name)
		a.token = admin.token
		holdsExactly(t, a, villageCode, all)
	}
	clerk = c.api("county-1").login("clerk", adminPassword)
	waitAccepted(clerk)
	// The restored county writes the registry again, and it reaches the
	// village; the write lost with the county is gone everywhere: every
	// office holds the county's registry, not a history of its own.
	idx := admin.write("/v1/departments", map[string]string{"code": "zrzy", "name": "县自然资源局"})
	for name := range c.nodes {
		deps := fmt.Sprint(c.api(name).getAt("/v1/departments", idx, syncTimeout))
		if !strings.Contains(deps, "zrzy") || strings.Contains(deps, "备份后新建的部门") {
			t.Errorf("%s's departments after the county's restore and a write there: %s", name, deps)
		}
	}
	for _, name := range c.county() {
		waitBookChecked(t, c, name)
	}
}
