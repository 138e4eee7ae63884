package node

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wire"
)

// collect reads frames until it has one of each wanted type, failing on
// anything else; it returns them by type. It is for frames whose relative
// order the protocol leaves open (MessageAccepted and the sender's own
// NewMessage).
func (c *client) collect(types ...string) map[string]frame {
	c.t.Helper()
	want := map[string]bool{}
	for _, t := range types {
		want[t] = true
	}
	got := map[string]frame{}
	for len(got) < len(want) {
		f, ok := c.next(10 * time.Second)
		if !ok {
			c.t.Fatalf("timed out; have %v of %v", len(got), types)
		}
		if f.Channel == wire.ChannelPresence {
			continue
		}
		if !want[f.Message.Type] || got[f.Message.Type].Raw != nil {
			c.t.Fatalf("unexpected frame %s while collecting %v", f.Raw, types)
		}
		got[f.Message.Type] = f
	}
	return got
}

// TestSeedExchange runs the websockets-prototype README exchange verbatim
// with guests.
func TestSeedExchange(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.AllowGuests = true })
	a := tn.dial("/ws")
	if a.welcome.User == "" || a.welcome.Device == "" || a.welcome.Node != tn.ID() {
		t.Fatalf("welcome = %+v", a.welcome)
	}

	a.send(`{"channel":"chat-room","message":{"type":"JoinRoom","contents":{"room":"#haskell"}}}`)
	var ml wire.MemberList
	a.expect(wire.TypeMemberList).decode(t, &ml)
	if ml.Room != "#haskell" || len(ml.Users) != 1 || ml.Users[0] != a.welcome.User {
		t.Fatalf("MemberList = %+v", ml)
	}
	var joined wire.MemberEvent
	a.expect(wire.TypeJoinedRoom).decode(t, &joined)
	if joined.Room != "#haskell" || joined.User != a.welcome.User {
		t.Fatalf("JoinedRoom = %+v", joined)
	}

	a.send(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"room":"#haskell","message":"Monad monoid category whatever"}}}`)
	got := a.collect(wire.TypeMessageAccepted, wire.TypeNewMessage)
	var nm wire.NewMessage
	got[wire.TypeNewMessage].decode(t, &nm)
	if nm.Room != "#haskell" || nm.User != a.welcome.User || nm.Message != "Monad monoid category whatever" || nm.Seq == 0 {
		t.Fatalf("NewMessage = %+v", nm)
	}
	// The seed's fields come first, verbatim.
	wantPrefix := `{"channel":"chat-room","message":{"type":"NewMessage","contents":{"room":"#haskell","user":"` + a.welcome.User + `","message":"Monad monoid category whatever",`
	if raw := string(got[wire.TypeNewMessage].Raw); len(raw) < len(wantPrefix) || raw[:len(wantPrefix)] != wantPrefix {
		t.Fatalf("NewMessage frame %s does not start with %s", raw, wantPrefix)
	}

	b := tn.dial("/ws")
	b.send(`{"channel":"chat-room","message":{"type":"JoinRoom","contents":{"room":"#haskell"}}}`)
	b.expect(wire.TypeMemberList).decode(t, &ml)
	if len(ml.Users) != 2 || len(ml.Online) != 2 {
		t.Fatalf("second MemberList = %+v, want both users online", ml)
	}
	b.expect(wire.TypeJoinedRoom)
	a.expect(wire.TypeJoinedRoom).decode(t, &joined)
	if joined.User != b.welcome.User {
		t.Fatalf("first client got JoinedRoom %+v, want user %s", joined, b.welcome.User)
	}

	b.send(`{"channel":"chat-room","message":{"type":"LeaveRoom","contents":{"room":"#haskell"}}}`)
	var left wire.MemberEvent
	a.expect(wire.TypeLeftRoom).decode(t, &left)
	if left.Room != "#haskell" || left.User != b.welcome.User {
		t.Fatalf("LeftRoom = %+v", left)
	}
	b.expect(wire.TypeLeftRoom)

	b.send(`{"channel":"chat","message":{"type":"SubmitMessage","contents":"Hello World"}}`)
	for _, c := range []*client{a, b} {
		var r wire.NewMessageReceived
		c.expect(wire.TypeNewMessageReceived).decode(t, &r)
		if r.Content != "Hello World" || r.PostedAt.IsZero() {
			t.Fatalf("NewMessageReceived = %+v", r)
		}
	}

	ping := `{"channel":"ping","message":{"type":"Ping","contents":2}}`
	if st := tn.api("POST", "/api/broadcast", testAPIKey, ping, nil); st != http.StatusAccepted {
		t.Fatalf("broadcast status %d", st)
	}
	for _, c := range []*client{a, b} {
		if f := c.expect(wire.TypePing); string(f.Raw) != ping {
			t.Fatalf("Ping frame = %s, want %s", f.Raw, ping)
		}
	}
	if st := tn.api("POST", "/api/broadcast", "wrong", ping, nil); st != http.StatusUnauthorized {
		t.Fatalf("broadcast with a wrong key: status %d", st)
	}
}

// TestRoomInURL joins the URL's room at connect, as the seeds did.
func TestRoomInURL(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.AllowGuests = true })
	a := tn.dial("/ws?room=lobby")
	var ml wire.MemberList
	a.expect(wire.TypeMemberList).decode(t, &ml)
	if ml.Room != "lobby" {
		t.Fatalf("MemberList = %+v", ml)
	}
	a.expect(wire.TypeJoinedRoom)
}

// TestGuestLeavesNothingBehind: a guest's memberships end with its
// connection and the others hear LeftRoom.
func TestGuestLeavesNothingBehind(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.AllowGuests = true })
	a := tn.dial("/ws?room=lobby")
	a.expect(wire.TypeMemberList)
	a.expect(wire.TypeJoinedRoom)
	b := tn.dial("/ws?room=lobby")
	b.expect(wire.TypeMemberList)
	b.expect(wire.TypeJoinedRoom)
	a.expect(wire.TypeJoinedRoom)
	b.Conn.Close()
	var left wire.MemberEvent
	a.expect(wire.TypeLeftRoom).decode(t, &left)
	if left.User != b.welcome.User {
		t.Fatalf("LeftRoom = %+v", left)
	}
	a.send(`{"channel":"chat-room","message":{"type":"GetMembers","contents":{"room":"lobby"}}}`)
	var ml wire.MemberList
	a.expect(wire.TypeMemberList).decode(t, &ml)
	if len(ml.Users) != 1 {
		t.Fatalf("members after the guest left: %+v", ml)
	}
	raw, _ := json.Marshal(ml)
	t.Logf("member list: %s", raw)
}
