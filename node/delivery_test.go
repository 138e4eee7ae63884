package node

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wire"
)

// joinRoom joins a public room from c and returns the chat id, reading
// the joiner's MemberList and JoinedRoom.
func (c *client) joinRoom(room string) string {
	c.t.Helper()
	c.tn.settle()
	c.sendf(`{"channel":"chat-room","message":{"type":"JoinRoom","contents":{"room":%q}}}`, room)
	var ml wire.MemberList
	c.expect(wire.TypeMemberList).decode(c.t, &ml)
	c.expect(wire.TypeJoinedRoom)
	return ml.Chat
}

// sendMsg sends a message to chat and returns its ack. With echo, the
// sending device's own NewMessage (kept in c.own) comes before or after
// the ack, and exactly once; a duplicate send is not delivered again.
// Anything else on the way but presence fails the test.
func (c *client) sendMsg(chat, text, clientMsgID string, echo bool) wire.MessageAccepted {
	c.t.Helper()
	c.sendf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":%q,"clientMsgId":%q,"echo":%v}}}`, chat, text, clientMsgID, echo)
	var a wire.MessageAccepted
	var own []wire.NewMessage
	for a.Seq == 0 {
		f, ok := c.next(10 * time.Second)
		switch {
		case !ok:
			c.t.Fatalf("no MessageAccepted for %q", text)
		case f.Message.Type == wire.TypeMessageAccepted:
			f.decode(c.t, &a)
		case f.Message.Type == wire.TypeNewMessage:
			var m wire.NewMessage
			f.decode(c.t, &m)
			own = append(own, m)
		case f.Channel != wire.ChannelPresence:
			c.t.Fatalf("got %s while waiting for the ack of %q", f.Raw, text)
		}
	}
	if echo && !a.Duplicate && len(own) == 0 {
		var m wire.NewMessage
		c.expect(wire.TypeNewMessage).decode(c.t, &m)
		own = append(own, m)
	}
	want := 0
	if echo && !a.Duplicate {
		want = 1
	}
	if len(own) != want || (want == 1 && (own[0].Seq != a.Seq || own[0].ID != a.ID || own[0].Message != text)) {
		c.t.Fatalf("the sender got %+v with ack %+v, want %d copy of it", own, a, want)
	}
	if want == 1 {
		c.own = own[0]
	}
	return a
}

// TestFanoutDevices: two users with two devices each in a room; a message
// reaches all four devices exactly once with the same seq; with echo
// false the sending device alone does not get it; a non-member gets
// nothing.
func TestFanoutDevices(t *testing.T) { testFanoutDevices(t, nil) }

// testFanoutDevices is TestFanoutDevices on nodes adjusted by mod.
func testFanoutDevices(t *testing.T, mod func(*Config)) {
	tn := startNode(t, mod)
	alice, bob, carol := tn.register("alice"), tn.register("bob"), tn.register("carol")
	a1, a2 := tn.dialUser(alice), tn.dialUser(alice)
	b1, b2 := tn.dialUser(bob), tn.dialUser(bob)
	c1 := tn.dialUser(carol)

	chat := a1.joinRoom("#general")
	a2.expect(wire.TypeJoinedRoom) // the user's other device hears its join
	b1.joinRoom("#general")
	b2.expect(wire.TypeJoinedRoom)
	a1.expect(wire.TypeJoinedRoom)
	a2.expect(wire.TypeJoinedRoom)

	ack := a1.sendMsg(chat, "hello all", "m1", true)
	if ack.Seq == 0 || ack.ClientMsgID != "m1" || ack.Duplicate {
		t.Fatalf("ack = %+v", ack)
	}
	for i, c := range []*client{a1, a2, b1, b2} {
		// a1's own copy came around its ack; sendMsg kept it.
		m := a1.own
		if i > 0 {
			c.expect(wire.TypeNewMessage).decode(t, &m)
		}
		if m.Seq != ack.Seq || m.Message != "hello all" || m.User != alice.ID || m.Chat != chat || m.Device != a1.welcome.Device {
			t.Fatalf("device %d got %+v, want seq %d", i, m, ack.Seq)
		}
	}

	// echo:false: the sending device does not get it, its sibling does.
	ack2 := a1.sendMsg(chat, "quiet", "m2", false)
	for _, c := range []*client{a2, b1, b2} {
		var m wire.NewMessage
		c.expect(wire.TypeNewMessage).decode(t, &m)
		if m.Seq != ack2.Seq || m.Message != "quiet" {
			t.Fatalf("got %+v, want seq %d", m, ack2.Seq)
		}
	}
	// Nothing more anywhere: exactly once, and nothing for the non-member.
	for _, c := range []*client{a2, b1, b2, c1} {
		c.expectNothing(300 * time.Millisecond)
	}
	// a1 saw the first message (around its ack) but not the quiet one.
	a1.expectNothing(300 * time.Millisecond)

	// The non-member cannot send either.
	c1.sendf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"x"}}}`, chat)
	if e := c1.expectError(); e.Code != wire.CodeNotMember {
		t.Fatalf("non-member send: %+v", e)
	}
}

// TestSenderGetsOwnMessageOnce checks the sending device's own copy with
// echo on: exactly one NewMessage and one ack.
func TestSenderGetsOwnMessageOnce(t *testing.T) {
	tn := startNode(t, nil)
	alice := tn.register("alice")
	a := tn.dialUser(alice)
	chat := a.joinRoom("solo")
	a.sendf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"me"}}}`, chat)
	got := a.collect(wire.TypeMessageAccepted, wire.TypeNewMessage)
	var ack wire.MessageAccepted
	var m wire.NewMessage
	got[wire.TypeMessageAccepted].decode(t, &ack)
	got[wire.TypeNewMessage].decode(t, &m)
	if ack.Seq != m.Seq || m.ID != ack.ID {
		t.Fatalf("ack %+v vs message %+v", ack, m)
	}
	a.expectNothing(300 * time.Millisecond)
}

