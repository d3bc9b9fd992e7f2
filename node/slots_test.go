package node

import (
	"context"
	"testing"
	"time"
)

// TestSlotsServeWaitersInOrder: a listing waiting for room is not passed
// by smaller ones behind it; one that gives up leaves the queue, and those
// behind it that fit are served; a full queue refuses at once.
func TestSlotsServeWaitersInOrder(t *testing.T) {
	s := newSlots(10, 2)
	ctx := context.Background()
	if !s.take(ctx, 10, time.Second) {
		t.Fatal("the first request did not get the room it fits in")
	}
	large, small := make(chan bool, 1), make(chan bool, 1)
	go func() { large <- s.take(ctx, 5, 5*time.Second) }()
	waitWaiting(t, s, 1)
	go func() { small <- s.take(ctx, 1, 5*time.Second) }()
	waitWaiting(t, s, 2)
	if s.take(ctx, 1, 5*time.Second) {
		t.Fatal("a third request was queued beyond the queue's 2")
	}
	s.give(1)
	select {
	case <-small:
		t.Fatal("the small request passed the large one waiting before it")
	case <-time.After(50 * time.Millisecond):
	}
	s.give(5)
	if !<-large || !<-small {
		t.Fatal("the waiters were not served once the room was given back")
	}
	if taken, waiting := s.inUse(); taken != 10 || waiting != 0 {
		t.Fatalf("in use %d, waiting %d; want 10 and 0", taken, waiting)
	}

	// The head gives up: the one behind it, which fits, is served.
	s.give(5) // 5 free
	gaveUp, behind := make(chan bool, 1), make(chan bool, 1)
	go func() { gaveUp <- s.take(ctx, 10, 100*time.Millisecond) }()
	waitWaiting(t, s, 1)
	go func() { behind <- s.take(ctx, 3, 5*time.Second) }()
	waitWaiting(t, s, 2)
	if <-gaveUp {
		t.Fatal("a request that could not fit within its wait got the room")
	}
	if !<-behind {
		t.Fatal("the request behind one that gave up was not served")
	}
}

func waitWaiting(t *testing.T, s *slots, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if _, waiting := s.inUse(); waiting == n {
			return
		}
	}
	t.Fatalf("%d requests never waited", n)
}
