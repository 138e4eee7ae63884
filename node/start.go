package node

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/node/authlimit"
	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/node/httpapi"
	"github.com/natterchat/natter/node/internal/gcstorm"
	"github.com/natterchat/natter/node/presence"
	"github.com/natterchat/natter/node/session"
	"github.com/natterchat/natter/subjects"
)

// relistDelay is how long after a user's first device connected its chats
// are listed once more in a replicated store (see fanout.Config.Relist).
const relistDelay = 2 * time.Second

// build makes the node's parts, bottom up: fan-out, presence, the chat
// operations, the WebSocket protocol with its connection layer, the HTTP
// API; then registers their metrics.
func (n *Node) build() error {
	cfg := n.cfg
	n.recent = fanout.NewRecent()
	var relist time.Duration
	if cfg.Store.Replicas > 1 {
		relist = relistDelay
	}
	var err error
	if n.hub, err = fanout.New(fanout.Config{
		NodeID: n.id, NC: n.nc, Store: n.store, Recent: n.recent, Render: chat.Render,
		Relist: relist, RequestTimeout: cfg.RequestTimeout, Log: n.log, Limiter: n.limiter,
		// The view is made next, before any device can link a chat.
		OnChatStart: func(chatID string) { n.presence.ChatStarted(chatID) },
		OnChatStop:  func(chatID string) { n.presence.ChatStopped(chatID) },
		OnUserGone:  func(userID string) { n.presence.UserGone(userID) },
	}); err != nil {
		return err
	}
	if n.presence, err = presence.New(presence.Config{
		NodeID: n.id, NC: n.nc, Hub: n.hub, Recent: n.recent, NodeDeadAfter: cfg.NodeDeadAfter, HeartbeatInterval: cfg.HeartbeatInterval,
		OnOrphans: n.endOrphans, Log: n.log, Limiter: n.limiter,
	}); err != nil {
		return err
	}
	if n.chat, err = chat.New(chat.Config{
		Store: n.store, NC: n.nc, Hub: n.hub, Presence: n.presence, Recent: n.recent, Tokens: n.tokens,
		MaxMessageLen: cfg.MaxMessageLen, MaxRoomsPerUser: cfg.MaxRoomsPerUser, RequestTimeout: cfg.RequestTimeout,
		Log: n.log, Limiter: n.limiter,
		ReceiptsMaxMembers: cfg.ReceiptsMaxMembers,
	}); err != nil {
		return err
	}
	if n.sess, err = session.New(session.Config{
		NodeID: n.id, Chat: n.chat, Hub: n.hub, Presence: n.presence, Recent: n.recent, Store: n.store,
		Broadcast: n.broadcast, Conn: cfg.Conn, MaxDevicesPerUser: cfg.MaxDevicesPerUser,
		RateLimit: cfg.RateLimit, RateBurst: cfg.RateBurst, ResumeLimit: cfg.ResumeLimit,
		RequestTimeout: cfg.RequestTimeout, PresenceGrace: cfg.PresenceGrace, Log: n.log, Limiter: n.limiter,
	}); err != nil {
		return err
	}
	n.conns = n.sess.Conns()
	counters, ok := n.store.(authlimit.Counters)
	if !ok {
		return fmt.Errorf("the store %T keeps no counters for the login limits", n.store)
	}
	if n.limits, err = authlimit.New(authlimit.Config{
		Counters: counters, NC: n.nc, Window: cfg.AuthLimitWindow,
		MaxLoginFailuresPerAccount: cfg.MaxLoginFailuresPerAccount, MaxLoginFailuresPerSource: cfg.MaxLoginFailuresPerSource,
		MaxRegistrationsPerSource: cfg.MaxRegistrationsPerSource, Log: n.log, Limiter: n.limiter,
	}); err != nil {
		return err
	}
	if n.api, err = httpapi.New(httpapi.Config{
		Chat: n.chat, Store: n.store, Presence: n.presence, Tokens: n.tokens, Limits: n.limits, Broadcast: n.broadcast,
		Stats: func() any { return n.Stats() }, APIKey: cfg.APIKey, RequestTimeout: cfg.RequestTimeout,
		PasswordCost: cfg.PasswordCost,
		Log:          n.log, Limiter: n.limiter,
	}); err != nil {
		return err
	}
	if err := n.registerMetrics(cfg.Metrics); err != nil {
		return fmt.Errorf("register metrics: %w", err)
	}
	return nil
}

