//go:build e2e && linux

package e2e

import (
	"os/exec"
	"syscall"
)

// orphanGuard has the kernel kill a node when the test binary dies, so a
// crashed or interrupted test leaves no node running.
func orphanGuard(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
