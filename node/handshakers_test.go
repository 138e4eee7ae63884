package node

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

// TestHandshakers: every connection handed over is served once; while all
// handshakers are busy a new one starts, so none waits for another; idle
// ones end after their idle time, and at close.
func TestHandshakers(t *testing.T) {
	base := runtime.NumGoroutine()
	var (
		mu     sync.Mutex
		served = map[time.Time]int{}
	)
	hold := make(chan struct{})
	running := make(chan struct{}, 100)
	h := newHandshakers(func(j handshakeJob) {
		mu.Lock()
		served[j.accepted]++
		mu.Unlock()
		running <- struct{}{}
		<-hold
	}, 100*time.Millisecond)
	at := time.Unix(0, 0)
	job := func() handshakeJob { at = at.Add(time.Second); return handshakeJob{accepted: at} }

	const busy = 10
	for range busy {
		h.serve(job())
	}
	for i := range busy {
		select {
		case <-running:
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d connections served at once; the others wait", i, busy)
		}
	}
	close(hold) // from here on each is served at once
	for range 3 * busy {
		h.serve(job())
	}
	checkFor(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(served) != 4*busy {
			return fmt.Errorf("%d of %d connections served", len(served), 4*busy)
		}
		return nil
	})
	for at, n := range served {
		if n != 1 {
			t.Fatalf("connection %v served %d times", at, n)
		}
	}
	// Idle for longer than their idle time, the handshakers end.
	checkFor(t, 10*time.Second, func() error {
		if d := runtime.NumGoroutine() - base; d > 0 {
			return fmt.Errorf("%d handshakers still there", d)
		}
		return nil
	})

	// And at close, however long their idle time.
	h = newHandshakers(func(handshakeJob) {}, time.Hour)
	for range busy {
		h.serve(job())
	}
	h.close()
	checkFor(t, 10*time.Second, func() error {
		if d := runtime.NumGoroutine() - base; d > 0 {
			return fmt.Errorf("%d handshakers left after close", d)
		}
		return nil
	})
}
