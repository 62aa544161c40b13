package daemon

import "time"

// Clock is the table clock: nanoseconds since the Unix epoch, as the wall
// clock read once at daemon start plus the monotonic time elapsed since.
// Connection entries (conntrack.Entry.Start and deadlines) are in this
// clock, so they print as wall-clock times, yet a wall-clock step (NTP, a
// manual date) never makes every connection expire or live forever; the
// kernel's jiffies-based timeouts are immune to clock steps in the same way.
type Clock struct {
	start time.Time // carries the monotonic reading
	wall  int64
}

// NewClock starts a table clock at the current time.
func NewClock() *Clock {
	t := time.Now()
	return &Clock{start: t, wall: t.UnixNano()}
}

// Now returns the table clock's time. Workers read it once per batch.
func (c *Clock) Now() int64 { return c.wall + int64(time.Since(c.start)) }
