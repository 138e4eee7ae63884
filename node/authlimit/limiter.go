// Package authlimit limits password guessing and mass registration:
// failed logins per account name and per source address, registrations
// per source address, the same on every node of a cluster.
//
// The counts live in JetStream (store.JetStream's counters, one per rule
// and account or address), so a failure on one node counts on every
// other. A counter that reaches its limit blocks its account or address
// until the window has passed since its last counted event; the node that
// saw it reach the limit announces the block on NATS, and every node keeps
// the blocks it knows in memory. A login whose password is right therefore
// costs no round trip to JetStream, as long as this node has been
// listening to the announcements for a whole window (without a reconnect
// or a dropped message): before that it may have missed a block, and it
// reads the counters instead.
//
// It is not the per-device frame limit of the WebSocket protocol
// (package session), and it knows nothing of HTTP.
package authlimit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/node/internal/loglimit"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// Counters are the cluster's shared counters (store.JetStream).
type Counters interface {
	// Incr raises a counter by one and returns its new value.
	Incr(ctx context.Context, subject string) (int64, error)
	// Counter reads a counter: zero when never raised or expired.
	Counter(ctx context.Context, subject string) (store.Count, error)
}

// Defaults of Config.
const (
	DefaultWindow                     = store.DefaultCounterWindow
	DefaultMaxLoginFailuresPerAccount = 10
	DefaultMaxLoginFailuresPerSource  = 100
	DefaultMaxRegistrationsPerSource  = 20
)

// Config configures a Limiter. Counters and NC are required. A limit of
// 0 means its default; a negative limit turns the rule off.
type Config struct {
	Counters Counters
	NC       *nats.Conn
	// Window is how long a block lasts after the last counted event, and
	// how long a counter lives without one. It must be the store's
	// CounterWindow. Default 10m.
	Window time.Duration

	MaxLoginFailuresPerAccount int
	MaxLoginFailuresPerSource  int
	MaxRegistrationsPerSource  int

	Log     *slog.Logger
	Limiter *loglimit.Limiter
}

// maxBlocks bounds the blocks a node keeps in memory. Past it (a wide
// attack from very many addresses) a block is not kept, and the node
// reads the counters again until a window has passed.
const maxBlocks = 100_000

// Metrics count what a Limiter refused and what it could not check.
type Metrics struct {
	// Refused counts attempts refused (429), by rule.
	Refused map[Rule]*atomic.Int64
	// Errors counts checks and counts that could not reach the counters
	// (answered 503).
	Errors atomic.Int64
}

// Limiter counts and refuses. It is safe for concurrent use.
type Limiter struct {
	cfg     Config
	max     map[Rule]int64
	metrics Metrics

	mu      sync.Mutex
	blocked map[string]time.Time // counter subject -> blocked until
	sub     *nats.Subscription
	// liveSince is when this node's view of the blocks last began to be
	// complete: the subscription started, NATS reconnected, an
	// announcement was dropped or a block could not be kept. The view is
	// complete once a window has passed since then.
	liveSince  time.Time
	reconnects uint64
	dropped    int
}

