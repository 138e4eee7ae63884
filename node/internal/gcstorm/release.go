package gcstorm

import (
	"runtime/metrics"
	"time"
)

// busyWindow is how recently the collector must have run on its own for
// a release to be held back. Such a node allocates enough to grow its
// heap back to the collector's goal within a cycle: the memory returned
// would be taken again within seconds, while the forced collections and
// the scavenge, on a node pinned to one core, hold up the live traffic
// of the moment by milliseconds (docs/benchmarks.md).
const busyWindow = 3 * time.Second

// releaseKind is what a release does.
type releaseKind uint8

const (
	releaseNone   releaseKind = iota
	releaseFree               // debug.FreeOSMemory
	releaseSettle             // two collections, then debug.FreeOSMemory
)

// releaser holds a due release back while the collector runs on its
// own, and lets it run once the collector has been quiet for
// busyWindow.
type releaser struct {
	pending  releaseKind // due and held back
	cycles   uint64      // automatic collections at the last sample
	cycledAt time.Time   // when the count last moved; zero: not since the start
}

// next takes a sample's edge and the count of automatic collections so
// far at now, and says which release to run now.
func (r *releaser) next(e edge, cycles uint64, now time.Time) releaseKind {
	if cycles != r.cycles {
		r.cycles, r.cycledAt = cycles, now
	}
	if e.began {
		r.pending = releaseNone // the new storm's own release will do
	}
	if e.settle {
		r.pending = releaseSettle
	} else if e.release {
		r.pending = max(r.pending, releaseFree)
	}
	if r.pending == releaseNone || (!r.cycledAt.IsZero() && now.Sub(r.cycledAt) < busyWindow) {
		return releaseNone
	}
	k := r.pending
	r.pending = releaseNone
	return k
}

// autoCycles is the count of the collections the runtime started on its
// own (runtime.GC's and debug.FreeOSMemory's are not counted). Reading a
// runtime metric does not stop the world, unlike runtime.ReadMemStats.
func autoCycles() uint64 {
	s := []metrics.Sample{{Name: "/gc/cycles/automatic:gc-cycles"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
