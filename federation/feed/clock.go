package feed

import "time"

// A node below the county measures its clock against the county's on its
// registry feed: every heartbeat carries the county's time when it was
// sent, as the feeder knows it (the county's own clock, or a feeder
// below corrected by what it measured itself), so every office of the
// tree measures against one clock. Village points run on small PCs whose
// clocks are often wrong (a flat CMOS battery: 1 January of some year),
// and every case, deadline and figure is dated by the clock of the node
// that wrote it: the office layer writes nothing while the clock is known
// to be far off (federation.Office.ClockOff).

// clockSamples is how many heartbeats the offset is estimated from.
const clockSamples = 8

// clockEstimate is this node's clock against the county's. A heartbeat
// gives county time − local time on receipt: the offset less the
// heartbeat's delay on its way (a stream busy with a snapshot delays it by
// seconds or more). The estimate is the largest of the last clockSamples
// (the least delayed: NTP's minimum-delay filter, in short). Each sample
// is kept with the local clock's reading at its receipt and the time gone
// by then (Config.Elapsed: the boot clock, which counts a sleep), so that
// a change of the wall clock since (an operator setting it right while the
// link is down) moves the estimate with it, and a machine that slept does
// not (Go's monotonic clock does not count a sleep: a village PC that
// slept half an hour with a right clock took itself for half an hour
// ahead).
type clockEstimate struct {
	samples [clockSamples]clockSample
	n, next int
}

type clockSample struct {
	offset time.Duration
	wall   time.Time     // the local clock at the receipt
	mono   time.Duration // the time gone by then (Config.Elapsed)
}

// processStart is what ClockReading counts from.
var processStart = time.Now()

// ClockReading is the time gone by at now, a reading of a clock made from
// time.Now, by its own monotonic reading: a test's clock moved on by Add
// moves it with its wall one (time gone by, not a clock set). It does not
// count a sleep of the machine: the node's own clock goes by bootElapsed.
func ClockReading(now time.Time) time.Duration { return now.Sub(processStart) }

// add keeps a heartbeat's sample: county time then, received when the
// local clock read wall and the monotonic clock mono.
func (e *clockEstimate) add(county, wall time.Time, mono time.Duration) {
	e.samples[e.next] = clockSample{offset: county.Sub(wall), wall: wall.Round(0), mono: mono}
	e.next = (e.next + 1) % clockSamples
	e.n = min(e.n+1, clockSamples)
}

// offset is county time − local time when the local clock reads wall and
// the monotonic clock mono, and whether any heartbeat has told it.
func (e *clockEstimate) offset(wall time.Time, mono time.Duration) (time.Duration, bool) {
	var best time.Duration
	for i := range e.n {
		s := e.samples[i]
		// How far the wall clock was moved since the sample: its time
		// gone by less the time truly gone by.
		moved := wall.Round(0).Sub(s.wall) - (mono - s.mono)
		if o := s.offset - moved; i == 0 || o > best {
			best = o
		}
	}
	return best, e.n > 0
}

// ClockOffset is the county's time less this node's clock when it reads
// now, as the feed's heartbeats tell it; ok is false at
// the county and before a heartbeat with the county's time came.
func (f *Feed) ClockOffset(now time.Time) (offset time.Duration, ok bool) {
	if f.isCounty() {
		return 0, false
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.clock.offset(now, f.cfg.Elapsed(now))
}

// countyTime is the county's time at now as this node knows it, for its
// heartbeats to the offices below: its own clock at the county, corrected
// by the offset below it; zero when it does not know.
func (f *Feed) countyTime(now time.Time) time.Time {
	if f.isCounty() {
		return now
	}
	if off, ok := f.ClockOffset(now); ok {
		return now.Add(off)
	}
	return time.Time{}
}
