//go:build e2e

// Package e2e runs the built yizhan binary as a federation of separate
// processes and checks what only whole processes show: kill -9, SIGTERM,
// restart from a data directory, and the demo command.
package e2e
