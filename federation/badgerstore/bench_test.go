package badgerstore

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	wal "github.com/hashicorp/raft-wal"
)

// benchPayload is the size of each entry's Data in the StoreLogs benchmarks.
const benchPayload = 256

// benchStoreLogs appends batches of batch entries to s, b.N times; each
// call returns once the entries are durable.
func benchStoreLogs(b *testing.B, s raft.LogStore, batch int) {
	data := bytes.Repeat([]byte("y"), benchPayload)
	logs := make([]*raft.Log, batch)
	for i := range logs {
		logs[i] = &raft.Log{Term: 1, Type: raft.LogCommand, Data: data}
	}
	next := uint64(1)
	b.SetBytes(int64(batch * benchPayload))
	b.ResetTimer()
	for range b.N {
		for _, l := range logs {
			l.Index = next
			next++
		}
		if err := s.StoreLogs(logs); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/entry")
}

func BenchmarkStoreLogs(b *testing.B) {
	for _, batch := range []int{1, 64} {
		for _, small := range []bool{false, true} {
			name := "badger"
			if small {
				name = "badger-small"
			}
			b.Run(fmt.Sprintf("%s/batch=%d", name, batch), func(b *testing.B) {
				db, err := OpenDB(b.TempDir(), DBOptions{Logger: slog.New(slog.DiscardHandler), Small: small})
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				benchStoreLogs(b, New(db, "raft/"), batch)
			})
		}
		b.Run(fmt.Sprintf("raft-wal/batch=%d", batch), func(b *testing.B) {
			w, err := wal.Open(b.TempDir(), wal.WithLogger(hclog.NewNullLogger()))
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			benchStoreLogs(b, w, batch)
		})
	}
}

// BenchmarkGetLog reads entries back from a store of 10,000 entries.
func BenchmarkGetLog(b *testing.B) {
	db, err := OpenDB(b.TempDir(), DBOptions{Logger: slog.New(slog.DiscardHandler), Small: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	s := New(db, "raft/")
	const n = 10000
	data := bytes.Repeat([]byte("y"), benchPayload)
	for lo := uint64(1); lo <= n; lo += 500 {
		var logs []*raft.Log
		for i := lo; i < lo+500; i++ {
			logs = append(logs, &raft.Log{Index: i, Term: 1, Data: data})
		}
		if err := s.StoreLogs(logs); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var l raft.Log
	for i := range b.N {
		if err := s.GetLog(uint64(i%n)+1, &l); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFsync shows the machine's own fsync latency: write 4 KiB at the
// start of a file and sync it. Every durable StoreLogs costs at least this.
func BenchmarkFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := bytes.Repeat([]byte("f"), 4096)
	b.SetBytes(int64(len(buf)))
	b.ResetTimer()
	for range b.N {
		if _, err := f.WriteAt(buf, 0); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNodeRSS opens one database per iteration, keeps them all open
// and writes 20,000 entries of 256 bytes to each (5 MB, more than a
// memtable), then reports the growth of the process's resident memory per
// database. Memory freed by one run is reused by the next, so run each
// variant alone, with a fixed count:
//
//	go test -run XXX -bench 'NodeRSS/small' -benchtime 20x
//	go test -run XXX -bench 'NodeRSS/default' -benchtime 5x
func BenchmarkNodeRSS(b *testing.B) {
	for _, small := range []bool{true, false} {
		name := "default"
		if small {
			name = "small"
		}
		b.Run(name, func(b *testing.B) { benchNodeRSS(b, small) })
	}
}

func benchNodeRSS(b *testing.B, small bool) {
	runtime.GC()
	before := rss(b)
	data := bytes.Repeat([]byte("y"), benchPayload)
	for range b.N {
		db, err := OpenDB(b.TempDir(), DBOptions{Logger: slog.New(slog.DiscardHandler), Small: small})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		s := New(db, "raft/")
		for lo := uint64(1); lo <= 20000; lo += 64 {
			logs := make([]*raft.Log, 64)
			for i := range logs {
				logs[i] = &raft.Log{Index: lo + uint64(i), Term: 1, Data: data}
			}
			if err := s.StoreLogs(logs); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	runtime.GC()
	b.ReportMetric(float64(rss(b)-before)/float64(b.N)/(1<<20), "MB-RSS/node")
}

// rss reads the process's resident set size from /proc/self/status.
func rss(b *testing.B) int64 {
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status:", err)
	}
	for line := range strings.Lines(string(st)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Skip("no VmRSS")
	return 0
}
