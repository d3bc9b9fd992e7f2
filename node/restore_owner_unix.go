//go:build unix

package node

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// giveToOwner makes what restore wrote under dataDir (paths) belong to
// dataDir's owner and group when they are not the user who ran it: a
// restore run as root (a Kubernetes debug pod) into a volume the node's
// user owns, which the node could not open otherwise.
func giveToOwner(dataDir string, paths []string) error {
	info, err := os.Stat(dataDir)
	if err != nil {
		return err
	}
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok || (int(st.Uid) == os.Geteuid() && int(st.Gid) == os.Getegid()) {
		return nil
	}
	uid, gid := int(st.Uid), int(st.Gid)
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, uid, gid)
		})
		if err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}
