// Package auth signs staff in: argon2id password hashes, bearer tokens
// signed by a node's key, and the roles a staff member acts with.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
)

// Cost is the work of one argon2id hash: the memory it fills and the
// passes over it.
type Cost struct {
	MemoryKiB uint32
	Passes    uint32
}

// DefaultCost is OWASP's second recommended setting (19 MiB, two passes,
// one lane), which keeps a sign-in near 30 ms on a small office PC
// without letting a stolen hash be tried cheaply. A node never uses
// another.
var DefaultCost = Cost{MemoryKiB: 19 * 1024, Passes: 2}

// TestingCost is a cost for tests only: a hash in well under a
// millisecond, and no protection at all.
var TestingCost = Cost{MemoryKiB: 64, Passes: 1}

const (
	argonThreads = 1
	argonKeyLen  = 32
	argonSaltLen = 16
)

// cost is what HashPassword and VerifyAbsent use: DefaultCost unless a
// test has called UseCostForTests.
var cost atomic.Pointer[Cost]

func currentCost() Cost {
	if c := cost.Load(); c != nil {
		return *c
	}
	return DefaultCost
}

// UseCostForTests makes HashPassword and VerifyAbsent use c until restore
// is called. It is for the tests of packages that run whole nodes (which
// sign staff in and make accounts many times over: a hash at the default
// cost takes 30–130 ms on the two-core CI machine, 0.7 s under the race
// detector); tests of the sign-in's own cost and benchmarks use
// DefaultCost. Passwords are verified with the cost their hash records,
// whatever this says.
func UseCostForTests(c Cost) (restore func()) {
	prev := cost.Swap(&c)
	return func() { cost.Store(prev) }
}

// MinPasswordLength is the shortest password a staff account may have.
const MinPasswordLength = 8

// ErrBadHash is returned for a stored hash that is not an argon2id PHC string.
var ErrBadHash = errors.New("auth: malformed password hash")

// HashPassword returns an argon2id hash of password in the PHC string
// format ($argon2id$v=19$m=…,t=…,p=…$salt$hash) with a fresh random salt.
func HashPassword(password string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	c := currentCost()
	key := argon2.IDKey([]byte(password), salt, c.Passes, c.MemoryKiB, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, c.MemoryKiB, c.Passes, argonThreads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// RequestDigest is what a write's request hash holds of a password it
// sets (node: an account made or a password reset under a request ID): an
// argon2id hash salted by the request ID, so the same ID sent again with
// another password is another request, and what is kept of it (in the
// raft log, with the request) costs a guesser as much as the credential
// itself, not a plain SHA-256.
func RequestDigest(password, requestID string) string {
	salt := sha256.Sum256([]byte("yizhan-request-secret:" + requestID))
	c := currentCost()
	return base64.RawStdEncoding.EncodeToString(argon2.IDKey([]byte(password), salt[:argonSaltLen], c.Passes, c.MemoryKiB, argonThreads, argonKeyLen))
}

// VerifyPassword reports whether password matches the PHC hash. The
// parameters are read from the hash, so older hashes keep working when the
// defaults change.
func VerifyPassword(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrBadHash
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, ErrBadHash
	}
	var mem, iters uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &iters, &threads); err != nil {
		return false, ErrBadHash
	}
	if mem == 0 || mem > 1<<20 || iters == 0 || iters > 16 || threads == 0 {
		return false, ErrBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil {
		return false, ErrBadHash
	}
	want, err := b64.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, ErrBadHash
	}
	got := argon2.IDKey([]byte(password), salt, iters, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// absentHash is what VerifyAbsent checks against: an argon2id hash with
// cost c whose key is 32 arbitrary bytes, so that no password matches it.
func absentHash(c Cost) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, c.MemoryKiB, c.Passes, argonThreads,
		"eWl6aGFuLWFic2VudC1zYWx0", "bm8tcGFzc3dvcmQtaGFzaGVzLXRvLXRoaXMtdmFsdWU")
}

// VerifyAbsent does the work of VerifyPassword for an account that does
// not exist, is disabled or has no password here, and reports false: the
// answer to an unknown account takes as long as a wrong password, so its
// time does not tell which accounts exist.
func VerifyAbsent(password string) bool {
	_, _ = VerifyPassword(absentHash(currentCost()), password)
	return false
}
