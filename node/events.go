package node

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/subjects"
)

// expirySweepBeats is how many heartbeat intervals pass between sweeps
// for devices whose token expired: a device outlives its token by at
// most that (5 s by default). Each sweep visits the devices whose token
// expires in the minutes it reached (session/expiry.go).
const expirySweepBeats = 5

// runEvents handles the node-wide subscriptions on one goroutine, in the
// order NATS delivers them: user events (membership changes), presence
// events and heartbeats, and broadcasts; and, every heartbeat interval,
// this node's heartbeat, the sweep for dead nodes and the pruning of
// recent membership changes (and, less often, the closing of devices
// whose token expired). They may call the store, so they have their
// own loop rather than a fan-out loop. User events must stay on one
// goroutine, in order: a device being set up tells the membership
// changes it missed by their order of application (fanout.Hub.TellDevices).
func (n *Node) runEvents(ctx context.Context, ch <-chan *nats.Msg) {
	tick := time.NewTicker(n.cfg.HeartbeatInterval)
	defer tick.Stop()
	beats := 0
	n.presence.Beat(false)
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			n.presence.Beat(false)
			n.presence.Sweep(now)
			n.recent.Prune(now)
			if beats++; beats%expirySweepBeats == 0 {
				n.sess.CloseExpired(now)
			}
		case m := <-ch:
			switch {
			case m.Subject == subjects.Broadcast:
				n.deliverBroadcast(m.Data)
			case m.Subject == subjects.Presence:
				n.presence.Handle(m.Data)
			case m.Subject == subjects.Heartbeat:
				n.presence.HandleHeartbeat(m.Data)
			default:
				if userID, ok := subjects.ParseUserEvents(m.Subject); ok {
					n.chat.ApplyUserEvent(userID, m.Data)
				}
			}
		}
	}
}

// broadcast sends an encoded frame to every device of the cluster.
func (n *Node) broadcast(frame []byte) error {
	if err := n.nc.Publish(subjects.Broadcast, frame); err != nil {
		return fmt.Errorf("publish broadcast: %w", err)
	}
	return nil
}

// deliverBroadcast sends a broadcast frame, encoded once, to every device.
func (n *Node) deliverBroadcast(frame []byte) {
	f := wsconn.NewTextFrame(frame)
	var sent int64
	n.conns.Range(func(c *wsconn.Conn) bool {
		if d, ok := c.Data().(frameSender); ok {
			d.Send(f)
		} else {
			_ = c.Send(f)
		}
		sent++
		return true
	})
	n.metrics.broadcastFrames.Add(sent)
}

// frameSender is a connection's device (fanout.Device, in the session's
// device): its Send keeps a frame back while the device is set up, so
// that a broadcast does not come before the device's Unread.
type frameSender interface{ Send(f *wsconn.Frame) }
