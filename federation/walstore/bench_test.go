package walstore

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/yizhan-gov/yizhan/federation/badgerstore"
)

// BenchmarkMigrate migrates a badger log of 20,000 entries of 256 bytes
// (raft's default TrailingLogs plus a snapshot threshold's worth, about
// what a node keeps) with a term and vote, per iteration.
//
//	go test -run XXX -bench Migrate -benchtime 5x ./federation/walstore/
func BenchmarkMigrate(b *testing.B) {
	const n = 20000
	data := bytes.Repeat([]byte("y"), 256)
	for range b.N {
		b.StopTimer()
		dir := b.TempDir()
		db := openTestDB(b, filepath.Join(dir, "badger"))
		bs := badgerstore.New(db, prefix)
		for lo := uint64(1); lo <= n; lo += 500 {
			logs := make([]*raft.Log, 0, 500)
			for i := lo; i < lo+500; i++ {
				logs = append(logs, &raft.Log{Index: i, Term: 3, Type: raft.LogCommand, Data: data})
			}
			if err := bs.StoreLogs(logs); err != nil {
				b.Fatal(err)
			}
		}
		if err := bs.SetUint64([]byte("CurrentTerm"), 3); err != nil {
			b.Fatal(err)
		}
		s := openTestStore(b, filepath.Join(dir, "raft-wal"), 0)
		b.StartTimer()
		if ok, err := MigrateFromBadger(db, prefix, s, discard); err != nil || !ok {
			b.Fatal(ok, err)
		}
		b.StopTimer()
		_ = s.Close()
		_ = db.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/entry")
}
