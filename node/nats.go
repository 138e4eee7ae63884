package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/natterchat/natter/node/natslink"
	"github.com/natterchat/natter/store"
)

// connectNATS starts the embedded server (unless NATSURL is set) and
// connects to it with unlimited reconnects; the handlers count and
// repair what a reconnect may have missed.
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
	link := n.cfg.natsLink("natter-" + n.id)
	var err error
	if n.cfg.NATSURL != "" {
		n.nc, err = natslink.Connect(link, opts...)
		return err
	}
	if n.ns, err = natslink.Start(link, n.log); err != nil {
		return err
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
