package node

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/natterchat/natter/node/wsconn"
)

// metrics are the node's counters. The hot paths bump plain atomics; a
// Prometheus collector reads them at scrape time, so a delivery costs no
// label lookup. The two latency histograms are Prometheus histograms
// (an Observe is a few atomic adds).
type metrics struct {
	handshakes          atomic.Int64
	handshakeRejected   atomic.Int64
	handshakeFailed     atomic.Int64
	framesIn            atomic.Int64
	framesOut           atomic.Int64
	clientErrors        atomic.Int64
	rateLimited         atomic.Int64
	messagesAccepted    atomic.Int64
	messagesFannedOut   atomic.Int64 // messages fanned out (once per message per node)
	deliveries          atomic.Int64 // frames of messages queued to devices
	gapsDetected        atomic.Int64
	gapMessagesRepaired atomic.Int64
	natsReconnects      atomic.Int64
	publishErrors       atomic.Int64
	closes              [wsconn.ReasonIOError + 1]atomic.Int64

	publishAck     prometheus.Histogram // SendMessage publish -> PubAck
	publishDeliver prometheus.Histogram // postedAt -> queued to local devices
}

// latencyBuckets span 100µs to ~13s.
var latencyBuckets = prometheus.ExponentialBuckets(0.0001, 2, 18)

func newMetrics() *metrics {
	return &metrics{
		publishAck: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "natter_publish_ack_seconds", Help: "Time from a send's JetStream publish to its acknowledgement.", Buckets: latencyBuckets,
		}),
		publishDeliver: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "natter_publish_deliver_seconds", Help: "Time from a message's postedAt to its frames being queued to this node's devices.", Buckets: latencyBuckets,
		}),
	}
}

func (m *metrics) observePublish(d time.Duration) { m.publishAck.Observe(d.Seconds()) }

// churn is the number of handshakes and closes so far.
func (m *metrics) churn() uint64 {
	total := m.handshakes.Load()
	for i := range m.closes {
		total += m.closes[i].Load()
	}
	return uint64(total)
}

func (m *metrics) closeReason(r wsconn.CloseReason) {
	if int(r) < len(m.closes) {
		m.closes[r].Add(1)
	}
}

// register adds the node's collectors, the Go runtime's and the
// process's to reg.
func (n *Node) registerMetrics(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		n.metrics.publishAck,
		n.metrics.publishDeliver,
		nodeCollector{n},
	} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

var (
	descConnections   = prometheus.NewDesc("natter_connections", "Open WebSocket connections.", nil, nil)
	descHandshakes    = prometheus.NewDesc("natter_handshakes_total", "WebSocket handshakes by result.", []string{"result"}, nil)
	descFramesIn      = prometheus.NewDesc("natter_frames_in_total", "Client frames received.", nil, nil)
	descFramesOut     = prometheus.NewDesc("natter_frames_out_total", "Frames queued to devices (messages, events, answers).", nil, nil)
	descClientErrors  = prometheus.NewDesc("natter_client_errors_total", "Error frames sent for rejected client frames.", nil, nil)
	descRateLimited   = prometheus.NewDesc("natter_rate_limited_total", "Client frames dropped by the per-device rate limit.", nil, nil)
	descAccepted      = prometheus.NewDesc("natter_messages_accepted_total", "Messages stored for senders on this node.", nil, nil)
	descFannedOut     = prometheus.NewDesc("natter_messages_fanned_out_total", "Messages this node fanned out to its devices (once per message).", nil, nil)
	descDelivered     = prometheus.NewDesc("natter_messages_delivered_total", "Message frames queued to devices (once per recipient device).", nil, nil)
	descQueueBytes    = prometheus.NewDesc("natter_outbound_queue_bytes", "Bytes queued to devices and not yet written.", nil, nil)
	descCloses        = prometheus.NewDesc("natter_closes_total", "Connection closes by reason.", []string{"reason"}, nil)
	descSlowConsumers = prometheus.NewDesc("natter_slow_consumer_closes_total", "Connections closed because they did not read fast enough.", nil, nil)
	descGapsDetected  = prometheus.NewDesc("natter_gaps_detected_total", "Live messages whose predecessor this node had not delivered.", nil, nil)
	descGapsRepaired  = prometheus.NewDesc("natter_gap_messages_repaired_total", "Messages delivered from the stream to fill gaps.", nil, nil)
	descNATSConnected = prometheus.NewDesc("natter_nats_connected", "1 while the node's NATS connection is up.", nil, nil)
	descNATSReconnect = prometheus.NewDesc("natter_nats_reconnects_total", "NATS reconnects of the node's connection.", nil, nil)
	descPublishErrors = prometheus.NewDesc("natter_jetstream_publish_errors_total", "Sends that failed to be stored.", nil, nil)
	descChatSubs      = prometheus.NewDesc("natter_chat_subscriptions", "Chats this node is subscribed to (chats with a local member online).", nil, nil)
	descOnlineUsers   = prometheus.NewDesc("natter_presence_online_users", "Users online anywhere in the cluster, as this node sees it.", nil, nil)
)

