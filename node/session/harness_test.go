package session

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/internal/wstest"
	"github.com/natterchat/natter/node/auth"
	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/fanout"
	"github.com/natterchat/natter/node/presence"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// These tests run the protocol on the in-memory store and a core NATS
// server (no JetStream): the session's own logic, and its handling of
// storage failures that a real JetStream cannot produce on demand
// (store.Memory's Fail). Package node's tests run the same protocol on
// JetStream.

// rig is one node's parts wired as package node wires them, on
// store.Memory, with a listener whose connections are attached as
// devices of the identity the test names.
type rig struct {
	t     testing.TB
	mem   *store.Memory
	nc    *nats.Conn
	hub   *fanout.Hub
	chat  *chat.Service
	sess  *Server
	ln    net.Listener
	who   chan chat.Identity // the identity of the next accepted connection
	start chan Start
}

func testLog() *slog.Logger {
	if os.Getenv("NATTER_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// runNATS starts a core NATS server (no JetStream) on a random port.
func runNATS(t testing.TB) *server.Server {
	t.Helper()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	return ns
}

// newRig builds the parts; mod adjusts the session's config.
func newRig(t testing.TB, mod func(*Config)) *rig {
	t.Helper()
	ns := runNATS(t)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	log := testLog()
	r := &rig{t: t, nc: nc, who: make(chan chat.Identity, 1), start: make(chan Start, 1)}
	r.mem = store.NewMemory(store.MemoryConfig{Live: nc, Logger: log})
	recent := fanout.NewRecent()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	r.hub, err = fanout.New(fanout.Config{NodeID: "n1", NC: nc, Store: r.mem, Recent: recent, Render: chat.Render, Log: log})
	must(err)
	pv, err := presence.New(presence.Config{NodeID: "n1", NC: nc, Hub: r.hub, Recent: recent, Log: log})
	must(err)
	tokens, err := auth.NewTokens("session-test-secret-0123456789", 0)
	must(err)
	r.chat, err = chat.New(chat.Config{Store: r.mem, NC: nc, Hub: r.hub, Presence: pv, Recent: recent, Tokens: tokens, Log: log})
	must(err)
	cfg := Config{NodeID: "n1", Chat: r.chat, Hub: r.hub, Presence: pv, Recent: recent, Store: r.mem,
		Broadcast: func([]byte) error { return nil }, RateLimit: 10000, RateBurst: 10000, RequestTimeout: 2 * time.Second, Log: log}
	if mod != nil {
		mod(&cfg)
	}
	r.sess, err = New(cfg)
	must(err)
	must(r.hub.Start())
	// The node answers its own presence snapshots and beats once, as
	// package node starts it: a member list of a chat not delivered here
	// yet waits for every node's answer, this one's included, and for a
	// beat's time to hear of the others; without them, for two seconds.
	subs, err := pv.Serve()
	must(err)
	t.Cleanup(func() {
		for _, s := range subs {
			_ = s.Unsubscribe()
		}
	})
	pv.Beat(false)
	// The node's events loop, as far as these tests need it: membership
	// changes and presence, in NATS's order.
	events := make(chan *nats.Msg, 1024)
	for _, subj := range []string{subjects.UserEventsWildcard, subjects.Presence} {
		s, err := nc.ChanSubscribe(subj, events)
		must(err)
		t.Cleanup(func() { _ = s.Unsubscribe() })
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case m := <-events:
				if userID, ok := subjects.ParseUserEvents(m.Subject); ok {
					r.chat.ApplyUserEvent(userID, m.Data)
				} else {
					pv.Handle(m.Data)
				}
			}
		}
	}()
	t.Cleanup(func() { close(done) })
	must(nc.Flush())
	r.ln, err = net.Listen("tcp", "127.0.0.1:0")
	must(err)
	go r.accept()
	t.Cleanup(func() {
		r.ln.Close()
		r.sess.Conns().Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.sess.Wait(ctx); err != nil {
			t.Errorf("devices not cleaned up: %v", err)
		}
		r.hub.Close()
	})
	return r
}

