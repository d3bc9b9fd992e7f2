package raftgroup

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"
	"golang.org/x/sys/unix"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/federation/walstore"
	"github.com/yizhan-gov/yizhan/registry"
)

// The disk fills while the office's log is applied: the node is a child
// process whose file size limit drops to 0 (Go ignores SIGXFSZ, so every
// write that grows a file fails with EFBIG, as on a full disk), writing
// the audit trail of registry writes into its case book until the
// database fails a commit. The parent reads what the operator would.

const diskChildEnv = "YIZHAN_RAFTGROUP_DISK_CHILD"

// diskTestEntry is entry index of the office's log in the disk tests: the
// office at 1, its department at 2, then renames of the department.
func diskTestEntry(t *testing.T, index uint64) *raft.Log {
	var cmd *peerv1.RegistryCommand
	switch index {
	case 1:
		cmd = &peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateOffice{CreateOffice: &peerv1.CreateOffice{
			Office: &yizhanv1.Office{Code: diskTestOffice, Name: "县政务服务中心"}}}}
	case 2:
		cmd = &peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_CreateDepartment{CreateDepartment: &peerv1.CreateDepartment{
			Department: &yizhanv1.Department{Code: "mz", Name: "民政局"}}}}
	default:
		cmd = &peerv1.RegistryCommand{Op: &peerv1.RegistryCommand_UpdateDepartment{UpdateDepartment: &peerv1.UpdateDepartment{
			Department: &yizhanv1.Department{Code: "mz", Name: fmt.Sprintf("民政局第%d次更名", index)}}}}
	}
	cmd.AtUnixNano, cmd.Actor = int64(index), "county.admin"
	return &raft.Log{Index: index, Type: raft.LogCommand,
		Data: marshalCommand(t, &peerv1.Command{Kind: &peerv1.Command_Registry{Registry: cmd}})}
}

const diskTestOffice = "450122000000"

// TestDiskFailsChild is the node; it does nothing in a normal run.
func TestDiskFailsChild(t *testing.T) {
	dir := os.Getenv(diskChildEnv)
	if dir == "" {
		return // run by TestADiskThatFailsAWriteStopsTheNodeWithItsExitStatus only
	}
	db, err := badgerstore.OpenDB(dir, badgerstore.DBOptions{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	book, err := casebook.Open(db, diskTestOffice)
	if err != nil {
		t.Fatal(err)
	}
	f := NewFSM(registry.New(registry.Options{}), book)
	f.stopWith(slog.New(slog.NewTextHandler(os.Stderr, nil)).With("office", diskTestOffice), nil) // as OpenGroup: os.Exit
	out := bufio.NewWriter(os.Stdout)                                                             // a pipe: the limit does not stop it
	for index := uint64(1); index < 2_000_000; index++ {
		if index == 3 {
			if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: 0, Max: unix.RLIM_INFINITY}); err != nil {
				t.Fatal(err)
			}
		}
		if r := f.ApplyBatch([]*raft.Log{diskTestEntry(t, index)})[0].(*ApplyResult); r.Err != nil {
			t.Fatalf("entry %d: %v", index, r.Err)
		}
		fmt.Fprintf(out, "applied %d\n", index)
		out.Flush()
	}
	t.Fatal("the disk never failed a write")
}

// A node whose disk fills while it applies the office's log stops with
// one line at error, naming the office, the raft index, the disk's fault
// in words (EFBIG here) and what to do, and the exit status
// ExitDiskFailed, without a Go stack. Started again with room on the
// disk, it applies the log again from where its book stopped: the book
// holds every entry once, none lost and none twice.
func TestADiskThatFailsAWriteStopsTheNodeWithItsExitStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("fills a disk in a child process")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestDiskFailsChild$", "-test.count=1", "-test.v=false")
	cmd.Env = append(os.Environ(), diskChildEnv+"="+dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != ExitDiskFailed {
		t.Fatalf("the node ended with %v; want exit status %d\nstdout (tail): %s\nstderr:\n%s", err, ExitDiskFailed, tail(stdout.String()), stderr.String())
	}
	var returned uint64 // the last entry whose apply returned to raft
	for _, line := range strings.Split(stdout.String(), "\n") {
		if n, ok := strings.CutPrefix(line, "applied "); ok {
			returned, _ = strconv.ParseUint(n, 10, 64)
		}
	}
	// badger logs the file it could not grow before; the node's stop is
	// one line, its last.
	log := stderr.String()
	lines := strings.Split(strings.TrimSpace(log), "\n")
	stop := lines[len(lines)-1]
	if n := strings.Count(log, "this node stops"); n != 1 {
		t.Errorf("the node logs its stop %d times; want once:\n%s", n, log)
	}
	for _, want := range []string{"level=ERROR", `msg="the data disk failed a write: this node stops (no acknowledged data is lost: raft's log holds it)"`,
		"office=" + diskTestOffice, "raft_index=", "fault=\"a file reached the largest size allowed (EFBIG", "file too large", "--data", "start it again", "exit_status=4"} {
		if !strings.Contains(stop, want) {
			t.Errorf("the stop's line lacks %s:\n%s", want, stop)
		}
	}
	if strings.Contains(log, "goroutine ") || strings.Contains(log, "panic:") {
		t.Errorf("the node wrote a Go stack:\n%s", log)
	}
	var failed uint64
	if _, v, ok := strings.Cut(stop, "raft_index="); ok {
		failed, _ = strconv.ParseUint(strings.Fields(v)[0], 10, 64)
	}
	if failed < 3 || failed > returned+1 {
		t.Errorf("the stop names raft index %d; want the entry of a write that failed, from 3 through %d", failed, returned+1)
	}

	// Started again with room: the book is whole up to an index before
	// the failed write, and raft's log (here: the same entries) brings it
	// to the last one.
	db, err := badgerstore.OpenDB(dir, badgerstore.DBOptions{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	book, err := casebook.Open(db, diskTestOffice)
	if err != nil {
		t.Fatal(err)
	}
	if got := book.Applied(); got >= failed {
		t.Errorf("the book on disk reached raft index %d; want below %d, whose write failed", got, failed)
	}
	f := NewFSM(registry.New(registry.Options{}), book)
	last := returned + 1
	for index := uint64(1); index <= last; index++ {
		f.ApplyBatch([]*raft.Log{diskTestEntry(t, index)})
	}
	if got := book.Applied(); got != last {
		t.Errorf("applied again, the book reached raft index %d; want %d", got, last)
	}
	changes, _, err := book.RegistryChanges(casebook.ChangesQuery{Limit: int(last) + 10})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint64]int{}
	for _, c := range changes {
		seen[c.GetIndex()]++
	}
	for index := uint64(1); index <= last; index++ {
		if seen[index] != 1 {
			t.Errorf("the audit trail holds the write at raft index %d %d times; want once", index, seen[index])
		}
	}
}

// tail is the last lines of s.
func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], "\n")
}

