package node_test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/node"
)

// A backup's case count is the backup's (CHANGELOG: the count is read
// with the index). Backups taken while the village files steadily: each
// one's stated count (what `yizhan backup` and `restore --info` print,
// and what an operator checks a restore against) is the number of cases
// the restored book holds.
func TestBackupTakenWhileFilingCountsItsOwnCases(t *testing.T) {
	f := newCaseFed(t, 1)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	fileTobacco(t, agent, "张三")
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			caseClient(t, agent).FileCase(agent.ctx(), &yizhanv1.FileCaseRequest{
				ItemCode:  tobacco().Code,
				Applicant: &yizhanv1.Applicant{Name: "李四", IdNumber: applicantID, Phone: "13907710001"},
				Materials: []*yizhanv1.SubmittedMaterial{{Name: "申请表", Copies: 1}},
			})
		}
	}()
	defer func() { close(stop); <-done }()
	for i := range 6 {
		b, err := fetchBackupOf(t, f.fed, "dongcun-1", dongcun, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "dongcun.yzb")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "data")
		info, err := node.Restore(path, dir, "dongcun-1", nil)
		if err != nil {
			t.Fatal(err)
		}
		db, err := badgerstore.OpenDB(filepath.Join(dir, "badger"), badgerstore.DBOptions{Small: true})
		if err != nil {
			t.Fatal(err)
		}
		book, err := casebook.Open(db, dongcun)
		if err != nil {
			db.Close()
			t.Fatal(err)
		}
		held := 0
		book.Each(func(*yizhanv1.Case) error { held++; return nil })
		db.Close()
		if int64(held) != info.Cases || book.Len() != held {
			t.Errorf("backup %d says %d cases; the restored book holds %d (its own count %d)", i, info.Cases, held, book.Len())
		}
		t.Logf("backup %d: %d cases at index %d", i, info.Cases, info.Index)
		time.Sleep(150 * time.Millisecond)
	}
}

