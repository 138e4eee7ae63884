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

// TestSharesReconnect: in a reconnect storm the senders have a worker of
// their own and the others are split evenly; other scenarios, and a
// single worker, get contiguous parts. Every connection is in exactly
// one share.
func TestSharesReconnect(t *testing.T) {
	for _, tc := range []struct {
		scenario string
		workers  int
	}{{ScenarioReconnect, 3}, {ScenarioReconnect, 1}, {ScenarioRooms, 3}} {
		c := &Config{Scenario: tc.scenario, URLs: []string{"ws://x/ws"}, Conns: 200, RoomSize: 10, Senders: 20, Workers: tc.workers, Seed: 1, RunID: "t"}
		p := newPlan(c)
		shares := p.shares(c)
		seen := map[int]int{}
		for k, sh := range shares {
			for _, cp := range sh {
				seen[cp.ID]++
				isolated := tc.scenario == ScenarioReconnect && tc.workers > 1
				if isolated && (k == 0) != cp.Sender {
					t.Fatalf("%s, %d workers: conn %d (sender %v) in worker %d", tc.scenario, tc.workers, cp.ID, cp.Sender, k)
				}
			}
		}
		if len(seen) != c.Conns {
			t.Fatalf("%s, %d workers: %d connections in the shares, want %d", tc.scenario, tc.workers, len(seen), c.Conns)
		}
		for id, n := range seen {
			if n != 1 {
				t.Fatalf("%s, %d workers: conn %d in %d shares", tc.scenario, tc.workers, id, n)
			}
		}
		if tc.scenario == ScenarioReconnect && tc.workers == 3 {
			if len(shares[0]) != 20 || len(shares[1]) != 90 || len(shares[2]) != 90 {
				t.Fatalf("share sizes %d, %d, %d: want the 20 senders, then 90 and 90", len(shares[0]), len(shares[1]), len(shares[2]))
			}
		}
	}
}
