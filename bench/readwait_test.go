package bench

import (
	"testing"
	"time"
)

// TestReadWaitQuantiles: waits fall in power-of-two buckets of
// microseconds, and quantiles are taken between two snapshots.
func TestReadWaitQuantiles(t *testing.T) {
	var h readWaits
	h.add(3 * time.Second) // before: not counted
	before := h.snapshot()
	for range 980 {
		h.add(500 * time.Nanosecond) // bucket 0: under 1 µs
	}
	for range 19 {
		h.add(3 * time.Millisecond) // 3,000 µs: under 4,096 µs
	}
	h.add(time.Hour) // the last bucket
	q := readWaitQuantiles(before, h.snapshot(), 0.5, 0.99, 0.999)
	if q[0] != 0.001 || q[1] != 4.096 || q[2] != float64(uint64(1)<<(readWaitBuckets-1))/1e3 {
		t.Fatalf("quantiles %v, want 0.001, 4.096 and the last bucket's bound", q)
	}
	if q := readWaitQuantiles(nil, h.snapshot(), 0.5); q[0] != 0 {
		t.Fatalf("without a reader: %v, want 0", q)
	}
}
