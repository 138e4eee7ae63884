package presence

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
)

// replies is a private inbox for the several answers to one request (a
// snapshot's or a query's answer per node, a sync's pages), which
// nats.go's shared request mux cannot deliver. Its channel is sized for
// the answers: nats.go's SubscribeSync allocates a 64k-slot channel
// (512 KiB) per subscription, and with two requests per chat a node
// starts delivering (the joiner's member list, then the snapshot) those
// channels were most of what a node allocated while rooms filled, and
// its heap grew by them between collections.
type replies struct {
	inbox string
	ch    chan *nats.Msg
	sub   *nats.Subscription
}

// Answers to expect per request: two snapshot answers per node of the
// cluster beyond a floor (and snapshotPages more for answers in several
// pages), syncPages pages of a node's devices in flight. The
// reader takes each as it comes; a full channel drops an answer (nats.go
// counts a slow consumer), which the request's deadline then ends.
const (
	minSnapshotAnswers = 16
	syncPages          = 256
)

// newReplies subscribes a new inbox whose channel holds n answers.
func (v *View) newReplies(n int) (*replies, error) {
	r := &replies{inbox: v.cfg.NC.NewInbox(), ch: make(chan *nats.Msg, n)}
	var err error
	if r.sub, err = v.cfg.NC.ChanSubscribe(r.inbox, r.ch); err != nil {
		return nil, fmt.Errorf("subscribe reply inbox: %w", err)
	}
	return r, nil
}

// next waits for the next answer until ctx ends.
func (r *replies) next(ctx context.Context) (*nats.Msg, error) {
	select {
	case m := <-r.ch:
		return m, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// close ends the subscription; nothing reaches the channel after it.
func (r *replies) close() { _ = r.sub.Unsubscribe() }
