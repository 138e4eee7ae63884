package session

import (
	"testing"
	"time"

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
