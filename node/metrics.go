package node

import (
	"sync/atomic"
	"time"

	"github.com/natterchat/natter/node/wsconn"
)

// metrics are the node's counters, read by the stats endpoint.
type metrics struct {
	handshakes          atomic.Int64
	handshakeFailed     atomic.Int64
	framesIn            atomic.Int64
	clientErrors        atomic.Int64
	rateLimited         atomic.Int64
	messagesAccepted    atomic.Int64
	messagesDelivered   atomic.Int64 // messages fanned out (once per message per node)
	gapsDetected        atomic.Int64
	gapMessagesRepaired atomic.Int64
	chatSubscriptions   atomic.Int64
	publishNanos        atomic.Int64
	closes              [wsconn.ReasonIOError + 1]atomic.Int64
}

func newMetrics() *metrics { return &metrics{} }

func (m *metrics) observePublish(d time.Duration) { m.publishNanos.Add(int64(d)) }

func (m *metrics) closeReason(r wsconn.CloseReason) {
	if int(r) < len(m.closes) {
		m.closes[r].Add(1)
	}
}

// Stats is a snapshot of a node's state and counters (GET /api/stats).
type Stats struct {
	Node                string           `json:"node"`
	Connections         int              `json:"connections"`
	ChatSubscriptions   int              `json:"chatSubscriptions"`
	Handshakes          int64            `json:"handshakes"`
	HandshakesFailed    int64            `json:"handshakesFailed"`
	FramesIn            int64            `json:"framesIn"`
	ClientErrors        int64            `json:"clientErrors"`
	RateLimited         int64            `json:"rateLimited"`
	MessagesAccepted    int64            `json:"messagesAccepted"`
	MessagesFannedOut   int64            `json:"messagesFannedOut"`
	GapsDetected        int64            `json:"gapsDetected"`
	GapMessagesRepaired int64            `json:"gapMessagesRepaired"`
	Closes              map[string]int64 `json:"closes"`
}

// Stats returns a snapshot of the node's counters.
func (n *Node) Stats() Stats {
	m := n.metrics
	s := Stats{
		Node: n.id, Connections: n.conns.Len(), ChatSubscriptions: n.reg.chatCount(),
		Handshakes: m.handshakes.Load(), HandshakesFailed: m.handshakeFailed.Load(),
		FramesIn: m.framesIn.Load(), ClientErrors: m.clientErrors.Load(), RateLimited: m.rateLimited.Load(),
		MessagesAccepted: m.messagesAccepted.Load(), MessagesFannedOut: m.messagesDelivered.Load(),
		GapsDetected: m.gapsDetected.Load(), GapMessagesRepaired: m.gapMessagesRepaired.Load(),
		Closes: make(map[string]int64),
	}
	for r := range m.closes {
		if v := m.closes[r].Load(); v > 0 {
			s.Closes[wsconn.CloseReason(r).String()] = v
		}
	}
	return s
}
