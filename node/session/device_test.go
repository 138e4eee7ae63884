package session

import "testing"

// TestAllow: a new device's bucket is full, refills at the rate up to the
// burst, and the 32-bit millisecond clock's wrap costs nothing.
func TestAllow(t *testing.T) {
	d := &device{tokens: -1}
	const rate, burst = 10.0, 3
	now := uint32(5000)
	for i := range burst {
		if !d.allow(now, rate, burst) {
			t.Fatalf("frame %d of the first burst refused", i)
		}
	}
	if d.allow(now, rate, burst) {
		t.Fatal("a frame past the burst allowed")
	}
	// 100 ms at 10/s is one frame more, and only one.
	if !d.allow(now+100, rate, burst) {
		t.Fatal("100 ms did not refill a frame")
	}
	if d.allow(now+100, rate, burst) {
		t.Fatal("100 ms refilled more than a frame")
	}
	// Silent a long time: the bucket is full again, not over.
	now += 60_000
	for i := range burst {
		if !d.allow(now, rate, burst) {
			t.Fatalf("frame %d after a minute refused", i)
		}
	}
	if d.allow(now, rate, burst) {
		t.Fatal("the bucket filled past the burst")
	}
	// Across the clock's wrap, 200 ms are 200 ms.
	d.lastFill = ^uint32(0) - 99
	allowed := 0
	for range burst {
		if d.allow(100, rate, burst) {
			allowed++
		}
	}
	if allowed != 2 {
		t.Fatalf("200 ms across the wrap refilled %d frames, want 2", allowed)
	}
}
