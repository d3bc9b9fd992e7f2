//go:build !linux

package feed

import "time"

// bootElapsed is ClockReading where no boot clock is read (a sleep of
// the machine then looks like the wall clock set: the next heartbeat
// corrects it).
func bootElapsed(now time.Time) time.Duration { return ClockReading(now) }
