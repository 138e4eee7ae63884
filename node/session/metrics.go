package session

import (
	"sync/atomic"

	"github.com/natterchat/natter/node/wsconn"
)

// Metrics are the protocol's counters; the node exports them at scrape
// time.
type Metrics struct {
	// Attached counts connections that completed the handshake.
	Attached atomic.Int64
	// FramesIn counts client frames run.
	FramesIn atomic.Int64
	// FramesOut counts frames queued to devices by the protocol itself
	// (Welcome, answers, errors, replays of Resume).
	FramesOut atomic.Int64
	// ClientErrors counts Error frames sent for rejected client frames.
	ClientErrors atomic.Int64
	// RateLimited counts client frames dropped by the per-device limit.
	RateLimited atomic.Int64
	// Closes counts closed connections by reason.
	Closes [wsconn.ReasonIOError + 1]atomic.Int64
}

func (m *Metrics) closed(r wsconn.CloseReason) {
	if int(r) < len(m.Closes) {
		m.Closes[r].Add(1)
	}
}

// Churn is the number of connections attached and closed so far: what a
// connection storm moves.
func (m *Metrics) Churn() uint64 {
	total := m.Attached.Load()
	for i := range m.Closes {
		total += m.Closes[i].Load()
	}
	return uint64(total)
}
