// Package powercut is a FUSE file system for tests that models a power
// cut: a loopback of a real directory that remembers, for each file, what
// the file held at its last fsync, and puts every file back to that at
// Cut. A test runs a program with its data on the mount, kills it with
// SIGKILL, calls Cut at once and unmounts: the real directory then holds
// what a disk would hold after the power went at that moment, and the
// program is started on it again.
//
// The file system is served by the test's own process: that process must
// not map a file of the mount (mmap, as badger does with its logs and
// tables). A goroutine blocked in a page fault that the process itself
// has to answer cannot be stopped by the Go runtime (for the garbage
// collector), and the two can wait for each other for ever
// (golang/go#21014; a test that opened a node's badger through the mount
// hung so). Run what maps the files as a process of its own, or read a
// copy of the real directory.
//
// What it models. Each regular file's data and size are durable at its
// last fsync or fdatasync (msync with MS_SYNC reaches the file system as
// an fsync) and nothing later is: Cut puts back the bytes every write,
// truncate and fallocate changed since, and the size the file had then.
// That holds whatever way the bytes came: write(2) reaches the file
// system at once, and a write to a shared mapping (mmap, as badger writes
// its memtable's log and its value log) when the kernel writes the page
// back or msync asks for it; a page not written back before the cut is
// lost with the kernel's page cache, as in a real power cut. From Cut on
// every change is refused with EIO, so pages the kernel still writes back
// for a killed process (or for anyone) change nothing.
//
// What it does not model, and is optimistic about:
//   - Metadata is durable at once: a file created, renamed, linked or
//     unlinked stays so after Cut, with no fsync of its directory. A
//     journaling file system commits such changes within seconds, in the
//     order they were made, so a program that renames a synced file into
//     place finds it after a cut; one that relies on a rename it never
//     made durable would lose it on a real disk and not here. A file
//     created since its last sync goes back to the size it had when first
//     changed (0 for a new file), not away.
//   - Torn and reordered writes: a file is either as it was at its last
//     sync (every later change undone) or, if synced, whole. A real disk
//     can keep some of the unsynced writes and not others, or part of a
//     sector; a program must survive that too. CutKeeping tries one such
//     case across files: some files keep what reached the file system
//     since their sync (as if the kernel had written their pages back),
//     the others not. Within a file it tries none.
//   - A write that races an fsync of the same file counts as synced.
//
// The changes are kept as the first-written content of each 4 KiB block
// below the file's synced size (a copy taken before the first change to
// the block since the last sync), which is what undoing every change in
// reverse order gives back, in bounded memory: bytes past the synced size
// need no copy, since Cut truncates the file to that size, and a block
// that was a hole (SEEK_DATA) is recorded as one and punched again at
// Cut, not copied: a sparse file of gigabytes cut short and grown again
// costs a few bytes a block, not its size in memory and then on the disk.
package powercut

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"
)

// blockSize is the size of the blocks whose synced content is copied
// before their first change.
const blockSize = 4096

// FS is a mounted power-cut file system. Its methods are safe to call
// from several goroutines.
type FS struct {
	dir        string // the real directory the mount shows
	mountpoint string
	server     *fuse.Server

	mu    sync.Mutex           // guards the fields below, and is held across every change to a file
	cut   bool                 // Cut was called: every change is refused
	files map[fileID]*unsynced // the files changed since their last sync
	stats Stats                // what happened so far
	errs  []error              // what went wrong while recording (reported by Cut)
}

// Stats counts what the file system saw.
type Stats struct {
	Writes    int // writes applied (write(2) and written-back pages alike)
	Syncs     int // fsyncs and fdatasyncs of a file
	Refused   int // changes refused after Cut
	Restored  int // files put back to their last sync at Cut
	Truncates int // truncates and fallocates applied
}

// fileID names a file of the real directory by device and inode, so that
// a file renamed keeps what it must go back to.
type fileID struct{ dev, ino uint64 }

// unsynced is what one file held at its last sync, as far as it changed
// since: its size then and the content then of each block changed since.
type unsynced struct {
	fd     int              // the real file, opened read-write at its first change
	size   int64            // its size at its last sync
	blocks map[int64][]byte // block number → its content at the last sync (blocks below size only; nil: a hole)
}

