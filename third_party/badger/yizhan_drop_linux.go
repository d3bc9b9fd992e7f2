//go:build linux

package badger

import "golang.org/x/sys/unix"

// dropPages drops b's pages from the process's mapping. The mapping is a
// shared one of a file (z.Mmap: MAP_SHARED), so what was written to them
// is in the page cache, written back as any dirty page, and a later
// access maps the page again from the page cache (madvise(2)).
func dropPages(b []byte) error {
	return unix.Madvise(b, unix.MADV_DONTNEED)
}
