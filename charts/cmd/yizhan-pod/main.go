// Command yizhan-pod is the entrypoint of a yizhan pod in a StatefulSet: it
// appends the arguments the Helm chart rendered for the pod's ordinal
// (pod 0 bootstraps the office's raft group, the others join it) to its
// own arguments and executes them in its place. See package podargs.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/yizhan-gov/yizhan/charts/internal/podargs"
)

func main() {
	cmd, err := podargs.Command(os.Args[1:], os.LookupEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "yizhan-pod:", err)
		os.Exit(2)
	}
	path, err := exec.LookPath(cmd[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, "yizhan-pod:", err)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "yizhan-pod: exec %q\n", cmd)
	err = syscall.Exec(path, cmd, os.Environ())
	fmt.Fprintln(os.Stderr, "yizhan-pod:", err)
	os.Exit(2)
}
