package main

import (
	"context"
	"io"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/yizhan-gov/yizhan/federation/pki"
)

// The operator adds a county node and writes --join without the peer
// port (README: `--join county-1.gov.local:7070`; here `--join
// 127.0.0.1`). --peer-route checked that each address was host:port;
// --join and --upstream took anything: the node started, dialled the
// address at gRPC's default port 443, and never joined, logging the
// failure at debug only. The node now refuses such an entry of --join or
// --upstream at start, naming the flag and the entry.
func TestNodeRefusesAJoinAddressWithoutPort(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	dir := t.TempDir()
	caDir, tlsDir := filepath.Join(dir, "ca"), filepath.Join(dir, "tls")
	if err := pki.InitCA(caDir, "test CA"); err != nil {
		t.Fatal(err)
	}
	if err := pki.IssueNode(caDir, pki.Identity{Office: "450122000000", Node: "county-2"}, []string{"127.0.0.1"}, tlsDir); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, flag, value, entry string }{
		{"join without port", "--join", "127.0.0.1", `"127.0.0.1"`},
		{"upstream fallback without port", "--upstream", "127.0.0.1:7070,county-1.gov.local", `"county-1.gov.local"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var errOut syncBuffer
			start := time.Now()
			err := runNode(ctx, []string{"--office", "450122000000", "--name", "county-2", "--data", filepath.Join(dir, "data"),
				c.flag, c.value, "--http-addr", freeLoopbackAddr(t), "--peer-addr", freeLoopbackAddr(t), "--raft-addr", freeLoopbackAddr(t),
				"--tls-cert", filepath.Join(tlsDir, "node.crt"), "--tls-key", filepath.Join(tlsDir, "node.key"), "--tls-ca", filepath.Join(tlsDir, "ca.crt"),
				"--log-level", "info"}, io.Discard, &errOut)
			if err == nil || !strings.Contains(err.Error(), c.flag) || !strings.Contains(err.Error(), c.entry) {
				t.Errorf("yizhan node %s %s ran for %s and ended with %v, not a refusal naming %s and %s; its log at info:\n%s",
					c.flag, c.value, time.Since(start).Round(time.Second), err, c.flag, c.entry, lastLines(errOut.String(), 5))
			}
		})
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
