package session

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/natterchat/natter/internal/testwait"
	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/wire"
)

// BenchmarkSendMessage is the send path of one device in a room of two
// on the in-memory store: the SendMessage frame over a real socket, the
// runner, the chat operation, the store, the live copy over core NATS, the
// fan-out to both devices, and the sender's MessageAccepted. The store's
// cost is JetStream's to measure (docs/benchmarks.md); this guards the
// node's own share, allocations included.
func BenchmarkSendMessage(b *testing.B) {
	r := newRig(b, nil)
	alice, bob := r.user("alice"), r.user("bob")
	a, o := r.dial(alice, Start{}), r.dial(bob, Start{})
	chat := a.join("room")
	r.settle()
	o.join("room")
	a.expect(wire.TypeJoinedRoom)
	frame := []byte(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":"` + chat + `","message":"hello, send path","echo":false}}}`)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := a.Write(frame); err != nil {
			b.Fatal(err)
		}
		if _, err := a.Find(wire.TypeMessageAccepted, true, 10*time.Second); err != nil {
			b.Fatal(err)
		}
		if _, err := o.Find(wire.TypeNewMessage, true, 10*time.Second); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJoinRoom is a guest's join of a room of 50 other guests and
// its leave, over real sockets: the JoinRoom frame, the member list built
// and encoded for the joiner, the membership events, the JoinedRoom and
// LeftRoom notices to every member and the joiner's own. It guards the
// join path's allocations, which a storm of joins pays per join
// (docs/benchmarks.md, "One core"). The members' clients discard what
// they read, so that the count is the node's (and the joiner's client).
func BenchmarkJoinRoom(b *testing.B) {
	r := newRig(b, nil)
	const others = 50
	join := []byte(`{"channel":"chat-room","message":{"type":"JoinRoom","contents":{"room":"lobby"}}}`)
	leave := []byte(`{"channel":"chat-room","message":{"type":"LeaveRoom","contents":{"room":"lobby"}}}`)
	for i := range others {
		r.who <- chat.Identity{ID: fmt.Sprintf("g-member-%d", i), Name: fmt.Sprintf("member %d", i), Guest: true}
		r.start <- Start{}
		conn, _, _, err := ws.Dialer{Timeout: 5 * time.Second}.Dial(context.Background(), "ws://"+r.ln.Addr().String()+"/")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close() })
		if err := wsutil.WriteClientText(conn, join); err != nil {
			b.Fatal(err)
		}
		go func() { _, _ = io.Copy(io.Discard, conn) }()
	}
	j := r.dial(chat.Identity{ID: "g-joiner", Name: "joiner", Guest: true}, Start{})
	step := func(out []byte, types ...string) (f frame) {
		if err := j.Write(out); err != nil {
			b.Fatal(err)
		}
		for _, typ := range types {
			got, err := j.Find(typ, false, 10*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			if typ == wire.TypeMemberList {
				f = frame{got}
			}
		}
		return f
	}
	testwait.For(b, 10*time.Second, 10*time.Millisecond, func() error {
		var l wire.MemberList
		step(join, wire.TypeMemberList, wire.TypeJoinedRoom).decode(b, &l)
		step(leave, wire.TypeLeftRoom)
		if len(l.Users) != others+1 {
			return fmt.Errorf("%d in the member list, want %d", len(l.Users), others+1)
		}
		return nil
	})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		step(join, wire.TypeMemberList, wire.TypeJoinedRoom)
		step(leave, wire.TypeLeftRoom)
	}
}
