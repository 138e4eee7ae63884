package session

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// TestSendEchoAndAck: a send is acknowledged to its device after it is
// stored; with echo off the sending device gets no copy, the sender's
// other device and the other members get one each.
func TestSendEchoAndAck(t *testing.T) {
	r := newRig(t, nil)
	alice, bob := r.user("alice"), r.user("bob")
	a1, a2 := r.dial(alice, Start{}), r.dial(alice, Start{})
	b := r.dial(bob, Start{})
	chat := a1.join("room")
	a2.expect(wire.TypeJoinedRoom)
	r.settle()
	b.join("room")
	a1.expect(wire.TypeJoinedRoom)
	a2.expect(wire.TypeJoinedRoom)

	a1.send(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"hi","clientMsgId":"c1","echo":false}}}`, chat)
	var ack wire.MessageAccepted
	a1.expect(wire.TypeMessageAccepted).decode(t, &ack)
	if ack.Seq == 0 || ack.ClientMsgID != "c1" || ack.Duplicate {
		t.Fatalf("ack = %+v", ack)
	}
	for _, c := range []*client{a2, b} {
		var m wire.NewMessage
		c.expect(wire.TypeNewMessage).decode(t, &m)
		if m.Seq != ack.Seq || m.Message != "hi" || m.User != alice.ID {
			t.Fatalf("got %+v, want seq %d", m, ack.Seq)
		}
	}
	for _, c := range []*client{a1, a2, b} {
		c.nothing(200 * time.Millisecond)
	}
}

// TestSendStoreFailure: a send the store cannot take is answered with
// unavailable (naming its clientMsgId), nothing is delivered, and a retry
// with the same clientMsgId once the store is back is stored once and
// delivered to the sending device too when it asks for its echo (the
// failed echo:false send left no suppression behind).
func TestSendStoreFailure(t *testing.T) {
	r := newRig(t, nil)
	alice, bob := r.user("alice"), r.user("bob")
	a, b := r.dial(alice, Start{}), r.dial(bob, Start{})
	chat := a.join("room")
	r.settle()
	b.join("room")
	a.expect(wire.TypeJoinedRoom)

	r.mem.Fail("PublishMessage", context.DeadlineExceeded)
	a.send(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"hi","clientMsgId":"c1","echo":false}}}`, chat)
	if ch, e := a.expectError(); ch != wire.ChannelChatRoom || e.Code != wire.CodeUnavailable || e.Ref != "c1" || e.Type != wire.TypeSendMessage {
		t.Fatalf("failed send answered %+v on %s, want unavailable for c1", e, ch)
	}
	b.nothing(200 * time.Millisecond)

	r.mem.Fail("PublishMessage", nil)
	a.send(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"hi","clientMsgId":"c1"}}}`, chat)
	got := map[string]wire.NewMessage{}
	var ack wire.MessageAccepted
	for range 2 { // the ack and the echo, in either order
		f := a.next()
		switch f.Message.Type {
		case wire.TypeMessageAccepted:
			f.decode(t, &ack)
		case wire.TypeNewMessage:
			var m wire.NewMessage
			f.decode(t, &m)
			got["a"] = m
		default:
			t.Fatalf("unexpected %s", f.Raw)
		}
	}
	var m wire.NewMessage
	b.expect(wire.TypeNewMessage).decode(t, &m)
	if ack.Duplicate || got["a"].Seq != ack.Seq || m.Seq != ack.Seq {
		t.Fatalf("retry: ack %+v, sender's copy %+v, bob's %+v", ack, got["a"], m)
	}
	page, err := r.mem.Messages(context.Background(), chat, storePage())
	if err != nil || len(page) != 1 {
		t.Fatalf("stored %d messages (%v), want 1", len(page), err)
	}
}

// TestResumeStoreFailure: a Resume whose replay cannot be read is
// answered with an Error, and live delivery of the chat to the device is
// not left held.
func TestResumeStoreFailure(t *testing.T) {
	r := newRig(t, nil)
	alice, bob := r.user("alice"), r.user("bob")
	a, b := r.dial(alice, Start{}), r.dial(bob, Start{})
	chat := a.join("room")
	r.settle()
	b.join("room")
	a.expect(wire.TypeJoinedRoom)

	r.mem.Fail("Messages", errors.New("disk on fire"))
	b.send(`{"channel":"chat-room","ref":"r1","message":{"type":"Resume","contents":{"chat":%q,"afterSeq":0}}}`, chat)
	if _, e := b.expectError(); e.Code != wire.CodeInternal || e.Ref != "r1" || e.Type != wire.TypeResume {
		t.Fatalf("failed resume answered %+v", e)
	}
	r.mem.Fail("Messages", nil)
	a.send(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"live","echo":false}}}`, chat)
	a.expect(wire.TypeMessageAccepted)
	var m wire.NewMessage
	b.expect(wire.TypeNewMessage).decode(t, &m)
	if m.Message != "live" {
		t.Fatalf("after a failed resume got %+v", m)
	}
}

