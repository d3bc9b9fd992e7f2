package node

import "time"

// SlowBackOffForTest makes the first wait of n's sign-in and query-code
// limits base, so that a test's next steps fall inside it however slow
// the machine is.
func SlowBackOffForTest(n *Node, base time.Duration) {
	for _, l := range []*attemptLimiter{n.logins, n.queryCodes} {
		l.mu.Lock()
		l.limits.pair.base = base
		l.limits.address.base = base
		l.limits.subject.base = base
		l.mu.Unlock()
	}
}
