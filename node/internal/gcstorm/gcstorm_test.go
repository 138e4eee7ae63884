package gcstorm

import (
	"runtime/debug"
	"testing"
	"time"
)

// TestStormWatch: a storm begins once when churn passes stormRate in a
// sample and is over once after stormQuiet without churn, with one
// release when it made at least stormChurn and one more settleAfter
// later; a trickle does neither.
func TestStormWatch(t *testing.T) {
	var w watch
	now := time.Unix(0, 0)
	var edges []edge
	tick := func(churn uint64) edge {
		now = now.Add(time.Second)
		e := w.sample(churn, now)
		edges = append(edges, e)
		return e
	}
	settles := 0
	count := func() (began, over, release int) {
		for _, e := range edges {
			if e.began {
				began++
			}
			if e.over {
				over++
			}
			if e.release {
				release++
			}
			if e.settle {
				settles++
			}
		}
		edges = nil
		return
	}
	// A storm: churn grows by 300 a second for a while, then stops.
	for c := uint64(0); c <= 3000; c += 300 {
		if e := tick(c); e.over || e.release {
			t.Fatalf("storm over during the storm at churn %d: %+v", c, e)
		}
	}
	quiet := now
	for range 10 {
		if e := tick(3000); e.settle {
			t.Fatalf("settled %v after the storm, before settleAfter (%v)", now.Sub(quiet), settleAfter)
		}
	}
	for range 10 {
		tick(3000)
	}
	if b, o, r := count(); b != 1 || o != 1 || r != 1 || settles != 1 {
		t.Fatalf("storm: began %d, over %d, released %d, settled %d times; want 1 each", b, o, r, settles)
	}
	settles = 0
	// A trickle well under stormRate a second and stormChurn in all.
	for c := uint64(3000); c < 3000+stormChurn/2; c += 10 {
		tick(c)
	}
	for range 10 {
		tick(3000 + stormChurn/2)
	}
	if b, o, r := count(); b != 0 || o != 0 || r != 0 || settles != 0 {
		t.Fatalf("trickle: began %d, over %d, released %d, settled %d times; want none", b, o, r, settles)
	}
	// A short burst: it tightens and restores, but is too small to release.
	tick(3000 + stormChurn/2 + stormRate)
	for range 20 {
		tick(3000 + stormChurn/2 + stormRate)
	}
	if b, o, r := count(); b != 1 || o != 1 || r != 0 || settles != 0 {
		t.Fatalf("burst: began %d, over %d, released %d, settled %d times; want 1, 1, 0, 0", b, o, r, settles)
	}
}

// TestStormGC: the first storm of the process lowers the collector's
// target, the last one to end restores it, and a target already lower is
// left alone.
func TestStormGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	current := func() int {
		p := debug.SetGCPercent(-1)
		debug.SetGCPercent(p)
		return p
	}
	tightenGC(50)
	tightenGC(30) // a second node's storm: the first one's target stays
	if got := current(); got != 50 {
		t.Fatalf("during two storms the target is %d, want 50", got)
	}
	restoreGC()
	if got := current(); got != 50 {
		t.Fatalf("with one storm still on the target is %d, want 50", got)
	}
	restoreGC()
	if got := current(); got != 100 {
		t.Fatalf("after the storms the target is %d, want 100 again", got)
	}
	debug.SetGCPercent(20)
	tightenGC(50)
	if got := current(); got != 20 {
		t.Fatalf("a lower target was raised to %d during a storm", got)
	}
	restoreGC()
	if got := current(); got != 20 {
		t.Fatalf("a lower target became %d after a storm", got)
	}
}
