package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
)

// The coordinator drives each worker with commands and the worker
// answers with events, as JSON lines over the worker process's
// stdin/stdout (or Go channels in process):
//
//	setup  -> progress..., ready     connect and join the worker's share
//	send   -> sent                   send for the duration, then wait for acks
//	tally  -> result                 wait for deliveries, count, report
//	close                            close every connection and exit
type command struct {
	Op     string  `json:"op"`
	Config *Config `json:"config,omitempty"`
	Plan   *Plan   `json:"plan,omitempty"` // chats, and only this worker's conns
	// Epoch (unix ns) is the run's time origin, the same in every worker,
	// so their per-second latency windows line up.
	Epoch int64 `json:"epoch,omitempty"`
	// Start (unix ns) and Duration bound the send phase.
	Start    int64         `json:"start,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`
	// Senders are every sender's tally (tally), Deadline (unix ns) when to
	// stop waiting for missing deliveries.
	Senders  []SenderTally `json:"senders,omitempty"`
	Deadline int64         `json:"deadline,omitempty"`
}

type event struct {
	Ev        string        `json:"ev"`
	Connected int           `json:"connected,omitempty"`
	Failed    int           `json:"failed,omitempty"`
	Senders   []SenderTally `json:"senders,omitempty"`
	Result    *workerResult `json:"result,omitempty"`
	Error     string        `json:"error,omitempty"`
}

// workerResult is one worker's part of a Result.
type workerResult struct {
	Attempted int    `json:"attempted"`
	Connected int    `json:"connected"`
	Failed    int    `json:"failed"`
	ConnectNs int64  `json:"connectNs"` // first dial to last joined
	Handshake series `json:"handshake"`
	Deliver   series `json:"deliver"`
	// DeliverSame and DeliverCross split Deliver by whether the sender's
	// node was the receiver's (multi-node runs only).
	DeliverSame  series `json:"deliverSame"`
	DeliverCross series `json:"deliverCross"`
	// Reconnect scenario: the storm's re-handshakes (dial to Welcome), the
	// senders' deliveries while it lasted, and its counts.
	Reconnect   series           `json:"reconnect"`
	DuringStorm series           `json:"duringStorm"`
	Storm       stormStats       `json:"storm"`
	Ack         series           `json:"ack"`
	History     series           `json:"history"`
	Delivery    Delivery         `json:"delivery"`
	HistStats   HistoryStats     `json:"historyStats"`
	Errors      map[string]int64 `json:"errors,omitempty"`
	Examples    []string         `json:"examples,omitempty"`
	Generator   GeneratorStats   `json:"generator"`
}

// recorderShards spreads one latency series over a few locks.
type recorderShards []*recorder

const nShards = 8

func newShards(epoch time.Time) recorderShards {
	s := make(recorderShards, nShards)
	for i := range s {
		s[i] = newRecorder(epoch)
	}
	return s
}

func (s recorderShards) record(id int, now time.Time, d time.Duration) {
	s[id%len(s)].record(now, d)
}

func (s recorderShards) encode() (series, error) {
	m := newMerged()
	for _, r := range s {
		m.addRecorder(r)
	}
	return m.encode()
}

// worker holds a share of a run's connections.
type worker struct {
	cfg   *Config
	plan  *Plan
	epoch time.Time

	handshakes, deliveries, acks, history recorderShards
	sameNode, crossNode                   recorderShards // deliveries by sender's node, multi-node runs
	reconnects, duringStorm               recorderShards // reconnect scenario: re-handshakes, senders' deliveries meanwhile
	storming                              atomic.Bool    // a reconnect storm is on
	storm                                 stormStats     // guarded by mu

	rd *reader // reads the connections; nil: a goroutine each (reader_other.go)

	mu        sync.Mutex
	conns     []*conn          // guarded by mu
	errs      map[string]int64 // guarded by mu
	exList    []string         // guarded by mu
	connectNs int64            // guarded by mu
	gen       GeneratorStats   // guarded by mu

	attempted, failed                              atomic.Int64
	closing                                        atomic.Bool
	histRequests, histPages, histMessages, histBad atomic.Int64
	examples                                       atomic.Int64
}

func (w *worker) countError(code string) {
	if code == "" {
		code = "unknown"
	}
	w.mu.Lock()
	if w.errs == nil {
		w.errs = make(map[string]int64)
	}
	w.errs[code]++
	w.mu.Unlock()
}

