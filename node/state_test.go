package node

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/store/storetest"
)

// Typing notices, read markers and read state, with members on two nodes.

// twoNodes starts two nodes on one NATS server (the cluster's shape for
// these tests: every node sees every event), with mod applied to both.
func twoNodes(t *testing.T, mod func(*Config)) (a, b *testNode) {
	t.Helper()
	ns := storetest.RunServer(t)
	shared := func(c *Config) {
		c.NATSURL = ns.ClientURL()
		if mod != nil {
			mod(c)
		}
	}
	return startNode(t, shared), startNode(t, shared)
}

// newChat creates a chat of kind through the API as owner, with members.
func (tn *testNode) newChat(owner account, kind, name string, members ...account) string {
	tn.t.Helper()
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.ID
	}
	var c store.Chat
	if st := tn.api("POST", "/api/chats", owner.Token, map[string]any{"name": name, "kind": kind, "members": ids}, &c); st != http.StatusCreated {
		tn.t.Fatalf("create %s chat: status %d", kind, st)
	}
	return c.ID
}

// awaitJoins waits until tn has applied at least n membership changes of
// each of users: a device that connects then hears of none of them late.
func (tn *testNode) awaitJoins(n int, users ...account) {
	tn.t.Helper()
	for _, u := range users {
		checkFor(tn.t, 10*time.Second, func() error {
			if got := len(tn.recent.Of(u.ID)); got < n {
				return fmt.Errorf("node %s applied %d membership changes of %s, want %d", tn.ID(), got, u.Name, n)
			}
			return nil
		})
	}
}

// chatFrame sends a chat-room frame of typ with contents.
func (c *client) chatFrame(typ, contents string) {
	c.t.Helper()
	c.sendf(`{"channel":"chat-room","message":{"type":%q,"contents":%s}}`, typ, contents)
}

// expectCode reads the next Error and checks its code.
func (c *client) expectCode(code string) {
	c.t.Helper()
	if e := c.expectError(); e.Code != code {
		c.t.Fatalf("Error %+v, want code %s", e, code)
	}
}

