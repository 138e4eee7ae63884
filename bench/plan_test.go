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
