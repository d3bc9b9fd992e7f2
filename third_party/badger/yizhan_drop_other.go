//go:build !linux

package badger

// dropPages does nothing where MADV_DONTNEED's meaning for a shared file
// mapping is not the one Linux documents.
func dropPages([]byte) error { return nil }