// Mount shows the real directory dir at mountpoint (both must exist) and
// starts serving it. It needs root (it mounts with mount(2), no
// fusermount) and /dev/fuse. Unmount it with Unmount.
func Mount(dir, mountpoint string) (*FS, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return nil, fmt.Errorf("powercut: no FUSE on this machine (%w): the power-cut tests need /dev/fuse and root", err)
	}
	var st syscall.Stat_t
	if err := syscall.Stat(dir, &st); err != nil {
		return nil, fmt.Errorf("powercut: %w", err)
	}
	f := &FS{dir: dir, mountpoint: mountpoint, files: map[fileID]*unsynced{}}
	root := &fs.LoopbackRoot{Path: dir, Dev: uint64(st.Dev)}
	rootNode := &node{LoopbackNode: &fs.LoopbackNode{RootData: root}, fs: f}
	root.RootNode = rootNode
	server, err := fs.Mount(mountpoint, rootNode, &fs.Options{
		MountOptions: fuse.MountOptions{
			DirectMountStrict: true,
			FsName:            dir,
			Name:              "powercut",
		},
	})
	if err != nil {
		return nil, fmt.Errorf("powercut: mount %s on %s (root and /dev/fuse needed): %w", dir, mountpoint, err)
	}
	f.server = server
	return f, nil
}

// Dir is the real directory the mount shows.
func (f *FS) Dir() string { return f.dir }

// Mountpoint is where the file system is mounted.
func (f *FS) Mountpoint() string { return f.mountpoint }

// Stats says what the file system saw so far.
func (f *FS) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

// Cut models a power cut now: from here on every change through the mount
// is refused with EIO, and every file is put back to what it held at its
// last sync (its content then, and its size then). The real directory is
// synced, so that the state it is left in does not depend on this
// machine staying up. Kill the program first: one still running sees
// its writes fail. Cut again does nothing.
func (f *FS) Cut() error {
	return f.CutKeeping(nil)
}

// CutKeeping is Cut, except that the files whose name (the last element
// of their path) keep accepts keep what reached the file system since
// their last sync: as if the kernel had written those files' pages back
// before the power went, and not the others'. A disk does not order the
// write-back of different files: a program must survive that too. Pages
// the kernel still holds for them are not written back: push them to the
// file system first (sync_file_range(2), SYNC_FILE_RANGE_WRITE) to keep
// them.
func (f *FS) CutKeeping(keep func(name string) bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cut {
		return nil
	}
	f.cut = true
	errs := f.errs
	for id, u := range f.files {
		if keep != nil {
			if path, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", u.fd)); err == nil && keep(filepath.Base(path)) {
				unix.Close(u.fd)
				continue
			}
		}
		var holes []int64
		for b, old := range u.blocks {
			if old == nil {
				holes = append(holes, b)
				continue
			}
			if _, err := unix.Pwrite(u.fd, old, b*blockSize); err != nil {
				errs = append(errs, fmt.Errorf("powercut: put back block %d of inode %d: %w", b, id.ino, err))
			}
		}
		if err := punchHoles(u.fd, holes); err != nil {
			errs = append(errs, fmt.Errorf("powercut: put back the holes of inode %d: %w", id.ino, err))
		}
		if err := unix.Ftruncate(u.fd, u.size); err != nil {
			errs = append(errs, fmt.Errorf("powercut: put back the size %d of inode %d: %w", u.size, id.ino, err))
		}
		if err := unix.Fsync(u.fd); err != nil {
			errs = append(errs, fmt.Errorf("powercut: sync inode %d: %w", id.ino, err))
		}
		unix.Close(u.fd)
		f.stats.Restored++
	}
	f.files = map[fileID]*unsynced{}
	return errors.Join(errs...)
}

