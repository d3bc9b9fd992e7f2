package casebook

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"

	"github.com/dgraph-io/badger/v4"
	"google.golang.org/protobuf/encoding/protowire"

	yizhanv1 "github.com/yizhan-gov/yizhan/api/yizhan/v1"
)

// Signer chains stored once (docs/adr/0003-signer-chains-stored-once.md).
//
// Every case event carries the certificate chain of the node that signed
// it, and a county's events are signed by a handful of nodes: the same
// few chains, millions of times, 560 bytes of a FILED event's 1,051. The
// book keeps each chain once, under book/sc/<sha256 of its encoding>,
// and stores an event with its chain replaced by a reference: one entry
// of chainRefLen bytes, the marker byte and the hash. A DER certificate
// starts with 0x30 (a SEQUENCE), so no real chain's first entry is a
// reference. loadEvents, the book's one reader of events, puts the chain
// back; an event stored whole (a book of format 1) is read as it is.
//
// The raft log and the case mail carry events whole: a message stands on
// its own.

const (
	// chainRefMarker starts a reference to a stored chain.
	chainRefMarker = 0x00
	chainRefLen    = 1 + sha256.Size
)

// encodeChain is a chain as stored: each certificate as a protobuf
// length-delimited bytes field 1 (so the value decodes as a message with
// one repeated bytes field), in order.
func encodeChain(chain [][]byte) []byte {
	n := 0
	for _, c := range chain {
		n += protowire.SizeTag(1) + protowire.SizeBytes(len(c))
	}
	b := make([]byte, 0, n)
	for _, c := range chain {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, c)
	}
	return b
}

func decodeChain(b []byte) ([][]byte, error) {
	var chain [][]byte
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num != 1 || typ != protowire.BytesType {
			return nil, errors.New("not a stored certificate chain")
		}
		b = b[n:]
		c, n := protowire.ConsumeBytes(b)
		if n < 0 {
			return nil, errors.New("not a stored certificate chain")
		}
		chain = append(chain, c)
		b = b[n:]
	}
	return chain[:len(chain):len(chain)], nil
}

// chainRef returns a chain as the book stores it (its encoding, the key
// it is kept under, its hash) and the reference that replaces it in the
// stored event; ok is false for no chain, or one that is already a
// reference (saveEvent refuses an event that comes with one).
func chainRef(chain [][]byte) (enc, k, ref []byte, sum [sha256.Size]byte, ok bool) {
	if len(chain) == 0 || isChainRef(chain) {
		return nil, nil, nil, sum, false
	}
	enc = encodeChain(chain)
	sum = sha256.Sum256(enc)
	ref = make([]byte, 0, chainRefLen)
	ref = append(append(ref, chainRefMarker), sum[:]...)
	return enc, chainKey(sum), ref, sum, true
}

func chainKey(sum [sha256.Size]byte) []byte { return key(pChain, sum[:]) }

// isChainRef reports whether chain is a reference to a stored chain.
func isChainRef(chain [][]byte) bool {
	return len(chain) == 1 && len(chain[0]) == chainRefLen && chain[0][0] == chainRefMarker
}

// chainCache holds chains read from books, by the hash of their
// encoding: a hash names one chain whatever the book, so the cache is
// shared by every book of the process and never stale. A county's chains
// are a handful; the bound only keeps a mistake from growing it.
var chainCache = struct {
	sync.Mutex
	m map[[sha256.Size]byte][][]byte
}{m: map[[sha256.Size]byte][][]byte{}}

const maxCachedChains = 1024

// restoreChain puts back the chain of an event read from txn, if it was
// stored once.
func restoreChain(txn *badger.Txn, e *yizhanv1.CaseEvent) error {
	if !isChainRef(e.GetSignerChain()) {
		return nil
	}
	var sum [sha256.Size]byte
	copy(sum[:], e.GetSignerChain()[0][1:])
	chainCache.Lock()
	chain, ok := chainCache.m[sum]
	chainCache.Unlock()
	if !ok {
		var err error
		if chain, err = readChain(txn, sum); err != nil {
			return err
		}
		chainCache.Lock()
		if len(chainCache.m) >= maxCachedChains {
			clear(chainCache.m)
		}
		chainCache.m[sum] = chain
		chainCache.Unlock()
	}
	// The chain's slices are shared by every event read with it: the
	// outer slice is capped so that an append copies, and no reader
	// writes into a certificate's bytes.
	e.SignerChain = chain
	return nil
}

// readChain reads the chain stored under sum in txn.
func readChain(txn *badger.Txn, sum [sha256.Size]byte) ([][]byte, error) {
	it, err := txn.Get(chainKey(sum))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: the signer chain %x of an event is not in the book", ErrDamaged, sum[:8])
	}
	if err != nil {
		return nil, err
	}
	enc, err := it.ValueCopy(nil)
	if err != nil {
		return nil, err
	}
	if sha256.Sum256(enc) != sum {
		return nil, fmt.Errorf("%w: the signer chain stored as %x has another hash", ErrDamaged, sum[:8])
	}
	chain, err := decodeChain(enc)
	if err != nil {
		return nil, fmt.Errorf("%w: the signer chain %x: %v", ErrDamaged, sum[:8], err)
	}
	return chain, nil
}

// noteChains records the chains o's events refer to as stored, once o's
// writes are in the transaction. The caller holds writeMu.
func (b *Book) noteChains(o *overlay) {
	if len(b.chainsStored) >= maxCachedChains {
		clear(b.chainsStored)
	}
	for _, sum := range o.chains {
		b.chainsStored[sum] = struct{}{}
	}
}
