// Package gcstorm handles the Go collector and the memory returned to the
// OS around connection storms.
//
// Connection storms (a fleet reconnecting after a node died, a deploy, a
// drain elsewhere) make a node allocate tens of kilobytes of short-lived
// garbage per handshake: JSON, NATS requests, join notices. Two things
// follow, and Run handles both around a storm:
//
//   - The connections' long-lived objects are allocated among that garbage
//     in the same size classes, and after it is collected they pin its
//     pages: the heap stays bigger than what is live by about the garbage
//     of the storm's last collection cycles, which is what the GC target
//     lets grow (GOGC 100: as much as is live). While a storm is on, the
//     node runs the collector at node.Config.StormGCPercent (default 50),
//     which roughly halves that; idle memory per connection in rooms drops
//     by ~250 B (docs/benchmarks.md) for more GC work during the storm.
//   - The runtime returns freed pages to the OS slowly, so after a storm
//     the RSS stays near the storm's peak for minutes. The node collects
//     and returns memory once, when the storm is over.
package gcstorm

import (
	"context"
	"runtime/debug"
	"sync"
	"time"
)

const (
	// stormRate is how many handshakes and closes in one sample (a second)
	// make a storm begin: well above a steady trickle of reconnects.
	stormRate = 100
	// stormChurn is how many handshakes and closes since the last release
	// make a storm worth returning memory after.
	stormChurn = 1000
	// stormQuiet is how long without a handshake or close means the storm
	// is over.
	stormQuiet = 3 * time.Second
)

// Run runs until ctx ends: once a second it samples churn (handshakes
// and closes so far), tightens the collector to gcPercent while a storm
// is on (gcPercent <= 0: never), tells storm (if not nil) when a storm
// begins (true) and when it is over (false), and returns memory to the
// OS after a storm, telling released how long that took.
func Run(ctx context.Context, churn func() uint64, gcPercent int, storm func(on bool), released func(took time.Duration)) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var w watch
	tightened := false
	defer func() {
		if tightened {
			restoreGC()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			e := w.sample(churn(), now)
			if e.began && gcPercent > 0 {
				tightenGC(gcPercent)
				tightened = true
			}
			if e.over && tightened {
				restoreGC()
				tightened = false
			}
			if storm != nil && (e.began || e.over) {
				storm(e.began)
			}
			if !e.release {
				continue
			}
			start := time.Now()
			debug.FreeOSMemory()
			released(time.Since(start))
		}
	}
}

// watch tells, from the churn counter sampled once a second, when a
// storm begins and when it is over.
type watch struct {
	on       bool      // a storm began and is not over
	released uint64    // churn at the last release
	last     uint64    // churn at the previous sample
	quietAt  time.Time // when churn last changed
}

// edge is what one sample of the churn asks for.
type edge struct {
	began   bool // tighten the collector
	over    bool // a storm that began is over: restore the collector
	release bool // return memory to the OS
}

// sample takes the churn counter at now.
func (w *watch) sample(churn uint64, now time.Time) (e edge) {
	if churn != w.last {
		if churn-w.last >= stormRate && !w.on {
			w.on, e.began = true, true
		}
		w.last, w.quietAt = churn, now
		return e
	}
	if now.Sub(w.quietAt) < stormQuiet {
		return e
	}
	if w.on {
		w.on, e.over = false, true
	}
	if churn-w.released >= stormChurn {
		w.released, e.release = churn, true
	}
	return e
}

// stormGC holds the collector's target while storms are on. It is the
// process's, shared by the nodes of one process (tests run several): the
// first storm to begin saves the target in effect and the last to end
// restores it.
var stormGC struct {
	mu    sync.Mutex
	storm int  // storms on, across the process's nodes
	saved int  // target before the first storm
	set   bool // the target was lowered
}

// tightenGC lowers the collector's target to pct for a storm, unless the
// one in effect is already lower or off (GOGC=off, -1).
func tightenGC(pct int) {
	stormGC.mu.Lock()
	defer stormGC.mu.Unlock()
	stormGC.storm++
	if stormGC.storm > 1 {
		return
	}
	prev := debug.SetGCPercent(pct)
	if prev < 0 || prev <= pct {
		debug.SetGCPercent(prev)
		return
	}
	stormGC.saved, stormGC.set = prev, true
}

// restoreGC ends one storm's hold on the collector's target.
func restoreGC() {
	stormGC.mu.Lock()
	defer stormGC.mu.Unlock()
	stormGC.storm--
	if stormGC.storm == 0 && stormGC.set {
		debug.SetGCPercent(stormGC.saved)
		stormGC.set = false
	}
}
