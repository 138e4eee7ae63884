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

// TestRetryAfter: a refused frame's retryAfter is the time until the
// bucket holds a whole frame again, rounded up to a millisecond.
func TestRetryAfter(t *testing.T) {
	d := &device{tokens: -1}
	const rate, burst = 10.0, 1
	now := uint32(1000)
	if !d.allow(now, rate, burst) || d.allow(now, rate, burst) {
		t.Fatal("the burst of 1 is not 1")
	}
	if got := d.retryAfter(rate); got != 100 {
		t.Errorf("an empty bucket at 10/s: retryAfter %d ms, want 100", got)
	}
	// 40 ms later 0.4 of a frame has come back: 60 ms to go.
	if d.allow(now+40, rate, burst) {
		t.Fatal("0.4 of a frame allowed one")
	}
	if got := d.retryAfter(rate); got < 59 || got > 61 {
		t.Errorf("0.4 frames in the bucket: retryAfter %d ms, want 60", got)
	}
	// A slow rate: one frame every 10 s.
	d = &device{tokens: -1}
	d.allow(now, 0.1, 1)
	d.allow(now, 0.1, 1)
	if got := d.retryAfter(0.1); got != 10_000 {
		t.Errorf("an empty bucket at 0.1/s: retryAfter %d ms, want 10000", got)
	}
}
