//go:build !race

package inbox_test

import (
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/internal/inbox"
	"github.com/natterchat/natter/store/storetest"
)

// The race detector makes sync.Pool drop items at random, so allocation
// counts are only meaningful without it.

// TestInboxAllocationsAreNatsGos guards the recycling: opening and
// closing an inbox allocates no more than subscribing a channel made
// beforehand with nats.go and unsubscribing it, whatever the inbox's
// room (its channel and the Inbox itself come from the pool).
func TestInboxAllocationsAreNatsGos(t *testing.T) {
	// The server runs in this process and its allocations count too:
	// without JetStream it does nothing on its own, and each run waits
	// until it has handled the run's SUB and UNSUB.
	s := storetest.RunServerWith(t, t.TempDir(), func(o *server.Options) { o.JetStream = false })
	nc := storetest.Connect(t, s)
	settle := func() {
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []int{2, 1025, 1 << 16} {
		ch := make(chan *nats.Msg, n)
		rawf := func() {
			sub, err := nc.ChanSubscribe(nc.NewInbox(), ch)
			if err != nil {
				t.Fatal(err)
			}
			if err := sub.Unsubscribe(); err != nil {
				t.Fatal(err)
			}
			settle()
		}
		raw := testing.AllocsPerRun(200, rawf)
		pooled := testing.AllocsPerRun(200, func() {
			in, err := inbox.Open(nc, n)
			if err != nil {
				t.Fatal(err)
			}
			in.Close()
			settle()
		})
		// nats.go's own count steps up as subscription ids grow longer:
		// the inbox is measured between two raw measures.
		raw = max(raw, testing.AllocsPerRun(200, rawf))
		t.Logf("room %d: %v allocations per inbox, %v per raw subscription", n, pooled, raw)
		// One to spare for a stray allocation elsewhere in the process;
		// an inbox not recycled costs two (its channel and itself).
		if pooled > raw+1 {
			t.Errorf("room %d: an inbox allocates %v times, a raw subscription %v: the inbox is not recycled", n, pooled, raw)
		}
	}
}