// eventsBuffer is the capacity of the events loop's channel.
const eventsBuffer = 1 << 16

// start subscribes the node to the cluster and starts its loops. The
// subscriptions are in place on the server before the node takes
// devices, or their first events could be missed.
func (n *Node) start() error {
	if err := n.hub.Start(); err != nil {
		return err
	}
	n.started.Store(true)
	events := make(chan *nats.Msg, eventsBuffer)
	for _, subj := range []string{subjects.UserEventsWildcard, subjects.Presence, subjects.Heartbeat, subjects.Broadcast} {
		s, err := n.nc.ChanSubscribe(subj, events)
		if err != nil {
			return fmt.Errorf("subscribe %s: %w", subj, err)
		}
		n.keep(s)
	}
	ps, err := n.presence.Serve()
	if err != nil {
		return err
	}
	for _, s := range ps {
		n.keep(s)
	}
	s, err := n.limits.Start()
	if err != nil {
		return err
	}
	n.keep(s)
	if err := n.nc.Flush(); err != nil {
		return fmt.Errorf("flush subscriptions: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.loops.Add(2)
	go func() { defer n.loops.Done(); n.runEvents(ctx, events) }()
	go func() { defer n.loops.Done(); n.watchStorms(ctx) }()
	if n.certs != nil {
		n.loops.Add(1)
		go func() { defer n.loops.Done(); n.certs.Watch(ctx, n.cfg.TLSReloadInterval) }()
	}
	return nil
}

// keep records one of the node's own subscriptions, to end at Shutdown.
func (n *Node) keep(s *nats.Subscription) {
	n.mu.Lock()
	n.subs = append(n.subs, s)
	n.mu.Unlock()
}

// unsubscribe ends the node's own subscriptions.
func (n *Node) unsubscribe() {
	n.mu.Lock()
	subs := n.subs
	n.subs = nil
	n.mu.Unlock()
	for _, s := range subs {
		_ = s.Unsubscribe()
	}
}

// endOrphans ends, for this node's devices, the memberships of the guests
// of a dead node that its view knew of, in the background
// (presence.Config.OnOrphans). Every survivor does so for its own.
func (n *Node) endOrphans(guests []presence.Guest) {
	n.orphans.Add(1)
	go func() {
		defer n.orphans.Done()
		for _, g := range guests {
			n.chat.EndGuestHere(chat.Identity{ID: g.ID, Name: g.Name, Guest: true}, g.Chats)
		}
	}()
}

// watchStorms runs until ctx ends: while a connection storm is on it
// tightens the collector and lets notices wait StormNoticeDelay, and it
// returns memory to the OS after the storm (node/internal/gcstorm).
func (n *Node) watchStorms(ctx context.Context) {
	churn := func() uint64 { return n.sess.Metrics().Churn() }
	onStorm := func(on bool) {
		if on && n.cfg.StormNoticeDelay > 0 {
			n.conns.SetDeferDelay(n.cfg.StormNoticeDelay)
			// Half of it on the chats' loops, so that a notice waits
			// at most one and a half times the delay in all.
			n.hub.SetNoticeBatch(n.cfg.StormNoticeDelay / 2)
		} else {
			n.conns.SetDeferDelay(0)
			n.hub.SetNoticeBatch(0)
		}
		n.log.Debug("connection storm", slog.Bool("on", on), slog.Duration("notice_delay", n.conns.DeferDelay()))
	}
	gcstorm.Run(ctx, churn, n.cfg.StormGCPercent, onStorm, func(took time.Duration) {
		n.log.Debug("connection storm over; memory returned to the OS",
			slog.Int("connections", n.conns.Len()), slog.Duration("took", took))
	})
}
