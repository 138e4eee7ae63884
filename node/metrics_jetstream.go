package node

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

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