// A backup cut short anywhere (a
// copy that stopped, a full disk), empty, or with bytes appended is
// refused by `restore --info` and by restore, which writes nothing.
func TestTruncatedBackupIsRefusedAndWritesNothing(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	old := f.nodes["county-1"]
	// The backup holds county-1's entry (without this wait, one taken
	// before it announced itself holds none, and nothing is tested).
	waitFor(t, "county-1 in the directory", func() bool {
		return slices.ContainsFunc(old.Registry().Nodes(county), func(e *yizhanv1.NodeEntry) bool { return e.GetName() == "county-1" })
	}, 30*time.Second)
	b, err := fetchBackupOf(t, f, "county-1", county, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cuts := map[string][]byte{
		"empty":          nil,
		"the head only":  b[:20],
		"half":           b[:len(b)/2],
		"all but a byte": b[:len(b)-1],
		"a byte more":    append(bytes.Clone(b), 0),
	}
	for name, data := range cuts {
		path := filepath.Join(t.TempDir(), "county.yzb")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := raftgroup.ReadBackupInfo(path); err == nil {
			t.Errorf("%s: restore --info took it", name)
		}
		dir := filepath.Join(t.TempDir(), "data")
		if _, err := node.Restore(path, dir, "county-1", nil); err == nil {
			t.Errorf("%s: restored", name)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) > 0 {
			t.Errorf("%s: a refused restore left %v", name, left)
		}
	}
}

// A backup asked of a follower while
// the leader writes is of one index: the restored book is at the index
// the backup names, and the registry with it.
func TestBackupOfAFollowerIsOfOneIndex(t *testing.T) {
	f := newFed(t)
	f.startCounty(3)
	leader := f.countyLeader()
	admin := dial(t, leader).login("admin", password)
	follower := "county-1"
	for _, name := range f.countyNames() {
		if f.nodes[name] != leader {
			follower = name
			break
		}
	}
	// Entries the state machine applies that are no registry write (the
	// no-op of an election, a change of members) move the raft index
	// alone: the backups are taken once the writes below are applied on
	// the follower, past those of the county's start.
	started := f.nodes[follower].Office().Group().AppliedIndex()
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			admin.reg.CreateDepartment(admin.ctx(), &yizhanv1.CreateDepartmentRequest{Department: &yizhanv1.Department{Code: fmt.Sprintf("d%d", i), Name: fmt.Sprintf("部门%d", i)}})
		}
	}()
	defer func() { close(stop); <-done }()
	waitFor(t, "the leader's writes applied on "+follower, func() bool { return f.nodes[follower].Registry().Index() > started }, 20*time.Second)
	for i := range 4 {
		b, err := fetchBackupOf(t, f, follower, county, 20*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "county.yzb")
		os.WriteFile(path, b, 0o600)
		info, err := raftgroup.ReadBackupInfo(path)
		if err != nil {
			t.Fatal(err)
		}
		if info.Node != follower || info.RegistryIndex != info.Index {
			t.Errorf("backup %d of %s: %+v (a county's registry index is its raft index)", i, follower, info)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// "--peer may list several nodes of the office; any one serves (a
// follower too)" (docs/OPERATIONS.md): a follower that came back far
// behind and took the leader's snapshot is backed up too, though the
// office writes nothing more (a quiet night, when backups are taken) and
// raft sets the index WriteBackup reads only with the next entry.
func TestFollowerThatTookTheLeadersSnapshotCanBeBackedUp(t *testing.T) {
	backUpFollowerThatTookTheLeadersSnapshot(t, false)
}

// The same, the office's leadership having changed hands after its last
// write: the snapshot the follower takes is at the index of the new
// leader's first entries, which are raft's own (no case, no registry
// change), above the index of the book it carries.
func TestFollowerThatTookASnapshotOfANewLeaderCanBeBackedUp(t *testing.T) {
	backUpFollowerThatTookTheLeadersSnapshot(t, true)
}

func backUpFollowerThatTookTheLeadersSnapshot(t *testing.T, newLeader bool) {
	f := newFed(t)
	f.startCounty(3)
	leader := f.countyLeader()
	admin := dial(t, leader).login("admin", password)
	behind := ""
	for _, name := range f.countyNames() {
		if f.nodes[name] != leader {
			behind = name
			break
		}
	}
	f.stop(behind)
	createDepartments(t, admin, 300)
	if newLeader {
		handCountyLeadOn(t, f)
	}
	leader = f.countyLeader() // the same node, or the one that took over from it
	if err := leader.Office().Group().Snapshot(); err != nil {
		t.Fatal(err)
	}
	idx := leader.Registry().Index()
	n := f.restart(behind)
	waitFor(t, behind+" caught up by the leader's snapshot", func() bool { return n.Registry().Index() >= idx }, 30*time.Second)
	waitFor(t, behind+" ready", n.Ready, 30*time.Second)
	if _, err := fetchBackupOf(t, f, behind, county, 15*time.Second); err != nil {
		t.Errorf("a backup of %s, caught up and ready, with the office quiet: %v", behind, err)
	}
}

// A county restored on new machines under new names (`restore --members
// new-1=…`, docs/OPERATIONS.md "Other machines or addresses"): the node
// directory (GET /v1/nodes, the federation page, where every other office
// sends mail and reads) keeps no entry of the old machines, which are no
// members of the restored office.
func TestCountyRestoredUnderNewNamesLeavesNoDeadNodesInTheDirectory(t *testing.T) {
	f := newFed(t)
	f.startCounty(1)
	old := f.nodes["county-1"]
	// The backup holds county-1's entry (without this wait, one taken
	// before it announced itself holds none, and nothing is tested).
	waitFor(t, "county-1 in the directory", func() bool {
		return slices.ContainsFunc(old.Registry().Nodes(county), func(e *yizhanv1.NodeEntry) bool { return e.GetName() == "county-1" })
	}, 30*time.Second)
	b, err := fetchBackupOf(t, f, "county-1", county, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "county.yzb")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	f.stop("county-1")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	raftAddr := l.Addr().String()
	l.Close()
	dir := filepath.Join(t.TempDir(), "new-1")
	if _, err := node.Restore(path, dir, "new-1", []raftgroup.BackupMember{{ID: "new-1", Address: raftAddr, Voter: true}}); err != nil {
		t.Fatal(err)
	}
	n := f.start("new-1", county, func(c *node.Config) { c.DataDir, c.RaftAddr = dir, raftAddr })
	waitFor(t, "the restored county ready", n.Ready, 30*time.Second)
	waitFor(t, "new-1 in the directory", func() bool {
		for _, e := range n.Registry().Nodes(county) {
			if e.GetName() == "new-1" {
				return true
			}
		}
		return false
	}, 30*time.Second)
	waitFor(t, "county-1, a machine that is gone and no member of the restored office, out of the node directory", func() bool {
		for _, e := range n.Registry().Nodes(county) {
			if e.GetName() == "county-1" {
				return false
			}
		}
		return true
	}, 60*time.Second)
}

// createDepartments creates n departments at the county, each under its
// request ID, sent again while the leader of two nodes of three, on a
// busy machine, lost its lease with the write in flight (sendUntilKnown).
func createDepartments(t *testing.T, admin *client, n int) {
	t.Helper()
	for i := range n {
		req := &yizhanv1.CreateDepartmentRequest{RequestId: fmt.Sprintf("d%d", i), Department: &yizhanv1.Department{Code: fmt.Sprintf("d%d", i), Name: fmt.Sprintf("部门%d", i)}}
		if _, err := sendUntilKnown(func() (*yizhanv1.CreateDepartmentResponse, error) {
			return admin.reg.CreateDepartment(admin.ctx(), req)
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// handCountyLeadOn has the county's leader hand its lead on, and waits
// for the new leader to be ready.
func handCountyLeadOn(t *testing.T, f *fed) {
	t.Helper()
	old := f.countyLeader()
	if err := old.Office().Group().TransferLeadership(); err != nil {
		t.Fatalf("leadership transfer: %v", err)
	}
	waitFor(t, "a new county leader, ready", func() bool {
		n := f.countyLeader()
		return n != old && n.Office().LeaderReady()
	}, 20*time.Second)
}