// TestRestartKeepsState restarts a node on its data dir: users, chats,
// memberships and history survive, and a member's device receives the
// room after reconnecting without re-joining.
func TestRestartKeepsState(t *testing.T) {
	dir := t.TempDir()
	tn := startNodeDir(t, dir, nil)
	alice, bob := tn.register("alice"), tn.register("bob")
	a := tn.dialUser(alice)
	chat := a.joinRoom("durable")
	b := tn.dialUser(bob)
	b.joinRoom("durable")
	a.expect(wire.TypeJoinedRoom) // alice hears bob join
	for i := range 5 {
		a.sendMsg(chat, fmt.Sprintf("before restart %d", i), "", true)
	}
	tn.stop()

	tn2 := startNodeDir(t, dir, nil)
	// The old tokens still verify (same secret); the names still log in.
	var login struct{ User, Token string }
	if st := tn2.api("POST", "/api/sessions", "", map[string]string{"name": "alice", "password": "password-alice"}, &login); st != http.StatusOK || login.User != alice.ID {
		t.Fatalf("login after restart: %d %+v", st, login)
	}
	var hist struct{ Messages []apiMessage }
	if st := tn2.api("GET", "/api/chats/"+chat+"/messages", bob.Token, nil, &hist); st != http.StatusOK || len(hist.Messages) != 5 {
		t.Fatalf("history after restart: %d %+v", st, hist)
	}
	for i, m := range hist.Messages {
		if m.Message != fmt.Sprintf("before restart %d", i) {
			t.Fatalf("message %d = %+v", i, m)
		}
	}
	b2 := tn2.dialUser(bob)
	a2 := tn2.dialUser(alice)
	ack := a2.sendMsg(chat, "after restart", "", true)
	var m wire.NewMessage
	b2.waitFor(wire.TypeNewMessage).decode(t, &m)
	if m.Seq != ack.Seq || m.Message != "after restart" || m.Seq <= hist.Messages[4].Seq {
		t.Fatalf("after restart got %+v (ack %+v)", m, ack)
	}
}

// TestClientMsgIDIdempotent: the same clientMsgId twice, also across a
// reconnect, stores one message and both acks carry the same seq.
func TestClientMsgIDIdempotent(t *testing.T) { testClientMsgIDIdempotent(t, nil) }

// testClientMsgIDIdempotent is TestClientMsgIDIdempotent on nodes adjusted by mod.
func testClientMsgIDIdempotent(t *testing.T, mod func(*Config)) {
	tn := startNode(t, mod)
	alice := tn.register("alice")
	a := tn.dialUser(alice)
	chat := a.joinRoom("dedup")
	first := a.sendMsg(chat, "once", "same-id", false)
	second := a.sendMsg(chat, "once", "same-id", false)
	if second.Seq != first.Seq || !second.Duplicate || first.Duplicate || second.ID != first.ID {
		t.Fatalf("acks %+v then %+v", first, second)
	}
	a.Conn.Close()
	a2 := tn.dialUser(alice)
	third := a2.sendMsg(chat, "once", "same-id", true)
	if third.Seq != first.Seq || !third.Duplicate {
		t.Fatalf("after reconnect ack %+v, want seq %d", third, first.Seq)
	}
	var hist struct{ Messages []apiMessage }
	tn.api("GET", "/api/chats/"+chat+"/messages", alice.Token, nil, &hist)
	if len(hist.Messages) != 1 {
		t.Fatalf("history holds %d messages, want 1", len(hist.Messages))
	}
	// Another user's identical clientMsgId is a different message.
	bob := tn.register("bob")
	b := tn.dialUser(bob)
	b.joinRoom("dedup")
	other := b.sendMsg(chat, "mine", "same-id", false)
	if other.Seq == first.Seq || other.Duplicate {
		t.Fatalf("bob's message collided with alice's: %+v", other)
	}
}