// nodeCollector exports the node's atomics at scrape time.
type nodeCollector struct{ n *Node }

func (c nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConnections, descHandshakes, descFramesIn, descFramesOut, descClientErrors,
		descRateLimited, descAccepted, descFannedOut, descDelivered, descQueueBytes, descCloses, descSlowConsumers,
		descGapsDetected, descGapsRepaired, descNATSConnected, descNATSReconnect, descPublishErrors, descChatSubs, descOnlineUsers} {
		ch <- d
	}
}

func (c nodeCollector) Collect(ch chan<- prometheus.Metric) {
	n, m := c.n, c.n.metrics
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	gauge(descConnections, float64(n.conns.Len()))
	counter(descHandshakes, m.handshakes.Load(), "ok")
	counter(descHandshakes, m.handshakeRejected.Load(), "rejected")
	counter(descHandshakes, m.handshakeFailed.Load(), "failed")
	counter(descFramesIn, m.framesIn.Load())
	counter(descFramesOut, m.framesOut.Load())
	counter(descClientErrors, m.clientErrors.Load())
	counter(descRateLimited, m.rateLimited.Load())
	counter(descAccepted, m.messagesAccepted.Load())
	counter(descFannedOut, m.messagesFannedOut.Load())
	counter(descDelivered, m.deliveries.Load())
	var queued int
	n.conns.Range(func(c *wsconn.Conn) bool {
		queued += c.QueuedBytes()
		return true
	})
	gauge(descQueueBytes, float64(queued))
	for r := range m.closes {
		counter(descCloses, m.closes[r].Load(), wsconn.CloseReason(r).String())
	}
	counter(descSlowConsumers, m.closes[wsconn.ReasonSlowConsumer].Load())
	counter(descGapsDetected, m.gapsDetected.Load())
	counter(descGapsRepaired, m.gapMessagesRepaired.Load())
	connected := 0.0
	if n.nc.Status() == nats.CONNECTED {
		connected = 1
	}
	gauge(descNATSConnected, connected)
	counter(descNATSReconnect, m.natsReconnects.Load())
	counter(descPublishErrors, m.publishErrors.Load())
	gauge(descChatSubs, float64(n.reg.chatCount()))
	gauge(descOnlineUsers, float64(n.presence.onlineUsers()))
}

// Stats is a snapshot of a node's state and counters (GET /api/stats).
type Stats struct {
	Node                string           `json:"node"`
	Connections         int              `json:"connections"`
	ChatSubscriptions   int              `json:"chatSubscriptions"`
	OnlineUsers         int              `json:"onlineUsers"`
	Handshakes          int64            `json:"handshakes"`
	HandshakesRejected  int64            `json:"handshakesRejected"`
	HandshakesFailed    int64            `json:"handshakesFailed"`
	FramesIn            int64            `json:"framesIn"`
	FramesOut           int64            `json:"framesOut"`
	ClientErrors        int64            `json:"clientErrors"`
	RateLimited         int64            `json:"rateLimited"`
	MessagesAccepted    int64            `json:"messagesAccepted"`
	MessagesFannedOut   int64            `json:"messagesFannedOut"`
	MessagesDelivered   int64            `json:"messagesDelivered"`
	GapsDetected        int64            `json:"gapsDetected"`
	GapMessagesRepaired int64            `json:"gapMessagesRepaired"`
	NATSReconnects      int64            `json:"natsReconnects"`
	Goroutines          int              `json:"goroutines"`
	Closes              map[string]int64 `json:"closes"`
}

// Stats returns a snapshot of the node's counters.
func (n *Node) Stats() Stats {
	m := n.metrics
	s := Stats{
		Node: n.id, Connections: n.conns.Len(), ChatSubscriptions: n.reg.chatCount(), OnlineUsers: n.presence.onlineUsers(),
		Handshakes: m.handshakes.Load(), HandshakesRejected: m.handshakeRejected.Load(), HandshakesFailed: m.handshakeFailed.Load(),
		FramesIn: m.framesIn.Load(), FramesOut: m.framesOut.Load(), ClientErrors: m.clientErrors.Load(), RateLimited: m.rateLimited.Load(),
		MessagesAccepted: m.messagesAccepted.Load(), MessagesFannedOut: m.messagesFannedOut.Load(), MessagesDelivered: m.deliveries.Load(),
		GapsDetected: m.gapsDetected.Load(), GapMessagesRepaired: m.gapMessagesRepaired.Load(), NATSReconnects: m.natsReconnects.Load(),
		Goroutines: runtime.NumGoroutine(), Closes: make(map[string]int64),
	}
	for r := range m.closes {
		if v := m.closes[r].Load(); v > 0 {
			s.Closes[wsconn.CloseReason(r).String()] = v
		}
	}
	return s
}
