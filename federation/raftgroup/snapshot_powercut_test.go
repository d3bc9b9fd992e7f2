//go:build powercut

package raftgroup

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/powercut"
	"github.com/yizhan-gov/yizhan/registry"
)

// snapshotChildEnv names the directory TestPowerCutSnapshotChild writes
// its book in.
const snapshotChildEnv = "YIZHAN_POWERCUT_SNAPSHOT_CHILD"

// snapshotChildOffices are the offices the child creates, one registry
// write each, in this order.
func snapshotChildOffices() []string {
	offices := []string{"450122000000", "450122101000"}
	for i := 201; i < 300; i++ {
		offices = append(offices, fmt.Sprintf("450122101%03d", i))
	}
	return offices
}

// Once a raft snapshot is written, raft drops the log before it (all but
// its trailing entries): the book must hold what it took from there
// whatever the power does next, since badger does not sync each write.
// A county's state machine (TestPowerCutSnapshotChild, a process of its
// own) applies registry writes, each kept in the book's audit trail, on
// a file system that loses what is not synced (package powercut), and
// writes a snapshot; it is killed and the power goes. Opened again, the
// book reaches the snapshot's index and holds every write.
func TestPowerCutAfterASnapshotKeepsTheBookThroughIt(t *testing.T) {
	disk, mnt := t.TempDir(), t.TempDir()
	f, err := powercut.Mount(disk, mnt)
	if err != nil {
		t.Fatalf("%v\n(the power-cut tests need root and /dev/fuse)", err)
	}
	defer func() {
		f.Cut()
		f.Unmount()
	}()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPowerCutSnapshotChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), snapshotChildEnv+"="+mnt)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var through uint64
	var said []string
	timeout := time.After(time.Minute)
	for through == 0 {
		select {
		case line, ok := <-lines:
			if !ok {
				cmd.Wait()
				t.Fatalf("the state machine's process ended before its snapshot: %q", said)
			}
			if n, found := strings.CutPrefix(line, "persisted "); found {
				through, _ = strconv.ParseUint(n, 10, 64)
			} else {
				said = append(said, line)
			}
		case <-timeout:
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no snapshot within a minute: %q", said)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	if err := f.Cut(); err != nil {
		t.Fatal(err)
	}
	stats := f.Stats()
	if err := f.Unmount(); err != nil {
		t.Fatal(err)
	}
	t.Logf("snapshot at raft index %d; the file system saw %d writes and %d syncs, put %d files back", through, stats.Writes, stats.Syncs, stats.Restored)

	db, err := badgerstore.OpenDB(filepath.Join(disk, "badger"), badgerstore.DBOptions{Small: true})
	if err != nil {
		t.Fatalf("open the book after the power cut: %v", err)
	}
	defer db.Close()
	book, err := casebook.Open(db, "450122000000")
	if err != nil {
		t.Fatalf("open the book after the power cut: %v", err)
	}
	if got := book.Applied(); got < through {
		t.Errorf("after the power cut the book is at raft index %d, below the snapshot's %d: the rest was only in the log before the snapshot, which raft may drop", got, through)
	}
	changes, _, err := book.RegistryChanges(casebook.ChangesQuery{Limit: 1000})
	if want := len(snapshotChildOffices()); err != nil || len(changes) != want {
		t.Errorf("after the power cut the audit trail holds %d of the %d registry writes (%v)", len(changes), want, err)
	}
}

// memSink is a raft snapshot sink that keeps the snapshot in memory.
type memSink struct{ bytes.Buffer }

func (s *memSink) ID() string    { return "test" }
func (s *memSink) Cancel() error { return nil }
func (s *memSink) Close() error  { return nil }

// TestPowerCutSnapshotChild is the state machine of
// TestPowerCutAfterASnapshotKeepsTheBookThroughIt; it does nothing in a
// normal run. It applies a registry write for each of
// snapshotChildOffices, writes a snapshot, prints "persisted <index>"
// and waits to be killed.
func TestPowerCutSnapshotChild(t *testing.T) {
	dir := os.Getenv(snapshotChildEnv)
	if dir == "" {
		return
	}
	db, err := badgerstore.OpenDB(filepath.Join(dir, "badger"), badgerstore.DBOptions{Small: true})
	if err != nil {
		fmt.Printf("open-error %v\n", err)
		os.Exit(3)
	}
	book, err := casebook.Open(db, "450122000000")
	if err != nil {
		fmt.Printf("open-error %v\n", err)
		os.Exit(3)
	}
	fsm := NewFSM(registry.New(registry.Options{}), book)
	for i, code := range snapshotChildOffices() {
		cmd := &peerv1.RegistryCommand{AtUnixNano: int64(i + 1), Actor: "county.admin",
			Op: &peerv1.RegistryCommand_CreateOffice{CreateOffice: &peerv1.CreateOffice{Office: &yizhanv1.Office{Code: code, Name: "办事点 " + code}}}}
		fsm.Apply(&raft.Log{Index: uint64(i + 1), Data: marshalCommand(t, &peerv1.Command{Kind: &peerv1.Command_Registry{Registry: cmd}})})
	}
	snap, err := fsm.Snapshot()
	if err == nil {
		err = snap.Persist(&memSink{})
	}
	if err != nil {
		fmt.Printf("snapshot-error %v\n", err)
		os.Exit(3)
	}
	fmt.Printf("persisted %d\n", book.Applied())
	select {}
}
