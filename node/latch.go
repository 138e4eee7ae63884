package node

import (
	"sync"
	"sync/atomic"
)

// latch is a one-shot gate: wait blocks until open has been called once.
// It does the job of a closed channel without allocating one; there is a
// latch in every local user, and a channel would be 96 bytes of each.
type latch struct {
	wg   sync.WaitGroup
	done atomic.Bool
}

// init arms the latch; it must be called once, before open or wait.
func (l *latch) init() { l.wg.Add(1) }

// open releases every waiter, present and future. It must be called once.
func (l *latch) open() {
	l.done.Store(true)
	l.wg.Done()
}

// wait blocks until the latch is open.
func (l *latch) wait() { l.wg.Wait() }

// isOpen reports whether open has been called; it never blocks.
func (l *latch) isOpen() bool { return l.done.Load() }