// New builds a Limiter; Start subscribes it to the announcements.
func New(cfg Config) (*Limiter, error) {
	if cfg.Counters == nil || cfg.NC == nil {
		return nil, errors.New("authlimit: Counters and NC are required")
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	cfg.Log, cfg.Limiter = loglimit.Defaults(cfg.Log, cfg.Limiter)
	limit := func(v, def int) int64 {
		switch {
		case v == 0:
			return int64(def)
		case v < 0:
			return 0 // off
		}
		return int64(v)
	}
	return &Limiter{
		cfg: cfg,
		max: map[Rule]int64{
			LoginAccount:   limit(cfg.MaxLoginFailuresPerAccount, DefaultMaxLoginFailuresPerAccount),
			LoginSource:    limit(cfg.MaxLoginFailuresPerSource, DefaultMaxLoginFailuresPerSource),
			RegisterSource: limit(cfg.MaxRegistrationsPerSource, DefaultMaxRegistrationsPerSource),
		},
		blocked: make(map[string]time.Time),
		metrics: Metrics{Refused: map[Rule]*atomic.Int64{LoginAccount: {}, LoginSource: {}, RegisterSource: {}}},
	}, nil
}

// Metrics returns the limiter's counters; the map is not changed after
// New.
func (l *Limiter) Metrics() *Metrics { return &l.metrics }

// counted records the outcome of a check or a count in the metrics.
func (l *Limiter) counted(b Block, err error) (Block, error) {
	switch {
	case err != nil:
		l.metrics.Errors.Add(1)
	case b.Refused():
		l.metrics.Refused[b.Rule].Add(1)
	}
	return b, err
}

// Start subscribes to the blocks other nodes announce and returns the
// subscription, which the caller ends at shutdown.
func (l *Limiter) Start() (*nats.Subscription, error) {
	sub, err := l.cfg.NC.Subscribe(subjects.AuthBlocked, l.onBlocked)
	if err != nil {
		return nil, fmt.Errorf("authlimit: subscribe %s: %w", subjects.AuthBlocked, err)
	}
	l.mu.Lock()
	l.sub = sub
	l.liveSince = time.Now()
	l.reconnects = l.cfg.NC.Stats().Reconnects
	l.mu.Unlock()
	return sub, nil
}

// Block says that an attempt is refused: which rule refused it and how
// long until it may be tried again. The zero Block lets it through.
type Block struct {
	Rule Rule
	Wait time.Duration
}

// Refused reports whether b refuses the attempt.
func (b Block) Refused() bool { return b.Wait > 0 }

// longer returns the longer of two blocks.
func longer(a, b Block) Block {
	if b.Wait > a.Wait {
		return b
	}
	return a
}

// announcement is the body of a subjects.AuthBlocked message. The block's
// length, not its end, travels, so the nodes' clocks need not agree.
type announcement struct {
	Subject string `json:"subject"`
	WaitMs  int64  `json:"waitMs"`
}

// Check returns the longest block on any of keys, reading the counters
// only when this node may have missed an announcement. An error means
// the counters could not be read; the caller refuses the attempt (see
// docs/security.md: the limits fail closed).
func (l *Limiter) Check(ctx context.Context, keys ...Key) (Block, error) {
	return l.counted(l.check(ctx, keys))
}

func (l *Limiter) check(ctx context.Context, keys []Key) (Block, error) {
	now := time.Now()
	var b Block
	l.mu.Lock()
	complete := l.completeLocked(now)
	for _, k := range keys {
		if until, ok := l.blocked[k.subject]; ok && until.After(now) && l.max[k.Rule] != 0 {
			b = longer(b, Block{Rule: k.Rule, Wait: until.Sub(now)})
		}
	}
	l.mu.Unlock()
	if b.Refused() || complete {
		return b, nil
	}
	for _, k := range keys {
		if l.max[k.Rule] == 0 {
			continue
		}
		c, err := l.cfg.Counters.Counter(ctx, k.subject)
		if err != nil {
			return Block{}, fmt.Errorf("authlimit: check %s: %w", k.Rule, err)
		}
		if c.N < l.max[k.Rule] {
			continue
		}
		if until := c.At.Add(l.cfg.Window); until.After(now) {
			l.keep(k.subject, until)
			b = longer(b, Block{Rule: k.Rule, Wait: until.Sub(now)})
		}
	}
	return b, nil
}

// Count counts one event (a failed login, a registration) on each of
// keys. A counter that reaches its limit blocks its key from now on, on
// every node; the Block returned refuses this event itself only when a
// counter went past the limit (another node counted the last allowed
// one). An error means an event could not be counted; the caller refuses
// it.
func (l *Limiter) Count(ctx context.Context, keys ...Key) (Block, error) {
	return l.counted(l.count(ctx, keys))
}

func (l *Limiter) count(ctx context.Context, keys []Key) (Block, error) {
	var b Block
	for _, k := range keys {
		limit := l.max[k.Rule]
		if limit == 0 {
			continue
		}
		n, err := l.cfg.Counters.Incr(ctx, k.subject)
		if err != nil {
			return Block{}, fmt.Errorf("authlimit: count %s: %w", k.Rule, err)
		}
		if n < limit {
			continue
		}
		until := time.Now().Add(l.cfg.Window)
		l.keep(k.subject, until)
		l.announce(k.subject)
		if n > limit {
			b = longer(b, Block{Rule: k.Rule, Wait: l.cfg.Window})
		}
	}
	return b, nil
}

// announce tells every node of a block. A lost announcement costs a
// round trip, not the limit: a node that may have missed one reads the
// counters (see completeLocked), and a failure there counts anyway.
func (l *Limiter) announce(subject string) {
	b, _ := json.Marshal(announcement{Subject: subject, WaitMs: l.cfg.Window.Milliseconds()})
	if err := l.cfg.NC.Publish(subjects.AuthBlocked, b); err != nil {
		l.cfg.Limiter.Warn("authlimit: announce a block", slog.String("subject", subject), slog.Any("err", err))
	}
}

// onBlocked keeps a block another node (or this one) announced.
func (l *Limiter) onBlocked(m *nats.Msg) {
	var a announcement
	if err := json.Unmarshal(m.Data, &a); err != nil || a.WaitMs <= 0 || !validSubject(a.Subject) {
		l.cfg.Limiter.Warn("authlimit: a malformed announcement", slog.String("data", string(m.Data)))
		return
	}
	wait := min(time.Duration(a.WaitMs)*time.Millisecond, l.cfg.Window)
	l.keep(a.Subject, time.Now().Add(wait))
}

// keep remembers a block, the later end if it knows one already.
func (l *Limiter) keep(subject string, until time.Time) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := l.blocked[subject]; ok {
		if until.After(old) {
			l.blocked[subject] = until
		}
		return
	}
	if len(l.blocked) >= maxBlocks {
		for s, u := range l.blocked {
			if !u.After(now) {
				delete(l.blocked, s)
			}
		}
	}
	if len(l.blocked) >= maxBlocks {
		// Not kept: until every block it might have known has ended,
		// this node reads the counters.
		l.liveSince = now
		return
	}
	l.blocked[subject] = until
}

// completeLocked reports whether this node knows every block in force:
// it has received every announcement of the last window. A reconnect or
// a dropped message starts the window over.
func (l *Limiter) completeLocked(now time.Time) bool {
	if l.sub == nil {
		return false
	}
	reconnects := l.cfg.NC.Stats().Reconnects
	dropped, _ := l.sub.Dropped()
	if l.cfg.NC.Status() != nats.CONNECTED || reconnects != l.reconnects || dropped != l.dropped {
		l.reconnects, l.dropped, l.liveSince = reconnects, dropped, now
		return false
	}
	return now.Sub(l.liveSince) >= l.cfg.Window
}
