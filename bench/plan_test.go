package bench

import "testing"

// TestQuietChatsLayout: every connection is in its room and in one quiet
// room of each round; quiet rooms have the room size (the last of a
// round the rest) and nobody sends there.
func TestQuietChatsLayout(t *testing.T) {
	c := &Config{Scenario: ScenarioReconnect, URLs: []string{"ws://127.0.0.1:1/ws"}, Conns: 95, RoomSize: 10, QuietChats: 3, Seed: 7, RunID: "t"}
	c.setDefaults()
	if err := c.validate(); err != nil {
		t.Fatal(err)
	}
	p := newPlan(c)
	if len(p.Quiet) != 3*10 {
		t.Fatalf("%d quiet rooms, want 30 (3 rounds of 10)", len(p.Quiet))
	}
	in := make(map[int]int)
	for k, q := range p.Quiet {
		if want := 10; k%10 == 9 {
			want = 5
			if len(q.Members) != want {
				t.Fatalf("quiet room %d has %d members, want %d", k, len(q.Members), want)
			}
		} else if len(q.Members) != want {
			t.Fatalf("quiet room %d has %d members, want %d", k, len(q.Members), want)
		}
		if len(q.Senders) != 0 {
			t.Fatalf("quiet room %d has senders %v", k, q.Senders)
		}
		for _, m := range q.Members {
			in[m]++
		}
	}
	for i, cp := range p.Conns {
		if in[i] != 3 || len(cp.Quiet) != 3 || cp.Chat < 0 {
			t.Fatalf("conn %d: in %d quiet rooms (plan says %v), room %d", i, in[i], cp.Quiet, cp.Chat)
		}
	}
	c.Guests = true
	if err := c.validate(); err == nil {
		t.Fatal("quiet chats of guests were accepted")
	}
}

// TestRoomAffinityLayout: with --room-affinity node every member of room
// r dials URL r mod the number of URLs, the nodes get the connections in
// turn of rooms (within a room's size of each other), and every
// connection is in one room; without it, connection i dials URL i mod the
// number of URLs and rooms of 10 span nodes.
func TestRoomAffinityLayout(t *testing.T) {
	urls := []string{"ws://127.0.0.1:1/ws", "ws://127.0.0.1:2/ws", "ws://127.0.0.1:3/ws"}
	for _, affinity := range []string{"", AffinityNone, AffinityNode} {
		c := &Config{Scenario: ScenarioIdle, Guests: true, URLs: urls, Conns: 995, RoomSize: 10, RoomAffinity: affinity, Seed: 7, RunID: "t"}
		c.setDefaults()
		if err := c.validate(); err != nil {
			t.Fatal(err)
		}
		p := newPlan(c)
		perNode := make(map[string]int)
		spanning := 0
		for k, ch := range p.Chats {
			nodes := make(map[string]bool)
			for _, m := range ch.Members {
				if p.Conns[m].Chat != k {
					t.Fatalf("%q: conn %d is listed in room %d but planned in %d", affinity, m, k, p.Conns[m].Chat)
				}
				nodes[p.Conns[m].URL] = true
				if affinity == AffinityNode && p.Conns[m].URL != urls[k%len(urls)] {
					t.Fatalf("%q: member %d of room %d dials %s, want %s", affinity, m, k, p.Conns[m].URL, urls[k%len(urls)])
				}
			}
			if len(nodes) > 1 {
				spanning++
			}
		}
		for i, cp := range p.Conns {
			if cp.Chat < 0 {
				t.Fatalf("%q: conn %d is in no room", affinity, i)
			}
			if affinity != AffinityNode && cp.URL != urls[i%len(urls)] {
				t.Fatalf("%q: conn %d dials %s, want %s", affinity, i, cp.URL, urls[i%len(urls)])
			}
			perNode[cp.URL]++
		}
		lo, hi := c.Conns, 0
		for _, n := range perNode {
			lo, hi = min(lo, n), max(hi, n)
		}
		if len(perNode) != len(urls) || hi-lo > c.RoomSize {
			t.Fatalf("%q: connections per node %v", affinity, perNode)
		}
		if affinity == AffinityNode && spanning != 0 {
			t.Fatalf("%q: %d rooms span nodes", affinity, spanning)
		}
		if affinity != AffinityNode && spanning < len(p.Chats)/2 {
			t.Fatalf("%q: only %d of %d rooms span nodes", affinity, spanning, len(p.Chats))
		}
	}
	c := &Config{Scenario: ScenarioIdle, URLs: urls, RoomAffinity: "chat"}
	c.setDefaults()
	if err := c.validate(); err == nil {
		t.Fatal("--room-affinity chat was accepted")
	}
}
