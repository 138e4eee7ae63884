package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
)

// Result is a run's report: the settings, the exact delivery accounting,
// latencies, rates, errors and node readings. Problems lists every
// violated invariant; a run with any problem failed.
type Result struct {
	Scenario string   `json:"scenario"`
	URLs     []string `json:"urls"`
	RunID    string   `json:"runId"`
	Seed     int64    `json:"seed"`
	Guests   bool     `json:"guests"`
	Conns    int      `json:"conns"`
	RoomSize int      `json:"roomSize,omitempty"`
	Rooms    int      `json:"rooms,omitempty"`
	Senders  int      `json:"senders,omitempty"`
	Rate     float64  `json:"rate"`
	Duration string   `json:"duration"`
	Workers  int      `json:"workers"`

	Connect ConnectStats `json:"connect"`

	Delivery       *Delivery `json:"delivery,omitempty"`
	DeliverLatency Latency   `json:"deliverLatency"` // publish -> deliver
	AckLatency     Latency   `json:"ackLatency"`     // publish -> ack
	// DeliverSameNode and DeliverCrossNode split DeliverLatency in a
	// multi-node run: sender and receiver on one node, or on two.
	DeliverSameNode  *Latency `json:"deliverSameNode,omitempty"`
	DeliverCrossNode *Latency `json:"deliverCrossNode,omitempty"`
	DeliveriesPerSec float64  `json:"deliveriesPerSec"`
	AcksPerSec       float64  `json:"acksPerSec"`

	History *HistoryStats `json:"history,omitempty"`

	// Reconnect is the reconnect scenario's storm.
	Reconnect *ReconnectStats `json:"reconnect,omitempty"`

	Errors map[string]int64 `json:"errors,omitempty"`
	Nodes  []NodeReport     `json:"nodes,omitempty"`
	// Generator is the load generator's own load (the busiest worker's).
	Generator GeneratorStats `json:"generator"`

	Timeline    []TimePoint `json:"timeline,omitempty"`    // deliver latency per second of the send phase
	AckTimeline []TimePoint `json:"ackTimeline,omitempty"` // ack latency per second
	CDF         []CDFPoint  `json:"cdf,omitempty"`         // deliver latency distribution
	AckCDF      []CDFPoint  `json:"ackCdf,omitempty"`

	Problems []string `json:"problems,omitempty"`
	Examples []string `json:"examples,omitempty"`
}

// ReconnectStats is a reconnect storm: every connection but the senders'
// dropped at once and dialed again with resume.
type ReconnectStats struct {
	Attempted int     `json:"attempted"`
	Done      int     `json:"done"`
	Failed    int     `json:"failed"`
	Seconds   float64 `json:"seconds"` // first drop to last re-Welcome (the slowest worker)
	PerSec    float64 `json:"perSec"`
	Handshake Latency `json:"handshake"` // dial to Welcome, resume included
	// Live is publish->deliver of the senders' own connections, which
	// stay connected, while the storm lasted. With two workers or more
	// the senders have a worker of their own, which counts from the
	// storm's start until sending stops.
	Live Latency `json:"live"`
}

// ConnectStats is the connect phase: every connection dialed, upgraded,
// welcomed and (in chat scenarios) joined.
type ConnectStats struct {
	Attempted int     `json:"attempted"`
	Connected int     `json:"connected"`
	Failed    int     `json:"failed"`
	Seconds   float64 `json:"seconds"`
	PerSec    float64 `json:"perSec"`
	Handshake Latency `json:"handshake"` // dial to Welcome
	// NodeCPUPerConn is the CPU the local node processes used from the
	// run's start until every connection was open and in its room,
	// divided by the connections opened, in microseconds: what a
	// connection costs the nodes, which tells their capacity when the
	// generator, not the nodes, set the rate. Zero when no node is a
	// local process.
	NodeCPUPerConn float64 `json:"nodeCpuPerConnUs,omitempty"`
}

