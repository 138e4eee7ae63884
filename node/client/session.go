package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/natterchat/natter/node/wire"
)

// ErrPermanent marks an error of SessionConfig.Token that retrying cannot
// fix (a wrong password): the session ends with it instead of retrying.
var ErrPermanent = errors.New("client: permanent failure")

// ErrSessionClosed is the Err of the EventClosed that Close causes, and
// what Send's result says for a send that Close cut short.
var ErrSessionClosed = errors.New("client: session closed")

// SessionConfig configures a Session. URL is required.
type SessionConfig struct {
	// URL is the node's WebSocket URL (ws://host:port/ws or wss://...),
	// without query: the session adds the token and the resume list.
	URL string
	// Token returns the token to connect with; nil connects as a guest.
	// It is called before every dial; refused is true when the node
	// refused the previous token (401 at the handshake, or close 4003 for
	// an expired token), so the caller logs in again. An error wrapping
	// ErrPermanent ends the session; any other is retried after the
	// backoff.
	Token func(ctx context.Context, refused bool) (string, error)
	// Dial adjusts each connection (headers, local address).
	Dial Options
	// MinBackoff and MaxBackoff bound the wait before a reconnect: it
	// starts at MinBackoff, doubles after each failed dial up to
	// MaxBackoff, and is jittered to between half and all of it, so that
	// the clients of a node that went away do not all come back at
	// once. Defaults 500ms and 10s.
	MinBackoff, MaxBackoff time.Duration
	// EventBuffer is how many events may wait unread; the session stops
	// reading from the node past it. Default 1024.
	EventBuffer int
}

// EventKind says what an Event is.
type EventKind int

// The kinds of Event.
const (
	// EventConnected: a connection is up; Welcome is its first frame.
	// Every connection after the first resumed the chats the session
	// knows a position of (Resumed frames follow as each replay ends).
	EventConnected EventKind = iota + 1
	// EventFrame: a frame from the node. NewMessage frames the session
	// already delivered (by seq, per chat) are dropped, never passed on.
	EventFrame
	// EventDisconnected: the connection ended; Err and CloseCode say why,
	// RetryIn when the next dial is.
	EventDisconnected
	// EventClosed: the session is over (Close, its context, or a
	// permanent failure in Err); the event channel closes after it.
	EventClosed
)

// Event is what a Session reports, in order, on its event channel.
type Event struct {
	Kind      EventKind
	Welcome   wire.Welcome  // EventConnected
	Frame     Frame         // EventFrame
	Err       error         // EventDisconnected, EventClosed
	CloseCode ws.StatusCode // EventDisconnected: the node's close code, 0 if none
	RetryIn   time.Duration // EventDisconnected
}

// Session is a client's presence on a natter cluster that outlives its
// connections: it reconnects with backoff and jitter (to any node behind
// the URL), resumes every chat it knows a position of from the last seq
// it delivered, sends every message with a clientMsgId and sends again
// what was not acknowledged when a connection ended (the node stores
// each id once), and drops messages it already delivered. What the node
// sends comes out of Events in order.
//
// A registered user's chats are resumed in the URL, so they replay
// before any live message; a guest, whose memberships end with its
// connection, joins its rooms again and resumes each once joined.
type Session struct {
	cfg    SessionConfig
	events chan Event
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	conn    *Client               // guarded by mu; nil between connections
	welcome wire.Welcome          // guarded by mu
	chats   map[string]*chatState // guarded by mu; by chat id
	joins   map[string]int        // guarded by mu; rooms joined and not yet confirmed -> history limit
	pending []*pendingSend        // guarded by mu; in send order
	refused bool                  // guarded by mu: the node refused the last token
}

// Connect dials the node and starts the session. The first dial's
// failure is returned, not retried: the URL, the token or the node's
// guest setting is wrong. ctx bounds the whole session.
func Connect(ctx context.Context, cfg SessionConfig) (*Session, error) {
	if cfg.URL == "" {
		return nil, errors.New("client: SessionConfig.URL is required")
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(10*time.Second, cfg.MinBackoff)
	}
	if cfg.EventBuffer <= 0 {
		cfg.EventBuffer = 1024
	}
	s := &Session{cfg: cfg, events: make(chan Event, cfg.EventBuffer), done: make(chan struct{}),
		chats: map[string]*chatState{}, joins: map[string]int{}}
	s.ctx, s.cancel = context.WithCancel(ctx)
	conn, err := s.dial(s.ctx)
	if err != nil {
		s.cancel()
		return nil, err
	}
	go s.run(conn)
	return s, nil
}

// Events is the session's event channel, closed after EventClosed.
func (s *Session) Events() <-chan Event { return s.events }

// Welcome is the current (or last) connection's Welcome.
func (s *Session) Welcome() wire.Welcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.welcome
}

// Close ends the session: the connection closes, sends not yet
// acknowledged fail with ErrSessionClosed. It waits for the session's
// goroutine; events not read are dropped.
func (s *Session) Close() error {
	s.cancel()
	for {
		select {
		case <-s.done:
			return nil
		case <-s.events: // unblock a session waiting to report
		}
	}
}

