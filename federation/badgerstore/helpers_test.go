package badgerstore

import (
	"log/slog"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// openTestDB opens a small badger database in dir, closed when the test ends
// unless the test closed it first.
func openTestDB(t testing.TB, dir string) *badger.DB {
	t.Helper()
	db, err := OpenDB(dir, DBOptions{Logger: slog.New(slog.DiscardHandler), Small: true})
	if err != nil {
		t.Fatalf("OpenDB: %v", err)
	}
	t.Cleanup(func() {
		if !db.IsClosed() {
			_ = db.Close()
		}
	})
	return db
}

// waitFor polls cond every 10ms until it holds or timeout passes.
func waitFor(t testing.TB, what string, cond func() bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
