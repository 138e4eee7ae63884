package bench

import (
	"context"
	"fmt"
	"time"
)

// readNodesBefore finds the local node processes (by --pid or by the
// listening port) and reads their baseline RSS before anything connects.
func (co *coordinator) readNodesBefore(ctx context.Context) {
	c := co.cfg
	seen := map[string]bool{}
	for _, u := range c.URLs {
		if seen[u] {
			continue
		}
		seen[u] = true
		n := NodeReport{URL: u}
		pid := 0
		if c.PID > 0 && len(c.URLs) == 1 {
			pid = c.PID
		} else if p, err := findListener(u); err == nil {
			pid = p
		} else {
			n.Note = err.Error()
		}
		if pid > 0 {
			if s, err := readProc(pid); err == nil {
				n.PID, n.BaselineRSSKiB = pid, s.RSSKiB
			} else {
				n.Note = err.Error()
			}
		}
		co.nodes = append(co.nodes, n)
	}
	_ = ctx
}

// idle holds every connection for the duration: it lets the nodes settle,
// reads their RSS, then their CPU use and their RSS again at the end of
// the hold.
func (co *coordinator) idle(ctx context.Context) error {
	c := co.cfg
	settle := max(c.Settle, 5*time.Second)
	c.progress("connected; settling %s before reading memory", settle)
	if err := sleepCtx(ctx, settle); err != nil {
		return err
	}
	before := make([]procSample, len(co.nodes))
	for i := range co.nodes {
		n := &co.nodes[i]
		if n.PID == 0 {
			continue
		}
		s, err := readProc(n.PID)
		if err != nil {
			n.Note = err.Error()
			continue
		}
		before[i] = s
		n.SettledRSSKiB, n.LoadedRSSKiB, n.Threads = s.RSSKiB, s.RSSKiB, s.Threads
	}
	start := time.Now()
	done := make(chan struct{})
	go co.tick(done, start, "idle")
	err := sleepCtx(ctx, c.Duration)
	close(done)
	if err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	for i := range co.nodes {
		n := &co.nodes[i]
		if n.PID == 0 || n.LoadedRSSKiB == 0 {
			continue
		}
		if s, err := readProc(n.PID); err == nil {
			n.IdleCPUPercent = cpuPercent(before[i], s, el)
			n.Threads = max(n.Threads, s.Threads)
			n.LoadedRSSKiB = s.RSSKiB
		}
	}
	return nil
}

// nodeSamples are readings of the local node processes at one moment.
type nodeSamples struct {
	at time.Time
	s  []procSample // by node; zero where unread
}

// sampleNodes reads every local node process now.
func (co *coordinator) sampleNodes() nodeSamples {
	ns := nodeSamples{at: time.Now(), s: make([]procSample, len(co.nodes))}
	for i, n := range co.nodes {
		if n.PID == 0 {
			continue
		}
		if s, err := readProc(n.PID); err == nil {
			ns.s[i] = s
		}
	}
	return ns
}

// readNodesConnected reads the nodes once every connection is open: their
// CPU use since before (the run's start). It returns the CPU all of them
// used, in seconds, and false if some node is not a local process.
func (co *coordinator) readNodesConnected(before nodeSamples) (cpu float64, ok bool) {
	el := time.Since(before.at).Seconds()
	now := co.sampleNodes()
	ok = len(co.nodes) > 0
	counted := map[int]bool{} // nodes of one process (tests) count once
	for i := range co.nodes {
		b, a := before.s[i], now.s[i]
		if a.RSSKiB == 0 || b.RSSKiB == 0 || el <= 0 {
			ok = false
			continue
		}
		co.nodes[i].ConnectCPUPercent = cpuPercent(b, a, el)
		if !counted[co.nodes[i].PID] {
			counted[co.nodes[i].PID] = true
			cpu += float64(a.CPUTicks-b.CPUTicks) / clockTicks
		}
	}
	return cpu, ok
}

// readNodesLoaded reads the nodes at the end of the send phase: their
// CPU use since before (the phase's start) and their RSS.
func (co *coordinator) readNodesLoaded(before nodeSamples) {
	el := time.Since(before.at).Seconds()
	now := co.sampleNodes()
	for i := range co.nodes {
		b, a := before.s[i], now.s[i]
		if a.RSSKiB == 0 || b.RSSKiB == 0 || el <= 0 {
			continue
		}
		co.nodes[i].SendCPUPercent = cpuPercent(b, a, el)
		co.nodes[i].SendRSSKiB = a.RSSKiB
	}
}

// readNodesAfter reads /api/stats of every node, and the peak RSS of the
// local ones.
func (co *coordinator) readNodesAfter(ctx context.Context) {
	for i := range co.nodes {
		n := &co.nodes[i]
		if n.PID > 0 {
			if s, err := readProc(n.PID); err == nil {
				n.PeakRSSKiB = s.PeakKiB
			}
		}
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		st, err := nodeStats(sctx, co.cfg.statsBase(n.URL))
		cancel()
		if err != nil {
			n.Note = fmt.Sprint(n.Note, " stats: ", err)
			continue
		}
		n.Stats = st
		if v, ok := st["connections"].(float64); ok {
			n.Connections = int(v)
		}
		if v, ok := st["goroutines"].(float64); ok {
			g := int64(v)
			n.Goroutines = &g
		}
		if n.LoadedRSSKiB > 0 && n.Connections > 0 {
			n.BytesPerConn = float64(n.LoadedRSSKiB-n.BaselineRSSKiB) * 1024 / float64(n.Connections)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
