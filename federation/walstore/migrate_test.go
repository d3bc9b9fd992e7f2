package walstore

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/raft"

	"github.com/yizhan-gov/yizhan/federation/badgerstore"
)

const prefix = "raft/"

// oldNode is a data directory as the previous release left it: raft's log
// and stable store in badger under "raft/", next to other data of the
// node, and the WAL directory the new release opens.
type oldNode struct {
	db     *badger.DB
	bs     *badgerstore.Store
	walDir string
}

func newOldNode(t *testing.T) *oldNode {
	t.Helper()
	dir := t.TempDir()
	db := openTestDB(t, filepath.Join(dir, "badger"))
	// The node's other data must survive the migration.
	if err := db.Update(func(txn *badger.Txn) error {
		for _, k := range []string{"office/x", "raftish", "raft", "zzz"} {
			if err := txn.Set([]byte(k), []byte("keep "+k)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return &oldNode{db: db, bs: badgerstore.New(db, prefix), walDir: filepath.Join(dir, "raft-wal")}
}

// write stores testLog(lo..hi) and a term and vote in badger.
func (n *oldNode) write(t *testing.T, lo, hi, term uint64, cand string) {
	t.Helper()
	if hi >= lo {
		storeLogs(t, n.bs, lo, hi, 500)
	}
	if term > 0 {
		if err := n.bs.SetUint64([]byte("CurrentTerm"), term); err != nil {
			t.Fatal(err)
		}
		if err := n.bs.SetUint64([]byte("LastVoteTerm"), term); err != nil {
			t.Fatal(err)
		}
	}
	if cand != "" {
		if err := n.bs.Set([]byte("LastVoteCand"), []byte(cand)); err != nil {
			t.Fatal(err)
		}
	}
}

// checkOtherKeys checks that the keys outside raft's namespaces are intact.
func (n *oldNode) checkOtherKeys(t *testing.T) {
	t.Helper()
	err := n.db.View(func(txn *badger.Txn) error {
		for _, k := range []string{"office/x", "raftish", "raft", "zzz"} {
			item, err := txn.Get([]byte(k))
			if err != nil {
				t.Errorf("key %q after migration: %v", k, err)
				continue
			}
			v, _ := item.ValueCopy(nil)
			if string(v) != "keep "+k {
				t.Errorf("key %q = %q after migration", k, v)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func checkStable(t *testing.T, s *Store, term uint64, cand string) {
	t.Helper()
	if v, err := s.GetUint64([]byte("CurrentTerm")); err != nil || v != term {
		t.Fatalf("CurrentTerm = %d, %v; want %d", v, err, term)
	}
	if v, err := s.GetUint64([]byte("LastVoteTerm")); err != nil || v != term {
		t.Fatalf("LastVoteTerm = %d, %v; want %d", v, err, term)
	}
	if v, err := s.Get([]byte("LastVoteCand")); err != nil || string(v) != cand {
		t.Fatalf("LastVoteCand = %q, %v; want %q", v, err, cand)
	}
}

func TestMigrateCopiesLogAndStableStore(t *testing.T) {
	n := newOldNode(t)
	n.write(t, 1, 10000, 7, "node-2")
	s := openTestStore(t, n.walDir, 0)

	migrated, err := MigrateFromBadger(n.db, prefix, s, discard)
	if err != nil || !migrated {
		t.Fatalf("MigrateFromBadger = %v, %v; want true", migrated, err)
	}
	checkBounds(t, s, 1, 10000)
	checkLogs(t, s, 1, 10000)
	checkStable(t, s, 7, "node-2")

	if k := badgerKeys(t, n.db, prefix); k != 0 {
		t.Fatalf("%d keys left under %q in badger", k, prefix)
	}
	checkBounds(t, badgerstore.New(n.db, prefix), 0, 0)
	n.checkOtherKeys(t)

	// Once: the next start copies nothing and changes nothing.
	s = reopen(t, s, 0)
	migrated, err = MigrateFromBadger(n.db, prefix, s, discard)
	if err != nil || migrated {
		t.Fatalf("second MigrateFromBadger = %v, %v; want false, nil", migrated, err)
	}
	checkBounds(t, s, 1, 10000)
	checkStable(t, s, 7, "node-2")
	m, err := readMarker(s)
	if err != nil || m == nil || m.First != 1 || m.Last != 10000 || m.Term != 7 || m.Prefix != prefix {
		t.Fatalf("marker = %+v, %v", m, err)
	}
}

func TestMigrateNewNode(t *testing.T) {
	n := newOldNode(t)
	s := openTestStore(t, n.walDir, 0)
	migrated, err := MigrateFromBadger(n.db, prefix, s, discard)
	if err != nil || migrated {
		t.Fatalf("MigrateFromBadger on a new node = %v, %v; want false, nil", migrated, err)
	}
	checkBounds(t, s, 0, 0)
	if has, err := raft.HasExistingState(s, s, raft.NewInmemSnapshotStore()); err != nil || has {
		t.Fatalf("HasExistingState after migrating nothing = %v, %v; want false", has, err)
	}
	n.checkOtherKeys(t)

	// From now on the WAL is the raft store: raft keys appearing in
	// badger later (the previous release run again) are not taken.
	n.write(t, 1, 10, 3, "node-1")
	if _, err := MigrateFromBadger(n.db, prefix, s, discard); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("MigrateFromBadger with raft state newer than the migration = %v, want an error", err)
	}
	checkBounds(t, n.bs, 1, 10)
}

func TestMigrateOnlyStableKeys(t *testing.T) {
	n := newOldNode(t)
	n.write(t, 1, 0, 4, "node-3")
	s := openTestStore(t, n.walDir, 0)
	if migrated, err := MigrateFromBadger(n.db, prefix, s, discard); err != nil || !migrated {
		t.Fatalf("MigrateFromBadger = %v, %v", migrated, err)
	}
	checkBounds(t, s, 0, 0)
	checkStable(t, s, 4, "node-3")
	if k := badgerKeys(t, n.db, prefix); k != 0 {
		t.Fatalf("%d keys left under %q", k, prefix)
	}
}

// A migration that died after copying (all or part) but before its
// marker: the next start empties the WAL and copies again.
func TestMigrateInterruptedIsRedone(t *testing.T) {
	for _, tc := range []struct {
		name string
		copy func(t *testing.T, src *badgerRaft, s *Store)
	}{
		{"after the copy", func(t *testing.T, src *badgerRaft, s *Store) {
			if err := copyToWAL(src, s); err != nil {
				t.Fatal(err)
			}
		}},
		{"part-way", func(t *testing.T, src *badgerRaft, s *Store) {
			storeLogs(t, s, 1, 1234, 512)
			if err := s.SetUint64([]byte("CurrentTerm"), 5); err != nil {
				t.Fatal(err)
			}
		}},
		{"stale entries past the end", func(t *testing.T, src *badgerRaft, s *Store) {
			storeLogs(t, s, 1, 3100, 512)
			if err := s.Set([]byte("LastVoteCand"), []byte("someone-else")); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newOldNode(t)
			n.write(t, 1, 3000, 9, "node-2")
			s := openTestStore(t, n.walDir, 0)

			src, err := readBadger(n.db, prefix)
			if err != nil {
				t.Fatal(err)
			}
			tc.copy(t, src, s)
			// ... and the process dies: no marker, badger untouched.
			s = reopen(t, s, 0)
			if m, err := readMarker(s); err != nil || m != nil {
				t.Fatalf("marker after an interrupted copy = %+v, %v", m, err)
			}

			migrated, err := MigrateFromBadger(n.db, prefix, s, discard)
			if err != nil || !migrated {
				t.Fatalf("MigrateFromBadger = %v, %v; want true", migrated, err)
			}
			checkBounds(t, s, 1, 3000)
			checkLogs(t, s, 1, 3000)
			checkStable(t, s, 9, "node-2")
			if k := badgerKeys(t, n.db, prefix); k != 0 {
				t.Fatalf("%d keys left under %q", k, prefix)
			}
		})
	}
}

// A migration that died while deleting from badger, after its marker: the
// WAL stays, the rest is deleted.
func TestMigrateInterruptedDuringDeletion(t *testing.T) {
	n := newOldNode(t)
	n.write(t, 1, 3000, 9, "node-2")
	s := openTestStore(t, n.walDir, 0)
	src, err := readBadger(n.db, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := copyToWAL(src, s); err != nil {
		t.Fatal(err)
	}
	if err := writeMarker(s, &marker{Prefix: prefix, First: 1, Last: 3000, Term: 9}); err != nil {
		t.Fatal(err)
	}
	// Part of the deletion (top down, as badgerstore deletes a suffix).
	if err := n.bs.DeleteRange(2000, 3000); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, 0)

	migrated, err := MigrateFromBadger(n.db, prefix, s, discard)
	if err != nil || migrated {
		t.Fatalf("MigrateFromBadger = %v, %v; want false, nil", migrated, err)
	}
	checkBounds(t, s, 1, 3000)
	checkLogs(t, s, 1, 3000)
	checkStable(t, s, 9, "node-2")
	if k := badgerKeys(t, n.db, prefix); k != 0 {
		t.Fatalf("%d keys left under %q", k, prefix)
	}
	n.checkOtherKeys(t)
}

// badgerstore allows a gap (raft installed a snapshot beyond a follower's
// log); raft-wal does not. The run after the last gap is copied.
func TestMigrateLogWithGap(t *testing.T) {
	n := newOldNode(t)
	n.write(t, 1, 100, 0, "")
	n.write(t, 501, 700, 0, "")
	n.write(t, 801, 900, 6, "node-1")
	s := openTestStore(t, n.walDir, 0)
	if migrated, err := MigrateFromBadger(n.db, prefix, s, discard); err != nil || !migrated {
		t.Fatalf("MigrateFromBadger = %v, %v", migrated, err)
	}
	checkBounds(t, s, 801, 900)
	checkLogs(t, s, 801, 900)
	checkStable(t, s, 6, "node-1")
	if k := badgerKeys(t, n.db, prefix); k != 0 {
		t.Fatalf("%d keys left under %q", k, prefix)
	}
	if m, _ := readMarker(s); m == nil || m.Dropped != 300 || m.First != 801 {
		t.Fatalf("marker = %+v; want 300 dropped, first 801", m)
	}
}

func TestMigrateRefusesUnknownStableKey(t *testing.T) {
	n := newOldNode(t)
	n.write(t, 1, 10, 2, "node-1")
	if err := n.bs.SetUint64([]byte("SomethingNew"), 1); err != nil {
		t.Fatal(err)
	}
	s := openTestStore(t, n.walDir, 0)
	if _, err := MigrateFromBadger(n.db, prefix, s, discard); err == nil || !strings.Contains(err.Error(), "SomethingNew") {
		t.Fatalf("MigrateFromBadger = %v, want an error naming the key", err)
	}
	checkBounds(t, s, 0, 0)
	checkBounds(t, n.bs, 1, 10)
}

// The prefix is badgerstore's: only prefix+"log/" and prefix+"stable/"
// are raft's, so an empty prefix deletes nothing else.
func TestMigrateEmptyPrefixTouchesOnlyRaftKeys(t *testing.T) {
	n := newOldNode(t)
	bs := badgerstore.New(n.db, "")
	storeLogs(t, bs, 1, 20, 20)
	if err := bs.SetUint64([]byte("CurrentTerm"), 3); err != nil {
		t.Fatal(err)
	}
	s := openTestStore(t, n.walDir, 0)
	if migrated, err := MigrateFromBadger(n.db, "", s, discard); err != nil || !migrated {
		t.Fatalf("MigrateFromBadger = %v, %v", migrated, err)
	}
	checkLogs(t, s, 1, 20)
	if k := badgerKeys(t, n.db, "log/") + badgerKeys(t, n.db, "stable/"); k != 0 {
		t.Fatalf("%d raft keys left", k)
	}
	n.checkOtherKeys(t)
}
