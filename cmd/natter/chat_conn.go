package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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

// connect starts the session (node/client): its first connection's
// failure ends natter chat; later ones are retried by the session, which
// resumes the room and resends what the node did not confirm.
func (c *chatSession) connect(ctx context.Context) error {
	cfg := client.SessionConfig{URL: c.ep.ws, MinBackoff: backoffMin, MaxBackoff: backoffMax}
	if !c.o.guest {
		cfg.Token = c.tokenFor
	}
	s, err := client.Connect(ctx, cfg)
	if err != nil {
		return err
	}
	c.sess, c.events = s, s.Events()
	return nil
}

// tokenFor is the session's Token, called on the session's goroutine
// before every dial: the token from the last login, or a new login when
// the node refused it (it expired, or the secret changed). A node that
// refuses a fresh token too ends the session, as does a login refused
// for the credentials.
func (c *chatSession) tokenFor(ctx context.Context, refused bool) (string, error) {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	if !refused && c.token != "" {
		return c.token, nil
	}
	if refused {
		c.denied++
		if c.denied > 2 {
			return "", fmt.Errorf("%w: %w", client.ErrPermanent, authError{fmt.Sprintf("chat: the node refuses %s's token", c.o.user)})
		}
	}
	tok, _, err := c.login(ctx)
	var ae authError
	if errors.As(err, &ae) {
		return "", fmt.Errorf("%w: %w", client.ErrPermanent, err)
	}
	if err != nil {
		c.notice("log in failed: %v", err)
		return "", err
	}
	c.token = tok
	return tok, nil
}

// handleEvent handles what the session reports: a connection, a frame,
// a lost connection, or the end.
func (c *chatSession) handleEvent(ev client.Event) error {
	switch ev.Kind {
	case client.EventConnected:
		c.connected(ev.Welcome)
	case client.EventFrame:
		return c.handleFrame(ev.Frame)
	case client.EventDisconnected:
		c.connLost(ev)
	case client.EventClosed:
		return c.sessionEnded(ev.Err)
	}
	return nil
}

// connected takes a new connection up: the first joins the room; after
// that, a registered user's session resumed the room in the URL, a
// guest's joins it again (the guest is new), and a join whose history
// never came is made again.
func (c *chatSession) connected(w wire.Welcome) {
	c.connN++
	c.online = true
	c.me = w
	c.tokenMu.Lock()
	c.denied = 0
	c.tokenMu.Unlock()
	if c.echoFrames() {
		fmt.Fprintf(c.out, "%s\n", wire.Encode(wire.ChannelSession, wire.TypeWelcome, w))
	}
	if c.connN > 1 && c.everJoin && !c.joinHistory && !c.o.guest {
		c.joined = true
		c.notice("reconnected to %s as %s; resuming %s", w.Node, w.Name, c.roomLabel())
		c.flushUnsent()
		return
	}
	c.joined = false
	if c.connN > 1 && c.everJoin && c.o.guest {
		c.notice("reconnected to %s as %s", w.Node, w.Name) // the session joins the room again
		return
	}
	if c.sess != nil {
		_ = c.sess.Join(c.o.room, max(c.o.history, 1)) // fails only when the connection is gone again
	}
}

// connLost handles the end of the current connection, or a reconnect
// that failed.
func (c *chatSession) connLost(ev client.Event) {
	wasOnline := c.online
	c.online, c.joined = false, false
	// Requests die with their connection: quitting must not wait for
	// their answers, nor should the next connection take its frames for
	// them.
	c.waiting = nil
	if c.quitting && c.pendingSends() == 0 {
		return
	}
	if !wasOnline {
		c.notice("reconnect failed: %v; next try in %v", ev.Err, ev.RetryIn.Round(time.Millisecond))
		return
	}
	reason := fmt.Sprint(ev.Err)
	if ev.CloseCode != 0 {
		reason = fmt.Sprintf("closed by the node (%d)", ev.CloseCode)
	}
	c.notice("disconnected: %s; reconnecting in %v", reason, ev.RetryIn.Round(time.Millisecond))
}

// sessionEnded turns the session's end into natter chat's: nil when it
// was asked to end, else what went wrong for good.
func (c *chatSession) sessionEnded(err error) error {
	var ae authError
	var se ws.StatusError
	switch {
	case err == nil || errors.Is(err, client.ErrSessionClosed):
		return nil
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &se) && int(se) == http.StatusUnauthorized && c.o.guest:
		return errors.New("chat: the node no longer allows guests")
	case errors.As(err, &se) && int(se) == http.StatusBadRequest:
		return fmt.Errorf("chat: the node refused the connection: %w", err)
	}
	return fmt.Errorf("chat: %w", err)
}

// pendingSends is the number of messages not yet confirmed: those the
// session is sending and those waiting for the room.
func (c *chatSession) pendingSends() int {
	n := len(c.unsent)
	if c.sess != nil {
		n += c.sess.Pending()
	}
	return n
}
