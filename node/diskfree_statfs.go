//go:build linux || darwin || freebsd

package node

import "syscall"

// freeBytes is the space left on the file system that holds dir for a
// process without root's privileges (statfs: available blocks, not free
// ones, which count the root reserve); -1 when it cannot be read.
func freeBytes(dir string) float64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1
	}
	return float64(uint64(st.Bavail) * uint64(st.Bsize))
}
