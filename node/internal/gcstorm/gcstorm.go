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
//     and returns memory when the storm is over, and once more when the
//     storm's writes have settled: JetStream keeps the blocks it wrote in
//     write caches until they expire, 10 s after the last write, and then
//     hands their buffers (up to 4 MiB each, one per stream and Raft log
//     written; the members and chats of a cluster's storm fill them) to a
//     sync.Pool that only the second collection after that empties. Held,
//     they also raise the collector's target by as much again, so a node
//     of a 3-node cluster stayed ~12 MiB bigger at 15,000 connections
//     (docs/benchmarks.md).
//
// A node that live traffic keeps busy after a storm is left to the
// runtime: its collector runs every few seconds anyway, empties the pools
// within two cycles, and its heap grows back to the collector's goal
// within one, so a release would return memory only for moments. The
// release waits until the collector has been quiet for a while (the
// traffic ended), and is then done as it would have been.
package gcstorm

import (
	"context"
	"runtime"
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
	// settleAfter is how long after the release at the storm's end the
	// second one runs: past JetStream's write-cache expiry (10 s after
	// the last write), counted from the storm's last handshake.
	settleAfter = 12 * time.Second
)

// Run runs until ctx ends: once a second it samples churn (handshakes
// and closes so far), tightens the collector to gcPercent while a storm
// is on (gcPercent <= 0: never), tells storm (if not nil) when a storm
// begins (true) and when it is over (false), and returns memory to the
// OS after a storm and again once its writes settled, telling released
// how long each took. A release waits while the collector runs on its
// own (see busyWindow).
func Run(ctx context.Context, churn func() uint64, gcPercent int, storm func(on bool), released func(took time.Duration)) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var w watch
	rel := releaser{cycles: autoCycles()}
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
			k := rel.next(e, autoCycles(), now)
			if k == releaseNone {
				continue
			}
			start := time.Now()
			if k == releaseSettle {
				// The first collection runs the cleanups that hand the
				// expired caches' buffers to their pool, the second
				// moves the pool to its victim cache, and FreeOSMemory's
				// own drops it and returns the pages.
				runtime.GC()
				runtime.GC()
			}
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
	settleAt time.Time // when the release after a storm's writes is due; zero: none
}

// edge is what one sample of the churn asks for.
type edge struct {
	began   bool // tighten the collector
	over    bool // a storm that began is over: restore the collector
	release bool // return memory to the OS
	settle  bool // the storm's writes settled: collect and return memory again
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
		w.settleAt = w.quietAt.Add(settleAfter)
		return e
	}
	if !w.settleAt.IsZero() && !now.Before(w.settleAt) {
		w.settleAt, e.settle = time.Time{}, true
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
