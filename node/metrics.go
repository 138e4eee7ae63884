package node

import (
	"context"
	"regexp"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/natterchat/natter/internal/version"
	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/node/wsconn"
)

// metrics are the counters of the node's own steps; its parts keep
// theirs (session, fanout, chat, presence). The hot paths bump plain
// atomics and a Prometheus collector reads them all at scrape time, so a
// delivery costs no label lookup.
type metrics struct {
	handshakeRejected atomic.Int64
	handshakeFailed   atomic.Int64
	handshakeShed     atomic.Int64 // refused at once: admission or upgrade slots full
	natsReconnects    atomic.Int64
	broadcastFrames   atomic.Int64
	// handshakeTime is the time from a connection's accept to its
	// device attached: with the clients' own connect times it tells a
	// node that queues handshakes from clients that are slow to send or
	// to read.
	handshakeTime prometheus.Histogram
}

func newMetrics() metrics {
	return metrics{handshakeTime: prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "natter_handshake_seconds",
		Help:    "Time from a WebSocket connection's accept to its upgrade done and its device attached (the wait for its request, for a handshake slot, and the upgrade).",
		Buckets: fanout.LatencyBuckets,
	})}
}

// registerMetrics adds the node's collectors, the Go runtime's and the
// process's to reg.
func (n *Node) registerMetrics(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{
		// The scheduler's latencies besides the defaults: on a node of
		// one core every hand-off of a send or a handshake waits in the
		// run queue, and this histogram shows how long.
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(
			collectors.GoRuntimeMetricsRule{Matcher: regexp.MustCompile(`^/sched/latencies:seconds$`)})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		n.chat.Metrics().PublishAck,
		n.hub.Metrics().PublishDeliver,
		n.metrics.handshakeTime,
		nodeCollector{n},
		jetstreamCollector{n},
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
	descOnlineUsers   = prometheus.NewDesc("natter_presence_online_users", "Online users this node holds: its own and the online members of the chats it delivers.", nil, nil)
	descAuthRefused   = prometheus.NewDesc("natter_auth_refused_total", "Logins and registrations this node refused (429) by the limit that refused them.", []string{"rule"}, nil)
	descAuthErrors    = prometheus.NewDesc("natter_auth_limit_errors_total", "Logins and registrations refused (503) because the cluster's counters could not be reached.", nil, nil)
	descBuildInfo     = prometheus.NewDesc("natter_build_info", "Always 1; the labels say which build runs (natter --version).", []string{"version", "revision", "goversion"}, nil)
)

// nodeCollector exports the node's and its parts' atomics at scrape time.
type nodeCollector struct{ n *Node }

func (c nodeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConnections, descHandshakes, descFramesIn, descFramesOut, descClientErrors,
		descRateLimited, descAccepted, descFannedOut, descDelivered, descQueueBytes, descCloses, descSlowConsumers,
		descGapsDetected, descGapsRepaired, descNATSConnected, descNATSReconnect, descPublishErrors, descChatSubs, descOnlineUsers,
		descAuthRefused, descAuthErrors, descBuildInfo} {
		ch <- d
	}
}

func (c nodeCollector) Collect(ch chan<- prometheus.Metric) {
	n, s := c.n, c.n.Stats()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	gauge(descConnections, float64(s.Connections))
	counter(descHandshakes, s.Handshakes, "ok")
	counter(descHandshakes, s.HandshakesRejected, "rejected")
	counter(descHandshakes, s.HandshakesFailed, "failed")
	counter(descHandshakes, s.HandshakesShed, "shed")
	counter(descFramesIn, s.FramesIn)
	counter(descFramesOut, s.FramesOut)
	counter(descClientErrors, s.ClientErrors)
	counter(descRateLimited, s.RateLimited)
	counter(descAccepted, s.MessagesAccepted)
	counter(descFannedOut, s.MessagesFannedOut)
	counter(descDelivered, s.MessagesDelivered)
	var queued int
	n.conns.Range(func(c *wsconn.Conn) bool {
		queued += c.QueuedBytes()
		return true
	})
	gauge(descQueueBytes, float64(queued))
	closes := &n.sess.Metrics().Closes
	for r := range closes {
		counter(descCloses, closes[r].Load(), wsconn.CloseReason(r).String())
	}
	counter(descSlowConsumers, closes[wsconn.ReasonSlowConsumer].Load())
	counter(descGapsDetected, s.GapsDetected)
	counter(descGapsRepaired, s.GapMessagesRepaired)
	connected := 0.0
	if n.nc.Status() == nats.CONNECTED {
		connected = 1
	}
	gauge(descNATSConnected, connected)
	counter(descNATSReconnect, s.NATSReconnects)
	counter(descPublishErrors, s.PublishErrors)
	gauge(descChatSubs, float64(s.ChatSubscriptions))
	gauge(descOnlineUsers, float64(s.OnlineUsers))
	am := n.limits.Metrics()
	for rule, v := range am.Refused {
		counter(descAuthRefused, v.Load(), string(rule))
	}
	counter(descAuthErrors, s.AuthLimitErrors)
	bi := version.Get()
	ch <- prometheus.MustNewConstMetric(descBuildInfo, prometheus.GaugeValue, 1, bi.Version, bi.ShortRevision(), bi.GoVersion)
}