// accept upgrades connections and attaches them as the node does.
func (r *rig) accept() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		if _, err := ws.Upgrade(c); err != nil {
			c.Close()
			continue
		}
		r.sess.Attach(c, <-r.who, <-r.start)
	}
}

// user stores a user and returns its identity.
func (r *rig) user(name string) chat.Identity {
	r.t.Helper()
	u := store.User{ID: "u-" + name, Name: name, CreatedAt: time.Now()}
	if err := r.mem.CreateUser(context.Background(), u); err != nil {
		r.t.Fatal(err)
	}
	return chat.Identity{ID: u.ID, Name: u.Name}
}

// client is the far end of a device.
type client struct {
	*wstest.Client
	t testing.TB
}

// frame is a received frame.
type frame struct{ wstest.Frame }

func (f frame) decode(t testing.TB, v any) {
	t.Helper()
	if err := f.Decode(v); err != nil {
		t.Fatal(err)
	}
}

// dial connects as who and reads its Welcome, and a stored user's Unread.
func (r *rig) dial(who chat.Identity, st Start) *client {
	r.t.Helper()
	c := r.dialWelcome(who, st)
	if !who.Guest {
		c.expect(wire.TypeUnread)
	}
	return c
}

// dialWelcome connects as who and reads its Welcome only.
func (r *rig) dialWelcome(who chat.Identity, st Start) *client {
	r.t.Helper()
	r.who <- who
	r.start <- st
	wc, err := wstest.Dial(context.Background(), ws.Dialer{Timeout: 5 * time.Second}, "ws://"+r.ln.Addr().String()+"/")
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { wc.Conn.Close() })
	c := &client{Client: wc, t: r.t}
	c.expect(wire.TypeWelcome)
	return c
}

// send writes a text frame.
func (c *client) send(format string, args ...any) {
	c.t.Helper()
	if err := c.Write(fmt.Appendf(nil, format, args...)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// next returns the next frame, failing after 10 s.
func (c *client) next() frame {
	c.t.Helper()
	f, ok := c.Next(10 * time.Second)
	if !ok {
		c.t.Fatal("no frame within 10s")
	}
	return frame{f}
}

// expect returns the next frame, which must be of type typ (presence
// frames aside).
func (c *client) expect(typ string) frame {
	c.t.Helper()
	f, err := c.Find(typ, true, 10*time.Second)
	if err != nil {
		c.t.Fatal(err)
	}
	return frame{f}
}

// expectError returns the next Error frame's channel and contents.
func (c *client) expectError() (string, wire.Error) {
	c.t.Helper()
	f := c.expect(wire.TypeError)
	var e wire.Error
	f.decode(c.t, &e)
	return f.Channel, e
}

// nothing fails if a frame other than presence arrives within d.
func (c *client) nothing(d time.Duration) {
	c.t.Helper()
	if f, ok := c.Unexpected(d); ok {
		c.t.Fatalf("unexpected frame %s", f.Raw)
	}
}

// closeCode waits for the server's close frame.
func (c *client) closeCode() ws.StatusCode {
	c.t.Helper()
	select {
	case <-c.Done():
		return c.CloseCode()
	case <-time.After(10 * time.Second):
		c.t.Fatal("not closed")
	}
	return 0
}

// settle waits until the chat events published so far have been
// delivered: the fan-out's canaries travel behind them. A join notice
// still in flight reaches a member who joined after it (notices are
// best-effort; the member list is the truth), which tests that join one
// user right after another must not take for a stray frame.
func (r *rig) settle() {
	r.t.Helper()
	if err := r.hub.CheckLoops(context.Background()); err != nil {
		r.t.Fatal(err)
	}
}

// join joins room and reads MemberList and JoinedRoom; it returns the
// chat id.
func (c *client) join(room string) string {
	c.t.Helper()
	c.send(`{"channel":"chat-room","message":{"type":"JoinRoom","contents":{"room":%q}}}`, room)
	var l wire.MemberList
	c.expect(wire.TypeMemberList).decode(c.t, &l)
	c.expect(wire.TypeJoinedRoom)
	return l.Chat
}
