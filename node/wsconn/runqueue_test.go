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
	if c, isLater, _ := r.pop(); c != live || isLater {
		t.Fatalf("first pop: conn %d (later %v), want the live one", c.id, isLater)
	}
	if c, isLater, _ := r.pop(); c != later[0] || !isLater {
		t.Fatalf("no live work left: conn %d (later %v), want the first later one", c.id, isLater)
	}
	// Live work that keeps coming: later work every laterEvery+1 pops.
	var order []bool
	for range 3 * (laterEvery + 1) {
		r.push(&Conn{id: 2})
		_, isLater, _ := r.pop()
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
		c, _, _ := r.pop()
		if c == nil {
			break
		}
	}
}

// TestRunQueueUrgentFirst: urgent work is taken before live and later
// work queued earlier, and live work still gets every
// (urgentEvery+1)th turn while urgent work keeps coming; a pop of
// queued work did not wait.
func TestRunQueueUrgentFirst(t *testing.T) {
	r := newRunQueue()
	live, later, urgent := &Conn{id: 1}, &Conn{id: 2}, &Conn{id: 3}
	r.pushLater(later)
	r.push(live)
	r.pushUrgent(urgent)
	for i, want := range []*Conn{urgent, live, later} {
		if c, _, waited := r.pop(); c != want || waited {
			t.Fatalf("pop %d: conn %d (waited %v), want conn %d without waiting", i, c.id, waited, want.id)
		}
	}
	// Urgent work that keeps coming, with live work waiting: live work
	// every urgentEvery+1 pops.
	lives := []*Conn{{id: 10}, {id: 11}}
	for _, c := range lives {
		r.push(c)
	}
	checkUrgentStream(t, r, urgentEvery, "live work")
	r.close()
}

// TestRunQueueLaterNotStarvedByUrgent: later work gets every
// (laterEvery+1)th turn while urgent work keeps coming too, not only
// while live work does: in a join storm the joiners' answers are urgent
// and the members' notices later work.
func TestRunQueueLaterNotStarvedByUrgent(t *testing.T) {
	r := newRunQueue()
	later := []*Conn{{id: 100}, {id: 101}}
	for _, c := range later {
		r.pushLater(c)
	}
	checkUrgentStream(t, r, laterEvery, "later work")
	r.close()
}

// checkUrgentStream pushes urgent work (conn 20) and pops, 2*(every+1)
// times, and fails t unless the work waiting besides (the other conns)
// was taken at every (every+1)th pop and only then.
func checkUrgentStream(t *testing.T, r *runQueue, every int, waiting string) {
	t.Helper()
	var got []uint64
	for range 2 * (every + 1) {
		r.pushUrgent(&Conn{id: 20})
		c, _, _ := r.pop()
		got = append(got, c.id)
	}
	for i, id := range got {
		if other, want := id != 20, (i+1)%(every+1) == 0; other != want {
			t.Fatalf("pops of an urgent stream (conn 20) with %s waiting: %v; want %s at every %dth", waiting, got, waiting, every+1)
		}
	}
}
