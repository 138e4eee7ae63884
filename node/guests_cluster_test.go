package node

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store/storetest"
)

// TestGuestsAcrossNodes: guests' memberships are not stored, yet two
// nodes agree on them: a node keeps nothing of a guest it shares no chat
// with; once it does, a guest on one node sees a guest of the other in
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
	lobby := mustChat(t, a, "lobby")
	// b hears all of a's presence events and keeps none: it delivers no
	// chat of ga's.
	waitHeard(t, b, a)
	if b.presence.Online(ga.welcome.User) || len(b.presence.GuestMembers(lobby)) != 0 {
		t.Fatalf("node b keeps guest %s it shares no chat with", ga.welcome.User)
	}
	// Asked for the lobby it does not deliver, b asks the cluster.
	if ml := b.memberList(t, lobby); !slices.Contains(ml.Online, ga.welcome.User) {
		t.Fatalf("member list of lobby from node b = %+v, want guest a online", ml)
	}
	if b.presence.Online(ga.welcome.User) {
		t.Fatalf("node b kept guest %s after answering a member list", ga.welcome.User)
	}
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
	// list on both nodes has a alone: a's view holds it; b, which delivers
	// the lobby no more (and forgets its members at a heartbeat), asks the
	// cluster.
	gb.Conn.Close()
	var left wire.MemberEvent
	ga.waitFor(wire.TypeLeftRoom).decode(t, &left)
	if left.User != gb.welcome.User {
		t.Fatalf("LeftRoom = %+v", left)
	}
	checkFor(t, 5*time.Second, func() error {
		ms := a.presence.GuestMembers(lobby)
		if len(ms) != 1 || ms[0].User != ga.welcome.User {
			return fmt.Errorf("node %s lists guests %+v", a.ID(), ms)
		}
		return nil
	})
	for _, tn := range []*testNode{a, b} {
		checkFor(t, 5*time.Second, func() error {
			ml := tn.memberList(t, lobby)
			if !slices.Equal(ml.Users, []string{ga.welcome.User}) || !slices.Equal(ml.Online, []string{ga.welcome.User}) {
				return fmt.Errorf("node %s's member list of the lobby is %+v", tn.ID(), ml)
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

// waitHeard waits until tn's presence view has applied every presence
// event from has published so far.
func waitHeard(t *testing.T, tn, from *testNode) {
	t.Helper()
	want := from.presence.Seq()
	checkFor(t, 10*time.Second, func() error {
		if got, ok := tn.presence.SeqOf(from.ID()); !ok || got < want {
			return fmt.Errorf("node %s heard %d (known %v) of node %s's %d presence events", tn.ID(), got, ok, from.ID(), want)
		}
		return nil
	})
}

// memberList asks tn's chat service for chatID's member list, as a
// client decodes it (the online guests are encoded ahead, in its Run).
func (tn *testNode) memberList(t *testing.T, chatID string) wire.MemberList {
	t.Helper()
	c, err := tn.store.Chat(t.Context(), chatID)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tn.chat.MemberList(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	var decoded wire.MemberList
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	return decoded
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
