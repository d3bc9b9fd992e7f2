package node

import (
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newTestLimiter(limits attemptLimits) (*attemptLimiter, *testClock) {
	c := &testClock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	return newAttemptLimiter("sign-in", limits, c.now, slog.New(slog.NewTextHandler(io.Discard, nil))), c
}

// try reserves and settles one attempt; ok says whether it was let
// through to be checked.
func try(l *attemptLimiter, subject, addr string, o outcome) (ok bool, err error) {
	done, err := l.reserve(subject, addr)
	if err != nil {
		return false, err
	}
	done(o)
	return true, nil
}

func retryAfter(err error) time.Duration {
	for _, d := range status.Convert(err).Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			return r.GetRetryDelay().AsDuration()
		}
	}
	return 0
}

// A hundred wrong attempts at once from one address: no more are checked
// than the free failures, because each is counted before it is checked.
func TestAttemptsReservedBeforeChecked(t *testing.T) {
	for name, limits := range map[string]attemptLimits{"sign-in": loginLimits, "query code": queryCodeLimits} {
		t.Run(name, func(t *testing.T) {
			l, _ := newTestLimiter(limits)
			var checked, refused atomic.Int32
			var start, wg sync.WaitGroup
			start.Add(1)
			for range 100 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					start.Wait()
					done, err := l.reserve("admin", "203.0.113.7")
					if err != nil {
						if status.Code(err) != codes.ResourceExhausted {
							t.Errorf("refusal %v, want ResourceExhausted", err)
						}
						refused.Add(1)
						return
					}
					checked.Add(1)
					time.Sleep(time.Millisecond) // the check, while others arrive
					done(attemptFailed)
				}()
			}
			start.Done()
			wg.Wait()
			if got := int(checked.Load()); got != limits.pair.free {
				t.Errorf("%d of 100 parallel attempts were checked, want %d", got, limits.pair.free)
			}
			if refused.Load()+checked.Load() != 100 {
				t.Errorf("%d refused + %d checked != 100", refused.Load(), checked.Load())
			}
		})
	}
}

func TestAttemptBackOff(t *testing.T) {
	l, clock := newTestLimiter(loginLimits)
	for range loginLimits.pair.free {
		if ok, err := try(l, "admin", "a", attemptFailed); !ok {
			t.Fatalf("a free attempt was refused: %v", err)
		}
	}
	_, err := try(l, "admin", "a", attemptSucceeded)
	if status.Code(err) != codes.ResourceExhausted || retryAfter(err) != time.Second {
		t.Fatalf("after %d failures: %v (retry %s), want ResourceExhausted after 1s", loginLimits.pair.free, err, retryAfter(err))
	}
	clock.add(time.Second)
	if ok, _ := try(l, "admin", "a", attemptFailed); !ok {
		t.Fatal("refused after the wait")
	}
	clock.add(time.Second)
	if _, err := try(l, "admin", "a", attemptFailed); retryAfter(err) != time.Second {
		t.Errorf("the wait did not double: %v", err)
	}
	// Another account from the same address, and the same account from
	// another address, are not held back.
	if ok, err := try(l, "clerk", "a", attemptFailed); !ok {
		t.Errorf("another account from the address: %v", err)
	}
	if ok, err := try(l, "admin", "b", attemptSucceeded); !ok {
		t.Errorf("the account from another address: %v", err)
	}
	// A right password clears the pair's back-off.
	clock.add(2 * time.Second)
	if ok, err := try(l, "admin", "a", attemptSucceeded); !ok {
		t.Fatalf("refused after the wait: %v", err)
	}
	for range loginLimits.pair.free {
		if ok, err := try(l, "admin", "a", attemptFailed); !ok {
			t.Fatalf("a right password did not clear the back-off: %v", err)
		}
	}
	// Failures are forgotten a window after the last.
	clock.add(loginLimits.pair.window + time.Second)
	if ok, err := try(l, "admin", "a", attemptFailed); !ok {
		t.Errorf("old failures still count: %v", err)
	}
	// An attempt that was not made is taken back.
	for range 10 {
		if ok, err := try(l, "lihua", "c", attemptNotMade); !ok {
			t.Fatalf("attempts not made were counted: %v", err)
		}
	}
}

// A guesser cannot lock the admin out: once the account is over its
// limit, addresses that have failed on it wait, those that have not may
// still sign in.
func TestAccountUnderAttackStaysOpen(t *testing.T) {
	l, _ := newTestLimiter(loginLimits)
	for i := range loginLimits.subject.free + 10 {
		addr := string(rune('A' + i))
		if ok, err := try(l, "admin", addr, attemptFailed); !ok {
			t.Fatalf("attempt %d from a fresh address refused: %v", i, err)
		}
	}
	if _, err := try(l, "admin", "A", attemptFailed); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("an address that failed on the account under attack: %v, want ResourceExhausted", err)
	}
	if ok, err := try(l, "admin", "the admin's own", attemptSucceeded); !ok {
		t.Errorf("the admin from an address that never failed: %v", err)
	}
}

// Many failures on one case (from many addresses) keep holding back the
// addresses that failed on it: the doubled wait is capped, never wrapped.
func TestLongAttackKeepsTheCap(t *testing.T) {
	l, clock := newTestLimiter(queryCodeLimits)
	const number = "450122101203-20261127-0004"
	for i := range 300 {
		if ok, err := try(l, number, string(rune(0x4e00+i)), attemptFailed); !ok {
			t.Fatalf("a fresh address was held back: %v", err)
		}
		clock.add(time.Second)
		if i+1 < queryCodeLimits.subject.free {
			continue
		}
		// The first address failed on the case: it waits, whatever the
		// count (the doubling would overflow from the 28th on).
		if _, err := try(l, number, string(rune(0x4e00)), attemptSucceeded); status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("after %d failures on the case, an address that failed on it: %v, want ResourceExhausted", i+1, err)
		}
	}
	if _, err := try(l, number, string(rune(0x4e00)), attemptSucceeded); retryAfter(err) < 23*time.Hour {
		t.Errorf("after 300 failures: retry in %s, want about a day", retryAfter(err))
	}
}

// One address trying many accounts meets the looser per-address limit.
func TestAddressLimit(t *testing.T) {
	l, _ := newTestLimiter(loginLimits)
	for i := range loginLimits.address.free {
		if ok, err := try(l, string(rune('a'+i)), "x", attemptFailed); !ok {
			t.Fatalf("attempt %d refused: %v", i, err)
		}
	}
	if _, err := try(l, "someone-new", "x", attemptFailed); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("attempt over the address limit: %v, want ResourceExhausted", err)
	}
	// A good sign-in from the address does not wipe its failures.
	if _, err := try(l, "someone-new", "y", attemptSucceeded); err != nil {
		t.Fatal(err)
	}
	if _, err := try(l, "other", "x", attemptSucceeded); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("still over the address limit: %v", err)
	}
}

// Forgotten entries are swept, so the map does not grow without bound.
func TestAttemptEntriesSwept(t *testing.T) {
	l, clock := newTestLimiter(loginLimits)
	for i := range 5000 {
		try(l, "u", string(rune(0x4e00+i)), attemptFailed)
	}
	clock.add(2 * time.Hour)
	for i := range 5000 {
		try(l, "v", string(rune(0x9000+i)), attemptFailed)
	}
	l.mu.Lock()
	n := len(l.entries)
	l.mu.Unlock()
	if n > 3*5000+1 {
		t.Errorf("%d entries kept, want at most the live %d", n, 2*5000+1)
	}
}
