// Package mono is the monotonic clock as a number: the time since
// the process started, read from the monotonic clock. A number, unlike a
// time.Time, fits an atomic or a few bytes of a per-connection struct.
package mono

import "time"

// epoch anchors Now.
var epoch = time.Now()

// Now is the time since the process started.
func Now() time.Duration { return time.Since(epoch) }
