package node

import (
	"context"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// loginLimiter slows password guessing: after freeFailures wrong passwords
// for one account within failureWindow, each further attempt must wait,
// twice as long each time up to maxDelay. A right password clears it.
type loginLimiter struct {
	now func() time.Time

	mu       sync.Mutex // guards failures
	failures map[string]*loginFailures
}

type loginFailures struct {
	count int
	last  time.Time
}

const (
	freeFailures  = 5
	failureWindow = 15 * time.Minute
	maxLoginDelay = 30 * time.Second
)

func newLoginLimiter(now func() time.Time) *loginLimiter {
	return &loginLimiter{now: now, failures: make(map[string]*loginFailures)}
}

// delay is how long the next attempt for username must wait.
func (l *loginLimiter) delay(username string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.failures[username]
	if f == nil || l.now().Sub(f.last) > failureWindow || f.count < freeFailures {
		return 0
	}
	d := time.Second << min(f.count-freeFailures, 5)
	return min(d, maxLoginDelay)
}

// wait refuses an attempt that comes before its delay is over.
func (l *loginLimiter) wait(_ context.Context, username string) error {
	d := l.delay(username)
	if d == 0 {
		return nil
	}
	l.mu.Lock()
	f := l.failures[username]
	early := l.now().Sub(f.last) < d
	l.mu.Unlock()
	if early {
		st := status.Newf(codes.ResourceExhausted, "too many wrong passwords for this account: try again in %d seconds", int(d.Seconds()+0.5))
		if ds, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(d)}); err == nil {
			return ds.Err()
		}
		return st.Err()
	}
	return nil
}

func (l *loginLimiter) record(username string, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ok {
		delete(l.failures, username)
		return
	}
	f := l.failures[username]
	if f == nil || l.now().Sub(f.last) > failureWindow {
		f = &loginFailures{}
		l.failures[username] = f
	}
	f.count++
	f.last = l.now()
}