// NodeReport is what was read about one node: its /api/stats after the
// run and, when it is a local process, its memory and CPU from /proc.
type NodeReport struct {
	URL string `json:"url"`
	PID int    `json:"pid,omitempty"`
	// BaselineRSSKiB is the RSS before the run connected; SettledRSSKiB
	// once every connection is open and the settle time has passed;
	// LoadedRSSKiB at the end of the idle hold, which is the idle state
	// the per-connection figure is about (the settled reading still
	// holds garbage of the connect burst that the runtime may not have
	// collected or returned yet).
	BaselineRSSKiB int64 `json:"baselineRssKiB,omitempty"`
	SettledRSSKiB  int64 `json:"settledRssKiB,omitempty"`
	LoadedRSSKiB   int64 `json:"loadedRssKiB,omitempty"`
	// Connections is the node's own count (stats) when loaded.
	Connections int `json:"connections,omitempty"`
	// BytesPerConn is (loaded - baseline) RSS / connections.
	BytesPerConn float64 `json:"bytesPerConn,omitempty"`
	// ConnectCPUPercent is the process's CPU use (100 = one core) from
	// the run's start until every connection was open and in its room.
	ConnectCPUPercent float64 `json:"connectCpuPercent,omitempty"`
	// IdleCPUPercent is the process's CPU use while holding the idle
	// connections (100 = one core).
	IdleCPUPercent float64 `json:"idleCpuPercent,omitempty"`
	// SendCPUPercent is the process's CPU use during the send phase and
	// SendRSSKiB its RSS at the end of it (send scenarios).
	SendCPUPercent float64 `json:"sendCpuPercent,omitempty"`
	SendRSSKiB     int64   `json:"sendRssKiB,omitempty"`
	// PeakRSSKiB is the process's highest RSS (VmHWM) at the end of the
	// run, connect burst included.
	PeakRSSKiB int64 `json:"peakRssKiB,omitempty"`
	Threads    int64 `json:"threads,omitempty"`
	// Goroutines from /api/stats when the node reports them.
	Goroutines *int64         `json:"goroutines,omitempty"`
	Stats      map[string]any `json:"stats,omitempty"`
	Note       string         `json:"note,omitempty"`
}

// OK reports whether the run kept every invariant.
func (r *Result) OK() bool { return len(r.Problems) == 0 }

// WriteJSON writes r as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("bench: write json: %w", err)
	}
	return nil
}

