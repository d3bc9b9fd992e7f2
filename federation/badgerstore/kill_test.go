package badgerstore

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a log's destination written from badger's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A writer killed with SIGKILL (a crash: the page cache keeps every
// write, no power cut) leaves memtable logs whose values are all in the
// value log. Opened again, badger replays them whole: it never stops at
// a value it finds missing (its "Replay of … stopped" warning is for
// power cuts), and every acknowledged transaction is there, round after
// round, across the value log's rotations.
func TestKilledWriterReplaysItsLogsWhole(t *testing.T) {
	dir := t.TempDir()
	next := 0
	for round := range 4 {
		last, said := runFullDiskChild(t, dir, "stop", 0, next, -1, 1<<30, time.Duration(500+200*round)*time.Millisecond)
		if last < next {
			t.Fatalf("round %d: nothing acknowledged (%s)", round, said)
		}
		var logged lockedBuffer
		db, err := OpenDB(dir, DBOptions{Small: true, Logger: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			t.Fatalf("round %d: the database does not open after the kill: %v", round, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(logged.String(), "Replay of") {
			t.Fatalf("round %d: the replay after a kill stopped at a value:\n%s", round, logged.String())
		}
		applied := checkFullDiskDB(t, dir, 0, last)
		t.Logf("round %d: transactions %d to %d acknowledged, %d applied", round, next, last, applied)
		next = applied + 1
	}
}
