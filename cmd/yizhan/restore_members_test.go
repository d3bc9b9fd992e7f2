package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// backupOf takes `yizhan backup` of the running county node n into a
// file, as the operator does.
func backupOf(t *testing.T, n countyNode) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "county.yzb")
	args := []string{"backup", "--peer", n.peer, "--out", out, "--tls-cert", n.crt, "--tls-key", n.key, "--tls-ca", n.ca}
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		if err = run(args, io.Discard, io.Discard); err == nil {
			return out
		}
	}
	t.Fatalf("yizhan backup: %v", err)
	return ""
}

// The county is restored on new machines (docs/OPERATIONS.md, "Other
// machines or addresses": `yizhan restore … --members
// county-1=10.0.1.21:7000,county-2=10.0.1.22:7000,county-3=…`, the same
// list on every node). A list typed wrong — a raft address without its
// port, one node named twice, two nodes at one address — was taken as it
// was and written into the raft snapshot of every restored node: the
// office then elected no leader (raft dialled addresses it could not
// reach, or counted one machine twice) and /readyz said only "office has
// no raft leader". The command now refuses such a list before it writes
// anything, naming the entry, as it refuses an entry without "=".
func TestRestoreRefusesAMembersListTypedWrong(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	n := startCountyNode(t)
	backup := backupOf(t, n)
	for _, c := range []struct{ name, members, entry string }{
		{"address without port", "county-1=127.0.0.1:7000,county-2=127.0.0.2,county-3=127.0.0.3:7000", "county-2=127.0.0.2"},
		{"node named twice", "county-1=127.0.0.1:7000,county-1=127.0.0.2:7000,county-3=127.0.0.3:7000", "county-1=127.0.0.2:7000"},
		{"two nodes at one address", "county-1=127.0.0.1:7000,county-2=127.0.0.1:7000,county-3=127.0.0.3:7000", "county-2=127.0.0.1:7000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			var out bytes.Buffer
			err := run([]string{"restore", "--from", backup, "--data", data, "--name", "county-1", "--members", c.members}, &out, io.Discard)
			_, statErr := os.Stat(data)
			if err == nil || !strings.Contains(err.Error(), c.entry) || statErr == nil {
				t.Errorf("yizhan restore --members %s: %v (data directory written: %v), not a refusal naming %q before writing anything; it said %q",
					c.members, err, statErr == nil, c.entry, out.String())
			}
		})
	}
}
