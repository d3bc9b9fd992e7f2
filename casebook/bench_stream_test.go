package casebook

import (
	"io"
	"testing"
	"time"
)

// BenchmarkStreamOfACounty writes the book of a county of
// YIZHAN_BENCH_STATS_CASES cases (100,000) as it is sent to a follower
// rebuilt from the leader (Stream), and reports how much of it the check
// for damaged cases beside it (streamCheck) takes: the same stream
// written without the check, from the same view.
func BenchmarkStreamOfACounty(b *testing.B) {
	book, _, _ := benchCounty(b, benchCases(b, 100_000))
	v := book.OpenView()
	defer v.Close()
	var with, without time.Duration
	b.ResetTimer()
	for range b.N {
		began := time.Now()
		if _, err := v.Stream(io.Discard); err != nil {
			b.Fatal(err)
		}
		with += time.Since(began)
		began = time.Now()
		if _, err := streamTxn(v.txn, io.Discard, nil); err != nil {
			b.Fatal(err)
		}
		without += time.Since(began)
	}
	if n := book.DamagedCases(); n != 0 {
		b.Fatalf("the stream of a sound county notes %d damaged cases", n)
	}
	b.ReportMetric(float64(with.Milliseconds())/float64(b.N), "ms/stream")
	b.ReportMetric(float64(without.Milliseconds())/float64(b.N), "ms/stream-unchecked")
}
