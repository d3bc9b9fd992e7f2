package table

import (
	"bytes"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/dgraph-io/badger/v4/fb"
	"github.com/dgraph-io/badger/v4/options"
	"github.com/dgraph-io/badger/v4/pb"
	"github.com/dgraph-io/badger/v4/y"
	"github.com/dgraph-io/ristretto/v2"
)

// yizhan patch (PATCHES.md): a table builder that compresses its blocks
// keeps only the compressed blocks in its allocator, so the allocator's
// first buffer (twice the table's size) holds the whole table, and the
// table reads back. Upstream, the raw blocks and a worst-case slice for
// each compressed block were both allocated there, and the allocator grew
// a second buffer of twice the first (an encrypted table: the raw blocks
// and the encrypted ones).
func TestYizhanBuilderKeepsOnlyCompressedBlocks(t *testing.T) {
	for _, c := range []struct {
		name        string
		compression options.CompressionType
		encrypted   bool
	}{
		{"snappy", options.Snappy, false},
		{"zstd", options.ZSTD, false},
		{"snappy, encrypted", options.Snappy, true},
		{"encrypted", options.None, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := Options{
				TableSize:            1 << 20,
				BlockSize:            16 << 10,
				BloomFalsePositive:   0.01,
				Compression:          c.compression,
				ZSTDCompressionLevel: 1,
				ChkMode:              options.OnTableAndBlockRead,
			}
			if c.encrypted {
				opts.DataKey = &pb.DataKey{KeyId: 1, Data: bytes.Repeat([]byte{7}, 32)}
				cache, err := ristretto.NewCache(&ristretto.Config[uint64, *fb.TableIndex]{
					NumCounters: 1000, MaxCost: 1 << 20, BufferItems: 64})
				if err != nil {
					t.Fatal(err)
				}
				defer cache.Close()
				opts.IndexCache = cache
			}
			b := NewTableBuilder(opts)
			firstBuffer := b.alloc.Allocated()

			// Values that compress to about a third: the raw table is three
			// times the compressed one, beyond the first buffer.
			value := func(i int) []byte {
				return bytes.Repeat([]byte(fmt.Sprintf("case %08d applied; ", i)), 12)
			}
			key := func(i int) []byte { return y.KeyWithTs([]byte(fmt.Sprintf("c/%010d", i)), 1) }
			n := 0
			var raw int
			for ; !b.ReachedCapacity(); n++ {
				v := value(n)
				raw += len(v)
				b.Add(key(n), y.ValueStruct{Value: v}, 0)
			}
			if c.compression != options.None && raw < 2*int(opts.TableSize) {
				t.Fatalf("the test wrote %d bytes raw: too few to need more than the first buffer", raw)
			}

			tbl, err := CreateTable(filepath.Join(t.TempDir(), "1.sst"), b)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = tbl.DecrRef() }()
			if got := b.alloc.Allocated(); got != firstBuffer {
				t.Errorf("the builder's allocator grew from %d to %d bytes for a table of %d (raw %d)",
					firstBuffer, got, tbl.Size(), raw)
			}
			b.Close()

			it := tbl.NewIterator(0)
			defer it.Close()
			i := 0
			for it.Rewind(); it.Valid(); it.Next() {
				if !bytes.Equal(it.Key(), key(i)) || !bytes.Equal(it.Value().Value, value(i)) {
					t.Fatalf("entry %d reads back as %q=%q", i, it.Key(), it.Value().Value)
				}
				i++
			}
			if i != n {
				t.Fatalf("the table holds %d entries, %d were added", i, n)
			}
		})
	}
}

// yizhan patch (PATCHES.md): a table's index is built in a buffer sized
// for it, not in 3 MB. Upstream, finishing any table allocated at least
// 3 MB.
func TestYizhanIndexBufferSizedForTheTable(t *testing.T) {
	b := NewTableBuilder(Options{
		TableSize: 1 << 20, BlockSize: 16 << 10, BloomFalsePositive: 0.01,
		Compression: options.Snappy,
	})
	defer b.Close()
	for i := 0; !b.ReachedCapacity(); i++ {
		b.Add(y.KeyWithTs([]byte(fmt.Sprintf("ia/%016x", uint64(i)*0x9e3779b97f4a7c15)), 1),
			y.ValueStruct{Value: []byte(fmt.Sprintf("%010d", i))}, 0)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	bd := b.Done()
	runtime.ReadMemStats(&after)
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 1<<20 {
		t.Errorf("finishing a table with an index of %d bytes allocated %d", len(bd.index), allocated)
	}
}
