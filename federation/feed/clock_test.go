package feed

import (
	"testing"
	"time"
)

// The offset is the least delayed heartbeat's; a wall clock set right
// while no heartbeat comes (the link down) moves it by as much.
func TestClockEstimate(t *testing.T) {
	var e clockEstimate
	if _, ok := e.offset(time.Now(), 0); ok {
		t.Fatal("an offset before any heartbeat")
	}
	county := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	local := county.AddDate(-1, 0, 0) // a flat clock battery: a year behind
	// Heartbeats a second apart, delayed 20 ms, 3 s (a stream busy with
	// a snapshot), 40 ms.
	for i, delay := range []time.Duration{20 * time.Millisecond, 3 * time.Second, 40 * time.Millisecond} {
		sent := county.Add(time.Duration(i) * time.Second)
		e.add(sent, local.Add(time.Duration(i)*time.Second+delay), time.Duration(i)*time.Second+delay)
	}
	year := county.Sub(local)
	got, ok := e.offset(local.Add(10*time.Second), 10*time.Second)
	if want := year - 20*time.Millisecond; !ok || got != want {
		t.Errorf("offset %v, want %v (the least delayed heartbeat's)", got, want)
	}
	// An hour later the operator sets the clock right (by a year); no
	// heartbeat since.
	got, _ = e.offset(local.Add(time.Hour).Add(year), time.Hour)
	if got.Abs() > 50*time.Millisecond {
		t.Errorf("after the clock was set right: offset %v, want about 0", got)
	}
	// More samples than it keeps: the oldest go.
	for i := range clockSamples + 2 {
		at := time.Duration(i) * time.Second
		e.add(county.Add(2*time.Hour+at), county.Add(2*time.Hour+at+time.Minute), 2*time.Hour+at) // a minute ahead now
	}
	if got, _ := e.offset(county.Add(3*time.Hour+time.Minute), 3*time.Hour); got != -time.Minute {
		t.Errorf("offset %v after the clock moved a minute ahead, want -1m", got)
	}
}

// A village PC whose clock is right slept (suspend to RAM, a paused VM)
// for 30 minutes: its wall clock counted the sleep and Go's monotonic
// clock (CLOCK_MONOTONIC) did not, so the estimate took the difference
// for "the wall clock was set" and the node believed itself 30 minutes
// ahead, refusing every write (CLOCK_OFF) until the next heartbeat, never
// while the link was down. Time gone by is the boot clock's now, which
// counts a sleep.
func TestClockEstimateAfterASleep(t *testing.T) {
	var e clockEstimate
	county := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	boot := 5 * time.Hour // the boot clock at the first heartbeat
	for i := range clockSamples {
		at := time.Duration(i) * time.Second
		e.add(county.Add(at), county.Add(at+20*time.Millisecond), boot+at+20*time.Millisecond)
	}
	last := time.Duration(clockSamples-1)*time.Second + 20*time.Millisecond
	sleep := 30 * time.Minute
	got, ok := e.offset(county.Add(last+sleep+time.Second), boot+last+sleep+time.Second)
	if !ok || got.Abs() > time.Second {
		t.Errorf("after a 30-minute sleep with a right clock the offset is %v (ok %v)", got, ok)
	}
	// The node's own clock goes by the boot clock: it does not stand
	// still, and it is not behind the process's monotonic clock.
	a := bootElapsed(time.Now())
	time.Sleep(10 * time.Millisecond)
	if b := bootElapsed(time.Now()); b-a < 10*time.Millisecond || b < ClockReading(time.Now()) {
		t.Errorf("the boot clock read %v then %v (the process has run %v)", a, b, ClockReading(time.Now()))
	}
}
