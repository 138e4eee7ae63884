package natslink

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/natterchat/natter/internal/natsstart"
)

// Start starts the embedded NATS server with o's settings, logging to
// log, and waits until it accepts connections. A server that started but
// is not usable is shut down before the error returns.
func Start(o Options, log *slog.Logger) (*server.Server, error) {
	so, err := o.ServerOptions()
	if err != nil {
		return nil, err
	}
	ns, err := server.NewServer(so)
	if err != nil {
		return nil, fmt.Errorf("node: configure embedded NATS: %w", err)
	}
	nl := natsstart.NewLogger(log)
	ns.SetLoggerV2(nl, false, false, false)
	ns.Start()
	if o.NATSMonitor != "" && ns.MonitorAddr() == nil {
		// Start returns early, logging the reason, when the monitoring
		// listener cannot bind.
		shutdown(ns)
		return nil, fmt.Errorf("node: embedded NATS monitoring did not start on %s (see the log)", o.NATSMonitor)
	}
	if err := natsstart.Wait(ns, nl, 30*time.Second); err != nil {
		shutdown(ns)
		return nil, fmt.Errorf("node: embedded NATS did not start: %w", err)
	}
	return ns, nil
}

func shutdown(ns *server.Server) {
	ns.Shutdown()
	ns.WaitForShutdown()
}

// ServerOptions configures the embedded NATS server: JetStream in
// StoreDir, fsynced as SyncAlways says, no client port unless NATSListen
// asks for one, a route listener plus routes when the nodes form a
// cluster, and leaf node settings.
func (o *Options) ServerOptions() (*server.Options, error) {
	so := &server.Options{
		ServerName: o.ServerName,
		DontListen: o.NATSListen == "",
		JetStream:  true,
		StoreDir:   o.StoreDir,
		NoSigs:     true,
		// SyncInterval stays 0, which nats-server reads as its default,
		// 2 minutes: the background sync of "interval" (its own config
		// file keeps the same interval beside sync_interval: always). In
		// a replicated stream nats-server relaxes SyncAlways for the
		// stream's files to a sync at each snapshot, because the stream's
		// Raft log, fsynced on every write, backs them.
		SyncAlways: o.SyncAlways,
	}
	if o.NATSListen != "" {
		host, port, err := splitHostPort("nats-listen", o.NATSListen)
		if err != nil {
			return nil, err
		}
		so.Host, so.Port = host, port
	}
	if o.NATSMonitor != "" {
		host, port, err := splitHostPort("nats-monitor", o.NATSMonitor)
		if err != nil {
			return nil, err
		}
		if port == 0 {
			port = server.RANDOM_PORT // nats-server reads 0 as "off"
		}
		so.HTTPHost, so.HTTPPort = host, port
	}
	if o.ClusterListen != "" {
		host, port, err := splitHostPort("cluster-listen", o.ClusterListen)
		if err != nil {
			return nil, err
		}
		so.Cluster = server.ClusterOpts{Name: o.ClusterName, Host: host, Port: port}
		if err := o.secureRoutes(&so.Cluster); err != nil {
			return nil, err
		}
		if so.DontListen {
			// nats-server starts routing only once its client listener is
			// up, so a clustered server needs one: a random port on
			// loopback, reachable from this machine only.
			so.DontListen = false
			so.Host, so.Port = "127.0.0.1", server.RANDOM_PORT
		}
		for _, r := range o.Routes {
			u, err := url.Parse(strings.TrimSpace(r))
			if err != nil || u.Scheme != "nats" || u.Host == "" {
				return nil, fmt.Errorf("node: route %q is not a URL like nats://host:6222", redactURLs(r))
			}
			so.Routes = append(so.Routes, withRouteUser(u, o.ClusterUser, o.ClusterPassword))
		}
	} else if len(o.Routes) > 0 {
		return nil, errors.New("node: routes need a cluster listen address")
	}
	if err := o.leafOptions(so); err != nil {
		return nil, err
	}
	return so, nil
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
