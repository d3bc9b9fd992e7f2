package casebook

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/dgraph-io/badger/v4"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Probe is what one fresh read transaction of the book sees of some
// cases and of the listing of an office, told in badger's terms
// (versions, read timestamp, tables). It is for finding out why a
// listing leaves out cases its book holds: the fault harness asks a node
// for it when that happens (docs/RELIABILITY.md, seed 1199). The book's
// answers do not depend on it.
type Probe struct {
	Office string `json:"office"`
	// ReadTs is the transaction's read timestamp; MaxVersion the newest
	// version in the database (memtables and tables).
	ReadTs     uint64 `json:"read_ts"`
	MaxVersion uint64 `json:"max_version"`
	// Applied is the raft index the book says it reflects (held in
	// memory, set after each commit); AppliedRead the index read back in
	// the transaction, AppliedVersion that key's version.
	Applied        uint64 `json:"applied"`
	AppliedRead    uint64 `json:"applied_read"`
	AppliedVersion uint64 `json:"applied_version"`
	// Newest is the newest touched-index entry of the office the
	// listing's walk meets first, with its version.
	Newest        string `json:"newest"`
	NewestVersion uint64 `json:"newest_version"`
	// Listed is how many of the office's entries the listing's walk (in
	// reverse, from the newest) meets.
	Listed int `json:"listed"`
	// ListPages and ListCases are what List answers, paged through from
	// the newest with pages of 500 (as the fault harness asks), each page
	// its own read; each probed case's ListedAs says what became of it.
	ListPages int `json:"list_pages"`
	ListCases int `json:"list_cases"`
	// ListFirst are the numbers List answers first (ten at most).
	ListFirst []string      `json:"list_first"`
	Cases     []ProbedCase  `json:"cases"`
	Tables    []ProbedTable `json:"tables,omitempty"`
}

// ProbedCase is one case as the probe's transaction reads it.
type ProbedCase struct {
	Number string `json:"number"`
	// Version is the version of the case record read (0: not held).
	Version uint64 `json:"version"`
	// Touched is the office's touched-index key of the case (quoted);
	// TouchedVersion its version as a point read finds it (0: not found).
	Touched        string `json:"touched,omitempty"`
	TouchedVersion uint64 `json:"touched_version"`
	// Versions are every version of the touched key the transaction sees
	// (a key iterator over all versions).
	Versions []uint64 `json:"versions,omitempty"`
	// The touched key as three iterators meet it: the listing's reverse
	// walk of the office's prefix, a forward walk of the prefix seeking
	// it, and a walk without a prefix (every table) seeking it.
	Reverse bool `json:"reverse"`
	// ReversePrefetching is the same walk with badger's default options
	// (values prefetched, 100 ahead), as List's.
	ReversePrefetching bool `json:"reverse_prefetching"`
	Forward            bool `json:"forward"`
	NoPrefix           bool `json:"no_prefix"`
	// ListedAs is what List's walk did with the case: "listed", why it
	// was left out, or "" (not met).
	ListedAs []string `json:"listed_as,omitempty"`
}

// ProbedTable is a table of the database whose key range holds a probed
// case's touched key (none: the key is in a memtable).
type ProbedTable struct {
	ID         uint64 `json:"id"`
	Level      int    `json:"level"`
	Keys       uint32 `json:"keys"`
	MaxVersion uint64 `json:"max_version"`
}

