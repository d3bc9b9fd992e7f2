package node

import (
	"context"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestLoginLimiterSlowsGuessing(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	l := newLoginLimiter(func() time.Time { return now })
	for i := range freeFailures {
		if err := l.wait(context.Background(), "admin"); err != nil {
			t.Fatalf("attempt %d refused: %v", i+1, err)
		}
		l.record("admin", false)
	}
	err := l.wait(context.Background(), "admin")
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("attempt after %d failures: %v, want ResourceExhausted", freeFailures, err)
	}
	var retry *errdetails.RetryInfo
	for _, d := range status.Convert(err).Details() {
		if r, ok := d.(*errdetails.RetryInfo); ok {
			retry = r
		}
	}
	if retry == nil || retry.GetRetryDelay().AsDuration() != time.Second {
		t.Errorf("retry info = %v, want 1s", retry)
	}
	if err := l.wait(context.Background(), "clerk"); err != nil {
		t.Errorf("another account is slowed too: %v", err)
	}
	now = now.Add(time.Second)
	if err := l.wait(context.Background(), "admin"); err != nil {
		t.Errorf("attempt after the delay: %v", err)
	}
	l.record("admin", false)
	now = now.Add(time.Second)
	if err := l.wait(context.Background(), "admin"); status.Code(err) != codes.ResourceExhausted {
		t.Errorf("the delay did not grow: %v", err)
	}
	now = now.Add(2 * time.Second)
	l.record("admin", true)
	if err := l.wait(context.Background(), "admin"); err != nil {
		t.Errorf("a right password did not clear the delay: %v", err)
	}
	// Failures older than the window are forgotten.
	for range freeFailures + 3 {
		l.record("lihua", false)
	}
	now = now.Add(failureWindow + time.Minute)
	if err := l.wait(context.Background(), "lihua"); err != nil {
		t.Errorf("old failures still count: %v", err)
	}
}
