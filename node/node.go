package node

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/node/auth"
	"github.com/natterchat/natter/node/authlimit"
	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/node/handshake"
	"github.com/natterchat/natter/node/httpapi"
	"github.com/natterchat/natter/node/internal/loglimit"
	"github.com/natterchat/natter/node/presence"
	"github.com/natterchat/natter/node/session"
	"github.com/natterchat/natter/node/tlsserve"
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
	limiter  *loglimit.Limiter
	ns       *server.Server // the embedded NATS server; nil with NATSURL
	nc       *nats.Conn
	store    store.Store
	tokens   *auth.Tokens
	recent   *fanout.Recent
	hub      *fanout.Hub
	presence *presence.View
	chat     *chat.Service
	sess     *session.Server
	conns    *wsconn.Server
	api      *httpapi.API
	limits   *authlimit.Limiter
	http     *http.Server
	metrics  metrics
	certs    *tlsserve.Reloader // nil without TLSCertFile
	tls      *tls.Config        // nil without TLSCertFile: accepted connections are plain

	admin     *http.Server // the admin port; nil without AdminListen
	adminAddr net.Addr
	adminDone chan struct{} // closed when the admin server's Serve returned

	admission  *handshake.Admission // connections whose request head is being read
	handshakes chan struct{}        // semaphore of concurrent upgrades
	upgrades   sync.Pool            // *upgrade, each with its upgrader made once (upgrade.go)
	done       chan struct{}        // closed by Shutdown
	cancel     context.CancelFunc
	loops      sync.WaitGroup // the events loop and the storm watch
	orphans    sync.WaitGroup // ending the guests of dead nodes
	draining   atomic.Bool
	// started is set once the fan-out runs: NATS reconnects recheck its
	// chats from then on.
	started atomic.Bool

	mu        sync.Mutex
	closed    bool                 // guarded by mu
	listeners []net.Listener       // guarded by mu
	subs      []*nats.Subscription // guarded by mu: the node's own subscriptions
}

// New builds a node: it starts the embedded NATS server (listening on no
// port) or connects to NATSURL, opens the store and starts the
// connection layer, fan-out and event loops. It listens on nothing; call
// Serve.
func New(cfg Config) (*Node, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, log: cfg.Logger, handshakes: make(chan struct{}, cfg.MaxHandshakes), done: make(chan struct{}), metrics: newMetrics(),
		admission: handshake.NewAdmission(max(cfg.MaxPendingPerSource, 0), cfg.MaxPending)}
	n.upgrades.New = n.newUpgrade
	if err := n.prepare(); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			n.abort()
		}
	}()
	steps := []struct {
		name string
		run  func() error
	}{
		{"connect NATS", n.connectNATS},
		{"open store", n.openStore},
		{"build parts", n.build},
		{"start", n.start},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			return nil, fmt.Errorf("node: %s: %w", s.name, err)
		}
	}
	n.http = &http.Server{
		Handler:           tlsserve.Handler(n.Handler()),
		ConnContext:       connTLSState,
		ReadHeaderTimeout: cfg.HeaderTimeout,
		MaxHeaderBytes:    handshake.MaxHead,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(n.log.Handler(), slog.LevelDebug),
	}
	if err := n.listenAdmin(); err != nil {
		return nil, fmt.Errorf("node: %w", err)
	}
	ok = true
	attrs := []any{slog.Bool("embedded_nats", n.ns != nil), slog.String("data_dir", cfg.DataDir)}
	if n.ns != nil {
		// Only the embedded server is configured by Sync.
		attrs = append(attrs, slog.String("sync", string(cfg.Sync)))
	}
	n.log.Info("node started", attrs...)
	return n, nil
}

// prepare makes the data dir and reads the node's id and token secret.
func (n *Node) prepare() error {
	if err := os.MkdirAll(n.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("node: create data dir: %w", err)
	}
	var err error
	if n.id, err = loadNodeID(n.cfg); err != nil {
		return err
	}
	n.log = n.log.With(slog.String("node", n.id))
	n.limiter = loglimit.New(n.log)
	secret := n.cfg.Secret
	if secret == "" {
		if secret, err = auth.LoadOrCreateSecret(n.cfg.DataDir); err != nil {
			return fmt.Errorf("node: %w", err)
		}
	}
	if n.tokens, err = auth.NewTokens(secret, n.cfg.TokenTTL); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	if n.cfg.TLSCertFile != "" {
		// Loaded before NATS and the store: a certificate that does not
		// load ends the start at once.
		if n.certs, err = tlsserve.NewReloader(n.cfg.TLSCertFile, n.cfg.TLSKeyFile, n.log); err != nil {
			return err
		}
		n.tls = n.certs.Config()
	}
	return nil
}

// abort undoes what a failed New started, in reverse.
func (n *Node) abort() {
	if n.cancel != nil {
		n.cancel()
	}
	n.unsubscribe()
	if n.hub != nil {
		n.hub.Close()
	}
	if n.conns != nil {
		n.conns.Close()
	}
	n.loops.Wait()
	n.closeNATS()
}

// ID returns the node's id.
func (n *Node) ID() string { return n.id }

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
	if werr := n.sess.Wait(ctx); werr != nil && err == nil {
		err = werr
	}
	// The devices' "down" events went out with their cleanup, or go now
	// if they wait for their grace; the goodbye tells the others this
	// node's view is empty now.
	n.sess.FlushPresence()
	n.presence.Beat(true)
	n.unsubscribe()
	n.hub.Close()
	n.presence.Close()
	if n.nc.IsConnected() {
		// The goodbye and the unsubscribes go out before the connection
		// closes; with NATS gone there is nothing to wait for.
		_ = n.nc.FlushTimeout(2 * time.Second)
	}
	n.cancel()
	n.loops.Wait()
	n.orphans.Wait()
	n.closeAdmin()
	n.closeNATS()
	n.log.Info("stopped")
	return err
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
