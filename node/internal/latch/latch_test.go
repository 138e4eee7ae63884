package latch

import (
	"testing"
	"time"
)

// TestLatch: waiters block until Open and pass at once afterwards.
func TestLatch(t *testing.T) {
	var l Latch
	l.Init()
	passed := make(chan struct{})
	go func() { l.Wait(); close(passed) }()
	select {
	case <-passed:
		t.Fatal("Wait returned before Open")
	case <-time.After(20 * time.Millisecond):
	}
	if l.IsOpen() {
		t.Fatal("IsOpen before Open")
	}
	l.Open()
	<-passed
	l.Wait() // a later waiter passes at once
	if !l.IsOpen() {
		t.Fatal("not IsOpen after Open")
	}
}
