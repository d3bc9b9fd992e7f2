package node

import (
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/yizhan-gov/yizhan/reason"
)

// An attemptLimiter slows the guessing of a secret (a password, a query
// code) that belongs to a subject (an account, a case). Each attempt is
// counted as a failure before the secret is even checked (reserve), and
// taken back when it was right: so a hundred attempts sent at once pass no
// more than the limits let through one after another. Failures are
// counted under three keys, each with its rule (attemptRule):
//
//   - the subject and the client address: the back-off a guesser meets;
//   - the client address alone, whatever the subject: a looser limit on
//     one address trying many subjects;
//   - the subject alone, from every address: once it is over its free
//     failures it holds back only the addresses that have already failed
//     on the subject. An address that has not failed may always try, so a
//     guesser cannot lock the admin (or a citizen) out by failing on
//     purpose.
//
// The counts live in the node's memory (see "Sign-in" and "Query codes"
// in DESIGN.md for where each limiter runs, and what that means).
type attemptLimiter struct {
	what   string // "sign-in" or "query code": logs and refusals
	limits attemptLimits
	now    func() time.Time
	log    *slog.Logger
	warn   logEvery

	mu      sync.Mutex // guards entries and sweepAt
	entries map[attemptKey]*failureCount
	sweepAt int // sweep expired entries when entries grows to this
}

// attemptRule is one limit: after free failures within window, the next
// attempt waits base, doubled for each further failure, at most max.
// Failures are forgotten window after the last one.
type attemptRule struct {
	free      int
	base, max time.Duration
	window    time.Duration
}

type attemptLimits struct {
	pair    attemptRule // per subject and address
	address attemptRule // per address
	subject attemptRule // per subject, for addresses that failed on it
}

// The limits. See DESIGN.md for what they allow in a day.
var (
	loginLimits = attemptLimits{
		pair:    attemptRule{free: 5, base: time.Second, max: 15 * time.Minute, window: time.Hour},
		address: attemptRule{free: 30, base: time.Second, max: 15 * time.Minute, window: time.Hour},
		subject: attemptRule{free: 20, base: time.Second, max: time.Hour, window: time.Hour},
	}
	queryCodeLimits = attemptLimits{
		pair:    attemptRule{free: 5, base: time.Minute, max: time.Hour, window: 24 * time.Hour},
		address: attemptRule{free: 20, base: time.Minute, max: time.Hour, window: 24 * time.Hour},
		subject: attemptRule{free: 10, base: time.Minute, max: 24 * time.Hour, window: 24 * time.Hour},
	}
)

// maxAttemptEntries bounds the memory of a limiter (an entry is about
// 150 bytes). When it is full the entries whose last failure is oldest
// are forgotten first.
const maxAttemptEntries = 1 << 18

type attemptKind uint8

const (
	kindPair attemptKind = iota
	kindAddress
	kindSubject
)

type attemptKey struct {
	kind    attemptKind
	subject string
	addr    string
}

type failureCount struct {
	count int
	last  time.Time
}

// outcome is how a reserved attempt ended.
type outcome uint8

const (
	attemptFailed    outcome = iota // wrong: it stays counted
	attemptSucceeded                // right: taken back, the pair's failures cleared
	attemptNotMade                  // never checked (no capacity, an error): taken back
)

func newAttemptLimiter(what string, limits attemptLimits, now func() time.Time, log *slog.Logger) *attemptLimiter {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &attemptLimiter{what: what, limits: limits, now: now, log: log, warn: logEvery{every: 10 * time.Second},
		entries: map[attemptKey]*failureCount{}, sweepAt: 4096}
}

func (l *attemptLimiter) rule(k attemptKind) attemptRule {
	switch k {
	case kindPair:
		return l.limits.pair
	case kindAddress:
		return l.limits.address
	}
	return l.limits.subject
}

// wait is how long from now an attempt under rule r must still wait
// after the failures f (<= 0: none).
func (r attemptRule) wait(f *failureCount, now time.Time) time.Duration {
	if f == nil || f.count < r.free {
		return 0
	}
	d := r.max
	if n := f.count - r.free; n < 32 && r.base <= r.max>>n {
		d = r.base << n // cannot overflow: at most r.max
	}
	return f.last.Add(d).Sub(now)
}

// current is the live count of k, nil when there is none or it has been
// forgotten. Caller holds l.mu.
func (l *attemptLimiter) current(k attemptKey, now time.Time) *failureCount {
	f := l.entries[k]
	if f != nil && now.Sub(f.last) > l.rule(k.kind).window {
		delete(l.entries, k)
		return nil
	}
	return f
}

