package node

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"
)

// Connection storms (a fleet reconnecting after a node died, a deploy, a
// drain elsewhere) make a node allocate tens of kilobytes of short-lived
// garbage per handshake: JSON, NATS requests, join notices. The Go runtime
// collects it only when the heap reaches its goal or two minutes pass, and
// returns the pages to the OS slowly, so after a storm the node's RSS
// stays at up to twice its live heap for minutes, and a node sized by
// connections looks twice as big as it is. A node therefore collects and
// returns memory once, when a storm is over.
const (
	// stormChurn is how many handshakes and closes since the last release
	// make a storm.
	stormChurn = 1000
	// stormQuiet is how long without a handshake or close means the storm
	// is over.
	stormQuiet = 3 * time.Second
)

// stormWatch tells, from the churn counter sampled once a second, when a
// storm has just ended.
type stormWatch struct {
	released uint64    // churn at the last release
	last     uint64    // churn at the previous sample
	quietAt  time.Time // when churn last changed
}

// ended reports whether the samples up to now show a storm that is over;
// it then counts the memory as released.
func (w *stormWatch) ended(churn uint64, now time.Time) bool {
	if churn != w.last {
		w.last, w.quietAt = churn, now
		return false
	}
	if churn-w.released < stormChurn || now.Sub(w.quietAt) < stormQuiet {
		return false
	}
	w.released = churn
	return true
}

// releaseAfterStorms runs until ctx ends, returning memory to the OS
// after each connection storm.
func (n *Node) releaseAfterStorms(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var w stormWatch
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if !w.ended(n.metrics.churn(), now) {
				continue
			}
			start := time.Now()
			debug.FreeOSMemory()
			n.log.Debug("connection storm over; memory returned to the OS",
				slog.Int("connections", n.conns.Len()), slog.Duration("took", time.Since(start)))
		}
	}
}
