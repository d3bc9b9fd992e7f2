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

// One machine written two ways in `restore --members` — a port with a
// leading zero, a host name in another case, an IP written long — is
// refused as two nodes at one raft address, and a port raft cannot dial
// (out of range, not a number: a letter O typed for a zero) is refused,
// each naming the flag and the entry, before anything is written (the
// restored office would elect no leader).
func TestRestoreMembersRefusesOneAddressWrittenTwoWays(t *testing.T) {
	for _, c := range []struct{ name, members, entry string }{
		{"leading zero in the port", "county-1=10.0.1.21:7000,county-2=10.0.1.21:07000,county-3=10.0.1.23:7000", "county-2=10.0.1.21:07000"},
		{"host name in another case", "county-1=county-1.gov.local:7000,county-2=COUNTY-1.gov.local:7000,county-3=county-3.gov.local:7000", "county-2=COUNTY-1.gov.local:7000"},
		{"an IPv4 address written as IPv6", "county-1=10.0.1.21:7000,county-2=[::ffff:10.0.1.21]:7000,county-3=10.0.1.23:7000", "county-2=[::ffff:10.0.1.21]:7000"},
		{"port out of range", "county-1=10.0.1.21:7000,county-2=10.0.1.22:70000,county-3=10.0.1.23:7000", "county-2=10.0.1.22:70000"},
		{"port 0", "county-1=10.0.1.21:7000,county-2=10.0.1.22:0,county-3=10.0.1.23:7000", "county-2=10.0.1.22:0"},
		{"port not a number", "county-1=10.0.1.21:7000,county-2=10.0.1.22:7OOO,county-3=10.0.1.23:7000", "county-2=10.0.1.22:7OOO"},
		{"no host", "county-1=10.0.1.21:7000,county-2=:7000,county-3=10.0.1.23:7000", "county-2=:7000"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ms, err := restoreMembers("--members", c.members)
			if err == nil || !strings.Contains(err.Error(), "--members") || !strings.Contains(err.Error(), c.entry) {
				t.Errorf("restore --members %s: %v (members %v); want a refusal naming --members and %q", c.members, err, ms, c.entry)
			}
		})
	}
	ms, err := restoreMembers("--members", "county-1=county-1.gov.local:7000,county-2=10.0.1.22:7000,county-3=[fd00::3]:7000")
	if err != nil || len(ms) != 3 || ms[0].Address != "county-1.gov.local:7000" || ms[2].Address != "[fd00::3]:7000" {
		t.Errorf("a list written right: %v, %v", ms, err)
	}
}

// A peer address of --join, --upstream, --peer or --peer-route with a
// port no node listens on is refused at once, naming the flag: the node
// or command would otherwise start and never reach it.
func TestPeerAddressFlagsRefuseAPortNoNodeListensOn(t *testing.T) {
	for _, addr := range []string{"county-1.gov.local:70000", "county-1.gov.local:7O7O", "county-1.gov.local:0", "county-1.gov.local"} {
		if _, err := peerAddrs("--join", "county-2.gov.local:7070,"+addr); err == nil || !strings.Contains(err.Error(), "--join") || !strings.Contains(err.Error(), addr) {
			t.Errorf("--join …,%s: %v; want a refusal naming --join and the address", addr, err)
		}
		routes := peerRoutes{}
		if err := routes.Set("450122101000=" + addr); err == nil || !strings.Contains(err.Error(), "--peer-route") {
			t.Errorf("--peer-route 450122101000=%s: %v; want a refusal naming --peer-route", addr, err)
		}
	}
	if list, err := peerAddrs("--join", "county-1.gov.local:7070, 10.0.1.22:7070"); err != nil || len(list) != 2 {
		t.Errorf("--join of two addresses written right: %v, %v", list, err)
	}
}