// TestChatsUnreadableAtConnect: a device whose user's chats cannot be
// loaded is closed with 1013 (try again) rather than left without its
// chats; once the store answers, the user connects.
func TestChatsUnreadableAtConnect(t *testing.T) {
	r := newRig(t, nil)
	alice := r.user("alice")
	r.mem.Fail("UserChats", errors.New("store down"))
	a := r.dialWelcome(alice, Start{})
	if code := a.closeCode(); code != 1013 {
		t.Fatalf("close code %d, want 1013", code)
	}
	r.mem.Fail("UserChats", nil)
	deadline := time.Now().Add(5 * time.Second)
	for r.hub.User(alice.ID) != nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // the failed device's cleanup
	}
	a2 := r.dial(alice, Start{})
	a2.join("room")
}

// storePage reads a whole short chat from its first message.
func storePage() store.Page { return store.Page{Forward: true, Limit: store.MaxPageLimit} }

// TestKnownChatNeedsNoStoreRead: once a node knows a chat, a send to it
// and a join of its room by name need no read of the chat from the
// store: they work while the store cannot read chats at all.
func TestKnownChatNeedsNoStoreRead(t *testing.T) {
	r := newRig(t, nil)
	alice, bob := r.user("alice"), r.user("bob")
	a := r.dial(alice, Start{})
	chat := a.join("room")
	r.mem.Fail("Chat", errors.New("chats unreadable"))
	r.mem.Fail("PublicRoom", errors.New("rooms unreadable"))
	r.mem.Fail("EnsurePublicRoom", errors.New("rooms unwritable"))
	a.send(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"hi","echo":false}}}`, chat)
	a.expect(wire.TypeMessageAccepted)
	r.settle()
	b := r.dial(bob, Start{})
	if got := b.join("room"); got != chat {
		t.Fatalf("bob joined %s, want %s", got, chat)
	}
}

// TestJoinAnsweredBeforeNextFrames: a client that sends JoinRoom and,
// without waiting, another frame gets MemberList and its JoinedRoom
// before the second answer, and its JoinedRoom once; the user's other
// device hears of the join once too. The same for LeaveRoom followed at
// once by a JoinRoom of the same room: LeftRoom, then the join's answers.
func TestJoinAnsweredBeforeNextFrames(t *testing.T) {
	r := newRig(t, nil)
	alice := r.user("alice")
	a1, a2 := r.dial(alice, Start{}), r.dial(alice, Start{})
	for i, room := range []string{"first", "second", "third"} {
		a1.send(`{"channel":"chat-room","message":{"type":"JoinRoom","contents":{"room":%q}}}`, room)
		a1.send(`{"channel":"chat-room","ref":"m%d","message":{"type":"GetMembers","contents":{"room":%q}}}`, i, room)
		var l wire.MemberList
		a1.expect(wire.TypeMemberList).decode(t, &l)
		var j wire.MemberEvent
		a1.expect(wire.TypeJoinedRoom).decode(t, &j)
		if j.Chat != l.Chat || j.User != alice.ID {
			t.Fatalf("join of %s: JoinedRoom %+v after the list of %s", room, j, l.Chat)
		}
		var again wire.MemberList
		a1.expect(wire.TypeMemberList).decode(t, &again)
		if again.Chat != l.Chat || len(again.Users) != 1 {
			t.Fatalf("GetMembers of %s answered %+v", room, again)
		}
		var other wire.MemberEvent
		a2.expect(wire.TypeJoinedRoom).decode(t, &other)
		if other.Chat != l.Chat {
			t.Fatalf("the other device heard %+v, want the join of %s", other, l.Chat)
		}
	}
	a1.send(`{"channel":"chat-room","message":{"type":"LeaveRoom","contents":{"room":"first"}}}`)
	a1.send(`{"channel":"chat-room","message":{"type":"JoinRoom","contents":{"room":"first"}}}`)
	for _, typ := range []string{wire.TypeLeftRoom, wire.TypeMemberList, wire.TypeJoinedRoom} {
		a1.expect(typ)
	}
	for _, typ := range []string{wire.TypeLeftRoom, wire.TypeJoinedRoom} {
		a2.expect(typ)
	}
	a1.nothing(200 * time.Millisecond)
	a2.nothing(200 * time.Millisecond)
}
