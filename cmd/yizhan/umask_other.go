//go:build !unix

package main

// privateFiles does nothing where there is no umask: the data directory's
// access is the file system's (its ACLs).
func privateFiles() {}
