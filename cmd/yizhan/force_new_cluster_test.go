package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// `yizhan node --force-new-cluster` (docs/OPERATIONS.md, "An office that
// lost its majority") recovers an office from a surviving node's own data
// directory: with --bootstrap, with --join, or on an empty or missing
// data directory it is refused before the node starts, naming the flag,
// and makes nothing there.
func TestForceNewClusterRefusedWithBootstrapJoinOrNoData(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	tlsFlags := officeCertFlags(t, "450122000000")
	ports := []string{"--http-addr", "127.0.0.1:0", "--peer-addr", "127.0.0.1:0", "--raft-addr", "127.0.0.1:0"}
	for _, tc := range []struct {
		name  string
		extra []string
	}{
		{"with --bootstrap", []string{"--bootstrap"}},
		{"with --join", []string{"--join", "127.0.0.1:7070"}},
		{"on an empty data directory", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := filepath.Join(t.TempDir(), "data")
			args := append([]string{"--office", "450122000000", "--name", "n1", "--data", data, "--force-new-cluster"}, ports...)
			args = append(append(args, tc.extra...), tlsFlags...)
			var out, errOut bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := runNode(ctx, args, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), "--force-new-cluster") {
				t.Errorf("yizhan node --force-new-cluster %s: %v; want it refused, naming --force-new-cluster", tc.name, err)
			}
			if strings.Contains(out.String(), "serving") {
				t.Errorf("yizhan node --force-new-cluster %s served: %s", tc.name, out.String())
			}
			if left, _ := os.ReadDir(data); len(left) > 0 {
				t.Errorf("yizhan node --force-new-cluster %s left %d entries in the data directory", tc.name, len(left))
			}
		})
	}
}