// Probe reads the cases numbers and office's listing in one fresh read
// transaction and reports what it sees, then pages through List as a
// client does (see Probe).
func (b *Book) Probe(office string, numbers []string) (*Probe, error) {
	// badger's MaxVersion reads the memtable's highest version without
	// the lock its writer goroutine holds: read it with no commit of the
	// book in flight (the book is the only writer of its database).
	b.writeMu.Lock()
	b.settle()
	p := &Probe{Office: office, Applied: b.applied.Load(), MaxVersion: b.db.MaxVersion()}
	b.writeMu.Unlock()
	var touched [][]byte // each probed case's touched key, nil if not held
	err := b.db.View(func(txn *badger.Txn) error {
		p.ReadTs = txn.ReadTs()
		if it, err := txn.Get(keyApplied); err == nil {
			p.AppliedVersion = it.Version()
			p.AppliedRead, err = getUint(txn, keyApplied)
			if err != nil {
				return err
			}
		} else if !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		for _, n := range numbers {
			pc := ProbedCase{Number: n}
			var k []byte
			c := &yizhanv1.Case{}
			if it, err := txn.Get(caseKey(n)); err == nil {
				pc.Version = it.Version()
				if _, err := getProto(txn, caseKey(n), c); err != nil {
					return err
				}
				k = touchedKey(office, c)
				pc.Touched = fmt.Sprintf("%q", k)
				if it, err := txn.Get(k); err == nil {
					pc.TouchedVersion = it.Version()
				}
				pc.Versions = versionsOf(txn, k)
				pc.Forward = meets(txn, k, badger.IteratorOptions{Prefix: key(pTouched, office, "")})
				pc.NoPrefix = meets(txn, k, badger.IteratorOptions{})
			} else if !errors.Is(err, badger.ErrKeyNotFound) {
				return err
			}
			p.Cases = append(p.Cases, pc)
			touched = append(touched, k)
		}
		// The listing's walk, whole: from the newest entry down.
		prefix := key(pTouched, office, "")
		opts := badger.DefaultIteratorOptions
		opts.Prefix, opts.Reverse, opts.PrefetchValues = prefix, true, false
		it := txn.NewIterator(opts)
		defer it.Close()
		met := map[string]bool{}
		for it.Seek(append(slices.Clone(prefix), 0xff)); it.Valid(); it.Next() {
			item := it.Item()
			if p.Listed == 0 {
				p.Newest, p.NewestVersion = fmt.Sprintf("%q", item.Key()), item.Version()
			}
			p.Listed++
			met[string(item.Key())] = true
		}
		for i, k := range touched {
			p.Cases[i].Reverse = k != nil && met[string(k)]
		}
		opts.PrefetchValues = true
		pre := txn.NewIterator(opts)
		defer pre.Close()
		clear(met)
		for pre.Seek(append(slices.Clone(prefix), 0xff)); pre.Valid(); pre.Next() {
			met[string(pre.Item().Key())] = true
		}
		for i, k := range touched {
			p.Cases[i].ReversePrefetching = k != nil && met[string(k)]
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("casebook: probe: %w", err)
	}
	// List itself, as a client pages through it.
	at := map[string]int{}
	for i, c := range p.Cases {
		at[c.Number] = i
	}
	trace := func(number, what string) {
		if i, ok := at[number]; ok {
			p.Cases[i].ListedAs = append(p.Cases[i].ListedAs, what)
		}
	}
	for token := ""; p.ListPages < 1000; {
		cases, next, err := b.list(ListQuery{Office: office, PageSize: 500, PageToken: token}, trace)
		if err != nil {
			return nil, fmt.Errorf("casebook: probe: list: %w", err)
		}
		p.ListPages++
		p.ListCases += len(cases)
		for _, c := range cases[:min(len(cases), 10-len(p.ListFirst))] {
			p.ListFirst = append(p.ListFirst, c.GetNumber())
		}
		if next == "" {
			break
		}
		token = next
	}
	for _, t := range b.db.Tables() {
		if len(t.Left) < 8 || len(t.Right) < 8 {
			continue
		}
		// A table's bounds carry badger's 8-byte version suffix.
		left, right := t.Left[:len(t.Left)-8], t.Right[:len(t.Right)-8]
		for _, k := range touched {
			if k != nil && bytes.Compare(k, left) >= 0 && bytes.Compare(k, right) <= 0 {
				p.Tables = append(p.Tables, ProbedTable{ID: t.ID, Level: t.Level, Keys: t.KeyCount, MaxVersion: t.MaxVersion})
				break
			}
		}
	}
	return p, nil
}

// versionsOf lists every version of k that txn sees, newest first.
func versionsOf(txn *badger.Txn, k []byte) []uint64 {
	it := txn.NewKeyIterator(k, badger.IteratorOptions{AllVersions: true})
	defer it.Close()
	var out []uint64
	for it.Rewind(); it.Valid(); it.Next() {
		v := it.Item().Version()
		if it.Item().IsDeletedOrExpired() {
			v |= 1 << 63 // a deletion: the top bit set
		}
		out = append(out, v)
	}
	return out
}

// meets reports whether an iterator with opts seeking k lands on it.
func meets(txn *badger.Txn, k []byte, opts badger.IteratorOptions) bool {
	it := txn.NewIterator(opts)
	defer it.Close()
	it.Seek(k)
	return it.Valid() && bytes.Equal(it.Item().Key(), k)
}
