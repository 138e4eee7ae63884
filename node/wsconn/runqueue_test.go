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
		r.push(later[i], lvLater)
	}
	live := &Conn{id: 1}
	r.push(live, lvLive)
	if c, lv, _ := r.pop(); c != live || lv != lvLive {
		t.Fatalf("first pop: conn %d (level %d), want the live one", c.id, lv)
	}
	if c, lv, _ := r.pop(); c != later[0] || lv != lvLater {
		t.Fatalf("no live work left: conn %d (level %d), want the first later one", c.id, lv)
	}
	// Live work that keeps coming: later work every laterEvery+1 pops.
	var order []bool
	for range 3 * (laterEvery + 1) {
		r.push(&Conn{id: 2}, lvLive)
		_, lv, _ := r.pop()
		order = append(order, lv == lvLater)
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
	r.push(later, lvLater)
	r.push(live, lvLive)
	r.push(urgent, lvUrgent)
	for i, want := range []*Conn{urgent, live, later} {
		if c, _, waited := r.pop(); c != want || waited {
			t.Fatalf("pop %d: conn %d (waited %v), want conn %d without waiting", i, c.id, waited, want.id)
		}
	}
	// Urgent work that keeps coming, with live work waiting: live work
	// every urgentEvery+1 pops.
	lives := []*Conn{{id: 10}, {id: 11}}
	for _, c := range lives {
		r.push(c, lvLive)
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
		r.push(c, lvLater)
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
		r.push(&Conn{id: 20}, lvUrgent)
		c, _, _ := r.pop()
		got = append(got, c.id)
	}
	for i, id := range got {
		if other, want := id != 20, (i+1)%(every+1) == 0; other != want {
			t.Fatalf("pops of an urgent stream (conn 20) with %s waiting: %v; want %s at every %dth", waiting, got, waiting, every+1)
		}
	}
}

// TestRunQueuePromotes: a reply to a connection queued as live work gives
// it an urgent entry too, which runs it ahead of the live work queued
// before it. Its live entry, taken later, runs it only if it owes a run
// then: work that came while the entry was on its way, yes; none, no.
// Work for a running connection queues nothing.
func TestRunQueuePromotes(t *testing.T) {
	s := &Server{runq: newRunQueue(), cfg: Config{MaxOutboundBytes: 1 << 20}}
	other, c := &Conn{id: 1, srv: s}, &Conn{id: 2, srv: s}
	f := NewTextFrame([]byte("m"))
	send := func(conn *Conn, reply bool) {
		t.Helper()
		if err := conn.send(f, reply); err != nil {
			t.Fatal(err)
		}
	}
	// take pops the next entry and checks it and its claim.
	take := func(step string, id uint64, lv level, claim bool) {
		t.Helper()
		conn, got, _ := s.runq.pop()
		if conn.id != id || got != lv {
			t.Fatalf("%s: popped conn %d at level %d, want conn %d at %d", step, conn.id, got, id, lv)
		}
		if ok := conn.claim(got); ok != claim {
			t.Fatalf("%s: claim %v, want %v", step, ok, claim)
		}
	}
	// empty checks that no level holds an entry.
	empty := func(after string) {
		t.Helper()
		s.runq.mu.Lock()
		defer s.runq.mu.Unlock()
		for lv := range levels {
			if !s.runq.q[lv].empty() {
				t.Fatalf("level %d holds an entry after %s", lv, after)
			}
		}
	}
	// runDone ends c's run as Server.run does once its events are done.
	runDone := func() {
		c.mu.Lock()
		c.pending = 0
		c.mu.Unlock()
		s.run(c, nil)
	}

	send(other, false)
	send(c, false)
	send(c, true)
	send(c, true) // already queued as urgent work
	take("the reply", 2, lvUrgent, true)
	runDone()
	take("the live work before it", 1, lvLive, true)
	conn, lv, _ := s.runq.pop()
	send(c, false) // work for c while its popped live entry is on its way
	if conn != c || !c.claim(lv) {
		t.Fatalf("popped conn %d: not run for the work that came after the pop", conn.id)
	}
	send(c, true) // c runs: its run takes the reply
	empty("the running conn got more")
	if c.sched != schedOwed|schedRunning || c.pending&evFlush == 0 {
		t.Fatalf("running conn: sched %b pending %b, want no entry, owed and running, a flush pending", c.sched, c.pending)
	}
	runDone()

	send(c, true)
	send(c, false) // its urgent entry runs it for this too
	take("a reply, then live work", 2, lvUrgent, true)
	runDone()
	empty("a reply came before live work")

	send(c, false)
	send(c, true)
	take("the reply again", 2, lvUrgent, true)
	runDone()
	take("the live entry of a conn that owes no run", 2, lvLive, false)
	if c.sched != 0 {
		t.Fatalf("idle conn: sched %b, want 0", c.sched)
	}
}
