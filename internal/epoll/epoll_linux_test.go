//go:build linux

package epoll

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestWake: a write to the wake fd makes the instance readable in the
// runtime's netpoller, and a zero-timeout harvest finds event data 0.
func TestWake(t *testing.T) {
	ep, err := New()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ep.WakeFd)
	defer ep.File.Close()
	rc, err := ep.File.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(10 * time.Millisecond) // the reader below waits first
		one := [8]byte{1}
		_, _ = unix.Write(ep.WakeFd, one[:])
	}()
	events := make([]unix.EpollEvent, 4)
	var n int
	var werr error
	if err := ep.File.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	err = rc.Read(func(uintptr) bool {
		n, werr = unix.EpollWait(ep.Fd, events, 0)
		return !(werr == unix.EINTR || (werr == nil && n == 0))
	})
	if err != nil || werr != nil {
		t.Fatalf("wait: %v, %v", err, werr)
	}
	if n != 1 || events[0].Fd != 0 || events[0].Pad != 0 || events[0].Events&unix.EPOLLIN == 0 {
		t.Fatalf("events %+v, want the wake fd's", events[:n])
	}
}

// TestEventID: an id of more than 32 bits comes back whole from the
// event's data.
func TestEventID(t *testing.T) {
	for _, id := range []uint64{1, 1<<32 - 1, 1 << 32, 1<<63 | 12345} {
		e := Event(unix.EPOLLIN, id)
		if got := ID(&e); got != id || e.Events != unix.EPOLLIN {
			t.Errorf("Event(EPOLLIN, %d): id %d, events %#x", id, got, e.Events)
		}
	}
}
