package node

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store/storetest"
)

// TestGuestsAcrossNodes: guests' memberships are not stored, yet two
// nodes agree on them: a guest on one node sees a guest of the other in
// the member list, hears it join and leave, and nothing stays behind.
func TestGuestsAcrossNodes(t *testing.T) {
	ns := storetest.RunServer(t)
	shared := func(c *Config) { c.NATSURL = ns.ClientURL(); c.AllowGuests = true }
	a := startNode(t, shared)
	b := startNode(t, shared)

	ga := a.dial("/ws?room=lobby")
	ga.expect(wire.TypeMemberList)
	ga.expect(wire.TypeJoinedRoom)
	gb := b.dial("/ws")
	// b's presence view learns of ga's room through the events.
	lobby := mustChat(t, a, "lobby")
	checkFor(t, 5*time.Second, func() error {
		for _, m := range b.presence.GuestMembers(lobby) {
			if m.User == ga.welcome.User {
				return nil
			}
		}
		return fmt.Errorf("node b does not know guest a is in lobby")
	})
	gb.send(`{"channel":"chat-room","message":{"type":"JoinRoom","contents":{"room":"lobby"}}}`)
	var ml wire.MemberList
	gb.expect(wire.TypeMemberList).decode(t, &ml)
	if !slices.Contains(ml.Users, ga.welcome.User) || !slices.Contains(ml.Users, gb.welcome.User) || len(ml.Online) != 2 {
		t.Fatalf("member list on node b = %+v, want both guests online", ml)
	}
	gb.expect(wire.TypeJoinedRoom)
	var joined wire.MemberEvent
	ga.expect(wire.TypeJoinedRoom).decode(t, &joined)
	if joined.User != gb.welcome.User {
		t.Fatalf("JoinedRoom on node a = %+v", joined)
	}
	// A message crosses the nodes both ways.
	gb.send(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"room":"lobby","message":"from b"}}}`)
	var m wire.NewMessage
	ga.waitFor(wire.TypeNewMessage).decode(t, &m)
	if m.Message != "from b" || m.User != gb.welcome.User {
		t.Fatalf("node a got %+v", m)
	}
	// b's guest leaves by disconnecting: a hears LeftRoom, and the member
	// list on both nodes has a alone.
	gb.Conn.Close()
	var left wire.MemberEvent
	ga.waitFor(wire.TypeLeftRoom).decode(t, &left)
	if left.User != gb.welcome.User {
		t.Fatalf("LeftRoom = %+v", left)
	}
	for _, tn := range []*testNode{a, b} {
		checkFor(t, 5*time.Second, func() error {
			ms := tn.presence.GuestMembers(lobby)
			if len(ms) != 1 || ms[0].User != ga.welcome.User {
				return fmt.Errorf("node %s lists guests %+v", tn.ID(), ms)
			}
			return nil
		})
	}
	// Nothing of either guest is stored.
	for _, g := range []*client{ga, gb} {
		if ms, err := a.store.UserChats(t.Context(), g.welcome.User); err != nil || len(ms) != 0 {
			t.Fatalf("stored memberships of guest %s: %v %v", g.welcome.User, ms, err)
		}
	}
}

// mustChat returns the id of a public room.
func mustChat(t *testing.T, tn *testNode, room string) string {
	t.Helper()
	c, err := tn.store.PublicRoom(t.Context(), room)
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}
