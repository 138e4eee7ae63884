// Package inbox subscribes the private reply inboxes of NATS requests
// that get several answers (a direct get's batch, a presence snapshot's
// answer per node, a sync's pages), which nats.go's shared request mux
// cannot deliver.
//
// It exists for the channel behind each inbox. nats.go's SubscribeSync
// allocates a 64k-slot channel (512 KiB) per subscription; natter makes
// such a request whenever a device joins a room, and those channels were
// most of what a node allocated while rooms filled. An Inbox's channel is
// sized for the answers its request expects instead, and is recycled:
// channels are pooled by capacity rounded up to a power of two, and one
// goes back to its pool only once nats.go can no longer send to it.
//
// nats.go sends to a ChanSubscribe channel while holding the
// subscription's lock, and only while the subscription is not closed;
// Unsubscribe (without a connection drain) and the connection's close
// both mark it closed under that lock. So once Subscription.IsValid
// reports false no delivery is under way or can start, and the channel
// may be emptied and reused. While the connection drains, Unsubscribe
// fails and the subscription stays valid until the drain ends (and a
// connection closing at that moment may not have marked it yet): such a
// channel is left to the collector rather than reused.
package inbox

import (
	"context"
	"fmt"
	"math/bits"
	"sync"

	"github.com/nats-io/nats.go"
)

// Inbox is a subscribed reply inbox whose channel holds a number of
// answers. An answer that finds the channel full is dropped (nats.go
// counts a slow consumer); the request's deadline then ends the wait.
// Its methods are not safe for concurrent use, and it must not be used
// after Close.
type Inbox struct {
	subject string
	ch      chan *nats.Msg
	sub     *nats.Subscription
}

// pools recycle inboxes with their channels by capacity class: pools[c]
// holds those whose channel has room for exactly 1<<c answers. A KV
// listing's channel has room for a whole answer of 1025 messages (16 KB
// once rounded up) and every device that joins a room lists its members:
// without reuse a connection storm makes megabytes of garbage per second
// from these alone.
var pools [24]sync.Pool

// class returns the capacity class of n answers: the log2 of n rounded
// up to a power of two.
func class(n int) int { return bits.Len(uint(n - 1)) }

// Open subscribes a new inbox on nc with room for at least n answers
// (n < 1 counts as 1).
func Open(nc *nats.Conn, n int) (*Inbox, error) {
	in := get(max(n, 1))
	in.subject = nc.NewInbox()
	sub, err := nc.ChanSubscribe(in.subject, in.ch)
	if err != nil {
		in.subject = ""
		put(in) // never subscribed: nothing can send to the channel
		return nil, fmt.Errorf("subscribe reply inbox: %w", err)
	}
	in.sub = sub
	return in, nil
}

// Subject is the inbox's subject, the reply subject of its request.
func (in *Inbox) Subject() string { return in.subject }

// Next waits for the next answer until ctx ends.
func (in *Inbox) Next(ctx context.Context) (*nats.Msg, error) {
	select {
	case m := <-in.ch:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close unsubscribes the inbox; no answer reaches it afterwards. Its
// channel is recycled when nothing can send to it any more (see the
// package comment). Answers not read are dropped.
func (in *Inbox) Close() {
	// Best effort: the subject is never reused, so an interest the server
	// keeps (a broken connection) only drops answers nobody waits for.
	_ = in.sub.Unsubscribe()
	if in.sub.IsValid() {
		// The connection drains or is closing: nats.go may still
		// deliver to the channel.
		in.sub, in.ch = nil, nil
		return
	}
	in.subject, in.sub = "", nil
	put(in)
}

// get returns an inbox, not subscribed, whose channel is empty and has
// room for at least n answers.
func get(n int) *Inbox {
	c := class(n)
	if c >= len(pools) {
		return &Inbox{ch: make(chan *nats.Msg, n)}
	}
	if in, ok := pools[c].Get().(*Inbox); ok {
		return in
	}
	return &Inbox{ch: make(chan *nats.Msg, 1<<c)}
}

// put empties in's channel and keeps in for reuse; nothing may send to
// the channel any more.
func put(in *Inbox) {
	for len(in.ch) > 0 {
		<-in.ch
	}
	c := class(cap(in.ch))
	if c < len(pools) && cap(in.ch) == 1<<c {
		pools[c].Put(in)
	}
}
