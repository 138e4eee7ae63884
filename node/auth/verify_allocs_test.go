//go:build !race

package auth

import (
	"testing"
	"time"
)

// Not under the race detector: it makes sync.Pool drop items at random,
// so allocation counts there say nothing about a real build.

// TestVerifyAllocs guards the connect path: a token's first verification
// (a device the node has not seen) is a handful of allocations.
func TestVerifyAllocs(t *testing.T) {
	tk, _ := NewTokens(testSecret, time.Hour)
	s, _, _ := tk.Issue("0b0c1d2e-3f40-4152-8364-758697a8b9ca", "alice", 0)
	if _, err := tk.parse(s); err != nil { // warm the pool
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := tk.parse(s); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 10 {
		t.Fatalf("parse allocates %.0f times, want at most 10", allocs)
	}
	t.Logf("parse: %.0f allocations", allocs)
}
