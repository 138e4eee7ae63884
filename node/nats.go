package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/store"
)

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
			if n.started.Load() {
				n.log.Info("nats reconnected; checking every chat for gaps")
				n.hub.RecheckAfterReconnect()
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, s *nats.Subscription, err error) {
			// A slow consumer here means a fan-out loop fell behind and
			// NATS dropped messages; the gap logic refills them.
			n.limiter.Warn("nats async error", slog.Any("err", err))
		}),
	}
	var err error
	if n.cfg.NATSURL != "" {
		auth, err := n.externalAuth()
		if err != nil {
			return err
		}
		n.nc, err = nats.Connect(n.cfg.NATSURL, append(opts, auth...)...)
		if err != nil {
			return fmt.Errorf("node: connect to NATS %s: %w", redactURLs(n.cfg.NATSURL), err)
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
	if n.cfg.NATSMonitor != "" && n.ns.MonitorAddr() == nil {
		// Start returns early, logging the reason, when the monitoring
		// listener cannot bind.
		return fmt.Errorf("node: embedded NATS monitoring did not start on %s (see the log)", n.cfg.NATSMonitor)
	}
	if !n.ns.ReadyForConnections(30 * time.Second) {
		return errors.New("node: embedded NATS did not start within 30s")
	}
	n.nc, err = nats.Connect("", append(opts, nats.InProcessServer(n.ns))...)
	if err != nil {
		return fmt.Errorf("node: connect to embedded NATS: %w", err)
	}
	return nil
}

// NATSMonitorAddr returns the address of the embedded NATS server's
// monitoring endpoint, or nil when NATSMonitor is not set.
func (n *Node) NATSMonitorAddr() net.Addr {
	if n.ns == nil {
		return nil
	}
	if a := n.ns.MonitorAddr(); a != nil {
		return a
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

// embeddedOptions configures the embedded NATS server: JetStream in the
// data dir, fsynced as Sync says, no client port unless NATSListen asks
// for one, and a route listener plus routes when the nodes form a cluster.
func (n *Node) embeddedOptions() (*server.Options, error) {
	o := &server.Options{
		ServerName: "natter-" + n.id,
		DontListen: n.cfg.NATSListen == "",
		JetStream:  true,
		StoreDir:   filepath.Join(n.cfg.DataDir, "jetstream"),
		NoSigs:     true,
		// SyncInterval stays 0, which nats-server reads as its default,
		// 2 minutes: the background sync of "interval" (its own config
		// file keeps the same interval beside sync_interval: always). In
		// a replicated stream nats-server relaxes SyncAlways for the
		// stream's files to a sync at each snapshot, because the stream's
		// Raft log, fsynced on every write, backs them.
		SyncAlways: n.cfg.Sync == SyncAlways,
	}
	if n.cfg.NATSListen != "" {
		host, port, err := splitHostPort("nats-listen", n.cfg.NATSListen)
		if err != nil {
			return nil, err
		}
		o.Host, o.Port = host, port
	}
	if n.cfg.NATSMonitor != "" {
		host, port, err := splitHostPort("nats-monitor", n.cfg.NATSMonitor)
		if err != nil {
			return nil, err
		}
		if port == 0 {
			port = server.RANDOM_PORT // nats-server reads 0 as "off"
		}
		o.HTTPHost, o.HTTPPort = host, port
	}
	if n.cfg.ClusterListen != "" {
		host, port, err := splitHostPort("cluster-listen", n.cfg.ClusterListen)
		if err != nil {
			return nil, err
		}
		o.Cluster = server.ClusterOpts{Name: n.cfg.ClusterName, Host: host, Port: port}
		if err := n.secureRoutes(&o.Cluster); err != nil {
			return nil, err
		}
		if o.DontListen {
			// nats-server starts routing only once its client listener is
			// up, so a clustered server needs one: a random port on
			// loopback, reachable from this machine only.
			o.DontListen = false
			o.Host, o.Port = "127.0.0.1", server.RANDOM_PORT
		}
		for _, r := range n.cfg.Routes {
			u, err := url.Parse(strings.TrimSpace(r))
			if err != nil || u.Scheme != "nats" || u.Host == "" {
				return nil, fmt.Errorf("node: route %q is not a URL like nats://host:6222", redactURLs(r))
			}
			o.Routes = append(o.Routes, withRouteUser(u, n.cfg.ClusterUser, n.cfg.ClusterPassword))
		}
	} else if len(n.cfg.Routes) > 0 {
		return nil, errors.New("node: routes need a cluster listen address")
	}
	if err := n.leafOptions(o); err != nil {
		return nil, err
	}
	return o, nil
}

func splitHostPort(setting, addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("node: %s %q: %w", setting, addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("node: %s %q: bad port", setting, addr)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

// openStore bootstraps the store, retrying while JetStream is not ready:
// a cluster first elects its meta leader and needs enough peers for the
// replicas, so the nodes of a fresh cluster wait for each other here.
func (n *Node) openStore() error {
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.StartTimeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		// A fresh cluster first elects its meta leader; until then every
		// stream or bucket create only times out.
		actx, acancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := n.jetstreamAccountInfo(actx)
		acancel()
		var st *store.JetStream
		if err == nil {
			actx, acancel = context.WithTimeout(ctx, time.Minute)
			st, err = store.Open(actx, n.nc, n.cfg.Store)
			acancel()
		}
		if err == nil {
			n.store = st
			return nil
		}
		if errors.Is(err, store.ErrStreamsChanged) || errors.Is(err, store.ErrInvalid) {
			return err // waiting would not change it; New names the step
		}
		if ctx.Err() != nil {
			return fmt.Errorf("node: open store (JetStream not ready within %v): %w", n.cfg.StartTimeout, err)
		}
		n.log.Info("waiting for JetStream", slog.Int("attempt", attempt), slog.Int("replicas", n.cfg.Store.Replicas), slog.Any("err", err))
		select {
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
		}
	}
}

// jetstreamAccountInfo answers once JetStream (and in a cluster, its meta
// leader) is available.
func (n *Node) jetstreamAccountInfo(ctx context.Context) (*jetstream.AccountInfo, error) {
	js, err := store.NewJetStream(n.nc, n.cfg.Store.Domain)
	if err != nil {
		return nil, err
	}
	return js.AccountInfo(ctx)
}

// natsLogger sends the embedded server's log lines to slog.
type natsLogger struct{ log *slog.Logger }

func newNATSLogger(log *slog.Logger) *natsLogger {
	return &natsLogger{log: log.With(slog.String("component", "nats"))}
}

func (l *natsLogger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Warnf(format string, v ...any)   { l.log.Warn(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Fatalf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Errorf(format string, v ...any)  { l.log.Error(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Debugf(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
func (l *natsLogger) Tracef(format string, v ...any)  { l.log.Debug(fmt.Sprintf(format, v...)) }
