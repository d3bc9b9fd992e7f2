//go:build unix

package node

import (
	"os"
	"syscall"
)

// allocatedBytes is the disk space a file takes up: its allocated blocks,
// less than its size when it is sparse.
func allocatedBytes(info os.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Blocks * 512
	}
	return info.Size()
}
