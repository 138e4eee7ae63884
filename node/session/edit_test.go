package session

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/natterchat/natter/internal/testwait"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// post sends text to chat with clientMsgId ref and returns the message
// as a member other than the sender receives it.
func (c *client) post(other *client, chat, text, ref string) wire.NewMessage {
	c.t.Helper()
	c.send(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":%q,"clientMsgId":%q,"echo":false}}}`, chat, text, ref)
	c.expect(wire.TypeMessageAccepted)
	var m wire.NewMessage
	other.expect(wire.TypeNewMessage).decode(c.t, &m)
	return m
}

// historyBefore reads the history page of chat that ends just before
// seq, as a device scrolling back does; live frames on the way are
// skipped.
func (c *client) historyBefore(chat string, seq uint64) wire.HistoryPage {
	c.t.Helper()
	c.send(`{"channel":"chat-room","message":{"type":"History","contents":{"chat":%q,"before":%d}}}`, chat, seq)
	f, err := c.Find(wire.TypeHistoryPage, false, 10*time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	var p wire.HistoryPage
	frame{f}.decode(c.t, &p)
	return p
}

// deletedIn reports whether page shows message seq as a tombstone, and
// fails t if it does not show it at all.
func deletedIn(t testing.TB, p wire.HistoryPage, seq uint64) bool {
	t.Helper()
	for _, m := range p.Messages {
		if m.Seq == seq {
			return m.Deleted && m.Message == ""
		}
	}
	t.Fatalf("history page %+v lacks message %d", p.Messages, seq)
	return false
}

// TestDeletionRecordedBeforeAnnounced: a member who hears MessageDeleted
// and then reads the history that holds the message finds a tombstone,
// whatever failed on the way. A page that ends before the deletion's
// entry shows what the message's stored state says, so the state must
// say deleted before the entry is stored: storing it is what announces
// it. The store's failure switches stand in for a node that fails
// between the steps; chat order makes "not announced" observable (a
// later message arrives first).
func TestDeletionRecordedBeforeAnnounced(t *testing.T) {
	r := newRig(t, nil)
	alice, bob := r.user("alice"), r.user("bob")
	a, b := r.dial(alice, Start{}), r.dial(bob, Start{})
	chat := a.join("room")
	r.settle()
	b.join("room")
	a.expect(wire.TypeJoinedRoom)
	m := a.post(b, chat, "secret", "m1")

	// Recording the deletion fails: it is not announced, and a retry
	// does it all.
	r.mem.Fail("UpdateMessageState", context.DeadlineExceeded)
	a.send(`{"channel":"chat-room","message":{"type":"DeleteMessage","contents":{"chat":%q,"seq":%d,"clientMsgId":"d1"}}}`, chat, m.Seq)
	if _, e := a.expectError(); e.Code != wire.CodeUnavailable || e.Ref != "d1" {
		t.Fatalf("delete while the state cannot be written: %+v, want unavailable for d1", e)
	}
	r.mem.Fail("UpdateMessageState", nil)
	a.send(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"after","clientMsgId":"m2","echo":false}}}`, chat)
	a.expect(wire.TypeMessageAccepted)
	for {
		f := b.next()
		if f.Message.Type == wire.TypeMessageDeleted {
			if !deletedIn(t, b.historyBefore(chat, m.Seq+1), m.Seq) {
				t.Fatalf("bob heard MessageDeleted of %d, yet the history shows the message", m.Seq)
			}
			t.Fatal("the failed deletion was announced")
		}
		if f.Message.Type == wire.TypeNewMessage {
			break // "after": nothing of the deletion came before it
		}
	}
	a.send(`{"channel":"chat-room","message":{"type":"DeleteMessage","contents":{"chat":%q,"seq":%d,"clientMsgId":"d1"}}}`, chat, m.Seq)
	a.expect(wire.TypeMessageDeleted)
	b.expect(wire.TypeMessageDeleted)
	if !deletedIn(t, b.historyBefore(chat, m.Seq+1), m.Seq) {
		t.Fatalf("bob heard MessageDeleted of %d, yet the history shows the message", m.Seq)
	}

	// Storing (announcing) the deletion fails after it was recorded: the
	// history says deleted, and the next DeleteMessage announces it and
	// erases the text rather than answer that it is done.
	m3 := a.post(b, chat, "another secret", "m3")
	r.mem.Fail("PublishMessage", context.DeadlineExceeded)
	a.send(`{"channel":"chat-room","message":{"type":"DeleteMessage","contents":{"chat":%q,"seq":%d,"clientMsgId":"d3"}}}`, chat, m3.Seq)
	if _, e := a.expectError(); e.Code != wire.CodeUnavailable || e.Ref != "d3" {
		t.Fatalf("delete while the stream cannot be written: %+v, want unavailable for d3", e)
	}
	r.mem.Fail("PublishMessage", nil)
	if !deletedIn(t, a.historyBefore(chat, m3.Seq+1), m3.Seq) {
		t.Fatalf("history shows message %d, whose deletion was recorded", m3.Seq)
	}
	a.send(`{"channel":"chat-room","message":{"type":"DeleteMessage","contents":{"chat":%q,"seq":%d,"clientMsgId":"d3"}}}`, chat, m3.Seq)
	var del wire.MessageDeleted
	a.expect(wire.TypeMessageDeleted).decode(t, &del)
	b.expect(wire.TypeMessageDeleted)
	if del.Seq != m3.Seq || del.User != alice.ID {
		t.Fatalf("MessageDeleted %+v, want message %d by alice", del, m3.Seq)
	}
	// The text is erased after the entry that announces the deletion is
	// stored, so the frame can arrive first.
	testwait.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		if _, err := r.mem.Message(context.Background(), chat, m3.Seq); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("message %d not erased: %v", m3.Seq, err)
		}
		return nil
	})
	// Done now: one more is refused as before.
	a.send(`{"channel":"chat-room","message":{"type":"DeleteMessage","contents":{"chat":%q,"seq":%d}}}`, chat, m3.Seq)
	if _, e := a.expectError(); e.Code != wire.CodeMessageDeleted {
		t.Fatalf("deleting a deleted message: %+v, want message_deleted", e)
	}
}