// punchHoles makes the blocks numbered in holes holes again (zeros, no
// space on the disk), a run of consecutive blocks at a time; where the
// file system cannot punch a hole it writes zeros.
func punchHoles(fd int, holes []int64) error {
	slices.Sort(holes)
	var zeros []byte
	for i := 0; i < len(holes); {
		j := i
		for j+1 < len(holes) && holes[j+1] == holes[j]+1 {
			j++
		}
		off, n := holes[i]*blockSize, (holes[j]-holes[i]+1)*blockSize
		i = j + 1
		err := unix.Fallocate(fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
		if !errors.Is(err, unix.EOPNOTSUPP) {
			if err != nil {
				return err
			}
			continue
		}
		if zeros == nil {
			zeros = make([]byte, blockSize)
		}
		for end := off + n; off < end; off += blockSize {
			if _, err := unix.Pwrite(fd, zeros, off); err != nil {
				return err
			}
		}
	}
	return nil
}

// Unmount unmounts the file system. After Cut, pages the kernel still
// holds for its files are refused and dropped.
func (f *FS) Unmount() error {
	if err := f.server.Unmount(); err != nil {
		return fmt.Errorf("powercut: unmount %s: %w", f.mountpoint, err)
	}
	f.server.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.files {
		unix.Close(u.fd)
	}
	f.files = map[fileID]*unsynced{}
	return nil
}

// change runs apply, a change to the real file open as fd, under f.mu
// once the blocks it changes have been copied: [from, to) are the bytes
// whose content it changes, to < 0 meaning to the end of the file. After
// Cut it refuses with EIO.
func (f *FS) change(fd int, from, to int64, apply func() syscall.Errno) syscall.Errno {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cut {
		f.stats.Refused++
		return syscall.EIO
	}
	u, errno := f.unsyncedLocked(fd)
	if errno != 0 {
		return errno
	}
	if to < 0 || to > u.size {
		to = u.size
	}
	if from < to {
		// data is where the file's next data begins at or after the
		// block looked at (SEEK_DATA), once asked: a block before it is
		// a hole, recorded as such (nil) and not copied. A sparse file
		// cut short (badger's value log, 2 GB mapped, when badger
		// reopens it) would otherwise be copied whole, zeros and all,
		// into memory, and written back at Cut as zeros.
		data := int64(-1)
		for b := from / blockSize; b*blockSize < to; b++ {
			if _, ok := u.blocks[b]; ok {
				continue
			}
			if data < b*blockSize {
				off, err := unix.Seek(u.fd, b*blockSize, unix.SEEK_DATA)
				switch {
				case errors.Is(err, unix.ENXIO):
					off = u.size // no data from here on
				case err != nil:
					off = b * blockSize // not known: copy
				}
				data = off
			}
			if data >= (b+1)*blockSize {
				u.blocks[b] = nil
				continue
			}
			old := make([]byte, min(blockSize, u.size-b*blockSize))
			n, err := unix.Pread(u.fd, old, b*blockSize)
			if err != nil {
				f.errs = append(f.errs, fmt.Errorf("powercut: copy block %d before a change: %w", b, err))
				return syscall.EIO
			}
			// A block the file no longer fully holds was cut short by a
			// truncate, which copied it first: n < len(old) does not
			// happen here. Keep what was read in any case.
			u.blocks[b] = old[:n]
		}
	}
	return apply()
}

// unsyncedLocked is what the real file open as fd must go back to,
// started now if it is the file's first change since its last sync.
func (f *FS) unsyncedLocked(fd int) (*unsynced, syscall.Errno) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fs.ToErrno(err)
	}
	id := fileID{dev: st.Dev, ino: st.Ino}
	if u, ok := f.files[id]; ok {
		return u, 0
	}
	// The handle may be open write-only; a descriptor of its own, read
	// and write, copies blocks and puts them back at Cut, wherever the
	// file has been renamed to by then.
	own, err := unix.Open(fmt.Sprintf("/proc/self/fd/%d", fd), unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		f.errs = append(f.errs, fmt.Errorf("powercut: open inode %d to record a change: %w", st.Ino, err))
		return nil, syscall.EIO
	}
	u := &unsynced{fd: own, size: st.Size, blocks: map[int64][]byte{}}
	f.files[id] = u
	return u, 0
}

// synced forgets what the real file open as fd must go back to: it was
// synced.
func (f *FS) synced(fd int) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return
	}
	id := fileID{dev: st.Dev, ino: st.Ino}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stats.Syncs++
	if u, ok := f.files[id]; ok && !f.cut {
		unix.Close(u.fd)
		delete(f.files, id)
	}
}

// refuseAfterCut answers EIO to a metadata change after Cut.
func (f *FS) refuseAfterCut() syscall.Errno {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cut {
		f.stats.Refused++
		return syscall.EIO
	}
	return 0
}

// node is a loopback node whose files record their changes.
type node struct {
	*fs.LoopbackNode
	fs *FS
}

var (
	_ fs.NodeWrapChilder = (*node)(nil)
	_ fs.NodeOpener      = (*node)(nil)
	_ fs.NodeCreater     = (*node)(nil)
	_ fs.NodeSetattrer   = (*node)(nil)
	_ fs.NodeTmpfiler    = (*node)(nil)
)

// WrapChild makes every node of the tree a node of this file system.
func (n *node) WrapChild(ctx context.Context, ops fs.InodeEmbedder) fs.InodeEmbedder {
	return &node{LoopbackNode: ops.(*fs.LoopbackNode), fs: n.fs}
}

