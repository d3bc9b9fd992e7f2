//go:build unix

package main

import "syscall"

// privateFiles sets the process's umask to 077 before anything is opened,
// so that every file and directory a node creates is its user's alone: the
// data directory holds password hashes and applicants' personal data, and
// badger (its tables and logs: 0666) and raft (its snapshots: 0666 in
// directories 0755) leave the mode of their files to the umask. node.New
// also takes group and other bits off files an older version left.
func privateFiles() { syscall.Umask(0o077) }
