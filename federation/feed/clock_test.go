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