// TestNothingLostAroundConnect: a device connecting while its room is
// busy gets, gap-free and in order, every message stored after its
// Welcome — including those stored while the node was still setting the
// device up (subscribing to its chats).
func TestNothingLostAroundConnect(t *testing.T) { testNothingLostAroundConnect(t, nil) }

// testNothingLostAroundConnect is TestNothingLostAroundConnect on nodes adjusted by mod.
func testNothingLostAroundConnect(t *testing.T, mod func(*Config)) {
	tn := startNode(t, mod)
	alice, bob := tn.register("alice"), tn.register("bob")
	a := tn.dialUser(alice)
	chat := a.joinRoom("busy-connect")
	tn.api("POST", "/api/chats/"+chat+"/join", bob.Token, nil, nil)
	// Many chats make the node's setup of bob's device (subscribing to
	// each) take a while: the window the catch-up has to cover.
	for i := range 60 {
		var c struct{ ID string }
		tn.api("POST", "/api/chats", bob.Token, map[string]string{"name": fmt.Sprintf("quiet-%d", i), "kind": "private"}, &c)
	}

	// Four of alice's devices keep the room busy from before bob's device
	// connects until 100 more messages after (at most 2,000 each).
	acks := make(chan ack, 8000)
	errs := make(chan error, 4)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for k := range 4 {
		dev := a
		if k > 0 {
			dev = tn.dialUser(alice)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := dev.sendAcked(chat, k, 2000, acks, stop); err != nil {
				errs <- err
			}
		}()
	}
	go func() { wg.Wait(); close(acks); close(errs) }()
	time.Sleep(50 * time.Millisecond) // let the room get busy
	b := tn.dialUser(bob)
	// A message sent after the client read its Welcome was stored after
	// the position the node took before sending it.
	welcomed := time.Now()
	after := 0
	var mustHave []uint64
	for k := range acks {
		if k.at.After(welcomed) {
			mustHave = append(mustHave, k.seq)
			if after++; after == 100 {
				close(stop)
			}
		}
	}
	for err := range errs {
		t.Fatal(err)
	}
	if len(mustHave) == 0 {
		t.Fatal("every message was sent before the device connected; the test needs a busier room")
	}
	last := slices.Max(mustHave) // four senders: acks arrive out of seq order
	var got []uint64
	deadline := time.Now().Add(10 * time.Second)
	for len(got) == 0 || got[len(got)-1] < last {
		f, ok := b.next(time.Until(deadline))
		if !ok {
			t.Fatalf("device got %d messages, the last sent is %d", len(got), last)
		}
		if f.Message.Type != wire.TypeNewMessage {
			continue
		}
		var m wire.NewMessage
		f.decode(t, &m)
		if len(got) > 0 && m.Seq <= got[len(got)-1] {
			t.Fatalf("seq %d after %d", m.Seq, got[len(got)-1])
		}
		got = append(got, m.Seq)
	}
	for _, s := range mustHave {
		if !slices.Contains(got, s) {
			t.Fatalf("seq %d, sent after the device's Welcome, never reached it (got %d messages from %d)", s, len(got), got[0])
		}
	}
	t.Logf("%d messages sent after the Welcome, all delivered; the device's first was seq %d", len(mustHave), got[0])
}

// ack is a send's sequence and when it was sent.
type ack struct {
	seq uint64
	at  time.Time
}

// sendAcked sends up to n messages tagged k to chat (echo off), each
// after the previous one's ack, until stop is closed, and passes every ack
// on. It runs on a goroutine of its own, so it returns what went wrong
// instead of failing the test.
func (c *client) sendAcked(chat string, k, n int, acks chan<- ack, stop <-chan struct{}) error {
	for i := range n {
		select {
		case <-stop:
			return nil
		default:
		}
		sent := time.Now()
		if err := c.write(fmt.Sprintf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"m%d-%d","clientMsgId":"c%d-%d","echo":false}}}`, chat, k, i, k, i)); err != nil {
			return err
		}
		// The user's other devices' messages arrive meanwhile: not strict.
		f, err := c.find(wire.TypeMessageAccepted, false, 10*time.Second)
		if err != nil {
			return fmt.Errorf("device %d, message %d: %w", k, i, err)
		}
		var m wire.MessageAccepted
		if err := json.Unmarshal(f.Message.Contents, &m); err != nil {
			return fmt.Errorf("decode %s: %w", f.Raw, err)
		}
		acks <- ack{m.Seq, sent}
	}
	return nil
}