// reserve counts an attempt of addr on subject as a failure, before the
// secret is checked, and returns done, which the caller must call once
// with the outcome. When a limit holds the attempt back, it counts
// nothing and returns a ResourceExhausted status (with RetryInfo) that
// reads the same whatever the subject, known or not.
func (l *attemptLimiter) reserve(subject, addr string) (done func(outcome), err error) {
	now := l.now()
	keys := [3]attemptKey{{kindPair, subject, addr}, {kindAddress, "", addr}, {kindSubject, subject, ""}}
	l.mu.Lock()
	var fs [3]*failureCount
	for i, k := range keys {
		fs[i] = l.current(k, now)
	}
	wait := max(l.limits.pair.wait(fs[0], now), l.limits.address.wait(fs[1], now))
	if fs[0] != nil && fs[0].count > 0 {
		wait = max(wait, l.limits.subject.wait(fs[2], now))
	}
	if wait > 0 {
		l.mu.Unlock()
		l.warnf("held back", subject, addr, wait)
		return nil, l.refusal(wait)
	}
	if len(l.entries)+3 > l.sweepAt {
		l.sweep(now)
	}
	var before [3]time.Time // each key's last failure before this attempt
	for i, k := range keys {
		if fs[i] == nil {
			fs[i] = &failureCount{}
			l.entries[k] = fs[i]
		}
		before[i] = fs[i].last
		fs[i].count++
		fs[i].last = now
	}
	l.mu.Unlock()
	var once sync.Once
	return func(o outcome) { once.Do(func() { l.settle(keys, before, now, o) }) }, nil
}

// settle ends a reserved attempt. One that did not fail is taken back
// whole, its time too: a right code from a shared address must not start
// the address's window and back-off again.
func (l *attemptLimiter) settle(keys [3]attemptKey, before [3]time.Time, at time.Time, o outcome) {
	if o == attemptFailed {
		l.warnf("failed", keys[0].subject, keys[0].addr, 0)
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, k := range keys {
		f := l.entries[k]
		if f == nil {
			continue
		}
		// A right secret clears the pair's back-off, not the address's or
		// the subject's: a guesser who holds one good account cannot wipe
		// its address's failures by signing in with it.
		if f.count--; f.count <= 0 || (o == attemptSucceeded && k.kind == kindPair) {
			delete(l.entries, k)
			continue
		}
		if f.last.Equal(at) { // no later attempt moved it meanwhile
			f.last = before[i]
		}
	}
}

// sweep drops forgotten entries and, if the map is still full, the
// oldest. Caller holds l.mu.
func (l *attemptLimiter) sweep(now time.Time) {
	for k, f := range l.entries {
		if now.Sub(f.last) > l.rule(k.kind).window {
			delete(l.entries, k)
		}
	}
	if len(l.entries) > maxAttemptEntries*7/8 {
		type aged struct {
			k    attemptKey
			last time.Time
		}
		all := make([]aged, 0, len(l.entries))
		for k, f := range l.entries {
			all = append(all, aged{k, f.last})
		}
		sort.Slice(all, func(i, j int) bool { return all[i].last.Before(all[j].last) })
		for _, a := range all[:len(all)-maxAttemptEntries*3/4] {
			delete(l.entries, a.k)
		}
		l.log.Warn("forgot the oldest failed attempts: too many to keep", "what", l.what, "forgotten", len(all)-maxAttemptEntries*3/4)
	}
	l.sweepAt = max(2*len(l.entries), 4096)
}

// refusal is the answer to an attempt held back.
func (l *attemptLimiter) refusal(wait time.Duration) error {
	secs := int((wait + time.Second - 1) / time.Second)
	msg, what := "too many failed sign-ins: try again in %d seconds", "SIGN_IN"
	if l.what != "sign-in" {
		msg, what = "too many wrong query codes: try again in %d seconds", "QUERY_CODE"
	}
	return reason.Status(reason.TooManyAttempts, fmt.Sprintf(msg, secs),
		reason.Meta{"what": what, "retryAfterSeconds": reason.Itoa(secs)}, time.Duration(secs)*time.Second).Err()
}

// warnf logs a failed or held-back attempt at warn, at most one line in
// l.warn.every; the line says how many were left out before it.
func (l *attemptLimiter) warnf(what, subject, addr string, wait time.Duration) {
	ok, skipped := l.warn.allow(l.now())
	if !ok {
		return
	}
	args := []any{"subject", subject, "client", addr, "unlogged_before", skipped}
	if wait > 0 {
		args = append(args, "wait", wait.Round(time.Second).String())
	}
	l.log.Warn(l.what+" "+what, args...)
}

// logEvery lets one log line through per interval and counts the others.
type logEvery struct {
	every time.Duration

	mu      sync.Mutex // guards next and skipped
	next    time.Time
	skipped int
}

func (e *logEvery) allow(now time.Time) (ok bool, skipped int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if now.Before(e.next) {
		e.skipped++
		return false, 0
	}
	e.next = now.Add(e.every)
	skipped, e.skipped = e.skipped, 0
	return true, skipped
}
