package node

import (
	"fmt"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wire"
)

// TestResume: a device goes away, 50 messages are sent, it reconnects
// with Resume and gets exactly those 50 in order, then live ones.
func TestResume(t *testing.T) { testResume(t, nil) }

// testResume is TestResume on nodes adjusted by mod.
func testResume(t *testing.T, mod func(*Config)) {
	tn := startNode(t, mod)
	alice, bob := tn.register("alice"), tn.register("bob")
	a := tn.dialUser(alice)
	chat := a.joinRoom("resume")
	b := tn.dialUser(bob)
	b.joinRoom("resume")
	a.expect(wire.TypeJoinedRoom) // alice hears bob join
	first := a.sendMsg(chat, "seen", "", true)
	var seen wire.NewMessage
	b.waitFor(wire.TypeNewMessage).decode(t, &seen)
	if seen.Seq != first.Seq {
		t.Fatalf("b saw %+v", seen)
	}
	b.Conn.Close()

	var sent []uint64
	for i := range 50 {
		sent = append(sent, a.sendMsg(chat, fmt.Sprintf("missed %d", i), "", true).Seq)
	}
	b2 := tn.dialUser(bob)
	b2.sendf(`{"channel":"chat-room","message":{"type":"Resume","contents":{"chat":%q,"afterSeq":%d}}}`, chat, seen.Seq)
	for i := range 50 {
		var m wire.NewMessage
		b2.expect(wire.TypeNewMessage).decode(t, &m)
		if m.Seq != sent[i] || m.Message != fmt.Sprintf("missed %d", i) {
			t.Fatalf("replayed message %d = %+v, want seq %d", i, m, sent[i])
		}
	}
	var r wire.Resumed
	b2.expect(wire.TypeResumed).decode(t, &r)
	if r.LastSeq != sent[49] || r.More {
		t.Fatalf("Resumed = %+v", r)
	}
	live := a.sendMsg(chat, "live", "", true)
	var m wire.NewMessage
	b2.expect(wire.TypeNewMessage).decode(t, &m)
	if m.Seq != live.Seq {
		t.Fatalf("live message %+v, want seq %d", m, live.Seq)
	}
	b2.expectNothing(300 * time.Millisecond)
}

// TestResumeDuringTraffic resumes at connect while messages keep
// flowing: the replay and the live messages join without a gap or a
// duplicate.
func TestResumeDuringTraffic(t *testing.T) { testResumeDuringTraffic(t, nil) }

// testResumeDuringTraffic is TestResumeDuringTraffic on nodes adjusted by mod.
func testResumeDuringTraffic(t *testing.T, mod func(*Config)) {
	tn := startNode(t, mod)
	alice, bob := tn.register("alice"), tn.register("bob")
	a := tn.dialUser(alice)
	chat := a.joinRoom("busy")
	b := tn.dialUser(bob)
	b.joinRoom("busy")
	a.expect(wire.TypeJoinedRoom) // alice hears bob join
	b.Conn.Close()
	for i := range 20 {
		a.sendMsg(chat, fmt.Sprintf("old %d", i), "", true)
	}
	done := make(chan error, 1)
	go func() {
		for i := range 30 {
			if err := a.write(fmt.Sprintf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"new %d"}}}`, chat, i)); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	// Resuming at connect holds live delivery until the replay is done.
	b2 := tn.dial("/ws?token=" + bob.Token + "&resume=" + chat + ":0")
	if err := <-done; err != nil {
		t.Fatalf("send: %v", err)
	}
	var last uint64
	count := 0
	for count < 50 {
		f, ok := b2.next(10 * time.Second)
		if !ok {
			t.Fatalf("got %d of 50 messages", count)
		}
		if f.Message.Type != wire.TypeNewMessage {
			continue
		}
		var m wire.NewMessage
		f.decode(t, &m)
		if m.Seq <= last {
			t.Fatalf("seq %d after %d: out of order or duplicate", m.Seq, last)
		}
		last = m.Seq
		count++
	}
	// Nothing but the replay's end marker may follow.
	for {
		f, ok := b2.next(300 * time.Millisecond)
		if !ok {
			break
		}
		if f.Message.Type == wire.TypeNewMessage {
			t.Fatalf("extra message %s", f.Raw)
		}
	}
}

// TestResumeMore: a Resume with more than ResumeLimit messages to replay
// sends ResumeLimit of them and Resumed.more; live delivery of the chat
// stays held (a message sent meanwhile does not overtake the replay) until
// the client has resumed to the end, and every message comes once, in
// order.
func TestResumeMore(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.ResumeLimit = 5 })
	alice, bob := tn.register("alice"), tn.register("bob")
	a := tn.dialUser(alice)
	chat := a.joinRoom("more")
	if st := tn.api("POST", "/api/chats/"+chat+"/join", bob.Token, nil, nil); st != 200 {
		t.Fatalf("join: %d", st)
	}
	a.expect(wire.TypeJoinedRoom)
	var want []uint64
	for i := range 12 {
		want = append(want, a.sendMsg(chat, fmt.Sprintf("m%d", i), "", true).Seq)
	}
	b := tn.dial(fmt.Sprintf("/ws?token=%s&resume=%s:0", bob.Token, chat))
	var got []uint64
	r := b.replay(t, &got)
	if len(got) != 5 || !r.More {
		t.Fatalf("first replay: %d messages, Resumed %+v; want ResumeLimit (5) and more", len(got), r)
	}
	want = append(want, a.sendMsg(chat, "live", "", true).Seq)
	b.expectNothing(300 * time.Millisecond) // held: the replay is not done
	for r.More {
		b.sendf(`{"channel":"chat-room","message":{"type":"Resume","contents":{"chat":%q,"afterSeq":%d}}}`, chat, r.LastSeq)
		r = b.replay(t, &got)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || r.LastSeq != want[len(want)-1] {
		t.Fatalf("device got seqs %v (Resumed %+v), want %v", got, r, want)
	}
	b.expectNothing(300 * time.Millisecond)
}

// replay reads one replay: NewMessage frames, appended to got, up to its
// Resumed, which it returns. Any other frame (presence aside) fails.
func (c *client) replay(t *testing.T, got *[]uint64) wire.Resumed {
	t.Helper()
	for {
		f, ok := c.next(10 * time.Second)
		switch {
		case !ok:
			t.Fatalf("replay: no Resumed after %v", *got)
		case f.Message.Type == wire.TypeNewMessage:
			var m wire.NewMessage
			f.decode(t, &m)
			*got = append(*got, m.Seq)
		case f.Message.Type == wire.TypeResumed:
			var r wire.Resumed
			f.decode(t, &r)
			return r
		case f.Channel != wire.ChannelPresence:
			t.Fatalf("replay: unexpected %s", f.Raw)
		}
	}
}
