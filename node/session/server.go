package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/node/internal/loglimit"
	"github.com/natterchat/natter/node/presence"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store"
)

// Config configures a Server. NodeID, Chat, Hub, Presence, Recent, Store
// and Broadcast are required; zero values of the others are the
// documented defaults.
type Config struct {
	// NodeID goes into every Welcome.
	NodeID   string
	Chat     *chat.Service
	Hub      *fanout.Hub
	Presence *presence.View
	Recent   *fanout.Recent
	// Store gives the stream position a new device is caught up from,
	// and a Resume's replay.
	Store store.Store
	// Broadcast sends an encoded frame to every device of the cluster
	// (the seed's global chat channel).
	Broadcast func(frame []byte) error
	// Conn configures the connection layer; see wsconn.Config.
	Conn wsconn.Config

	// MaxDevicesPerUser caps a user's connections on this node. Default 64.
	MaxDevicesPerUser int
	// RateLimit is the frames per second one device may send (sustained);
	// RateBurst the burst. Defaults 20 and 40.
	RateLimit float64
	RateBurst int
	// ResumeLimit caps the messages one Resume replays. Default 1000.
	ResumeLimit int
	// RequestTimeout bounds one client frame's storage work. Default 15s.
	RequestTimeout time.Duration
	// PresenceGrace is how long a registered user's closed device still
	// counts as online, so that a client that reconnects at once is
	// never seen offline (presence_grace.go). Zero: announced at once.
	PresenceGrace time.Duration

	Log     *slog.Logger
	Limiter *loglimit.Limiter
}

func (c *Config) setDefaults() error {
	if c.NodeID == "" || c.Chat == nil || c.Hub == nil || c.Presence == nil || c.Recent == nil || c.Store == nil || c.Broadcast == nil {
		return errors.New("session: NodeID, Chat, Hub, Presence, Recent, Store and Broadcast are required")
	}
	if c.MaxDevicesPerUser <= 0 {
		c.MaxDevicesPerUser = 64
	}
	if c.RateLimit <= 0 {
		c.RateLimit = 20
	}
	if c.RateBurst <= 0 {
		c.RateBurst = 40
	}
	if c.ResumeLimit <= 0 {
		c.ResumeLimit = 1000
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 15 * time.Second
	}
	c.Log, c.Limiter = loglimit.Defaults(c.Log, c.Limiter)
	if c.Conn.Logger == nil {
		c.Conn.Logger = c.Log
	}
	return nil
}

// Server runs the protocol for a node's WebSocket connections.
type Server struct {
	// Static after New.
	cfg     Config
	conns   *wsconn.Server
	metrics Metrics

	runners  sync.WaitGroup // device frame runners
	cleanups sync.WaitGroup // closed-device cleanups

	cleanMu    sync.Mutex
	cleanQueue []*device // guarded by cleanMu: closed devices to clean up
	cleaners   int       // guarded by cleanMu: running cleanLoops

	graceMu      sync.Mutex
	graceDowns   map[*device]graceDown // guarded by graceMu: down events waiting for their grace
	graceFlushed bool                  // guarded by graceMu: FlushPresence ran

	expiries expiries // the devices with a token, by when it expires
}

// New builds a Server and starts its connection layer.
func New(cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg}
	s.expiries.next = expirySeconds(time.Now()) / 60
	var err error
	if s.conns, err = wsconn.New(cfg.Conn, s); err != nil {
		return nil, fmt.Errorf("session: start connection layer: %w", err)
	}
	return s, nil
}

// Conns returns the connection layer.
func (s *Server) Conns() *wsconn.Server { return s.conns }

// Metrics returns the protocol's counters.
func (s *Server) Metrics() *Metrics { return &s.metrics }

// Wait waits until every closed device has been cleaned up and every
// frame runner has ended, or ctx ends. Call it after closing every
// connection.
func (s *Server) Wait(ctx context.Context) error {
	if err := waitCtx(ctx, &s.cleanups); err != nil {
		return err
	}
	return waitCtx(ctx, &s.runners)
}

// waitCtx waits for wg or ctx, whichever comes first.
func waitCtx(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("session: wait for devices: %w", ctx.Err())
	}
}

// OnMessage runs on a connection-layer worker: it rate-limits and queues
// the frame for the device's runner, never blocking the worker on
// storage or NATS.
func (s *Server) OnMessage(c *wsconn.Conn, msg []byte) {
	d := c.Data().(*device)
	if !d.allow(monoMillis(), s.cfg.RateLimit, s.cfg.RateBurst) {
		s.metrics.RateLimited.Add(1)
		// Dropped before it is read: the Error names no ref or type
		// (docs/protocol.md).
		e := wire.Errorf(wire.CodeRateLimited, "more than %g frames per second; frame dropped", s.cfg.RateLimit)
		e.RetryAfter = d.retryAfter(s.cfg.RateLimit)
		d.sendError(&s.metrics, wire.ChannelSession, "", "", e)
		return
	}
	if !d.enqueue(s, append([]byte(nil), msg...)) {
		c.Close(wsconn.ReasonPolicy, "too many frames waiting")
	}
}

// OnClose hands the device's cleanup (presence, guest memberships, store
// calls) to a cleaner so the worker moves on.
func (s *Server) OnClose(c *wsconn.Conn, reason wsconn.CloseReason) {
	d := c.Data().(*device)
	s.metrics.closed(reason)
	if d.markClosed() {
		s.queueCleanup(d)
	}
}
