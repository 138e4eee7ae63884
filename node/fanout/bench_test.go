package fanout

import (
	"fmt"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store"
)

// fanoutRig is a chat whose subs local devices are real loopback
// WebSockets, each drained by a reader, for measuring the loop's fan-out
// without NATS in the loop.
type fanoutRig struct {
	r   *rig
	d   *dispatcher
	st  *chatState
	msg store.Message
}

func newFanoutRig(tb testing.TB, subs int) *fanoutRig {
	r := newRig(tb, nil)
	const chatID = "bench-chat"
	var c *localChat
	for i := range subs {
		r.drainedDevice(fmt.Sprintf("u%d", i))
		c, _ = r.hub.reg.addChatUser(chatID, r.hub.User(fmt.Sprintf("u%d", i)))
	}
	return &fanoutRig{
		r: r, d: r.hub.loop(chatID), st: &chatState{c: c, name: "bench"},
		msg: store.Message{ChatID: chatID, ID: "m", UserID: "u", UserName: "bench", Text: "hello fan-out", PostedAt: time.Now()},
	}
}

// fanout delivers one message to every device, as the loop does (the rig
// calls it from the test goroutine instead of the loop).
func (f *fanoutRig) fanout() {
	f.msg.Seq++
	f.d.fanout(f.st, &f.msg)
}

// notices batches n events that skip nobody, every member owed them, and
// flushes the batch to every device, as the loop does.
func (f *fanoutRig) notices(n int) {
	b := &noticeBatch{}
	for range n {
		b.add(noticeFrame, f.st.c.added, nil)
	}
	f.st.notices = b
	f.d.flushNotices(f.st, b)
}

// noticeFrame is a join notice's size.
var noticeFrame = []byte(`{"channel":"chat-room","message":{"type":"JoinedRoom","contents":{"user":"guest-1a2b3c4d","name":"bench","chat":"c-bench"}}}`)

// drained waits until every device's queue is written out.
func (f *fanoutRig) drained(tb testing.TB) {
	checkFor(tb, 30*time.Second, func() error {
		queued := 0
		f.r.conns.Range(func(c *wsconn.Conn) bool { queued += c.QueuedBytes(); return true })
		if queued > 0 {
			return fmt.Errorf("%d bytes queued", queued)
		}
		return nil
	})
}

// BenchmarkFanout measures one message fanned out to subs local devices
// over real sockets (queue + writev by the connection layer's workers).
func BenchmarkFanout(b *testing.B) {
	for _, subs := range []int{10, 100, 1000} {
		b.Run(fmt.Sprintf("subs=%d", subs), func(b *testing.B) {
			f := newFanoutRig(b, subs)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				f.fanout()
			}
			// Wait for the queues to drain before stopping the clock.
			f.drained(b)
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subs), "ns/delivery")
		})
	}
}
