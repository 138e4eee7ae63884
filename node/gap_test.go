package node

import (
	"fmt"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store/storetest"
)

// TestGapRepairAcrossReconnects: two nodes share one NATS server; the
// receiving node's NATS connection is dropped and restored again and
// again while messages flow. Messages published while it was away never
// reach it live; the gap logic (a message whose previous sequence is not
// the last delivered one, and the check of every chat after a reconnect)
// fetches them from the stream, so the device sees one gap-free ordered
// sequence. How many copies a reconnect loses is up to timing; fanout's
// TestGapDetectedAndRepaired loses them on purpose and shows the gap
// detected and repaired.
func TestGapRepairAcrossReconnects(t *testing.T) { testGapRepairAcrossReconnects(t, nil) }

// testGapRepairAcrossReconnects is TestGapRepairAcrossReconnects on nodes adjusted by mod.
func testGapRepairAcrossReconnects(t *testing.T, mod func(*Config)) {
	ns := storetest.RunServer(t)
	shared := func(c *Config) {
		c.NATSURL = ns.ClientURL()
		if mod != nil {
			mod(c)
		}
	}
	a := startNode(t, shared)
	b := startNode(t, shared)
	alice, bob := a.register("alice"), a.register("bob")
	ac := a.dialUser(alice)
	chat := ac.joinRoom("gaps")
	bc := b.dialUser(bob)
	bc.joinRoom("gaps")

	const total = 300
	stop := make(chan struct{})
	reconnects := make(chan int)
	go func() {
		n := 0
		defer func() { reconnects <- n }()
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				if err := b.nc.ForceReconnect(); err == nil {
					n++
				}
			}
		}
	}()
	for i := range total {
		// Not waiting for each ack keeps messages flowing while b is away.
		ac.sendf(`{"channel":"chat-room","message":{"type":"SendMessage","contents":{"chat":%q,"message":"m%d","clientMsgId":"c%d"}}}`, chat, i, i)
		if i%20 == 19 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	close(stop)
	if n := <-reconnects; n == 0 {
		t.Fatal("the receiving node's NATS connection was never dropped")
	}

	var last uint64
	for got := 0; got < total; {
		f, ok := bc.next(20 * time.Second)
		if !ok {
			t.Fatalf("device received %d of %d messages; node stats %+v", got, total, b.Stats())
		}
		if f.Message.Type != wire.TypeNewMessage {
			continue
		}
		var m wire.NewMessage
		f.decode(t, &m)
		if m.Seq <= last {
			t.Fatalf("seq %d after %d: duplicate or out of order", m.Seq, last)
		}
		if want := fmt.Sprintf("m%d", got); m.Message != want {
			t.Fatalf("message %d is %q, want %q (a gap)", got, m.Message, want)
		}
		last = m.Seq
		got++
	}
	bc.expectNothing(300 * time.Millisecond) // nothing twice
	st := b.Stats()
	if st.NATSReconnects == 0 {
		t.Fatalf("the receiving node reports no reconnect: %+v", st)
	}
	t.Logf("receiving node: %d reconnects, %d gaps detected, %d messages repaired from the stream", st.NATSReconnects, st.GapsDetected, st.GapMessagesRepaired)
}
