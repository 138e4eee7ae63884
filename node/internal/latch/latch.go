// Package latch is a one-shot gate that costs no channel. It exists for
// the registry's per-user "chats loaded" gate, one per online user.
package latch

import (
	"sync"
	"sync/atomic"
)

// Latch is a one-shot gate: Wait blocks until Open has been called once.
// It does the job of a closed channel without allocating one; there is a
// latch in every local user, and a channel would be 96 bytes of each.
type Latch struct {
	wg   sync.WaitGroup
	done atomic.Bool
}

// Init arms the latch; it must be called once, before Open or Wait.
func (l *Latch) Init() { l.wg.Add(1) }

// Open releases every waiter, present and future. It must be called once.
func (l *Latch) Open() {
	l.done.Store(true)
	l.wg.Done()
}

// Wait blocks until the latch is open.
func (l *Latch) Wait() { l.wg.Wait() }

// IsOpen reports whether Open has been called; it never blocks.
func (l *Latch) IsOpen() bool { return l.done.Load() }