func (w *worker) addExample(s string) {
	w.mu.Lock()
	if len(w.exList) < maxExamples {
		w.exList = append(w.exList, s)
	}
	w.mu.Unlock()
}

// serveWorker runs one worker: it reads commands from next and reports
// events through emit until close (or an error).
func serveWorker(ctx context.Context, next func() (command, error), emit func(event) error) (err error) {
	var w *worker
	defer func() {
		if w != nil {
			w.closeAll()
		}
	}()
	for {
		cmd, err := next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("bench: worker: read command: %w", err)
		}
		switch cmd.Op {
		case "setup":
			if cmd.Config == nil || cmd.Plan == nil {
				return errors.New("bench: worker: setup without config or plan")
			}
			w = &worker{cfg: cmd.Config, plan: cmd.Plan, epoch: time.Unix(0, cmd.Epoch)}
			w.handshakes, w.deliveries = newShards(w.epoch), newShards(w.epoch)
			w.acks, w.history = newShards(w.epoch), newShards(w.epoch)
			w.sameNode, w.crossNode = newShards(w.epoch), newShards(w.epoch)
			w.reconnects, w.duringStorm = newShards(w.epoch), newShards(w.epoch)
			if w.rd, err = newReader(w); err != nil {
				return fmt.Errorf("bench: worker: %w", err)
			}
			w.connectAll(ctx, emit)
			if err := emit(event{Ev: "ready", Connected: len(w.conns), Failed: int(w.failed.Load())}); err != nil {
				return err
			}
		case "send":
			if w == nil {
				return errors.New("bench: worker: send before setup")
			}
			tallies := w.sendPhase(ctx, time.Unix(0, cmd.Start), cmd.Duration)
			if err := emit(event{Ev: "sent", Senders: tallies}); err != nil {
				return err
			}
		case "tally":
			if w == nil {
				return errors.New("bench: worker: tally before setup")
			}
			r, err := w.tally(ctx, cmd.Senders, time.Unix(0, cmd.Deadline))
			if err != nil {
				return err
			}
			if err := emit(event{Ev: "result", Result: r}); err != nil {
				return err
			}
		case "close":
			return nil
		default:
			return fmt.Errorf("bench: worker: unknown command %q", cmd.Op)
		}
	}
}

// connectRate is the worker's part of the run's connect rate, in
// proportion to its share of the connections (Plan.shares), so that the
// workers together dial at the configured rate.
func (w *worker) connectRate() float64 {
	return w.cfg.ConnectRate * float64(len(w.plan.Conns)) / float64(max(w.cfg.Conns, 1))
}

// connectAll dials the worker's connections at its share of the connect
// rate, with a bounded number in flight, and waits for each to join.
func (w *worker) connectAll(ctx context.Context, emit func(event) error) {
	n := len(w.plan.Conns)
	if n == 0 {
		return
	}
	rate := w.connectRate()
	interval := time.Duration(float64(time.Second) / rate)
	sem := make(chan struct{}, 256)
	var wg sync.WaitGroup
	self, waits := sampleSelf(), w.rd.waitSnapshot()
	start := time.Now()
	lastProgress := start
	for i := range w.plan.Conns {
		if ctx.Err() != nil {
			break
		}
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		if time.Since(lastProgress) >= time.Second {
			lastProgress = time.Now()
			w.mu.Lock()
			c := len(w.conns)
			w.mu.Unlock()
			_ = emit(event{Ev: "progress", Connected: c, Failed: int(w.failed.Load())})
		}
		sem <- struct{}{}
		wg.Add(1)
		w.attempted.Add(1)
		go func(cp *ConnPlan) {
			defer wg.Done()
			defer func() { <-sem }()
			w.connectOne(ctx, cp)
		}(&w.plan.Conns[i])
	}
	wg.Wait()
	after := sampleSelf()
	q := after.schedQuantiles(self, 0.5, 0.99, 0.999)
	rq := readWaitQuantiles(waits, w.rd.waitSnapshot(), 0.5, 0.99, 0.999)
	w.mu.Lock()
	w.gen.ConnectCPUPercent = after.cpuSince(self)
	w.gen.ConnectSchedP50Ms, w.gen.ConnectSchedP99Ms, w.gen.ConnectSchedP999Ms = q[0], q[1], q[2]
	w.gen.ConnectReadWaitP50Ms, w.gen.ConnectReadWaitP99Ms, w.gen.ConnectReadWaitP999Ms = rq[0], rq[1], rq[2]
	w.connectNs = int64(time.Since(start))
	sort.Slice(w.conns, func(i, j int) bool { return w.conns[i].plan.ID < w.conns[j].plan.ID })
	w.mu.Unlock()
}