// Open opens the real file and hands out a handle that records changes.
func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	if flags&(syscall.O_WRONLY|syscall.O_RDWR|syscall.O_TRUNC) != 0 {
		if errno := n.fs.refuseAfterCut(); errno != 0 {
			return nil, 0, errno
		}
	}
	if flags&syscall.O_TRUNC != 0 {
		// The kernel sends O_TRUNC on to the open: truncate through the
		// record first, then open without it.
		if errno := n.fs.truncate(nil, n.realPath(), 0); errno != 0 {
			return nil, 0, errno
		}
		flags &^= syscall.O_TRUNC
	}
	fh, fuseFlags, errno := n.LoopbackNode.Open(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	return &file{LoopbackFile: fh.(*fs.LoopbackFile), fs: n.fs}, fuseFlags, 0
}

// Create creates the real file (metadata: durable at once) and hands out
// a handle that records changes.
func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	if errno := n.fs.refuseAfterCut(); errno != 0 {
		return nil, nil, 0, errno
	}
	if flags&syscall.O_TRUNC != 0 {
		// An existing file truncated by O_CREAT|O_TRUNC changes its
		// data: through the record.
		p := filepath.Join(n.realPath(), name)
		if _, err := os.Lstat(p); err == nil {
			if errno := n.fs.truncate(nil, p, 0); errno != 0 {
				return nil, nil, 0, errno
			}
		}
		flags &^= syscall.O_TRUNC
	}
	ch, fh, fuseFlags, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	return ch, &file{LoopbackFile: fh.(*fs.LoopbackFile), fs: n.fs}, fuseFlags, 0
}

// Tmpfile is not offered: the file system does not model O_TMPFILE's
// linking.
func (n *node) Tmpfile(ctx context.Context, flags uint32, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EOPNOTSUPP
}

// Setattr records a change of size (truncate) before it is made; other
// attributes pass through.
func (n *node) Setattr(ctx context.Context, fh fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if errno := n.fs.refuseAfterCut(); errno != 0 {
		return errno
	}
	sz, ok := in.GetSize()
	if !ok {
		return n.LoopbackNode.Setattr(ctx, underlying(fh), in, out)
	}
	if errno := n.fs.truncate(fh, n.realPath(), int64(sz)); errno != 0 {
		return errno
	}
	// The size is set; the rest (mode, times) as the loopback does.
	rest := *in
	rest.Valid &^= fuse.FATTR_SIZE
	return n.LoopbackNode.Setattr(ctx, underlying(fh), &rest, out)
}

// The metadata changes pass through, and are refused after Cut.

// Mkdir makes a directory.
func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if errno := n.fs.refuseAfterCut(); errno != 0 {
		return nil, errno
	}
	return n.LoopbackNode.Mkdir(ctx, name, mode, out)
}

// Mknod makes a node.
func (n *node) Mknod(ctx context.Context, name string, mode, rdev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if errno := n.fs.refuseAfterCut(); errno != 0 {
		return nil, errno
	}
	return n.LoopbackNode.Mknod(ctx, name, mode, rdev, out)
}

// Rmdir removes a directory.
func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	if errno := n.fs.refuseAfterCut(); errno != 0 {
		return errno
	}
	return n.LoopbackNode.Rmdir(ctx, name)
}

// Unlink removes a name.
func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	if errno := n.fs.refuseAfterCut(); errno != 0 {
		return errno
	}
	return n.LoopbackNode.Unlink(ctx, name)
}

// Rename renames.
func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if errno := n.fs.refuseAfterCut(); errno != 0 {
		return errno
	}
	if p, ok := newParent.(*node); ok {
		newParent = p.LoopbackNode
	}
	return n.LoopbackNode.Rename(ctx, name, newParent, newName, flags)
}

// Link makes a hard link.
func (n *node) Link(ctx context.Context, target fs.InodeEmbedder, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if errno := n.fs.refuseAfterCut(); errno != 0 {
		return nil, errno
	}
	if t, ok := target.(*node); ok {
		target = t.LoopbackNode
	}
	return n.LoopbackNode.Link(ctx, target, name, out)
}

// Symlink makes a symbolic link.
func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	if errno := n.fs.refuseAfterCut(); errno != 0 {
		return nil, errno
	}
	return n.LoopbackNode.Symlink(ctx, target, name, out)
}

// CopyFileRange is not offered: the kernel then copies with reads and
// writes, which are recorded.
func (n *node) CopyFileRange(ctx context.Context, fhIn fs.FileHandle, offIn uint64, out *fs.Inode, fhOut fs.FileHandle, offOut uint64, len uint64, flags uint64) (uint32, syscall.Errno) {
	return 0, syscall.EOPNOTSUPP
}