// WriteTable writes the human report.
func (r *Result) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format+"\n", a...) }
	p("scenario\t%s (run %s, seed %d, %d worker(s), guests=%v)", r.Scenario, r.RunID, r.Seed, r.Workers, r.Guests)
	p("targets\t%s", strings.Join(r.URLs, ", "))
	shape := fmt.Sprintf("%d conns", r.Conns)
	if r.Rooms > 0 {
		shape += fmt.Sprintf(", %d rooms of %d", r.Rooms, r.RoomSize)
	}
	if r.Senders > 0 {
		shape += fmt.Sprintf(", %d senders at %g msg/s for %s", r.Senders, r.Rate, r.Duration)
	}
	p("load\t%s", shape)
	c := r.Connect
	line := fmt.Sprintf("%d/%d connected, %d failed, %.1f s, %.0f conns/s", c.Connected, c.Attempted, c.Failed, c.Seconds, c.PerSec)
	if c.NodeCPUPerConn > 0 {
		line += fmt.Sprintf(", node CPU %.0f µs per connection", c.NodeCPUPerConn)
	}
	p("connect\t%s", line)
	p("\t\tp50\tp90\tp99\tp99.9\tmax\tcount")
	lat := func(name string, l Latency) {
		p("%s\tms\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d", name, l.P50, l.P90, l.P99, l.P999, l.Max, l.Count)
	}
	lat("handshake", c.Handshake)
	if d := r.Delivery; d != nil {
		lat("publish->ack", r.AckLatency)
		lat("publish->deliver", r.DeliverLatency)
		if r.DeliverSameNode != nil {
			lat("  same node", *r.DeliverSameNode)
			lat("  cross node", *r.DeliverCrossNode)
		}
		p("messages\tsent %d, acked %d, refused %d, unacked %d", d.Sent, d.Acked, d.Failed, d.Unacked)
		p("deliveries\texpected %d, delivered %d, lost %d, duplicates %d, out of order %d, unexpected %d",
			d.Expected, d.Delivered, d.Lost, d.Duplicates, d.OutOfOrder, d.Unexpected)
		p("rates\t%.0f deliveries/s, %.0f acks/s", r.DeliveriesPerSec, r.AcksPerSec)
	}
	if rc := r.Reconnect; rc != nil {
		p("reconnect\t%d/%d re-admitted with resume, %d failed, %.1f s, %.0f conns/s", rc.Done, rc.Attempted, rc.Failed, rc.Seconds, rc.PerSec)
		lat("re-handshake", rc.Handshake)
		lat("live meanwhile", rc.Live)
	}
	if h := r.History; h != nil {
		p("history\t%d requests, %d pages, %d messages, %d bad pages", h.Requests, h.Pages, h.Messages, h.BadPages)
		lat("history page", h.Latency)
	}
	for _, n := range r.Nodes {
		line := n.URL
		if n.PID > 0 {
			line += fmt.Sprintf(" pid %d", n.PID)
		}
		if n.ConnectCPUPercent > 0 {
			line += fmt.Sprintf(": connecting: CPU %.1f%%", n.ConnectCPUPercent)
		}
		if n.LoadedRSSKiB > 0 {
			line += fmt.Sprintf(": RSS %d -> %d (settled) -> %d KiB (end of hold), %d conns, %.0f B/conn, idle CPU %.1f%%, %d threads",
				n.BaselineRSSKiB, n.SettledRSSKiB, n.LoadedRSSKiB, n.Connections, n.BytesPerConn, n.IdleCPUPercent, n.Threads)
		}
		if n.SendRSSKiB > 0 {
			line += fmt.Sprintf(": sending: CPU %.1f%%, RSS %d KiB", n.SendCPUPercent, n.SendRSSKiB)
		}
		if n.PeakRSSKiB > 0 {
			line += fmt.Sprintf(", peak RSS %d KiB", n.PeakRSSKiB)
		}
		if n.Goroutines != nil {
			line += fmt.Sprintf(", %d goroutines", *n.Goroutines)
		}
		if n.Note != "" {
			line += " (" + n.Note + ")"
		}
		p("node\t%s", line)
	}
	if g := r.Generator; g.ConnectCPUPercent > 0 || g.SendCPUPercent > 0 {
		line := fmt.Sprintf("%d worker(s), the busiest: connecting: CPU %.1f%%", r.Workers, g.ConnectCPUPercent)
		if g.ConnectSchedP50Ms > 0 || g.ConnectSchedP99Ms > 0 {
			line += fmt.Sprintf(", goroutines runnable before they ran p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms",
				g.ConnectSchedP50Ms, g.ConnectSchedP99Ms, g.ConnectSchedP999Ms)
		}
		if g.ConnectReadWaitP99Ms > 0 {
			line += fmt.Sprintf(", reads waited p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms",
				g.ConnectReadWaitP50Ms, g.ConnectReadWaitP99Ms, g.ConnectReadWaitP999Ms)
		}
		if g.SendCPUPercent > 0 {
			line += fmt.Sprintf(": sending: CPU %.1f%%, goroutines runnable before they ran p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms",
				g.SendCPUPercent, g.SchedP50Ms, g.SchedP99Ms, g.SchedP999Ms)
			if g.ReadWaitP99Ms > 0 {
				line += fmt.Sprintf(", reads waited p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms",
					g.ReadWaitP50Ms, g.ReadWaitP99Ms, g.ReadWaitP999Ms)
			}
		}
		p("generator\t%s", line)
	}
	if len(r.Errors) > 0 {
		keys := make([]string, 0, len(r.Errors))
		for k := range r.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = fmt.Sprintf("%s=%d", k, r.Errors[k])
		}
		p("errors\t%s", strings.Join(parts, " "))
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("bench: write table: %w", err)
	}
	if r.OK() {
		_, err := fmt.Fprintln(w, "RESULT: PASS (no loss, no duplicates, no reordering)")
		return err
	}
	fmt.Fprintln(w, "RESULT: FAIL")
	for _, pr := range r.Problems {
		fmt.Fprintln(w, "  !!", pr)
	}
	for _, e := range r.Examples {
		fmt.Fprintln(w, "  e.g.", e)
	}
	return nil
}
