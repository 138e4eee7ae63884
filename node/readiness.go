package node

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/subjects"
)

// canaryDeadline bounds how long readiness waits for its canary.
const canaryDeadline = 2 * time.Second

// canarySubject is the subject of dispatcher k's readiness canary.
func (n *Node) canarySubject(k int) string {
	return subjects.NodeRequest(n.id, "canary"+strconv.Itoa(k))
}

// subscribeCanaries puts every dispatcher's canary subscription on its
// message channel, behind the live messages it delivers.
func (n *Node) subscribeCanaries() error {
	for k, d := range n.dispatch.all {
		s, err := n.nc.ChanSubscribe(n.canarySubject(k), d.msgs)
		if err != nil {
			return fmt.Errorf("subscribe canary: %w", err)
		}
		n.eventSubs = append(n.eventSubs, s)
	}
	return nil
}

// notReady says why the node should get no traffic, or "" when it
// should: not draining, NATS connected, JetStream answering, and a
// canary sent through NATS to every fan-out loop came back within
// canaryDeadline (a node whose delivery path is stuck is not ready).
func (n *Node) notReady(ctx context.Context) string {
	if n.draining.Load() {
		return "draining"
	}
	if s := n.nc.Status(); s != nats.CONNECTED {
		return "nats " + s.String()
	}
	ctx, cancel := context.WithTimeout(ctx, canaryDeadline)
	defer cancel()
	if _, err := n.store.JetStream().AccountInfo(ctx); err != nil {
		return "jetstream unreachable: " + err.Error()
	}
	seq := n.canarySeq.Add(1)
	data := []byte(strconv.FormatUint(seq, 10))
	for k := range n.dispatch.all {
		if err := n.nc.Publish(n.canarySubject(k), data); err != nil {
			return "canary: " + err.Error()
		}
	}
	for k, d := range n.dispatch.all {
		for d.canary.Load() < seq {
			select {
			case <-ctx.Done():
				return fmt.Sprintf("fan-out loop %d did not deliver the canary within %v", k, canaryDeadline)
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
	return ""
}
