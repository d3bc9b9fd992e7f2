package node_test

import (
	"testing"
	"time"
)

// A node restarted in a quiet office (a night, when backups are taken)
// whose newest snapshot it took itself after the office's leadership
// changed hands: the snapshot is at the index of the new leader's first
// entries, raft's own (no case, no registry change), above the index of
// the book, and the node starts from it. It is backed up without a
// write to move its state on.
func TestNodeRestartedFromASnapshotOfANewLeaderCanBeBackedUp(t *testing.T) {
	f := newFed(t)
	f.startCounty(3)
	admin := dial(t, f.countyLeader()).login("admin", password)
	createDepartments(t, admin, 20)
	handCountyLeadOn(t, f)
	leader := f.countyLeader()
	follower := ""
	for _, name := range f.countyNames() {
		if f.nodes[name] != leader {
			follower = name
			break
		}
	}
	g := f.nodes[follower].Office().Group()
	// The office quiet: what the new leader writes of its own (its
	// directory entry) applied here, nothing for a second.
	last, since := uint64(0), time.Now()
	waitFor(t, "the office quiet", func() bool {
		if i := leader.Office().Group().AppliedIndex(); i != last || g.AppliedIndex() != i {
			last, since = i, time.Now()
		}
		return time.Since(since) > time.Second
	}, 20*time.Second)
	if err := g.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if bookAt, snapAt := f.nodes[follower].Office().Cases().Applied(), g.LastSnapshotIndex(); snapAt <= bookAt {
		t.Fatalf("%s's snapshot at %d, its book at %d: the snapshot is not above the book, nothing is tested", follower, snapAt, bookAt)
	}
	f.stop(follower)
	n := f.restart(follower)
	waitFor(t, follower+" ready", n.Ready, 30*time.Second)
	if _, err := fetchBackupOf(t, f, follower, county, 15*time.Second); err != nil {
		t.Errorf("a backup of %s, restarted from its snapshot and ready, with the office quiet: %v", follower, err)
	}
}
