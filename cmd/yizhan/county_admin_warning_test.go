package main

import (
	"context"
	"io"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// A county bootstrapped without --bootstrap-admin-password-file became
// ready with no admin account and said nothing: nobody could sign in to
// write its registry, and nothing told the operator why. The node warns
// now, naming the flag that creates the account.
func TestACountyWithoutAdminWarns(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var errOut syncBuffer
	args := append([]string{"--office", "450122000000", "--name", "n1", "--data", filepath.Join(t.TempDir(), "data"), "--bootstrap",
		"--http-addr", freeLoopbackAddr(t), "--peer-addr", freeLoopbackAddr(t), "--raft-addr", freeLoopbackAddr(t),
		"--log-level", "warn"}, officeCertFlags(t, "450122000000")...)
	go func() { done <- runNode(ctx, args, io.Discard, &errOut) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the node: %v", err)
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if strings.Contains(errOut.String(), "no admin account") {
			if !strings.Contains(errOut.String(), "--bootstrap-admin-password-file") {
				t.Errorf("the warning does not name --bootstrap-admin-password-file:\n%s", errOut.String())
			}
			return
		}
	}
	t.Errorf("a county started without --bootstrap-admin-password-file did not warn that it has no admin in 30 s; its log:\n%s", errOut.String())
}
