//go:build powercut

package powercut

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// mount mounts a power-cut file system over a new directory and returns
// it; the test's cleanup unmounts it if the test did not.
func mount(t *testing.T) *FS {
	t.Helper()
	dir, mnt := t.TempDir(), t.TempDir()
	f, err := Mount(dir, mnt)
	if err != nil {
		t.Fatalf("%v\n(the power-cut tests need root and /dev/fuse: run them where a FUSE file system can be mounted)", err)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(filepath.Join(mnt, ".")); err == nil {
			f.Unmount()
		}
	})
	return f
}

// cut cuts the power and unmounts: what the real directory holds then is
// what the disk would.
func cut(t *testing.T, f *FS) {
	t.Helper()
	if err := f.Cut(); err != nil {
		t.Fatal(err)
	}
	if err := f.Unmount(); err != nil {
		t.Fatal(err)
	}
}

// onDisk is what a file of the real directory holds.
func onDisk(t *testing.T, f *FS, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.Dir(), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// write writes data at off to the file name of the mount, and syncs it
// if asked.
func write(t *testing.T, f *FS, name string, data []byte, off int64, sync bool) {
	t.Helper()
	file, err := os.OpenFile(filepath.Join(f.Mountpoint(), name), os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if _, err := file.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := file.Sync(); err != nil {
			t.Fatal(err)
		}
	}
}

// A write never synced is gone after the cut; the file, created before
// it, is there and empty.
func TestAWriteNotSyncedIsLost(t *testing.T) {
	f := mount(t)
	write(t, f, "log", []byte("acknowledged nowhere"), 0, false)
	if got := f.Stats().Writes; got == 0 {
		t.Fatal("no write reached the file system")
	}
	cut(t, f)
	if got := onDisk(t, f, "log"); len(got) != 0 {
		t.Errorf("after the cut the file holds %q, want nothing", got)
	}
}

// What was synced stays; what was written over it and after it since is
// undone, byte for byte.
func TestASyncedWriteIsKeptAndLaterOnesUndone(t *testing.T) {
	f := mount(t)
	synced := bytes.Repeat([]byte("0123456789"), 1000) // 10,000 bytes: three blocks
	write(t, f, "log", synced, 0, true)
	write(t, f, "log", []byte("OVERWRITTEN"), 4090, false) // across a block boundary
	write(t, f, "log", []byte("appended"), int64(len(synced)), false)
	write(t, f, "log", []byte("far"), 1<<20, false)
	cut(t, f)
	if got := onDisk(t, f, "log"); !bytes.Equal(got, synced) {
		t.Errorf("after the cut the file holds %d bytes, want the %d synced (equal: %v)", len(got), len(synced), bytes.Equal(got[:min(len(got), len(synced))], synced[:min(len(got), len(synced))]))
	}
}

// A truncate since the last sync is undone, shorter or longer, and so is
// a fallocate that punched a hole.
func TestATruncateIsUndone(t *testing.T) {
	f := mount(t)
	synced := bytes.Repeat([]byte("abcdefgh"), 2000)
	write(t, f, "short", synced, 0, true)
	write(t, f, "long", synced, 0, true)
	write(t, f, "hole", synced, 0, true)
	if err := os.Truncate(filepath.Join(f.Mountpoint(), "short"), 100); err != nil {
		t.Fatal(err)
	}
	write(t, f, "short", []byte("and written again past the old end"), 5000, false)
	if err := os.Truncate(filepath.Join(f.Mountpoint(), "long"), 1<<20); err != nil {
		t.Fatal(err)
	}
	hole, err := os.OpenFile(filepath.Join(f.Mountpoint(), "hole"), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Fallocate(int(hole.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 4096, 8192); err != nil {
		t.Fatal(err)
	}
	hole.Close()
	cut(t, f)
	for _, name := range []string{"short", "long", "hole"} {
		if got := onDisk(t, f, name); !bytes.Equal(got, synced) {
			t.Errorf("after the cut %s holds %d bytes, want the %d synced", name, len(got), len(synced))
		}
	}
}

// A file renamed after a write it did not sync goes back under its new
// name; a file created and removed stays removed (metadata is durable at
// once).
func TestARenamedFileGoesBackUnderItsNewName(t *testing.T) {
	f := mount(t)
	write(t, f, "tmp", []byte("synced"), 0, true)
	write(t, f, "tmp", []byte("SYNCED and more"), 0, false)
	if err := os.Rename(filepath.Join(f.Mountpoint(), "tmp"), filepath.Join(f.Mountpoint(), "final")); err != nil {
		t.Fatal(err)
	}
	write(t, f, "gone", []byte("x"), 0, false)
	if err := os.Remove(filepath.Join(f.Mountpoint(), "gone")); err != nil {
		t.Fatal(err)
	}
	cut(t, f)
	if got := onDisk(t, f, "final"); string(got) != "synced" {
		t.Errorf("after the cut final holds %q, want %q", got, "synced")
	}
	if _, err := os.Stat(filepath.Join(f.Dir(), "gone")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the removed file: %v, want it gone", err)
	}
}

// mapShared maps the first size bytes of a file of the mount shared and
// writable, as badger maps its logs, and hands the mapping and the
// descriptor to use.
func mapShared(t *testing.T, f *FS, name string, size int, use func(fd int, m []byte)) {
	t.Helper()
	file, err := os.OpenFile(filepath.Join(f.Mountpoint(), name), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if err := file.Truncate(int64(size)); err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(file.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	use(int(file.Fd()), m)
}

// A write to a shared mapping that reached the file system (the kernel
// wrote the page back) but was never synced is lost; one made durable by
// msync is kept.
func TestASharedMappingsWriteIsLostUnlessMsynced(t *testing.T) {
	f := mount(t)
	const size = 3 * 4096
	mapShared(t, f, "synced", size, func(fd int, m []byte) {
		if err := unix.Fsync(fd); err != nil { // the file's size made durable
			t.Fatal(err)
		}
		copy(m[4096:], "msynced")
		if err := unix.Msync(m, unix.MS_SYNC); err != nil {
			t.Fatal(err)
		}
		copy(m[8192:], "written back, not synced")
		before := f.Stats().Writes
		// Write the dirty page back without a sync, as the kernel's
		// flusher does on its own.
		if err := unix.SyncFileRange(fd, 0, size, unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER); err != nil {
			t.Fatal(err)
		}
		if f.Stats().Writes == before {
			t.Fatal("the page written back did not reach the file system")
		}
		copy(m[0:], "never written back")
	})
	mapShared(t, f, "unsynced", size, func(fd int, m []byte) {
		copy(m, "never synced")
		if err := unix.SyncFileRange(fd, 0, size, unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER); err != nil {
			t.Fatal(err)
		}
	})
	cut(t, f)
	want := make([]byte, size)
	copy(want[4096:], "msynced")
	if got := onDisk(t, f, "synced"); !bytes.Equal(got, want) {
		t.Errorf("after the cut the msynced file holds %q…, want only the msynced write", bytes.Trim(got, "\x00"))
	}
	if got := onDisk(t, f, "unsynced"); len(got) != 0 {
		t.Errorf("after the cut the file never synced holds %d bytes, want none", len(got))
	}
}

// After the cut nothing reaches the disk: a write through a file opened
// before it fails with EIO and changes nothing.
func TestNothingIsWrittenAfterTheCut(t *testing.T) {
	f := mount(t)
	write(t, f, "log", []byte("synced"), 0, true)
	file, err := os.OpenFile(filepath.Join(f.Mountpoint(), "log"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Cut(); err != nil {
		t.Fatal(err)
	}
	if _, err := file.WriteAt([]byte("late"), 0); !errors.Is(err, syscall.EIO) {
		t.Errorf("a write after the cut: %v, want EIO", err)
	}
	file.Close()
	if err := f.Unmount(); err != nil {
		t.Fatal(err)
	}
	if got := onDisk(t, f, "log"); string(got) != "synced" {
		t.Errorf("after the cut the file holds %q, want %q", got, "synced")
	}
	if s := f.Stats(); s.Refused == 0 {
		t.Errorf("stats %+v: no change counted as refused", s)
	}
}

// A cut that keeps some files' unsynced writes (their pages written back
// before the power went) keeps those and loses the others'.
func TestACutCanKeepSomeFilesWrittenBack(t *testing.T) {
	f := mount(t)
	write(t, f, "wal", []byte("written back"), 0, false)
	write(t, f, "values", []byte("not written back"), 0, false)
	if err := f.CutKeeping(func(name string) bool { return name == "wal" }); err != nil {
		t.Fatal(err)
	}
	if err := f.Unmount(); err != nil {
		t.Fatal(err)
	}
	if got := onDisk(t, f, "wal"); string(got) != "written back" {
		t.Errorf("after the cut the kept file holds %q, want %q", got, "written back")
	}
	if got := onDisk(t, f, "values"); len(got) != 0 {
		t.Errorf("after the cut the other file holds %q, want nothing", got)
	}
}

// A sparse file (badger maps its value log at 2 GB and fills it from the
// start) cut short and grown again since its sync goes back at the cut
// to what it held, its holes holes again: the bytes written into the
// former hole are gone, and the disk holds the data, not the file's
// size in zeros.
func TestASparseFileCutShortKeepsItsHoles(t *testing.T) {
	f := mount(t)
	const size = 256 << 20
	name := filepath.Join(f.Mountpoint(), "vlog")
	file, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	synced := bytes.Repeat([]byte("synced"), 1000)
	if _, err := file.WriteAt(synced, 0); err != nil {
		t.Fatal(err)
	}
	if err := file.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if err := file.Sync(); err != nil {
		t.Fatal(err)
	}
	// Since the sync: cut short past the data, grown again, and written
	// into what was a hole.
	if err := file.Truncate(8192); err != nil {
		t.Fatal(err)
	}
	if err := file.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if _, err := file.WriteAt([]byte("not synced"), size/2); err != nil {
		t.Fatal(err)
	}
	file.Close()
	cut(t, f)
	real, err := os.Open(filepath.Join(f.Dir(), "vlog"))
	if err != nil {
		t.Fatal(err)
	}
	defer real.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(real.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	if st.Size != size {
		t.Errorf("after the cut the file is %d bytes, want %d as synced", st.Size, size)
	}
	if allocated := st.Blocks * 512; allocated > 1<<20 {
		t.Errorf("after the cut the file takes %d bytes of the disk, want its data's (%d bytes), its holes punched", allocated, len(synced))
	}
	got := make([]byte, len(synced))
	if _, err := real.ReadAt(got, 0); err != nil || !bytes.Equal(got, synced) {
		t.Errorf("after the cut the file starts with %q (%v), want what was synced", got[:16], err)
	}
	mid := make([]byte, 10)
	if _, err := real.ReadAt(mid, size/2); err != nil || !bytes.Equal(mid, make([]byte, 10)) {
		t.Errorf("after the cut the file holds %q at %d (%v), want zeros: the write was never synced", mid, size/2, err)
	}
}
