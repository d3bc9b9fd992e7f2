package web

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// browserStore keeps values for a short while under random ids, each for
// the browser that made it (bound to its CSRF token, so to its cookies):
// a filing's receipt, the page after a rating or complaint. It is in
// this node's memory; a browser that comes back to another node of the
// office finds the page through the sealed reference its id also carries
// (seal.go).
type browserStore[T any] struct {
	mu sync.Mutex // guards m
	m  map[string]browserEntry[T]
}

type browserEntry[T any] struct {
	value   T
	owner   string
	expires time.Time
}

// put keeps v for owner until now+ttl and returns its id. Expired values
// are dropped on the way.
func (b *browserStore[T]) put(owner string, v T, now time.Time, ttl time.Duration) string {
	raw := make([]byte, 16)
	rand.Read(raw) // never fails (crypto/rand)
	id := hex.EncodeToString(raw)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]browserEntry[T]{}
	}
	for k, e := range b.m {
		if now.After(e.expires) {
			delete(b.m, k)
		}
	}
	b.m[id] = browserEntry[T]{value: v, owner: owner, expires: now.Add(ttl)}
	return id
}

// get returns the value of id if it has not expired and owner made it.
func (b *browserStore[T]) get(id, owner string, now time.Time) (T, bool) {
	b.mu.Lock()
	e, ok := b.m[id]
	b.mu.Unlock()
	if !ok || now.After(e.expires) || !hmac.Equal([]byte(e.owner), []byte(owner)) {
		var zero T
		return zero, false
	}
	return e.value, true
}