// TestTypingAcrossNodes: a Typing reaches the other members' devices on
// both nodes and none of the typist's; a second one within the throttle's
// interval goes nowhere; StopTyping follows; nothing is stored.
func TestTypingAcrossNodes(t *testing.T) {
	a, b := twoNodes(t, nil)
	alice, bob, carol, dave := a.register("alice"), a.register("bob"), a.register("carol"), a.register("dave")
	chat := a.newChat(alice, "private", "team", bob, carol)
	a.awaitJoins(1, alice, bob, carol)
	b.awaitJoins(1, alice, bob, carol)
	a1, a2 := a.dialUser(alice), b.dialUser(alice)
	bb, cc := b.dialUser(bob), a.dialUser(carol)
	dd := a.dialUser(dave)
	for _, c := range []*client{a1, a2, bb, cc} {
		c.strict = true
	}
	pos, err := a.store.Position(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	a1.chatFrame(wire.TypeTyping, `{"chat":"`+chat+`"}`)
	a1.chatFrame(wire.TypeTyping, `{"chat":"`+chat+`"}`) // throttled
	a1.chatFrame(wire.TypeStopTyping, `{"chat":"`+chat+`"}`)
	for _, c := range []*client{bb, cc} {
		var ev wire.TypingEvent
		c.expect(wire.TypeTyping).decode(t, &ev)
		if ev != (wire.TypingEvent{Room: "team", Chat: chat, User: alice.ID, Name: "alice"}) {
			t.Fatalf("Typing = %+v", ev)
		}
		// Strict: the throttled second Typing would come first.
		c.expect(wire.TypeStopTyping).decode(t, &ev)
		if ev.User != alice.ID || ev.Chat != chat {
			t.Fatalf("StopTyping = %+v", ev)
		}
	}
	// No sequence was used: the stream is where it was.
	if now, err := a.store.Position(context.Background()); err != nil || !slices.Equal(now, pos) {
		t.Fatalf("stream position %d after typing, was %d (%v)", now, pos, err)
	}
	// The typist's devices got nothing: their next frame is this message.
	bb.sendMsg(chat, "after typing", "", true)
	for _, c := range []*client{a1, a2, cc} {
		var m wire.NewMessage
		c.expect(wire.TypeNewMessage).decode(t, &m)
		if m.Message != "after typing" {
			t.Fatalf("got %+v", m)
		}
	}

	dd.chatFrame(wire.TypeTyping, `{"chat":"`+chat+`"}`)
	dd.expectCode(wire.CodeNotMember)
	dd.chatFrame(wire.TypeTyping, `{"chat":"nosuchchat"}`)
	dd.expectCode(wire.CodeChatNotFound)
	dd.chatFrame(wire.TypeStopTyping, `{}`)
	dd.expectCode(wire.CodeMissingField)
	dd.chatFrame(wire.TypeTyping, `{"chat":"bad id"}`)
	dd.expectCode(wire.CodeInvalidField)
}

// TestReadMarkersAcrossNodes: a marker that moves reaches every member's
// devices on both nodes in a chat with receipts, and only the user's own
// devices in a larger one; a marker never moves backwards; bad MarkReads
// get their codes.
func TestReadMarkersAcrossNodes(t *testing.T) {
	a, b := twoNodes(t, func(c *Config) { c.ReceiptsMaxMembers = 3 })
	alice, bob, carol, dave := a.register("alice"), a.register("bob"), a.register("carol"), a.register("dave")
	small := a.newChat(alice, "private", "small", bob, carol)
	big := a.newChat(alice, "private", "big", bob, carol, dave)
	a.awaitJoins(2, alice, bob, carol)
	b.awaitJoins(2, alice, bob, carol)
	a.awaitJoins(1, dave)
	b.awaitJoins(1, dave)
	a1, a2 := a.dialUser(alice), b.dialUser(alice)
	bb, cc := b.dialUser(bob), a.dialUser(carol)
	everyone := []*client{a1, a2, bb, cc}
	for _, c := range everyone {
		c.strict = true
	}
	recv := func(cs []*client, text string) {
		t.Helper()
		for _, c := range cs {
			var m wire.NewMessage
			c.expect(wire.TypeNewMessage).decode(t, &m)
			if m.Message != text {
				t.Fatalf("got %+v, want %q", m, text)
			}
		}
	}
	var seqs []uint64
	for _, text := range []string{"one", "two", "three"} {
		seqs = append(seqs, bb.sendMsg(small, text, "", true).Seq)
		recv([]*client{a1, a2, cc}, text)
	}
	own := a1.sendMsg(small, "mine", "", true).Seq
	recv([]*client{a2, bb, cc}, "mine")

	a1.chatFrame(wire.TypeMarkRead, `{"chat":"`+small+`","seq":`+itoa(seqs[1])+`}`)
	want := wire.ReadMarker{Room: "small", Chat: small, User: alice.ID, Seq: seqs[1], LastSeq: own, Unread: 1}
	for _, c := range everyone {
		var rm wire.ReadMarker
		c.expect(wire.TypeReadMarker).decode(t, &rm)
		if rm != want {
			t.Fatalf("ReadMarker = %+v, want %+v", rm, want)
		}
	}
	// Backwards: only the asking device hears where the marker is.
	a1.chatFrame(wire.TypeMarkRead, `{"chat":"`+small+`","seq":`+itoa(seqs[0])+`}`)
	var rm wire.ReadMarker
	a1.expect(wire.TypeReadMarker).decode(t, &rm)
	if rm.Seq != seqs[1] {
		t.Fatalf("a backwards MarkRead answered %+v, want the marker at %d", rm, seqs[1])
	}
	// Bad ones.
	a1.chatFrame(wire.TypeMarkRead, `{"chat":"`+small+`","seq":`+itoa(own+1000)+`}`)
	a1.expectCode(wire.CodeSeqOutOfRange)
	a1.chatFrame(wire.TypeMarkRead, `{"chat":"`+small+`"}`)
	a1.expectCode(wire.CodeMissingField)
	a1.chatFrame(wire.TypeMarkRead, `{"chat":"`+small+`","seq":-1}`)
	a1.expectCode(wire.CodeInvalidField)
	a1.chatFrame(wire.TypeMarkRead, `{"chat":"nosuchchat","seq":1}`)
	a1.expectCode(wire.CodeChatNotFound)
	dd := b.dialUser(dave)
	dd.chatFrame(wire.TypeMarkRead, `{"chat":"`+small+`","seq":1}`)
	dd.expectCode(wire.CodeNotMember)

	// To the end: everything read.
	a2.chatFrame(wire.TypeMarkRead, `{"chat":"`+small+`","seq":`+itoa(own)+`}`)
	for _, c := range everyone {
		c.expect(wire.TypeReadMarker).decode(t, &rm)
		if rm.Seq != own || rm.Unread != 0 || rm.User != alice.ID {
			t.Fatalf("ReadMarker = %+v, want alice at %d with nothing unread", rm, own)
		}
	}

	// Four members is past ReceiptsMaxMembers: alice's devices only.
	seq := bb.sendMsg(big, "big one", "", true).Seq
	recv([]*client{a1, a2, cc}, "big one")
	a1.chatFrame(wire.TypeMarkRead, `{"chat":"`+big+`","seq":`+itoa(seq)+`}`)
	for _, c := range []*client{a1, a2} {
		c.expect(wire.TypeReadMarker).decode(t, &rm)
		if rm.Chat != big || rm.Seq != seq || rm.User != alice.ID {
			t.Fatalf("ReadMarker = %+v", rm)
		}
	}
	// bob's and carol's next frame is this message, not the marker.
	a1.sendMsg(big, "after", "", true)
	recv([]*client{a2, bb, cc}, "after")
}

// TestReadStateAfterWelcome: a device that connects, on either node, gets
// its user's read state right after the Welcome, the same as the HTTP
// listing: the marker, the chat's last sequence, and the others'
// messages after the marker.
func TestReadStateAfterWelcome(t *testing.T) {
	a, b := twoNodes(t, nil)
	alice, bob := a.register("alice"), a.register("bob")
	direct := a.newChat(alice, "direct", "", bob)
	quiet := a.newChat(alice, "private", "quiet", bob)
	a.awaitJoins(2, alice, bob)
	b.awaitJoins(2, alice, bob)
	bb := b.dialUser(bob)
	var seqs []uint64
	for _, text := range []string{"one", "two", "three"} {
		seqs = append(seqs, bb.sendMsg(direct, text, "", true).Seq)
	}

	a1 := a.dialUser(alice)
	wantState(t, a1.unread, direct, wire.ChatUnread{Chat: direct, LastSeq: seqs[2], ReadSeq: 0, Unread: 3})
	wantState(t, a1.unread, quiet, wire.ChatUnread{Chat: quiet, Room: "quiet"})
	a1.chatFrame(wire.TypeMarkRead, `{"chat":"`+direct+`","seq":`+itoa(seqs[1])+`}`)
	a1.waitFor(wire.TypeReadMarker)
	bb.waitFor(wire.TypeReadMarker) // a direct chat has receipts
	own := a1.sendMsg(direct, "mine", "", true).Seq
	bb.waitFor(wire.TypeNewMessage)
	seqs = append(seqs, bb.sendMsg(direct, "four", "", true).Seq)

	// A device away all this time, now on the other node.
	a2 := b.dialUser(alice)
	want := wire.ChatUnread{Chat: direct, LastSeq: seqs[3], ReadSeq: seqs[1], Unread: 2} // three, four; not mine
	wantState(t, a2.unread, direct, want)
	if own >= seqs[3] {
		t.Fatalf("own message %d after bob's last %d", own, seqs[3])
	}
	// Resuming at connect: the Unread still comes first, then the replay.
	a3 := a.dial("/ws?token=" + alice.Token + "&resume=" + direct + ":" + itoa(seqs[1]))
	wantState(t, a3.unread, direct, want)
	var m wire.NewMessage
	a3.expect(wire.TypeNewMessage).decode(t, &m)
	if m.Seq != seqs[2] {
		t.Fatalf("replay began with %d, want %d", m.Seq, seqs[2])
	}

	// The HTTP listing says the same.
	var list struct {
		Chats []struct {
			ID      string `json:"id"`
			LastSeq uint64 `json:"lastSeq"`
			ReadSeq uint64 `json:"readSeq"`
			Unread  uint64 `json:"unread"`
		} `json:"chats"`
	}
	if st := b.api("GET", "/api/chats", alice.Token, nil, &list); st != http.StatusOK {
		t.Fatalf("GET /api/chats: %d", st)
	}
	found := false
	for _, c := range list.Chats {
		if c.ID == direct {
			found = true
			if c.LastSeq != want.LastSeq || c.ReadSeq != want.ReadSeq || c.Unread != want.Unread {
				t.Fatalf("GET /api/chats has %+v, want %+v", c, want)
			}
		}
	}
	if !found {
		t.Fatalf("GET /api/chats lacks the direct chat: %+v", list)
	}
}

// wantState finds chat in u and compares it with want.
func wantState(t *testing.T, u wire.Unread, chat string, want wire.ChatUnread) {
	t.Helper()
	for _, c := range u.Chats {
		if c.Chat == chat {
			if c != want {
				t.Fatalf("Unread of %s = %+v, want %+v", chat, c, want)
			}
			return
		}
	}
	t.Fatalf("Unread %+v lacks chat %s", u, chat)
}

// TestReadRoutes: POST /api/chats/{id}/read and GET /api/chats/{id}/reads,
// and their errors.
func TestReadRoutes(t *testing.T) {
	tn := startNode(t, nil)
	alice, bob, carol := tn.register("alice"), tn.register("bob"), tn.register("carol")
	chat := tn.newChat(alice, "private", "pair", bob)
	var posted struct{ Seq uint64 }
	for range 2 {
		if st := tn.api("POST", "/api/chats/"+chat+"/messages", bob.Token, map[string]string{"text": "hi"}, &posted); st != http.StatusCreated {
			t.Fatalf("post: %d", st)
		}
	}
	var out struct {
		wire.ReadMarker
		Moved bool `json:"moved"`
	}
	if st := tn.api("POST", "/api/chats/"+chat+"/read", alice.Token, map[string]uint64{"seq": posted.Seq - 1}, &out); st != http.StatusOK {
		t.Fatalf("POST read: %d", st)
	}
	if !out.Moved || out.Seq != posted.Seq-1 || out.LastSeq != posted.Seq || out.Unread != 1 || out.User != alice.ID {
		t.Fatalf("POST read = %+v", out)
	}
	if tn.api("POST", "/api/chats/"+chat+"/read", alice.Token, map[string]uint64{"seq": 1}, &out); out.Moved || out.Seq != posted.Seq-1 {
		t.Fatalf("backwards POST read = %+v, want the marker kept", out)
	}
	var reads struct {
		Chat  string            `json:"chat"`
		Reads []wire.MemberRead `json:"reads"`
	}
	if st := tn.api("GET", "/api/chats/"+chat+"/reads", bob.Token, nil, &reads); st != http.StatusOK {
		t.Fatalf("GET reads: %d", st)
	}
	got := map[string]uint64{}
	for _, r := range reads.Reads {
		got[r.User] = r.Seq
	}
	if reads.Chat != chat || len(got) != 2 || got[alice.ID] != posted.Seq-1 || got[bob.ID] != 0 {
		t.Fatalf("GET reads = %+v", reads)
	}

	wantAPIError(t, tn, "POST", "/api/chats/"+chat+"/read", alice.Token, map[string]uint64{"seq": posted.Seq + 5}, http.StatusBadRequest, wire.CodeSeqOutOfRange)
	wantAPIError(t, tn, "POST", "/api/chats/"+chat+"/read", alice.Token, map[string]uint64{}, http.StatusBadRequest, wire.CodeMissingField)
	wantAPIError(t, tn, "POST", "/api/chats/"+chat+"/read", alice.Token, `{"seq":"x"}`, http.StatusBadRequest, wire.CodeInvalidField)
	wantAPIError(t, tn, "POST", "/api/chats/"+chat+"/read", carol.Token, map[string]uint64{"seq": 1}, http.StatusForbidden, wire.CodeNotMember)
	wantAPIError(t, tn, "GET", "/api/chats/"+chat+"/reads", carol.Token, nil, http.StatusForbidden, wire.CodeNotMember)
	wantAPIError(t, tn, "GET", "/api/chats/nosuchchat/reads", alice.Token, nil, http.StatusNotFound, "not_found")
	wantAPIError(t, tn, "POST", "/api/chats/bad.id/read", alice.Token, map[string]uint64{"seq": 1}, http.StatusBadRequest, "invalid_id")
	wantAPIError(t, tn, "GET", "/api/chats/"+chat+"/reads", "", nil, http.StatusUnauthorized, "unauthorized")
	wantAPIError(t, tn, "DELETE", "/api/chats/"+chat+"/reads", alice.Token, nil, http.StatusMethodNotAllowed, "method_not_allowed")
}

// itoa formats a sequence for a frame.
func itoa(seq uint64) string { return strconv.FormatUint(seq, 10) }
