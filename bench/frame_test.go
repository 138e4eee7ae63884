package bench

import (
	"testing"
	"time"

	"github.com/natterchat/natter/node/wire"
)

// sampleNewMessage is a NewMessage as the node encodes it.
func sampleNewMessage() []byte {
	return wire.Encode(wire.ChannelChatRoom, wire.TypeNewMessage, wire.NewMessage{
		Room: "#bench-x-1", User: "6b1c7c1e-2f0a-4a53-9c55-1d1f1e0c9a11", Message: "b:1234:56:1763700000000000000",
		Chat: "c0ffee", Name: "guest-1", Seq: 987654, ID: "0a8f6e0b-6c9d-4d54-a0a1-5c2f9d6f2e77",
		PostedAt: time.Unix(1763700000, 0).UTC(), Device: "d1",
	})
}

func TestParseNewMessage(t *testing.T) {
	f, ok := parseNewMessage(sampleNewMessage())
	if !ok || !f.ok || string(f.chat) != "c0ffee" || f.seq != 987654 ||
		f.st != (stamp{sender: 1234, counter: 56, sentNs: 1763700000000000000}) {
		t.Fatalf("parseNewMessage = %+v %v", f, ok)
	}
	for _, bad := range []string{"", "b:", "b:1:2", "b:1:2:3:4", "x:1:2:3", "b:1:99999999999:3"} {
		if _, ok := parseStamp([]byte(bad), ':'); ok {
			t.Errorf("parseStamp(%q) ok", bad)
		}
	}
	b := appendSendMessage(nil, "c0ffee", stamp{1, 2, 3})
	env, err := wire.DecodeEnvelope(b)
	var sm wire.SendMessage
	if err != nil || wire.DecodeContents(env.Message.Contents, &sm) != nil || sm.Chat != "c0ffee" || sm.Message != "b:1:2:3" || sm.ClientMsgID != "1-2-3" {
		t.Fatalf("appendSendMessage = %s (%v, %+v)", b, err, sm)
	}
}

func TestReceiverAccounting(t *testing.T) {
	var r receiver
	d := func(seq uint64, sender int, c uint32) {
		r.deliver(0, &newMessageFields{seq: seq, st: stamp{sender: sender, counter: c}, ok: true})
	}
	d(10, 1, 1)
	d(11, 2, 1)
	d(11, 2, 1) // duplicate
	d(9, 1, 3)  // out of order
	s1 := &SenderTally{Conn: 1, Sent: 3, Acked: bitset{0b1110}}
	s2 := &SenderTally{Conn: 2, Sent: 1, Acked: bitset{0b10}}
	got := r.tally(0, []*SenderTally{s1, s2})
	if got.Expected != 4 || got.Delivered != 3 || got.Lost != 1 || got.Duplicates != 1 || got.OutOfOrder != 1 {
		t.Fatalf("tally = %+v", got)
	}
}

func BenchmarkParseNewMessage(b *testing.B) {
	p := sampleNewMessage()
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, ok := parseNewMessage(p); !ok {
			b.Fatal("parse failed")
		}
	}
}

func BenchmarkRecordDelivery(b *testing.B) {
	w := &worker{deliveries: newShards(time.Now())}
	c := &conn{plan: &ConnPlan{ID: 1}, w: w}
	p := sampleNewMessage()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		f, _ := parseNewMessage(p)
		i++
		f.seq, f.st.counter = uint64(i), uint32(i)
		now := time.Now()
		if c.recv.deliver(1, &f) {
			w.deliveries.record(1, now, time.Millisecond)
		}
	}
}

func BenchmarkAppendSendMessage(b *testing.B) {
	var buf, frame []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = appendSendMessage(buf[:0], "c0ffee", stamp{1234, 56, 1763700000000000000})
		frame = appendClientFrame(frame[:0], buf)
	}
}