// realPath is the node's path in the real directory.
func (n *node) realPath() string {
	return filepath.Join(n.RootData.Path, n.Path(n.RootData.RootNode.EmbeddedInode()))
}

// truncate records and applies a change of a file's size to sz, through
// the handle fh when it is one of ours, else through the real path.
func (f *FS) truncate(fh fs.FileHandle, path string, sz int64) syscall.Errno {
	var fd int
	if h, ok := fh.(*file); ok {
		fd = h.fd()
	} else {
		own, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return fs.ToErrno(err)
		}
		defer own.Close()
		fd = int(own.Fd())
	}
	return f.change(fd, sz, -1, func() syscall.Errno {
		f.stats.Truncates++
		return fs.ToErrno(unix.Ftruncate(fd, sz))
	})
}

// underlying is the loopback handle under one of ours.
func underlying(fh fs.FileHandle) fs.FileHandle {
	if f, ok := fh.(*file); ok {
		return f.LoopbackFile
	}
	return fh
}

// file is a loopback file handle whose changes are recorded. It does not
// offer the kernel the real file to pass reads and writes through to
// (FUSE passthrough), which would bypass the record.
type file struct {
	*fs.LoopbackFile
	fs *FS
}

var (
	_ fs.FileWriter          = (*file)(nil)
	_ fs.FileWritever        = (*file)(nil)
	_ fs.FileFsyncer         = (*file)(nil)
	_ fs.FileAllocater       = (*file)(nil)
	_ fs.FileSetattrer       = (*file)(nil)
	_ fs.FilePassthroughFder = (*file)(nil)
)

// fd is the real file's descriptor.
func (f *file) fd() int {
	fd, _ := f.LoopbackFile.PassthroughFd()
	return fd
}

// PassthroughFd declines FUSE passthrough.
func (f *file) PassthroughFd() (int, bool) { return 0, false }

// Write records and writes data at off.
func (f *file) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	fd := f.fd()
	var n int
	errno := f.fs.change(fd, off, off+int64(len(data)), func() syscall.Errno {
		var err error
		n, err = unix.Pwrite(fd, data, off)
		if err == nil {
			f.fs.stats.Writes++
		}
		return fs.ToErrno(err)
	})
	return uint32(n), errno
}

// Writev writes the pieces as one write.
func (f *file) Writev(ctx context.Context, data [][]byte, off int64) (uint32, syscall.Errno) {
	var all []byte
	for _, d := range data {
		all = append(all, d...)
	}
	return f.Write(ctx, all, off)
}

// Fsync syncs the real file and forgets what it would go back to.
func (f *file) Fsync(ctx context.Context, flags uint32) syscall.Errno {
	if errno := f.fs.refuseAfterCut(); errno != 0 {
		return errno
	}
	fd := f.fd()
	if err := unix.Fsync(fd); err != nil {
		return fs.ToErrno(err)
	}
	f.fs.synced(fd)
	return 0
}

// Allocate records and applies a fallocate: the bytes of [off, off+size)
// may change (punch hole, zero range), and the file's end may move
// (collapse and insert range change everything after off).
func (f *file) Allocate(ctx context.Context, off uint64, size uint64, mode uint32) syscall.Errno {
	fd := f.fd()
	to := int64(off + size)
	if mode&(unix.FALLOC_FL_COLLAPSE_RANGE|unix.FALLOC_FL_INSERT_RANGE) != 0 {
		to = -1
	}
	return f.fs.change(fd, int64(off), to, func() syscall.Errno {
		f.fs.stats.Truncates++
		return fs.ToErrno(unix.Fallocate(fd, mode, int64(off), int64(size)))
	})
}

// Setattr records a change of size (truncate) before it is made; other
// attributes pass through. (The node's Setattr is what FUSE calls.)
func (f *file) Setattr(ctx context.Context, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if sz, ok := in.GetSize(); ok {
		if errno := f.fs.truncate(f, "", int64(sz)); errno != 0 {
			return errno
		}
		rest := *in
		rest.Valid &^= fuse.FATTR_SIZE
		return f.LoopbackFile.Setattr(ctx, &rest, out)
	}
	if errno := f.fs.refuseAfterCut(); errno != 0 {
		return errno
	}
	return f.LoopbackFile.Setattr(ctx, in, out)
}

// Ioctl is not offered: an ioctl could change the file unrecorded.
func (f *file) Ioctl(ctx context.Context, cmd uint32, arg uint64, input []byte, output []byte) (int32, syscall.Errno) {
	return 0, syscall.ENOTTY
}
