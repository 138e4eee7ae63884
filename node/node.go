package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/node/auth"
	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// Node is one natter node. Build it with New, serve with Serve (or mount
// Handler), stop with Shutdown.
type Node struct {
	// Static after New.
	cfg      Config
	id       string
	log      *slog.Logger
	ns       *server.Server // the embedded NATS server; nil with NATSURL
	nc       *nats.Conn
	store    *store.JetStream
	tokens   *auth.Tokens
	conns    *wsconn.Server
	reg      *registry
	dispatch *dispatchers
	presence *presenceView
	recent   *recentMemberships
	http     *http.Server
	metrics  *metrics
	limiter  *logLimiter

	handshakes    chan struct{} // semaphore of concurrent handshakes
	guestCleanups chan struct{} // semaphore of concurrent guest cleanups
	done          chan struct{} // closed by Shutdown
	cancel        context.CancelFunc
	loops         sync.WaitGroup // dispatcher and event loops
	cleanups      sync.WaitGroup // device close handling
	runners       sync.WaitGroup // device frame runners
	draining      atomic.Bool
	canarySeq     atomic.Uint64 // the last readiness canary sent

	cleanMu    sync.Mutex
	cleanQueue []*device // guarded by cleanMu: closed devices to clean up
	cleaners   int       // guarded by cleanMu: running cleanLoops

	mu        sync.Mutex
	closed    bool           // guarded by mu
	listeners []net.Listener // guarded by mu
	eventSubs []*nats.Subscription
}

// New builds a node: it starts the embedded NATS server (listening on no
// port) or connects to NATSURL, bootstraps the store and starts the
// connection layer and fan-out loops. It listens on nothing; call Serve.
func New(cfg Config) (*Node, error) {
	cfg.setDefaults()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("node: create data dir: %w", err)
	}
	n := &Node{cfg: cfg, log: cfg.Logger, reg: newRegistry(), metrics: newMetrics(), recent: newRecentMemberships(),
		handshakes: make(chan struct{}, cfg.MaxHandshakes), guestCleanups: make(chan struct{}, 64), done: make(chan struct{})}
	n.limiter = newLogLimiter(n.log)
	var err error
	if n.id, err = loadNodeID(cfg); err != nil {
		return nil, err
	}
	n.log = n.log.With(slog.String("node", n.id))
	secret := cfg.Secret
	if secret == "" {
		if secret, err = auth.LoadOrCreateSecret(cfg.DataDir); err != nil {
			return nil, fmt.Errorf("node: %w", err)
		}
	}
	if n.tokens, err = auth.NewTokens(secret, cfg.TokenTTL); err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			n.closeNATS()
		}
	}()
	if err := n.connectNATS(); err != nil {
		return nil, err
	}
	if n.store, err = n.openStore(); err != nil {
		return nil, err
	}
	if n.conns, err = wsconn.New(cfg.Conn, connHandler{n}); err != nil {
		return nil, fmt.Errorf("node: start connection layer: %w", err)
	}
	n.presence = newPresenceView(n)
	if err := n.registerMetrics(cfg.Metrics); err != nil {
		n.conns.Close()
		return nil, fmt.Errorf("node: register metrics: %w", err)
	}
	loopCtx, loopCancel := context.WithCancel(context.Background())
	n.cancel = loopCancel
	n.dispatch = &dispatchers{seed: maphash.MakeSeed()}
	for range 4 {
		d := newDispatcher(n)
		n.dispatch.all = append(n.dispatch.all, d)
		n.loops.Add(1)
		go func() { defer n.loops.Done(); d.run(loopCtx) }()
	}
	events := make(chan *nats.Msg, eventsBuffer)
	for _, subj := range []string{subjects.UserEventsWildcard, subjects.Presence, subjects.Heartbeat, subjects.Broadcast} {
		s, err := n.nc.ChanSubscribe(subj, events)
		if err != nil {
			n.conns.Close()
			loopCancel()
			return nil, fmt.Errorf("node: subscribe %s: %w", subj, err)
		}
		n.eventSubs = append(n.eventSubs, s)
	}
	s, err := n.nc.Subscribe(subjects.NodeRequest(n.id, subjects.NodeOpPresence), n.presence.serveDevices)
	if err != nil {
		n.conns.Close()
		loopCancel()
		return nil, fmt.Errorf("node: subscribe node requests: %w", err)
	}
	n.eventSubs = append(n.eventSubs, s)
	if s, err = n.nc.Subscribe(subjects.ChatEventWildcard, n.routeChatEvent); err != nil {
		n.conns.Close()
		loopCancel()
		return nil, fmt.Errorf("node: subscribe chat events: %w", err)
	}
	n.eventSubs = append(n.eventSubs, s)
	if err := n.subscribeCanaries(); err != nil {
		n.conns.Close()
		loopCancel()
		return nil, fmt.Errorf("node: %w", err)
	}
	// The subscriptions above must be in place on the server before the
	// node takes devices, or their first events could be missed.
	if err := n.nc.Flush(); err != nil {
		n.conns.Close()
		loopCancel()
		return nil, fmt.Errorf("node: flush subscriptions: %w", err)
	}
	n.loops.Add(2)
	go func() { defer n.loops.Done(); n.runEvents(loopCtx, events) }()
	go func() { defer n.loops.Done(); n.watchStorms(loopCtx) }()
	n.http = &http.Server{
		Handler:           n.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelDebug),
	}
	ok = true
	n.log.Info("node started", slog.Bool("embedded_nats", n.ns != nil), slog.String("data_dir", cfg.DataDir))
	return n, nil
}

