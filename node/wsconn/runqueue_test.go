package wsconn

import "testing"

// TestRunQueueLiveFirst: live work is taken before later work queued
// earlier, and later work still gets every (laterEvery+1)th turn while
// live work keeps coming, so that neither waits for all of the other.
func TestRunQueueLiveFirst(t *testing.T) {
	r := newRunQueue()
	later := make([]*Conn, 3)
	for i := range later {
		later[i] = &Conn{id: uint64(100 + i)}
		r.pushLater(later[i])
	}
	live := &Conn{id: 1}
	r.push(live)
	if c, isLater := r.pop(); c != live || isLater {
		t.Fatalf("first pop: conn %d (later %v), want the live one", c.id, isLater)
	}
	if c, isLater := r.pop(); c != later[0] || !isLater {
		t.Fatalf("no live work left: conn %d (later %v), want the first later one", c.id, isLater)
	}
	// Live work that keeps coming: later work every laterEvery+1 pops.
	var order []bool
	for range 3 * (laterEvery + 1) {
		r.push(&Conn{id: 2})
		_, isLater := r.pop()
		order = append(order, isLater)
	}
	taken := 0
	for i, isLater := range order {
		if isLater {
			taken++
			if i < laterEvery {
				t.Fatalf("later work taken at pop %d of a live stream, want after %d live ones", i, laterEvery)
			}
		}
	}
	if taken != 2 {
		t.Fatalf("later work taken %d times in %d pops of a live stream, want the 2 left", taken, len(order))
	}
	r.close()
	for {
		c, _ := r.pop()
		if c == nil {
			break
		}
	}
}
