package raftgroup

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/hashicorp/raft"
	"google.golang.org/protobuf/proto"

	peerv1 "github.com/yizhan-gov/yizhan/api/yizhan/peer/v1"
	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
	"github.com/yizhan-gov/yizhan/casebook"
	"github.com/yizhan-gov/yizhan/federation/badgerstore"
	"github.com/yizhan-gov/yizhan/registry"
)

// A command of the office's log on a case whose record the book holds
// without its events stops the node: one line at error naming the
// office, the raft index, the case, what is missing and what to do, and
// the process's exit status ExitBookDamaged, without a Go stack. The
// entry is not applied, nor the one after it: the book stays at the index
// before, so the next start meets the entry again.
func TestADamagedCaseStopsTheNodeWithItsExitStatus(t *testing.T) {
	const county, number = "450122000000", "450122000000-20260302-0001"
	db, err := badgerstore.OpenDB(t.TempDir(), badgerstore.DBOptions{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	record, err := proto.Marshal(&yizhanv1.Case{Number: number, OwnerOffice: county, LastSeq: 2})
	if err != nil {
		t.Fatal(err)
	}
	// The record at event 2, and no event: a disk that lost them.
	if err := db.Update(func(txn *badger.Txn) error { return txn.Set([]byte("book/c/"+number), record) }); err != nil {
		t.Fatal(err)
	}
	book, err := casebook.Open(db, county)
	if err != nil {
		t.Fatal(err)
	}
	f := NewFSM(registry.New(registry.Options{}), book)
	var logs bytes.Buffer
	f.log = slog.New(slog.NewTextHandler(&logs, nil)).With("office", county) // as the node's logger
	exits := make(chan int, 1)
	f.exit = func(code int) { exits <- code }

	appendTo := func(index uint64, n string) *raft.Log {
		cmd := &peerv1.Command{Kind: &peerv1.Command_Cases{Cases: &peerv1.CaseCommand{AtUnixNano: 1,
			Op: &peerv1.CaseCommand_Append{Append: &peerv1.AppendCaseEvents{CaseNumber: n,
				Events: []*yizhanv1.CaseEvent{{Seq: 3, Type: yizhanv1.EventType_EVENT_TYPE_ACCEPTED}}}}}}}
		return &raft.Log{Index: index, Type: raft.LogCommand, Data: marshalCommand(t, cmd)}
	}
	returned := runUntilStopped(t, "the apply", func() { f.ApplyBatch([]*raft.Log{appendTo(7, number), appendTo(8, "450122000000-20260302-0002")}) })
	if returned {
		t.Error("the apply returned to raft as if the entries were applied")
	}
	if got := book.Applied(); got != 0 {
		t.Errorf("the book reached raft index %d; want 0 (the damaged command and the one after it not applied)", got)
	}
	checkStop(t, exits, ExitBookDamaged, logs.String(),
		"office="+county, "raft_index=7", "case="+number,
		`damage="has its record at event 2 but 0 events on disk"`, "--join", "docs/OPERATIONS.md", "exit_status=3")
}

// A write the database refuses during the apply itself stops the node as
// a failed commit does: one line at error naming the office, the raft
// index and the fault, and the exit status ExitDiskFailed, without a Go
// stack; the apply never returns to raft, and the book stays at the
// index before. Here the database is closed under the state machine, and
// the book's first write is its statistics' upgrade (a book counted by
// an older release).
func TestAWriteRefusedDuringTheApplyStopsTheNodeWithItsExitStatus(t *testing.T) {
	const county = "450122000000"
	db, err := badgerstore.OpenDB(t.TempDir(), badgerstore.DBOptions{Small: true})
	if err != nil {
		t.Fatal(err)
	}
	// A book at raft index 5 without the statistics' format: an older
	// release's, which the next apply counts again first.
	if err := db.Update(func(txn *badger.Txn) error {
		return txn.Set([]byte("book/m/applied"), binary.BigEndian.AppendUint64(nil, 5))
	}); err != nil {
		t.Fatal(err)
	}
	book, err := casebook.Open(db, county)
	if err != nil {
		t.Fatal(err)
	}
	f := NewFSM(registry.New(registry.Options{}), book)
	var logs bytes.Buffer
	exits := make(chan int, 2)
	f.stopWith(slog.New(slog.NewTextHandler(&logs, nil)).With("office", county), func(code int) { exits <- code })
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	returned := runUntilStopped(t, "the apply", func() {
		f.ApplyBatch([]*raft.Log{{Index: 6, Type: raft.LogCommand,
			Data: marshalCommand(t, &peerv1.Command{Kind: &peerv1.Command_Cases{Cases: &peerv1.CaseCommand{AtUnixNano: 6}}})}})
	})
	if returned {
		t.Error("the apply returned to raft as if the entry were applied")
	}
	if got := book.Applied(); got != 5 {
		t.Errorf("the book reached raft index %d; want 5 (the entry not applied)", got)
	}
	f.applyMu.Lock()
	if f.lastIndex == 6 {
		t.Error("the state machine says raft index 6 applied (what a backup reads) while the node stops on it")
	}
	f.applyMu.Unlock()
	checkStop(t, exits, ExitDiskFailed, logs.String(),
		`msg="the data disk failed a write: this node stops`, "office="+county, "raft_index=6",
		`fault="the database was closed under the write"`, `op="count the statistics again"`, "DB Closed", "--data", "exit_status=4")
}

// A read of the apply's that the disk failed (casebook.DiskError, Read)
// stops the node with ExitDiskFailed, its one line saying a read failed
// and that the node stops rather than refuse the command on its own.
func TestAReadTheDiskFailsStopsTheNodeWithItsExitStatus(t *testing.T) {
	const county = "450122000000"
	f := newTestFSM(t, county)
	var logs bytes.Buffer
	exits := make(chan int, 1)
	f.stopWith(slog.New(slog.NewTextHandler(&logs, nil)).With("office", county), func(code int) { exits <- code })
	runUntilStopped(t, "the stop", func() {
		f.stop(&casebook.DiskError{Index: 7, Op: `read "book/c/450122000000-20260302-0001"`, Err: syscall.EIO, Read: true}, 7)
	})
	checkStop(t, exits, ExitDiskFailed, logs.String(),
		`msg="the data disk failed a read: this node stops, rather than refuse the command on this node alone`,
		"raft_index=7", `fault="the disk failed (EIO: input/output error)"`, "--join", "exit_status=4")
}

// A calendar write judges the open cases again at its point of the log
// (casebook.CalendarChanged). An open case it meets damaged stops the
// node as damage (ExitBookDamaged, naming the case); an open case whose
// record the database hands back unreadable stops it as a read the disk
// failed (ExitDiskFailed), its line saying a read failed, not a write.
func TestTheCalendarsJudgingStopsTheNodeOnWhatItCannotRead(t *testing.T) {
	const county, number = "450122000000", "450122000000-20260302-0001"
	for _, tc := range []struct {
		name   string
		record []byte // the open case's record as the database holds it
		code   int
		lines  []string
	}{
		{"a damaged case", mustMarshal(t, &yizhanv1.Case{Number: number, OwnerOffice: county, State: yizhanv1.CaseState_CASE_STATE_ACCEPTED, LastSeq: 2}),
			ExitBookDamaged, []string{"raft_index=5", "case=" + number, `damage="has its record at event 2 but 0 events on disk"`, "exit_status=3"}},
		{"a record that does not read back", []byte{0xff, 0xff},
			ExitDiskFailed, []string{`msg="the data disk failed a read`, "raft_index=5", `fault="the read failed"`, "calendar write at index 5", "exit_status=4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := badgerstore.OpenDB(t.TempDir(), badgerstore.DBOptions{Small: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			// An open case (its key in the queue), without its events.
			if err := db.Update(func(txn *badger.Txn) error {
				if err := txn.Set([]byte("book/kq/"+number), []byte("queue key")); err != nil {
					return err
				}
				return txn.Set([]byte("book/c/"+number), tc.record)
			}); err != nil {
				t.Fatal(err)
			}
			book, err := casebook.Open(db, county)
			if err != nil {
				t.Fatal(err)
			}
			f := NewFSM(registry.New(registry.Options{}), book)
			var logs bytes.Buffer
			exits := make(chan int, 1)
			f.stopWith(slog.New(slog.NewTextHandler(&logs, nil)).With("office", county), func(code int) { exits <- code })
			holiday := registry.OfficialCalendar(2026)
			holiday.Days = append(holiday.Days, &yizhanv1.CalendarDay{Date: "2026-03-04", Kind: yizhanv1.DayKind_DAY_KIND_HOLIDAY, Name: "抗灾停工"})
			put := &peerv1.RegistryCommand{AtUnixNano: 1, Actor: "county.admin", Op: &peerv1.RegistryCommand_PutCalendar{PutCalendar: &peerv1.PutCalendar{Calendar: holiday}}}
			returned := runUntilStopped(t, "the calendar write", func() {
				f.ApplyBatch([]*raft.Log{{Index: 5, Type: raft.LogCommand, Data: marshalCommand(t, &peerv1.Command{Kind: &peerv1.Command_Registry{Registry: put}})}})
			})
			if returned {
				t.Error("the apply returned to raft as if the calendar write were applied")
			}
			if got := book.Applied(); got >= 5 {
				t.Errorf("the book reached raft index %d; want it below 5 (the calendar write not applied)", got)
			}
			checkStop(t, exits, tc.code, logs.String(), append([]string{"office=" + county}, tc.lines...)...)
			if strings.Contains(logs.String(), `msg="the data disk failed a write`) {
				t.Errorf("the stop says a write failed:\n%s", logs.String())
			}
		})
	}
}

// mustMarshal is m's encoding.
func mustMarshal(t *testing.T, m proto.Message) []byte {
	t.Helper()
	v, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// runUntilStopped runs what raft would call (an apply, an append) in a
// goroutine of its own and reports whether it returned: a stop ends the
// goroutine instead (the test's exit returns). It waits 10 s at most.
func runUntilStopped(t *testing.T, what string, run func()) bool {
	t.Helper()
	var returned atomic.Bool
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		run()
		returned.Store(true)
	}()
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Errorf("%s neither returned nor stopped", what)
	}
	return returned.Load()
}

// checkStop checks that the node stopped as docs/OPERATIONS.md says: it
// exited with status code, and logged one line at error holding each of
// lines, without a Go stack.
func checkStop(t *testing.T, exits <-chan int, code int, logs string, lines ...string) {
	t.Helper()
	select {
	case got := <-exits:
		if got != code {
			t.Errorf("exit status %d; want %d", got, code)
		}
	default:
		t.Error("the node did not exit")
	}
	for _, want := range append([]string{"level=ERROR"}, lines...) {
		if !strings.Contains(logs, want) {
			t.Errorf("the stop's log lacks %s:\n%s", want, logs)
		}
	}
	if n := strings.Count(strings.TrimSpace(logs), "\n"); n != 0 || strings.Contains(logs, "goroutine") {
		t.Errorf("the stop logs %d lines more than one, or a stack:\n%s", n, logs)
	}
}
