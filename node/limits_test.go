package node

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/natterchat/natter/node/wire"
)

// rawClient is a WebSocket the test reads by hand, frame by frame, and
// only when it chooses to: no pongs, no reader goroutine.
type rawClient struct {
	conn net.Conn
	r    io.Reader
}

// dialRaw connects without reading anything.
func (tn *testNode) dialRaw(path string) *rawClient {
	tn.t.Helper()
	conn, br, _, err := ws.Dialer{Timeout: 5 * time.Second}.Dial(context.Background(), "ws://"+tn.addr+path)
	if err != nil {
		tn.t.Fatalf("dial %s: %v", path, err)
	}
	tn.t.Cleanup(func() { conn.Close() })
	rc := &rawClient{conn: conn, r: conn}
	if br != nil {
		rc.r = io.MultiReader(br, conn)
	}
	return rc
}

// readToClose reads every frame until the server's close frame and
// returns its code (0 if the connection ended without one), the opcodes
// seen, and the last NewMessage sequence.
func (rc *rawClient) readToClose(t testing.TB, d time.Duration) (code int, ops []ws.OpCode, lastSeq uint64) {
	t.Helper()
	_ = rc.conn.SetReadDeadline(time.Now().Add(d))
	for {
		hdr, err := ws.ReadHeader(rc.r)
		if err != nil {
			return 0, ops, lastSeq
		}
		payload := make([]byte, hdr.Length)
		if _, err := io.ReadFull(rc.r, payload); err != nil {
			return 0, ops, lastSeq
		}
		ops = append(ops, hdr.OpCode)
		switch hdr.OpCode {
		case ws.OpClose:
			// Answer as a real client does (RFC 6455 §5.5.1), so the
			// server ends the connection now rather than at its timeout.
			_ = ws.WriteFrame(rc.conn, ws.MaskFrame(ws.NewCloseFrame(payload)))
			if len(payload) < 2 {
				return 0, ops, lastSeq
			}
			return int(binary.BigEndian.Uint16(payload)), ops, lastSeq
		case ws.OpText:
			var f frame
			var m wire.NewMessage
			if json.Unmarshal(payload, &f) == nil && f.Message.Type == wire.TypeNewMessage && json.Unmarshal(f.Message.Contents, &m) == nil {
				lastSeq = m.Seq
			}
		}
	}
}

// TestSlowConsumerClosedWith4001: a chat client that stops reading while
// its room is busy is closed with 4001 once its queue passes the limit;
// the close frame follows what was queued; the node counts it; the
// sender is not held up; and the client, reconnecting with resume, gets
// every message it missed: a replay many times the size of the queue,
// which the node paces to the client's reading instead of closing it
// again.
func TestSlowConsumerClosedWith4001(t *testing.T) {
	tn := startNode(t, func(c *Config) {
		c.MaxMessageLen = 60000
		c.Conn.MaxOutboundBytes = 64 << 10
		c.Conn.CloseTimeout = 30 * time.Second // the client reads only once the flood is over
	})
	alice, bob := tn.register("alice"), tn.register("bob")
	a := tn.dialUser(alice)
	chat := a.joinRoom("firehose")
	if st := tn.api("POST", "/api/chats/"+chat+"/join", bob.Token, nil, nil); st != http.StatusOK {
		t.Fatalf("join: %d", st)
	}
	a.expect(wire.TypeJoinedRoom)
	slow := tn.dialRaw("/ws?token=" + bob.Token)
	checkFor(t, 5*time.Second, func() error {
		if u := tn.hub.User(bob.ID); u == nil || !u.IsMember(chat) {
			return fmt.Errorf("bob's device is not set up yet")
		}
		return nil
	})

	// 300 × 60 KB: past 64 KiB and whatever loopback's socket buffers
	// take (they grow to several MB).
	const n = 300
	text := strings.Repeat("x", 60000)
	var last uint64
	for batch := range n / 100 { // a device may have 256 frames waiting
		for i := range 100 {
			a.sendf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":%q,"clientMsgId":"f%d-%d","echo":false}}}`, chat, text, batch, i)
		}
		for range 100 {
			var m wire.MessageAccepted
			a.expect(wire.TypeMessageAccepted).decode(t, &m)
			last = max(last, m.Seq)
		}
	}
	checkFor(t, 10*time.Second, func() error {
		if got := tn.hub.Metrics().MessagesFannedOut.Load(); got < n {
			return fmt.Errorf("%d of %d messages fanned out", got, n)
		}
		return nil
	})
	code, _, seen := slow.readToClose(t, 20*time.Second)
	if code != 4001 {
		t.Fatalf("slow client's close code = %d, want 4001", code)
	}
	checkFor(t, 5*time.Second, func() error {
		for sample, want := range map[string]float64{
			"natter_slow_consumer_closes_total":           1,
			`natter_closes_total{reason="slow_consumer"}`: 1,
		} {
			if got := tn.scrape(sample); got != want {
				return fmt.Errorf("%s = %v, want %v", sample, got, want)
			}
		}
		return nil
	})
	if seen >= last {
		t.Fatalf("the slow client read up to seq %d of %d: it was not slow", seen, last)
	}
	// Nothing is lost: a resume from what it read brings the rest.
	b := tn.dial(fmt.Sprintf("/ws?token=%s&resume=%s:%d", bob.Token, chat, seen))
	for {
		var m wire.NewMessage
		b.expect(wire.TypeNewMessage).decode(t, &m)
		if m.Seq <= seen {
			t.Fatalf("replayed seq %d after %d", m.Seq, seen)
		}
		if seen = m.Seq; seen == last {
			break
		}
	}
}