// ID returns the node's id.
func (n *Node) ID() string { return n.id }

// connectNATS starts the embedded server (unless NATSURL is set) and
// connects to it with unlimited reconnects.
func (n *Node) connectNATS() error {
	opts := []nats.Option{
		nats.Name("natter-" + n.id),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectBufSize(64 << 20),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			n.log.Warn("nats disconnected", slog.Any("err", err))
		}),
		nats.ReconnectHandler(func(*nats.Conn) {
			n.metrics.natsReconnects.Add(1)
			n.log.Info("nats reconnected; checking every chat for gaps")
			for _, d := range n.dispatch.all {
				d.post(d.recheckAll)
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			// A slow consumer here means a dispatcher fell behind and
			// NATS dropped messages; the gap logic refills them.
			n.logLimited("nats async error", slog.Any("err", err))
		}),
	}
	var err error
	if n.cfg.NATSURL != "" {
		n.nc, err = nats.Connect(n.cfg.NATSURL, opts...)
		if err != nil {
			return fmt.Errorf("node: connect to NATS %s: %w", n.cfg.NATSURL, err)
		}
		return nil
	}
	so, err := n.embeddedOptions()
	if err != nil {
		return err
	}
	if n.ns, err = server.NewServer(so); err != nil {
		return fmt.Errorf("node: configure embedded NATS: %w", err)
	}
	n.ns.SetLoggerV2(newNATSLogger(n.log), false, false, false)
	n.ns.Start()
	if !n.ns.ReadyForConnections(30 * time.Second) {
		return errors.New("node: embedded NATS did not start within 30s")
	}
	n.nc, err = nats.Connect("", append(opts, nats.InProcessServer(n.ns))...)
	if err != nil {
		return fmt.Errorf("node: connect to embedded NATS: %w", err)
	}
	return nil
}

func (n *Node) closeNATS() {
	if n.nc != nil {
		n.nc.Close()
	}
	if n.ns != nil {
		n.ns.Shutdown()
		n.ns.WaitForShutdown()
	}
}

// loadNodeID returns the configured id or the one stored in the data dir,
// generating it on first start so a node keeps its id across restarts.
func loadNodeID(cfg Config) (string, error) {
	if cfg.NodeID != "" {
		if !subjects.ValidID(cfg.NodeID) {
			return "", fmt.Errorf("node: node id %q must be 1-64 characters of [A-Za-z0-9_-]", cfg.NodeID)
		}
		return cfg.NodeID, nil
	}
	path := filepath.Join(cfg.DataDir, "node-id")
	if b, err := os.ReadFile(path); err == nil {
		id := strings.TrimSpace(string(b))
		if !subjects.ValidID(id) {
			return "", fmt.Errorf("node: node id in %s is invalid", path)
		}
		return id, nil
	}
	raw := make([]byte, 6)
	_, _ = rand.Read(raw)
	id := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(id+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("node: write node id: %w", err)
	}
	return id, nil
}

