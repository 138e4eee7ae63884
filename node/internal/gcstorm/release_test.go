package gcstorm

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

// TestReleaser: a release due while the collector runs on its own waits
// until it has been quiet for busyWindow; a settle due meanwhile makes
// the waiting release a settle; a quiet node releases at once; a new
// storm drops a release that waits.
func TestReleaser(t *testing.T) {
	now := time.Unix(1000, 0)
	r := releaser{cycles: 5}
	step := func(e edge, cycles uint64) releaseKind {
		now = now.Add(time.Second)
		return r.next(e, cycles, now)
	}
	if k := step(edge{release: true}, 5); k != releaseFree {
		t.Fatalf("quiet collector: release gave %d, want releaseFree", k)
	}
	// Busy: a cycle of its own every second.
	cycles := uint64(5)
	if k := step(edge{release: true}, cycles+1); k != releaseNone {
		t.Fatalf("busy collector: release ran (%d)", k)
	}
	cycles++
	for i := range 5 {
		cycles++
		e := edge{}
		if i == 2 {
			e.settle = true
		}
		if k := step(e, cycles); k != releaseNone {
			t.Fatalf("busy collector, second %d: release ran (%d)", i, k)
		}
	}
	// Quiet again: it runs busyWindow after the last cycle, once.
	var got []releaseKind
	for range 6 {
		if k := step(edge{}, cycles); k != releaseNone {
			got = append(got, k)
		}
	}
	if len(got) != 1 || got[0] != releaseSettle {
		t.Fatalf("after the collector went quiet: releases %v, want one releaseSettle", got)
	}
	// A release waiting when a new storm begins is dropped.
	step(edge{release: true}, cycles+1)
	step(edge{began: true}, cycles+1)
	for range 6 {
		if k := step(edge{}, cycles+1); k != releaseNone {
			t.Fatalf("a release held back before a new storm ran after it began (%d)", k)
		}
	}
}

// TestAutoCycles: the runtime still has the metric autoCycles reads, and
// collections forced by runtime.GC, as the releases' are, are not in it.
func TestAutoCycles(t *testing.T) {
	s := []metrics.Sample{{Name: "/gc/cycles/automatic:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatalf("metric %s: kind %v, want uint64", s[0].Name, s[0].Value.Kind())
	}
	before := autoCycles()
	for range 3 {
		runtime.GC()
	}
	if after := autoCycles(); after != before {
		t.Errorf("three runtime.GC calls moved the automatic count from %d to %d", before, after)
	}
}
