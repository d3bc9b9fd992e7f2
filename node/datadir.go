package node

import (
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
)

// privateMask are the permission bits no data file or directory keeps.
const privateMask fs.FileMode = 0o077

// tightenDataDir removes group and other permissions from every file and
// directory below dir, as far as it can: a failure is logged once, never
// fatal. The data directory holds the raft log, the registry with its
// password hashes and every case with its applicant. New files get their
// mode from the process's umask, which `yizhan node` sets to 077 at start
// (badger and raft create files 0666 and directories 0755 and leave the
// rest to the umask); this takes the group and other bits off what an
// older version or another umask left. dir itself is left alone: it may
// be a volume's mount point, owned by root and shared with the pod's
// group (fsGroup).
func tightenDataDir(dir string, log *slog.Logger) {
	warned := false
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir || d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		info, err := d.Info()
		if err != nil || info.Mode().Perm()&privateMask == 0 {
			return nil
		}
		if err := os.Chmod(path, info.Mode().Perm()&^privateMask); err != nil && !warned {
			warned = true
			log.Warn("cannot make the data directory private", "path", path, "err", err)
		}
		return nil
	})
}