// jetstreamScrapeTimeout bounds the JetStream request of one scrape, well
// inside Prometheus's default scrape timeout (10s).
const jetstreamScrapeTimeout = 2 * time.Second

var (
	descJSUp = prometheus.NewDesc("natter_jetstream_up",
		"1 if JetStream answered this scrape's account info request within 2s, else 0.", nil, nil)
	descJSStorage = prometheus.NewDesc("natter_jetstream_storage_bytes",
		"File storage in use by the account's streams, as JetStream reports it; absent while JetStream does not answer.", nil, nil)
	descJSStreams = prometheus.NewDesc("natter_jetstream_streams",
		"Streams in the account (the message streams and the KV buckets); absent while JetStream does not answer.", nil, nil)
)

// jetstreamCollector asks JetStream for the account's info at scrape
// time: the answer itself is the health signal (a cluster without meta
// leader or quorum does not answer), and it carries the storage in use.
// The request is the one /readyz makes; it costs one round trip.
type jetstreamCollector struct{ n *Node }

func (c jetstreamCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descJSUp
	ch <- descJSStorage
	ch <- descJSStreams
}

func (c jetstreamCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), jetstreamScrapeTimeout)
	defer cancel()
	ai, err := c.n.jetstreamAccountInfo(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(descJSUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descJSUp, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(descJSStorage, prometheus.GaugeValue, float64(ai.Store))
	ch <- prometheus.MustNewConstMetric(descJSStreams, prometheus.GaugeValue, float64(ai.Streams))
}

// Stats is a snapshot of a node's state and counters (GET /api/stats).
type Stats struct {
	Node                string `json:"node"`
	Connections         int    `json:"connections"`
	ChatSubscriptions   int    `json:"chatSubscriptions"`
	OnlineUsers         int    `json:"onlineUsers"`
	Handshakes          int64  `json:"handshakes"`
	HandshakesRejected  int64  `json:"handshakesRejected"`
	HandshakesFailed    int64  `json:"handshakesFailed"`
	HandshakesShed      int64  `json:"handshakesShed"`
	FramesIn            int64  `json:"framesIn"`
	FramesOut           int64  `json:"framesOut"`
	ClientErrors        int64  `json:"clientErrors"`
	RateLimited         int64  `json:"rateLimited"`
	MessagesAccepted    int64  `json:"messagesAccepted"`
	PublishErrors       int64  `json:"publishErrors"`
	MessagesFannedOut   int64  `json:"messagesFannedOut"`
	MessagesDelivered   int64  `json:"messagesDelivered"`
	GapsDetected        int64  `json:"gapsDetected"`
	GapMessagesRepaired int64  `json:"gapMessagesRepaired"`
	NATSReconnects      int64  `json:"natsReconnects"`
	// AuthRefused counts logins and registrations refused by the login
	// limits (429), AuthLimitErrors those refused because the counters
	// could not be reached (503).
	AuthRefused     int64            `json:"authRefused"`
	AuthLimitErrors int64            `json:"authLimitErrors"`
	Goroutines      int              `json:"goroutines"`
	Closes          map[string]int64 `json:"closes"`
}

// Stats returns a snapshot of the node's counters, gathered from its
// parts.
func (n *Node) Stats() Stats {
	sm, fm, cm := n.sess.Metrics(), n.hub.Metrics(), n.chat.Metrics()
	s := Stats{
		Node: n.id, Connections: n.conns.Len(), ChatSubscriptions: n.hub.ChatCount(), OnlineUsers: n.presence.OnlineUsers(),
		Handshakes: sm.Attached.Load(), HandshakesRejected: n.metrics.handshakeRejected.Load(), HandshakesFailed: n.metrics.handshakeFailed.Load(), HandshakesShed: n.metrics.handshakeShed.Load(),
		FramesIn: sm.FramesIn.Load(), ClientErrors: sm.ClientErrors.Load(), RateLimited: sm.RateLimited.Load(),
		FramesOut:        sm.FramesOut.Load() + fm.FramesOut.Load() + cm.FramesOut.Load() + n.presence.FramesOut() + n.metrics.broadcastFrames.Load(),
		MessagesAccepted: cm.MessagesAccepted.Load(), PublishErrors: cm.PublishErrors.Load(),
		MessagesFannedOut: fm.MessagesFannedOut.Load(), MessagesDelivered: fm.Deliveries.Load(),
		GapsDetected: fm.GapsDetected.Load(), GapMessagesRepaired: fm.GapMessagesRepaired.Load(), NATSReconnects: n.metrics.natsReconnects.Load(),
		Goroutines: runtime.NumGoroutine(), Closes: make(map[string]int64),
	}
	am := n.limits.Metrics()
	for _, v := range am.Refused {
		s.AuthRefused += v.Load()
	}
	s.AuthLimitErrors = am.Errors.Load()
	for r := range sm.Closes {
		if v := sm.Closes[r].Load(); v > 0 {
			s.Closes[wsconn.CloseReason(r).String()] = v
		}
	}
	return s
}