// An append to raft's log that the disk fails (full: EFBIG here, under a
// file size limit of 0) stops the node as a failed write of the book
// does: one line at error naming the office, the raft index of the
// append, the fault and what to do, and the exit status ExitDiskFailed,
// without a Go stack. The append never returns to raft, so nothing is
// acknowledged; the log opened again ends at the append before.
func TestAnAppendTheDiskFailsStopsTheNodeWithItsExitStatus(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "raft-wal")
	store, err := walstore.Open(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	entry := func(index uint64) *raft.Log {
		return &raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: fmt.Appendf(nil, "entry %d", index)}
	}
	for index := uint64(1); index <= 10; index++ {
		if err := store.StoreLogs([]*raft.Log{entry(index)}); err != nil {
			t.Fatal(err)
		}
	}
	f := newTestFSM(t, diskTestOffice)
	var logs bytes.Buffer
	exits := make(chan int, 2)
	f.stopWith(slog.New(slog.NewTextHandler(&logs, nil)).With("office", diskTestOffice), func(code int) { exits <- code })
	logStore := stoppingLogStore{Store: store, fsm: f}

	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: 0, Max: old.Max}); err != nil {
		t.Fatal(err)
	}
	returned := runUntilStopped(t, "the append", func() { logStore.StoreLogs([]*raft.Log{entry(11), entry(12)}) })
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if returned {
		t.Error("the append returned to raft")
	}
	checkStop(t, exits, ExitDiskFailed, logs.String(),
		`msg="the data disk failed a write: this node stops`, "office="+diskTestOffice, "raft_index=11",
		`fault="a file reached the largest size allowed (EFBIG`, `op="append to raft's log"`, "file too large", "--data", "exit_status=4")

	store.Close()
	store, err = walstore.Open(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if last, err := store.LastIndex(); err != nil || last != 10 {
		t.Errorf("the log opened again ends at %d (%v); want 10, the append before the failed one", last, err)
	}
}

// A term raft's stable store cannot store on a full disk stops the node
// the same way (raft itself would panic, with its Go stack), naming what
// failed; the store opened again holds the term before.
func TestATermTheDiskFailsToStoreStopsTheNodeWithItsExitStatus(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "raft-wal")
	store, err := walstore.Open(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SetUint64([]byte("CurrentTerm"), 4); err != nil {
		t.Fatal(err)
	}
	f := newTestFSM(t, diskTestOffice)
	var logs bytes.Buffer
	exits := make(chan int, 2)
	f.stopWith(slog.New(slog.NewTextHandler(&logs, nil)).With("office", diskTestOffice), func(code int) { exits <- code })
	stable := stoppingLogStore{Store: store, fsm: f}

	var old unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &unix.Rlimit{Cur: 0, Max: old.Max}); err != nil {
		t.Fatal(err)
	}
	returned := runUntilStopped(t, "storing the term", func() { stable.SetUint64([]byte("CurrentTerm"), 5) })
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &old); err != nil {
		t.Fatal(err)
	}
	if returned {
		t.Error("storing the term returned to raft")
	}
	checkStop(t, exits, ExitDiskFailed, logs.String(),
		`msg="the data disk failed a write: this node stops`, "office="+diskTestOffice,
		`fault="a file reached the largest size allowed (EFBIG`, `op="store raft's CurrentTerm"`, "exit_status=4")
	store.Close()
	store, err = walstore.Open(dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if term, err := store.GetUint64([]byte("CurrentTerm")); err != nil || term != 4 {
		t.Errorf("the store opened again holds term %d (%v); want 4, the one stored before", term, err)
	}
}
