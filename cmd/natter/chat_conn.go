package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gobwas/ws"

	"github.com/natterchat/natter/node/client"
	"github.com/natterchat/natter/node/wire"
)

// Reconnects back off from backoffMin, doubling up to backoffMax, so that
// a node that is down or restarting is not hammered by its clients.
const (
	backoffMin = 500 * time.Millisecond
	backoffMax = 10 * time.Second
)

// chatEvent is a frame of connection conn, or its end (err).
type chatEvent struct {
	conn int
	f    client.Frame
	err  error
}

// dialURL is the WebSocket URL with the token and, when reconnecting a
// registered user, the resume of the room.
func (c *chatSession) dialURL() string {
	q := url.Values{}
	if c.token != "" {
		q.Set("token", c.token)
	}
	if c.resumes() {
		q.Set("resume", c.chatID+":"+strconv.FormatUint(c.lastSeq, 10))
	}
	if len(q) == 0 {
		return c.ep.ws
	}
	return c.ep.ws + "?" + q.Encode()
}

// resumes is true when a new connection resumes the room at connect
// instead of joining it: a registered user's membership outlives its
// connections, a guest's does not.
func (c *chatSession) resumes() bool {
	return !c.o.guest && c.everJoin && !c.joinHistory
}

// connect dials and starts the connection's frame pump, then joins the
// room (first connection, guests) or has resumed it.
func (c *chatSession) connect(ctx context.Context) error {
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	resumed := c.resumes()
	conn, err := client.Dial(dctx, c.dialURL(), client.Options{})
	if err != nil {
		return err
	}
	c.connN++
	c.conn = conn
	c.me = conn.Welcome
	c.backoff = backoffMin
	pctx, pcancel := context.WithCancel(ctx)
	c.cancel = pcancel
	go pump(pctx, c.connN, conn, c.events)

	if c.echoFrames() {
		fmt.Fprintf(c.out, "%s\n", wire.Encode(wire.ChannelSession, wire.TypeWelcome, conn.Welcome))
	}
	for i := range c.pending {
		c.pending[i].sent = false
	}
	if resumed {
		c.joined = true
		c.notice("reconnected to %s as %s; resuming %s", conn.Welcome.Node, conn.Welcome.Name, c.roomLabel())
		c.flushPending()
		return nil
	}
	c.joined = false
	c.sendFrame(wire.ChannelChatRoom, wire.TypeJoinRoom, wire.ChatRef{Room: c.o.room}, "join")
	return nil
}

// reconnect logs in again if the token expired and dials; a failure
// that retrying cannot fix ends the session.
func (c *chatSession) reconnect(ctx context.Context) error {
	if !c.o.guest && c.token == "" {
		if err := c.login(ctx); err != nil {
			var ae authError
			if errors.As(err, &ae) {
				return err
			}
			c.notice("log in failed: %v; next try in %v", err, c.backoff)
			c.scheduleRetry()
			return nil
		}
	}
	err := c.connect(ctx)
	if err == nil || ctx.Err() != nil {
		c.denied = 0
		return nil
	}
	var se ws.StatusError
	if errors.As(err, &se) {
		switch {
		case int(se) == http.StatusUnauthorized && c.o.guest:
			return errors.New("chat: the node no longer allows guests")
		case int(se) == http.StatusUnauthorized:
			// The token expired or the secret changed: log in again, once.
			c.denied++
			if c.denied > 1 {
				return fmt.Errorf("chat: the node refuses %s's token: %w", c.o.user, err)
			}
			c.token = ""
			c.retry = time.After(0)
			return nil
		case int(se) == http.StatusBadRequest:
			return fmt.Errorf("chat: the node refused the connection: %w", err)
		}
	}
	c.notice("reconnect failed: %v; next try in %v", err, c.backoff)
	c.scheduleRetry()
	return nil
}

// scheduleRetry arms the next reconnect after the current backoff and
// doubles it for the one after; a successful dial resets it.
func (c *chatSession) scheduleRetry() {
	c.retry = time.After(c.backoff)
	c.backoff = min(2*c.backoff, backoffMax)
}

// connLost handles the end of the current connection.
func (c *chatSession) connLost(err error) {
	var code ws.StatusCode
	if c.conn != nil {
		code = c.conn.CloseCode()
	}
	c.disconnect()
	// Requests die with their connection: quitting must not wait for
	// their answers, nor should the next connection take its frames for
	// them.
	c.waiting = nil
	if c.quitting && len(c.pending) == 0 {
		return
	}
	reason := err.Error()
	if code != 0 {
		reason = fmt.Sprintf("closed by the node (%d)", code)
	}
	if code == 4003 && !c.o.guest { // the token expired
		c.token = ""
	}
	c.notice("disconnected: %s; reconnecting in %v", reason, c.backoff)
	c.scheduleRetry()
}

// disconnect drops the current connection and stops its pump; events it
// already queued are then ignored by their connection number.
func (c *chatSession) disconnect() {
	if c.conn == nil {
		return
	}
	c.cancel()
	_ = c.conn.Close()
	c.conn = nil
	c.joined = false
}

// pump forwards a connection's frames, then its end, to events.
func pump(ctx context.Context, n int, conn *client.Client, events chan<- chatEvent) {
	for {
		f, err := conn.Next(ctx)
		select {
		case events <- chatEvent{conn: n, f: f, err: err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}
