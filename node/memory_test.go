package node

import (
	"testing"
	"time"
)

// TestStormWatch: a release comes once per storm of at least stormChurn
// handshakes and closes, after stormQuiet without any, and never for
// trickles.
func TestStormWatch(t *testing.T) {
	var w stormWatch
	now := time.Unix(0, 0)
	tick := func(churn uint64) bool {
		now = now.Add(time.Second)
		return w.ended(churn, now)
	}
	// A storm: churn grows for a while, with no release while it grows.
	for c := uint64(0); c <= 3000; c += 300 {
		if tick(c) {
			t.Fatalf("released during the storm at churn %d", c)
		}
	}
	released := 0
	for range 10 {
		if tick(3000) {
			released++
		}
	}
	if released != 1 {
		t.Fatalf("released %d times after the storm, want 1", released)
	}
	// A trickle well under stormChurn never releases.
	for c := uint64(3000); c < 3000+stormChurn/2; c += 10 {
		if tick(c) {
			t.Fatalf("released for a trickle at churn %d", c)
		}
	}
	for range 10 {
		if tick(3000 + stormChurn/2) {
			t.Fatal("released after a trickle")
		}
	}
}