func (w *worker) connectOne(ctx context.Context, cp *ConnPlan) {
	u, err := dialURL(cp, w.plan.Chats, cp.Token)
	if err != nil {
		w.failed.Add(1)
		w.countError("bad_url")
		return
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	c, hs, err := dial(dctx, w, cp, u, nil)
	if err != nil {
		w.failed.Add(1)
		w.countError("connect_failed")
		if w.examples.Add(1) <= maxExamples {
			w.addExample(fmt.Sprintf("conn %d to %s: %v", cp.ID, cp.URL, err))
		}
		return
	}
	w.handshakes.record(cp.ID, time.Now(), hs)
	w.startReading(c)
	if cp.Chat >= 0 {
		select {
		case <-c.joined:
		case <-c.closed:
			w.failed.Add(1)
			w.countError("closed_before_join")
			return
		case <-dctx.Done():
			c.close()
			w.failed.Add(1)
			w.countError("join_timeout")
			return
		}
	}
	w.mu.Lock()
	w.conns = append(w.conns, c)
	w.mu.Unlock()
}

// sendPhase sends from every local sender at the configured rate from
// start for d, then waits (at most the grace period) for every ack and
// returns the senders' tallies. Senders take turns in the order of their
// phase, so one loop paces them all.
func (w *worker) sendPhase(ctx context.Context, start time.Time, d time.Duration) []SenderTally {
	w.mu.Lock()
	var senders []*conn
	for _, c := range w.conns {
		if c.send != nil {
			senders = append(senders, c)
		}
	}
	var hist []*conn
	for _, c := range w.conns {
		if c.plan.History {
			hist = append(hist, c)
		}
	}
	w.mu.Unlock()
	sort.Slice(senders, func(i, j int) bool { return senders[i].plan.Phase < senders[j].plan.Phase })
	end := start.Add(d)
	hctx, hcancel := context.WithDeadline(ctx, end)
	defer hcancel()
	if len(hist) > 0 {
		go w.historyLoop(hctx, hist, start)
	}
	var storm sync.WaitGroup
	if w.cfg.Scenario == ScenarioReconnect {
		storm.Add(1)
		go func() { defer storm.Done(); w.reconnectStorm(ctx, stormAt(start, d), start.Add(d)) }()
	}
	interval := time.Duration(float64(time.Second) / w.cfg.Rate)
	var buf []byte
	if d := time.Until(start); d > 0 {
		time.Sleep(d) // the phase's own figures start with it
	}
	self, waits := sampleSelf(), w.rd.waitSnapshot()
send:
	for round := 0; len(senders) > 0; round++ {
		for _, c := range senders {
			due := start.Add(time.Duration((float64(round) + c.plan.Phase) * float64(interval)))
			if !due.Before(end) || ctx.Err() != nil {
				break send
			}
			if wait := time.Until(due); wait > 200*time.Microsecond {
				time.Sleep(wait)
			}
			counter := c.send.nextCounter()
			buf = appendSendMessage(buf[:0], c.chatID, stamp{sender: c.plan.ID, counter: counter, sentNs: time.Now().UnixNano()})
			if err := c.write(ws.OpText, buf); err != nil {
				w.countError("write_error")
				c.send.fail(counter)
			}
		}
	}
	storm.Wait() // the tally counts the connections the storm put back
	after := sampleSelf()
	q := after.schedQuantiles(self, 0.5, 0.99, 0.999)
	rq := readWaitQuantiles(waits, w.rd.waitSnapshot(), 0.5, 0.99, 0.999)
	w.mu.Lock()
	w.gen.SendCPUPercent = after.cpuSince(self)
	w.gen.SchedP50Ms, w.gen.SchedP99Ms, w.gen.SchedP999Ms = q[0], q[1], q[2]
	w.gen.ReadWaitP50Ms, w.gen.ReadWaitP99Ms, w.gen.ReadWaitP999Ms = rq[0], rq[1], rq[2]
	w.mu.Unlock()
	deadline := time.Now().Add(w.cfg.Grace)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var pending int64
		for _, c := range senders {
			pending += c.send.pending()
		}
		if pending == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	out := make([]SenderTally, 0, len(senders))
	for _, c := range senders {
		out = append(out, c.send.tally(c.plan.ID, c.plan.Chat))
	}
	return out
}

// historyLoop has each history client ask for a page twice a second.
func (w *worker) historyLoop(ctx context.Context, hist []*conn, start time.Time) {
	if d := time.Until(start); d > 0 {
		time.Sleep(d)
	}
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		for _, c := range hist {
			c.requestHistory(time.Now())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// tally waits until every local member got every stored message of its
// chat (or the deadline passes), then counts.
func (w *worker) tally(ctx context.Context, all []SenderTally, deadline time.Time) (*workerResult, error) {
	byChat := make(map[int][]*SenderTally)
	for i := range all {
		byChat[all[i].Chat] = append(byChat[all[i].Chat], &all[i])
	}
	w.mu.Lock()
	conns := append([]*conn(nil), w.conns...)
	w.mu.Unlock()
	for time.Now().Before(deadline) && ctx.Err() == nil && len(all) > 0 {
		var missing int64
		for _, c := range conns {
			if c.plan.Chat >= 0 {
				missing += c.recv.missing(byChat[c.plan.Chat])
			}
		}
		if missing == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := &workerResult{Attempted: int(w.attempted.Load()), Connected: len(conns), Failed: int(w.failed.Load())}
	for _, c := range conns {
		if c.plan.Chat >= 0 {
			r.Delivery.add(c.recv.tally(c.plan.ID, byChat[c.plan.Chat]))
		}
	}
	var err error
	if r.Handshake, err = w.handshakes.encode(); err != nil {
		return nil, err
	}
	if r.Deliver, err = w.deliveries.encode(); err != nil {
		return nil, err
	}
	if r.DeliverSame, err = w.sameNode.encode(); err != nil {
		return nil, err
	}
	if r.DeliverCross, err = w.crossNode.encode(); err != nil {
		return nil, err
	}
	if r.Reconnect, err = w.reconnects.encode(); err != nil {
		return nil, err
	}
	if r.DuringStorm, err = w.duringStorm.encode(); err != nil {
		return nil, err
	}
	w.mu.Lock()
	r.Storm = w.storm
	w.mu.Unlock()
	if r.Ack, err = w.acks.encode(); err != nil {
		return nil, err
	}
	if r.History, err = w.history.encode(); err != nil {
		return nil, err
	}
	r.HistStats = HistoryStats{Requests: w.histRequests.Load(), Pages: w.histPages.Load(),
		Messages: w.histMessages.Load(), BadPages: w.histBad.Load()}
	w.mu.Lock()
	r.ConnectNs = w.connectNs
	r.Errors = make(map[string]int64, len(w.errs))
	for k, v := range w.errs {
		r.Errors[k] = v
	}
	r.Examples = append(r.Examples, w.exList...)
	r.Generator = w.gen
	w.mu.Unlock()
	return r, nil
}

// closeAll closes every connection and waits for the readers to end.
func (w *worker) closeAll() {
	w.closing.Store(true)
	w.mu.Lock()
	conns := w.conns
	w.conns = nil
	w.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
	for _, c := range conns {
		<-c.closed
	}
	if w.rd != nil {
		w.rd.stop()
	}
}

// startReading has the worker's reader read c from now on, or a goroutine
// of c's own without one. A connection the reader cannot take ends.
func (w *worker) startReading(c *conn) {
	if w.rd == nil {
		go c.run()
		return
	}
	if err := w.rd.add(c); err != nil {
		// io.EOF: the node closed c in the frames after its Welcome,
		// counted as run counts it.
		if !errors.Is(err, io.EOF) {
			w.countError("reader_add_failed")
			if w.examples.Add(1) <= maxExamples {
				w.addExample(fmt.Sprintf("conn %d: reader: %v", c.plan.ID, err))
			}
		}
		_ = c.nc.Close()
		c.ended(err)
	}
}

// RunWorker serves one worker process over r (commands) and w (events),
// JSON lines; natter-bench's "worker" subcommand calls it.
func RunWorker(ctx context.Context, r io.Reader, wr io.Writer) error {
	dec := json.NewDecoder(r)
	enc := json.NewEncoder(wr)
	var emu sync.Mutex
	return serveWorker(ctx,
		func() (command, error) {
			var c command
			err := dec.Decode(&c)
			return c, err
		},
		func(e event) error {
			emu.Lock()
			defer emu.Unlock()
			if err := enc.Encode(e); err != nil {
				return fmt.Errorf("bench: worker: write event: %w", err)
			}
			return nil
		})
}