// newID returns a fresh random id for users, devices and chats.
func newID() string { return uuid.NewString() }

// idLen is the length of an id from newID.
const idLen = 36

// putID writes a fresh random id, formatted as newID's, into dst[:idLen],
// so that several ids can share one allocation.
func putID(dst []byte) {
	u := uuid.New()
	hex.Encode(dst[0:8], u[0:4])
	hex.Encode(dst[9:13], u[4:6])
	hex.Encode(dst[14:18], u[6:8])
	hex.Encode(dst[19:23], u[8:10])
	hex.Encode(dst[24:idLen], u[10:])
	dst[8], dst[13], dst[18], dst[23] = '-', '-', '-', '-'
}

func (n *Node) isClosed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closed
}

// Shutdown drains the node: it stops accepting, closes every WebSocket
// with 1001 (clients reconnect to another node and resume), waits for
// their cleanup, stops the HTTP server and the loops, and disconnects from
// NATS. It returns ctx's error if the drain did not finish in time.
func (n *Node) Shutdown(ctx context.Context) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	n.draining.Store(true)
	listeners := n.listeners
	n.mu.Unlock()

	// Not ready from here on; through the drain delay the node still
	// answers (readyz says "draining", upgrades get 503) so that load
	// balancers see it go rather than find a closed port.
	n.log.Info("draining", slog.Int("connections", n.conns.Len()), slog.Duration("delay", n.cfg.DrainDelay))
	if n.cfg.DrainDelay > 0 {
		select {
		case <-time.After(n.cfg.DrainDelay):
		case <-ctx.Done():
		}
	}
	close(n.done)
	for _, l := range listeners {
		l.Close()
	}
	n.closeDevices(ctx)
	err := n.http.Shutdown(ctx)
	n.conns.Close()
	if werr := waitCtx(ctx, &n.cleanups); werr != nil && err == nil {
		err = werr
	}
	if werr := waitCtx(ctx, &n.runners); werr != nil && err == nil {
		err = werr
	}
	// The devices' "down" events went out with their cleanup; the
	// goodbye tells the others this node's view is empty now.
	n.presence.beat(true)
	for _, s := range n.eventSubs {
		_ = s.Unsubscribe()
	}
	_ = n.nc.Flush()
	n.cancel()
	n.loops.Wait()
	n.closeNATS()
	n.log.Info("stopped")
	return err
}

// waitCtx waits for wg or ctx, whichever comes first.
func waitCtx(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("node: shutdown: %w", ctx.Err())
	}
}

// drainReason is the close text of a drain: the reconnect hint.
const drainReason = "node draining; reconnect to another node and resume"

// closeDevices closes every WebSocket with 1001 in batches of DrainBatch
// every DrainInterval, and the rest at once when ctx's deadline is near.
func (n *Node) closeDevices(ctx context.Context) {
	var all []*wsconn.Conn
	n.conns.Range(func(c *wsconn.Conn) bool {
		all = append(all, c)
		return true
	})
	for len(all) > 0 {
		batch := min(n.cfg.DrainBatch, len(all))
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < 2*n.cfg.DrainInterval*time.Duration(1+len(all)/n.cfg.DrainBatch) {
			batch = len(all) // out of time: the rest at once
		}
		for _, c := range all[:batch] {
			c.Close(wsconn.ReasonGoingAway, drainReason)
		}
		all = all[batch:]
		if len(all) > 0 {
			select {
			case <-time.After(n.cfg.DrainInterval):
			case <-ctx.Done():
			}
		}
	}
	n.conns.CloseAll(wsconn.ReasonGoingAway, drainReason) // any that arrived meanwhile
}
