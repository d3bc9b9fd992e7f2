package node_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/yizhan-gov/yizhan/federation/raftgroup"
	"github.com/yizhan-gov/yizhan/node"
)

// A village point whose raft log and snapshots are gone (a damaged disk,
// a data directory put back in part) while its case book is whole must
// not start: raft would begin a new log at index 1, the book would take
// the new entries for the ones it already holds and skip them, and every
// case filed from then on would be acknowledged and lost. It refuses,
// saying what to do; with its log back it starts and holds its cases.
func TestNodeWhoseLogLostEntriesRefusesToStart(t *testing.T) {
	f := newCaseFed(t, 1)
	agent := dial(t, f.nodes["dongcun-1"]).login("dongcun", password)
	filed := fileTobacco(t, agent, "张三")
	f.stop("dongcun-1")

	dir := f.cfgs["dongcun-1"].DataDir
	aside := t.TempDir()
	for _, sub := range []string{"raft-wal", "snapshots"} {
		if err := os.Rename(filepath.Join(dir, sub), filepath.Join(aside, sub)); err != nil {
			t.Fatal(err)
		}
	}
	cfg := f.cfgs["dongcun-1"]
	cfg.Bootstrap = false
	n, err := node.New(cfg)
	if err == nil {
		err = n.Start()
		n.Close()
	}
	if !errors.Is(err, raftgroup.ErrLogBehindBook) {
		t.Fatalf("a node whose raft log is gone started: %v; want ErrLogBehindBook", err)
	}
	t.Logf("refused: %v", err)

	for _, sub := range []string{"raft-wal", "snapshots"} {
		os.RemoveAll(filepath.Join(dir, sub))
		if err := os.Rename(filepath.Join(aside, sub), filepath.Join(dir, sub)); err != nil {
			t.Fatal(err)
		}
	}
	village := f.restart("dongcun-1")
	if _, ok := village.Office().Cases().Case(filed.GetNumber()); !ok {
		t.Fatalf("the village restarted with its log does not hold %s", filed.GetNumber())
	}
}
