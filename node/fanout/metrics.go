package fanout

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the fan-out's counters. The dispatcher bumps them once per
// message, not per recipient; the node exports them at scrape time.
type Metrics struct {
	// MessagesFannedOut counts messages fanned out (once per message).
	MessagesFannedOut atomic.Int64
	// Deliveries counts message frames queued to devices (once per
	// recipient device).
	Deliveries atomic.Int64
	// FramesOut counts every frame the fan-out queued: messages, chat
	// events, catch-up and resume replays.
	FramesOut atomic.Int64
	// GapsDetected counts live messages whose predecessor this node had
	// not delivered.
	GapsDetected atomic.Int64
	// GapMessagesRepaired counts messages delivered from the store to
	// fill gaps.
	GapMessagesRepaired atomic.Int64
	// PublishDeliver observes the time from a message's postedAt to its
	// frames being queued to this node's devices.
	PublishDeliver prometheus.Histogram
}

// LatencyBuckets span 100µs to ~13s; the node's latency histograms share
// them.
var LatencyBuckets = prometheus.ExponentialBuckets(0.0001, 2, 18)

func newMetrics() *Metrics {
	return &Metrics{
		PublishDeliver: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "natter_publish_deliver_seconds", Help: "Time from a message's postedAt to its frames being queued to this node's devices.", Buckets: LatencyBuckets,
		}),
	}
}