// run serves one connection after another until the session ends.
func (s *Session) run(conn *Client) {
	defer close(s.done)
	defer close(s.events)
	backoff := s.cfg.MinBackoff
	var err error
	for {
		s.connected(conn)
		err = s.serve(conn)
		code := conn.CloseCode()
		s.disconnected()
		if s.ctx.Err() != nil {
			break
		}
		if code == closeTokenExpired {
			s.setRefused()
		}
		for {
			wait := jitter(backoff)
			if !s.emit(Event{Kind: EventDisconnected, Err: err, CloseCode: code, RetryIn: wait}) {
				break
			}
			code = 0
			select {
			case <-time.After(wait):
			case <-s.ctx.Done():
			}
			if s.ctx.Err() != nil {
				break
			}
			conn, err = s.dial(s.ctx)
			if err == nil {
				backoff = s.cfg.MinBackoff
				break
			}
			if errors.Is(err, ErrPermanent) || s.isPermanentDial(err) {
				s.finish(err)
				return
			}
			backoff = min(2*backoff, s.cfg.MaxBackoff)
		}
		if s.ctx.Err() != nil {
			break
		}
	}
	s.finish(ErrSessionClosed)
}

// closeTokenExpired is the node's close code for an expired token.
const closeTokenExpired ws.StatusCode = 4003

// finish fails what is pending and reports the end.
func (s *Session) finish(err error) {
	s.mu.Lock()
	pending := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, p := range pending {
		p.done(SendResult{Err: err})
	}
	select {
	case s.events <- Event{Kind: EventClosed, Err: err}:
	default: // nobody reads: Close is draining or the buffer is full
	}
}

// dial connects once with a fresh token and the resume list.
func (s *Session) dial(ctx context.Context) (*Client, error) {
	q := s.resumeQuery()
	if s.cfg.Token != nil {
		s.mu.Lock()
		refused := s.refused
		s.mu.Unlock()
		tok, err := s.cfg.Token(ctx, refused)
		if err != nil {
			return nil, fmt.Errorf("client: token: %w", err)
		}
		q.Set("token", tok)
	}
	u := s.cfg.URL
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := Dial(dctx, u, s.cfg.Dial)
	var se ws.StatusError
	if errors.As(err, &se) && int(se) == http.StatusUnauthorized {
		s.setRefused()
	}
	if err == nil {
		s.mu.Lock()
		s.refused = false
		s.mu.Unlock()
	}
	return conn, err
}

func (s *Session) setRefused() {
	s.mu.Lock()
	s.refused = true
	s.mu.Unlock()
}

// isPermanentDial reports a handshake refusal that a retry would meet
// again: a bad request (the URL or the resume list), a forbidden origin,
// or a guest refused (the node no longer allows guests).
func (s *Session) isPermanentDial(err error) bool {
	var se ws.StatusError
	if !errors.As(err, &se) {
		return false
	}
	switch int(se) {
	case http.StatusBadRequest, http.StatusForbidden:
		return true
	case http.StatusUnauthorized:
		return s.cfg.Token == nil
	}
	return false
}

// connected takes a new connection: the Welcome, then the chats to take
// up again and the sends to repeat.
func (s *Session) connected(conn *Client) {
	s.mu.Lock()
	s.conn, s.welcome = conn, conn.Welcome
	s.mu.Unlock()
	s.emit(Event{Kind: EventConnected, Welcome: conn.Welcome})
	s.rejoin()
	s.flush()
}

// disconnected forgets the connection; every chat waits for the next.
func (s *Session) disconnected() {
	s.mu.Lock()
	if s.conn != nil {
		_ = s.conn.Abort()
	}
	s.conn = nil
	for _, c := range s.chats {
		c.ready = false
	}
	for _, p := range s.pending {
		p.sent = false
	}
	s.mu.Unlock()
}

// serve reads the connection's frames until it ends.
func (s *Session) serve(conn *Client) error {
	for {
		f, err := conn.Next(s.ctx)
		if err != nil {
			return err
		}
		if s.observe(f) && !s.emit(Event{Kind: EventFrame, Frame: f}) {
			return s.ctx.Err()
		}
	}
}

// emit reports ev, waiting for room; false once the session is ending.
func (s *Session) emit(ev Event) bool {
	select {
	case s.events <- ev:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// send writes a frame on the current connection; false when there is
// none (the frame goes again on the next, where it must).
func (s *Session) send(channel, typ string, contents any, ref string) bool {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	return conn != nil && conn.SendRef(channel, typ, contents, ref) == nil
}

// SendFrame writes any protocol frame on the current connection, with a
// ref that an Error about it echoes. It fails when disconnected: frames
// other than messages are not kept for the next connection.
func (s *Session) SendFrame(channel, typ string, contents any, ref string) error {
	if !s.send(channel, typ, contents, ref) {
		return errors.New("client: not connected")
	}
	return nil
}

// jitter is d less up to half of it, at random.
func jitter(d time.Duration) time.Duration {
	return d/2 + rand.N(d/2+1)
}
