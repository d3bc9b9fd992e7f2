package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// `yizhan restore` of a county said "… restored in DIR at raft index N",
// N the backup's index; docs/OPERATIONS.md: "a restored county starts
// 100,000,000 raft entries later (raftgroup.RegistryIndexBump)", and the
// raft snapshot restore writes, which the node starts from (its
// /v1/cluster applied_index, its registry index), is at N + 100,000,000:
// the command named an index the node would not be at. It now names the
// index of the snapshot it wrote.
func TestRestoreOfACountySaysTheIndexItStartsAt(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	n := startCountyNode(t)
	backup := backupOf(t, n)
	data := filepath.Join(t.TempDir(), "data")
	var out bytes.Buffer
	if err := run([]string{"restore", "--from", backup, "--data", data, "--name", "county-1"}, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	metas, _ := filepath.Glob(filepath.Join(data, "snapshots", "snapshots", "*", "meta.json"))
	if len(metas) != 1 {
		t.Fatalf("snapshots written: %v", metas)
	}
	b, err := os.ReadFile(metas[0])
	if err != nil {
		t.Fatal(err)
	}
	var meta struct{ Index uint64 }
	if err := json.Unmarshal(b, &meta); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), fmt.Sprintf("raft index %d ", meta.Index)) {
		t.Errorf("yizhan restore says %q; the node it made starts at raft index %d", strings.TrimSpace(out.String()), meta.Index)
	}
}
