package bench

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// readWaits counts how long the sockets' data waited in the generator
// after the kernel reported it: from the worker's reader harvesting a
// batch of ready sockets to its read of each (reader_linux.go). A frame
// is timed when it is handled, so this wait is a part of every latency
// the generator records, as a reader goroutine's wait for the processor
// was when each connection had one.
type readWaits struct {
	counts [readWaitBuckets]atomic.Uint64 // bucket i: under 2^i µs
}

const readWaitBuckets = 24 // up to about 8 s

func (h *readWaits) add(d time.Duration) {
	i := min(bits.Len64(uint64(d/time.Microsecond)), readWaitBuckets-1)
	h.counts[i].Add(1)
}

// snapshot returns the counts so far.
func (h *readWaits) snapshot() []uint64 {
	s := make([]uint64, readWaitBuckets)
	for i := range h.counts {
		s[i] = h.counts[i].Load()
	}
	return s
}

// readWaitQuantiles returns the quantiles qs of the waits between the
// snapshots before and after, in milliseconds, each the upper bound of
// its bucket (zeros when there were none).
func readWaitQuantiles(before, after []uint64, qs ...float64) []float64 {
	if len(before) != readWaitBuckets || len(after) != readWaitBuckets {
		return make([]float64, len(qs))
	}
	return bucketQuantiles(before, after, func(i int) float64 { return float64(uint64(1)<<i) / 1e3 }, qs...)
}
