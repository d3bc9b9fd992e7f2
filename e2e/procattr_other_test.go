//go:build e2e && !linux

package e2e

import "os/exec"

// orphanGuard does nothing here: only Linux kills a child when its parent
// dies. The tests' cleanups stop every node they start.
func orphanGuard(*exec.Cmd) {}
