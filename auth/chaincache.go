package auth

import (
	"crypto/sha256"
	"crypto/x509"
	"sync"
	"time"
)

// chainCacheSize bounds the verified chains kept: a county has a few
// hundred nodes.
const chainCacheSize = 1024

// CachedChainVerifier remembers the chains verify accepted, for ttl (and
// never past the leaf's expiry), so that checking a token does not verify
// the same certificate chain on every request. Refusals are not cached.
func CachedChainVerifier(verify ChainVerifier, ttl time.Duration, now func() time.Time) ChainVerifier {
	if now == nil {
		now = time.Now
	}
	type entry struct {
		office string
		leaf   *x509.Certificate
		until  time.Time
	}
	var (
		mu    sync.Mutex // guards cache
		cache = map[[32]byte]entry{}
	)
	return func(chain [][]byte) (string, *x509.Certificate, error) {
		h := sha256.New()
		for _, der := range chain {
			h.Write(der)
			h.Write([]byte{0})
		}
		var key [32]byte
		h.Sum(key[:0])
		t := now()
		mu.Lock()
		e, ok := cache[key]
		mu.Unlock()
		if ok && t.Before(e.until) {
			return e.office, e.leaf, nil
		}
		office, leaf, err := verify(chain)
		if err != nil {
			return "", nil, err
		}
		until := t.Add(ttl)
		if leaf.NotAfter.Before(until) {
			until = leaf.NotAfter
		}
		mu.Lock()
		if len(cache) >= chainCacheSize {
			clear(cache)
		}
		cache[key] = entry{office, leaf, until}
		mu.Unlock()
		return office, leaf, nil
	}
}
