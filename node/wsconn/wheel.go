package wsconn

import (
	"sync"
	"sync/atomic"
	"time"
)

// wheel is a hashed timer wheel that drives pings, idle timeouts and close
// deadlines for every connection with one goroutine and no timer per
// connection. Time is counted in ticks; each connection sits in exactly one
// slot, linked through its own wNext/wPrev fields, and is re-examined at its
// due tick (see Conn.timerCheck).
type wheel struct {
	tick  time.Duration // immutable
	start time.Time     // immutable
	now   atomic.Int64  // current tick, read by workers to stamp activity

	mu    sync.Mutex
	slots []*Conn // guarded by mu: list heads
	due   []*Conn // guarded by mu: scratch for advance
	dueEv []uint8 // guarded by mu: scratch for advance
}

func newWheel(tick time.Duration, span time.Duration) *wheel {
	n := int(span/tick) + 2
	return &wheel{tick: tick, start: time.Now(), slots: make([]*Conn, n)}
}

// ticks converts d to a whole number of ticks, rounding up.
func (w *wheel) ticks(d time.Duration) int64 {
	return int64((d + w.tick - 1) / w.tick)
}

// add (re)places c so that it is examined at tick due.
func (w *wheel) add(c *Conn, due int64) {
	w.mu.Lock()
	w.removeLocked(c)
	w.insertLocked(c, due)
	w.mu.Unlock()
}

func (w *wheel) remove(c *Conn) {
	w.mu.Lock()
	w.removeLocked(c)
	w.mu.Unlock()
}

func (w *wheel) insertLocked(c *Conn, due int64) {
	now := w.now.Load()
	if due <= now {
		due = now + 1
	}
	i := int(due % int64(len(w.slots)))
	c.wDue, c.wIn, c.wPrev = due, true, nil
	c.wNext = w.slots[i]
	if c.wNext != nil {
		c.wNext.wPrev = c
	}
	w.slots[i] = c
}

func (w *wheel) removeLocked(c *Conn) {
	if !c.wIn {
		return
	}
	if c.wPrev != nil {
		c.wPrev.wNext = c.wNext
	} else {
		w.slots[int(c.wDue%int64(len(w.slots)))] = c.wNext
	}
	if c.wNext != nil {
		c.wNext.wPrev = c.wPrev
	}
	c.wNext, c.wPrev, c.wIn = nil, nil, false
}

// run advances the wheel until stop is closed.
func (w *wheel) run(stop <-chan struct{}) {
	t := time.NewTicker(w.tick)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		target := int64(time.Since(w.start) / w.tick)
		for w.now.Load() < target {
			w.advance()
		}
	}
}

// advance moves to the next tick and schedules the connections due then.
// Connections are scheduled after w.mu is released (lock order).
func (w *wheel) advance() {
	w.mu.Lock()
	now := w.now.Add(1)
	i := int(now % int64(len(w.slots)))
	for c := w.slots[i]; c != nil; {
		next := c.wNext
		if c.wDue <= now {
			w.removeLocked(c)
			ev, due := c.timerCheck(now)
			if due > 0 {
				w.insertLocked(c, due)
			}
			if ev != 0 {
				w.due = append(w.due, c)
				w.dueEv = append(w.dueEv, ev)
			}
		}
		c = next
	}
	due, dueEv := w.due, w.dueEv
	w.due, w.dueEv = nil, nil
	w.mu.Unlock()

	for j, c := range due {
		c.schedule(dueEv[j])
	}
	clear(due)
	w.mu.Lock()
	if w.due == nil {
		w.due, w.dueEv = due[:0], dueEv[:0]
	}
	w.mu.Unlock()
}