// TestIdleTimeoutClose4000: a connection that never answers the
// server's pings is closed with a close frame of code 4000 after the
// idle timeout, and the node counts it.
func TestIdleTimeoutClose4000(t *testing.T) {
	tn := startNode(t, func(c *Config) {
		c.AllowGuests = true
		c.Conn.PingInterval = 100 * time.Millisecond
		c.Conn.IdleTimeout = 400 * time.Millisecond
	})
	rc := tn.dialRaw("/ws")
	code, ops, _ := rc.readToClose(t, 10*time.Second)
	if code != 4000 {
		t.Fatalf("close code = %d (frames %v), want 4000", code, ops)
	}
	pinged := false
	for _, op := range ops {
		pinged = pinged || op == ws.OpPing
	}
	if !pinged {
		t.Fatalf("closed without a ping first: frames %v", ops)
	}
	checkFor(t, 5*time.Second, func() error {
		if got := tn.scrape(`natter_closes_total{reason="idle_timeout"}`); got != 1 {
			return fmt.Errorf("idle_timeout closes = %v, want 1", got)
		}
		return nil
	})
}

// TestTooManyRooms: a user in MaxRoomsPerUser chats cannot join another,
// over the WebSocket or the API, nor can a guest; the error is
// too_many_rooms (403 over HTTP) and nothing changes.
func TestTooManyRooms(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.MaxRoomsPerUser = 2; c.AllowGuests = true })
	alice := tn.register("alice")
	a := tn.dialUser(alice)
	a.joinRoom("one")
	a.joinRoom("two")
	a.send(`{"channel":"chat-room","ref":"r3","message":{"type":"JoinRoom","contents":{"room":"three"}}}`)
	if e := a.expectError(); e.Code != wire.CodeTooManyRooms || e.Ref != "r3" {
		t.Fatalf("third join: %+v, want too_many_rooms for r3", e)
	}
	var c struct{ ID string }
	bob := tn.register("bob")
	tn.api("POST", "/api/chats", bob.Token, map[string]string{"name": "four", "kind": "public"}, &c)
	wantAPIError(t, tn, "POST", "/api/chats/"+c.ID+"/join", alice.Token, nil, http.StatusForbidden, wire.CodeTooManyRooms)
	var mine struct{ Chats []struct{ Name string } }
	tn.api("GET", "/api/chats", alice.Token, nil, &mine)
	if len(mine.Chats) != 2 {
		t.Fatalf("alice is in %+v, want her two rooms only", mine.Chats)
	}
	g := tn.dial("/ws")
	g.joinRoom("one")
	g.joinRoom("two")
	g.send(`{"channel":"chat-room","message":{"type":"JoinRoom","contents":{"room":"three"}}}`)
	if e := g.expectError(); e.Code != wire.CodeTooManyRooms {
		t.Fatalf("a guest's third join: %+v, want too_many_rooms", e)
	}
}

// TestDeviceCapPerUser: a user's devices on one node are capped; one past
// the cap gets its Welcome and is closed with 1008, and the others keep
// working.
func TestDeviceCapPerUser(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.MaxDevicesPerUser = 2 })
	alice := tn.register("alice")
	d1, d2 := tn.dialUser(alice), tn.dialUser(alice)
	// Devices register after their Welcome, each on its own: the join's
	// answer and notice show both are in before a third one comes, which
	// would otherwise be able to take the place of the second.
	chat := d1.joinRoom("capped")
	d2.expect(wire.TypeJoinedRoom)
	third := tn.dialUser(alice)
	if code := third.closeCode(); code != 1008 {
		t.Fatalf("third device closed with %d, want 1008", code)
	}
	d1.sendMsg(chat, "still here", "", true)
	var m wire.NewMessage
	d2.expect(wire.TypeNewMessage).decode(t, &m)
	if m.Message != "still here" {
		t.Fatalf("second device got %+v", m)
	}
	// A device that left frees its place.
	d2.Conn.Close()
	checkFor(t, 5*time.Second, func() error {
		if got := tn.conns.Len(); got != 1 {
			return fmt.Errorf("%d connections", got)
		}
		return nil
	})
	tn.dialUser(alice).expectNothing(200 * time.Millisecond)
}
