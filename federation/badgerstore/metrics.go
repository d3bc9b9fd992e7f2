package badgerstore

import (
	"expvar"
	"strconv"
)

// Badger's own counters of what it writes. They are expvars, one set per
// process whatever the number of databases in it, and counted only by
// databases opened with metrics (not DBOptions.Small): a node's binary
// holds one database, so there they are the node's.

// MemtableWrittenBytes is what badger's writes put into its memtables
// (keys, values or value pointers, and their headers), by badger's own
// estimate: the user's writes, before any table holds them.
func MemtableWrittenBytes() int64 { return expvarInt("badger_write_bytes_l0") }

// CompactionWrittenBytes is what badger's compactions wrote into new
// tables, by the level they wrote into (1–6, and 0 for level 0's tables
// merged among themselves): the tables' bytes, compressed. Over
// MemtableWrittenBytes (uncompressed), it measures the tree's write
// amplification, what the book pays in compactions for each byte it
// writes, though not byte for byte: the county's tables compress a
// case's 1.3 KB to about 0.3.
func CompactionWrittenBytes() map[int]int64 {
	out := map[int]int64{}
	m, ok := expvar.Get("badger_write_bytes_compaction").(*expvar.Map)
	if !ok {
		return out
	}
	m.Do(func(kv expvar.KeyValue) {
		// Keys are "l0" … "l6" (levelHandler.strLevel).
		if len(kv.Key) < 2 || kv.Key[0] != 'l' {
			return
		}
		level, err := strconv.Atoi(kv.Key[1:])
		if err != nil {
			return
		}
		if n, ok := kv.Value.(*expvar.Int); ok {
			out[level] += n.Value()
		}
	})
	return out
}

func expvarInt(name string) int64 {
	if v, ok := expvar.Get(name).(*expvar.Int); ok {
		return v.Value()
	}
	return 0
}
