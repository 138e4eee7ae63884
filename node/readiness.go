package node

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
)

// canaryDeadline bounds how long readiness waits for the fan-out's
// canaries.
const canaryDeadline = 2 * time.Second

// notReady says why the node should get no traffic, or "" when it
// should: not draining, NATS connected, the presence view sure it heard
// every node (a node just started would make its first joins wait for
// that), JetStream answering, and a canary sent through NATS to every
// fan-out loop came back within canaryDeadline (a node whose delivery
// path is stuck is not ready).
func (n *Node) notReady(ctx context.Context) string {
	if n.draining.Load() {
		return "draining"
	}
	if s := n.nc.Status(); s != nats.CONNECTED {
		return "nats " + s.String()
	}
	if !n.presence.PeersKnown() {
		return "presence: not yet heard from every node"
	}
	ctx, cancel := context.WithTimeout(ctx, canaryDeadline)
	defer cancel()
	if _, err := n.jetstreamAccountInfo(ctx); err != nil {
		return "jetstream unreachable: " + err.Error()
	}
	if err := n.hub.CheckLoops(ctx); err != nil {
		return err.Error()
	}
	return ""
}
