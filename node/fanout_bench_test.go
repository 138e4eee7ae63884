package node

import (
	"fmt"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store"
)

// fanoutRig is a node whose one chat has subs local devices on real
// loopback WebSockets, each drained by a reader, for measuring the
// dispatcher's fan-out without NATS in the loop.
type fanoutRig struct {
	tn   *testNode
	d    *dispatcher
	st   *chatState
	msg  store.Message
	read chan int64
}

func newFanoutRig(tb testing.TB, subs int) *fanoutRig {
	tn := startNode(tb, func(c *Config) { c.AllowGuests = true })
	r := &fanoutRig{tn: tn, read: make(chan int64, subs)}
	const chatID = "bench-chat"
	for range subs {
		conn := dialIdle(tb, tn.addr, "/ws")
		go func() {
			var n int64
			buf := make([]byte, 64<<10)
			for {
				k, err := conn.Read(buf)
				n += int64(k)
				if err != nil {
					r.read <- n
					return
				}
			}
		}()
		tb.Cleanup(func() { conn.Close() })
	}
	checkFor(tb, 10*time.Second, func() error {
		if got := tn.conns.Len(); got < subs {
			return fmt.Errorf("%d of %d attached", got, subs)
		}
		return nil
	})
	// Put every guest into the chat locally, as a membership would.
	var c *localChat
	tn.reg.rangeDevices(func(dev *device, _ []string) {
		c, _ = tn.reg.addChatUser(chatID, dev.user)
	})
	r.d = tn.dispatch.of(chatID)
	r.st = &chatState{c: c, name: "bench"}
	r.msg = store.Message{ChatID: chatID, ID: "m", UserID: "u", UserName: "bench", Text: "hello fan-out", PostedAt: time.Now()}
	return r
}

// fanout delivers one message to every device, as the dispatcher loop
// does (the rig calls it from the test goroutine instead of the loop).
func (r *fanoutRig) fanout() {
	r.msg.Seq++
	r.d.fanout(r.st, &r.msg)
}

// BenchmarkFanout measures one message fanned out to subs local devices
// over real sockets (queue + writev by the connection layer's workers).
func BenchmarkFanout(b *testing.B) {
	for _, subs := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			r := newFanoutRig(b, subs)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				r.fanout()
			}
			// Wait for the queues to drain before stopping the clock.
			checkFor(b, 30*time.Second, func() error {
				queued := 0
				r.tn.conns.Range(func(c *wsconn.Conn) bool { queued += c.QueuedBytes(); return true })
				if queued > 0 {
					return fmt.Errorf("%d bytes queued", queued)
				}
				return nil
			})
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subs), "ns/delivery")
		})
	}
}
