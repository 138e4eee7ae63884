package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// Run executes one run of c and returns its report. An error means the
// run could not be carried out (bad config, no node, a worker died); a
// run that was carried out but lost, duplicated or reordered messages
// returns a Result whose Problems say so.
func Run(ctx context.Context, c Config) (*Result, error) {
	c.setDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.Workers > c.Conns {
		c.Workers = c.Conns
	}
	plan := newPlan(&c)
	if !c.Guests && c.Scenario != ScenarioConnect {
		c.progress("registering %d users and %d chats through the API", c.Conns, len(plan.Chats))
		if err := setupAccounts(ctx, &c, plan); err != nil {
			return nil, fmt.Errorf("bench: set up accounts: %w", err)
		}
	}
	co := &coordinator{cfg: &c, plan: plan}
	defer co.stop()
	return co.run(ctx)
}

// WorkerCommand, when set, starts worker processes instead of
// os.Executable() worker (for tests).
var WorkerCommand []string

type coordinator struct {
	cfg   *Config
	plan  *Plan
	links []link
	nodes []NodeReport
	// connectCPU is the CPU seconds the local nodes used in the connect
	// phase, or 0 if some node is not a local process.
	connectCPU float64
}

func (c *Config) progress(format string, a ...any) {
	if c.Progress != nil {
		c.Progress(fmt.Sprintf(format, a...))
	}
}

func (co *coordinator) stop() {
	for _, l := range co.links {
		_ = l.send(command{Op: "close"})
	}
	for _, l := range co.links {
		_ = l.wait()
	}
	co.links = nil
}

func (co *coordinator) run(ctx context.Context) (*Result, error) {
	c := co.cfg
	co.readNodesBefore(ctx)
	connectStart := co.sampleNodes()
	epoch := time.Now()
	shares := co.plan.shares(c)
	for k := range c.Workers {
		var l link
		if c.Workers == 1 {
			l = startInProcess(ctx)
		} else {
			p, err := startProcess(ctx, WorkerCommand)
			if err != nil {
				return nil, err
			}
			l = p
		}
		co.links = append(co.links, l)
		sub := &Plan{Chats: co.plan.Chats, Quiet: co.plan.Quiet, Conns: shares[k]}
		if err := l.send(command{Op: "setup", Config: c, Plan: sub, Epoch: epoch.UnixNano()}); err != nil {
			return nil, err
		}
	}
	// Ramp-up: every worker reports progress until ready.
	connected := make([]int, c.Workers)
	failed := make([]int, c.Workers)
	if err := co.gather("ready", func(k int, e event) {
		connected[k], failed[k] = e.Connected, e.Failed
		if e.Ev == "progress" {
			c.progress("connecting: %d/%d connected, %d failed, %.0fs", sum(connected), c.Conns, sum(failed), time.Since(epoch).Seconds())
		}
	}); err != nil {
		return nil, err
	}
	c.progress("connected: %d/%d, %d failed in %.1fs", sum(connected), c.Conns, sum(failed), time.Since(epoch).Seconds())
	if cpu, ok := co.readNodesConnected(connectStart); ok {
		co.connectCPU = cpu
	}

	var senders []SenderTally
	var sendStart time.Time
	var sendFor time.Duration
	switch {
	case c.sends():
		time.Sleep(c.Settle)
		// Start on a whole second after the epoch so every worker's
		// latency windows line up with the send phase.
		sendStart = epoch.Add(time.Duration(math.Ceil(time.Since(epoch).Seconds()+0.2)) * time.Second)
		sendFor = c.Duration
		load := co.sampleNodes()
		for _, l := range co.links {
			if err := l.send(command{Op: "send", Start: sendStart.UnixNano(), Duration: c.Duration}); err != nil {
				return nil, err
			}
		}
		done := make(chan struct{})
		go co.tick(done, sendStart, "sending")
		err := co.gather("sent", func(_ int, e event) { senders = append(senders, e.Senders...) })
		close(done)
		co.readNodesLoaded(load)
		if err != nil {
			return nil, err
		}
	case c.Scenario == ScenarioIdle:
		if err := co.idle(ctx); err != nil {
			return nil, err
		}
	}
	deadline := time.Now().Add(c.Grace)
	if !sendStart.IsZero() {
		deadline = sendStart.Add(sendFor).Add(c.Grace)
	}
	for _, l := range co.links {
		if err := l.send(command{Op: "tally", Senders: senders, Deadline: deadline.UnixNano()}); err != nil {
			return nil, err
		}
	}
	var parts []*workerResult
	if err := co.gather("result", func(_ int, e event) { parts = append(parts, e.Result) }); err != nil {
		return nil, err
	}
	co.readNodesAfter(ctx)
	return co.report(parts, senders, epoch, sendStart)
}

// gather reads events from every worker until each sent want.
func (co *coordinator) gather(want string, f func(k int, e event)) error {
	type item struct {
		k   int
		e   event
		err error
	}
	ch := make(chan item)
	for k, l := range co.links {
		go func() {
			for {
				e, err := l.recv()
				ch <- item{k, e, err}
				if err != nil || e.Ev == want || e.Ev == "error" {
					return
				}
			}
		}()
	}
	var first error
	for left := len(co.links); left > 0; {
		it := <-ch
		switch {
		case it.err != nil:
			first = errors.Join(first, fmt.Errorf("worker %d: %w", it.k, it.err))
			left--
		case it.e.Ev == "error":
			first = errors.Join(first, fmt.Errorf("worker %d: %s", it.k, it.e.Error))
			left--
		default:
			f(it.k, it.e)
			if it.e.Ev == want {
				left--
			}
		}
	}
	return first
}

// tick prints a progress line every second until done.
func (co *coordinator) tick(done <-chan struct{}, start time.Time, what string) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			el := time.Since(start)
			if el < 0 {
				continue
			}
			if el > co.cfg.Duration {
				co.cfg.progress("%s done; waiting up to %s for acks and deliveries", what, co.cfg.Grace)
				continue
			}
			co.cfg.progress("%s: %.0fs/%s", what, el.Seconds(), co.cfg.Duration)
		}
	}
}

func sum(s []int) int {
	n := 0
	for _, v := range s {
		n += v
	}
	return n
}
