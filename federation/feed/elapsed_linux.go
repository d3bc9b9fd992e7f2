package feed

import (
	"time"

	"golang.org/x/sys/unix"
)

// bootElapsed is the time since the machine booted, by CLOCK_BOOTTIME:
// monotonic, no setting of the wall clock moves it, and unlike Go's
// monotonic clock (CLOCK_MONOTONIC) it counts a suspend.
func bootElapsed(now time.Time) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return ClockReading(now)
	}
	return time.Duration(ts.Nano())
}
