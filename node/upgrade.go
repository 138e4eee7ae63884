package node

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gobwas/ws"

	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/httpapi"
	"github.com/natterchat/natter/node/session"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/subjects"
)

// wsProtocol is the subprotocol a browser offers next to "token.<token>"
// (browsers cannot set an Authorization header on a WebSocket).
const wsProtocol = "natter"

// upgradeRequest collects one WebSocket handshake's request data from the
// upgrader's callbacks; authorize then decides.
type upgradeRequest struct {
	token    string
	room     string
	origin   string
	host     string
	protocol bool // the client offered wsProtocol
	resume   []wire.Resume
	who      chat.Identity
	expiry   time.Time // the token's; zero for a guest
}

// maxResumeChats bounds the chats one connect may resume.
const maxResumeChats = 1000

// parseResume reads the resume query parameter: comma-separated
// chat:afterSeq pairs.
func parseResume(v string) ([]wire.Resume, error) {
	if v == "" {
		return nil, nil
	}
	parts := strings.Split(v, ",")
	if len(parts) > maxResumeChats {
		return nil, fmt.Errorf("resume names more than %d chats", maxResumeChats)
	}
	out := make([]wire.Resume, 0, len(parts))
	for _, p := range parts {
		chat, seq, ok := strings.Cut(p, ":")
		n, err := strconv.ParseUint(seq, 10, 64)
		if !ok || err != nil || !subjects.ValidID(chat) {
			return nil, fmt.Errorf("resume entry %q is not chat:afterSeq", p)
		}
		out = append(out, wire.Resume{ChatRef: wire.ChatRef{Chat: chat}, AfterSeq: n})
	}
	return out, nil
}

// upgrade is one raw handshake's request data with the upgrader whose
// callbacks fill it and the reader of its head. The callbacks are
// closures over the request, five allocations a handshake when made for
// each: an upgrade is made once and kept in Node.upgrades.
type upgrade struct {
	h    upgradeRequest
	u    ws.Upgrader
	head bytes.Reader
}

// newUpgrade makes an upgrade for Node.upgrades.
func (n *Node) newUpgrade() any {
	p := new(upgrade)
	p.u = n.upgrader(&p.h)
	return p
}

// putUpgrade gives p back to Node.upgrades, forgetting its request.
func (n *Node) putUpgrade(p *upgrade) {
	p.h = upgradeRequest{}
	p.head.Reset(nil)
	n.upgrades.Put(p)
}

// upgrader returns the zero-copy upgrader for one raw connection: the
// request is parsed into h without building an http.Request, and a bad
// token or origin is refused with its HTTP status before the upgrade.
func (n *Node) upgrader(h *upgradeRequest) ws.Upgrader {
	return ws.Upgrader{
		OnRequest: func(uri []byte) error {
			path, query, _ := bytes.Cut(uri, []byte("?"))
			if !isWebSocketPath(path) {
				return reject(http.StatusNotFound, "no WebSocket endpoint here; use /ws")
			}
			if len(query) > 0 {
				q, err := url.ParseQuery(string(query))
				if err != nil {
					return reject(http.StatusBadRequest, "malformed query")
				}
				h.token, h.room = q.Get("token"), q.Get("room")
				if h.resume, err = parseResume(q.Get("resume")); err != nil {
					return reject(http.StatusBadRequest, err.Error())
				}
			}
			return nil
		},
		OnHost: func(host []byte) error {
			h.host = string(host)
			return nil
		},
		OnHeader: func(key, value []byte) error {
			switch {
			case bytes.EqualFold(key, []byte("Authorization")):
				if tok, ok := bytes.CutPrefix(value, []byte("Bearer ")); ok {
					h.token = string(bytes.TrimSpace(tok))
				}
			case bytes.EqualFold(key, []byte("Origin")):
				h.origin = string(value)
			}
			return nil
		},
		ProtocolCustom: func(v []byte) (string, bool) {
			h.parseProtocols(string(v))
			if h.protocol {
				return wsProtocol, true
			}
			return "", true
		},
		OnBeforeUpgrade: func() (ws.HandshakeHeader, error) {
			if err := n.authorize(h); err != nil {
				return nil, err
			}
			return nil, nil
		},
	}
}

func isWebSocketPath(path []byte) bool {
	return string(path) == "/ws" || string(path) == "/websockets"
}

// parseProtocols reads Sec-WebSocket-Protocol: "natter, token.<token>".
func (h *upgradeRequest) parseProtocols(v string) {
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == wsProtocol:
			h.protocol = true
		case strings.HasPrefix(p, "token."):
			if h.token == "" {
				h.token = strings.TrimPrefix(p, "token.")
			}
		}
	}
}

// reject refuses a handshake with an HTTP status; gobwas/ws writes msg as
// a plain-text body.
func reject(status int, msg string) error {
	return ws.RejectConnectionError(ws.RejectionStatus(status), ws.RejectionReason(msg))
}

// authorize checks a handshake: capacity, origin, then the token (or
// guest access). It sets h.who.
func (n *Node) authorize(h *upgradeRequest) error {
	if n.draining.Load() {
		return reject(http.StatusServiceUnavailable, "node is draining; connect to another node")
	}
	if n.conns.Len() >= n.cfg.MaxConnections {
		return reject(http.StatusServiceUnavailable, "node is at its connection limit")
	}
	if h.origin != "" && !n.originAllowed(h.origin, h.host) {
		return reject(http.StatusForbidden, "origin not allowed")
	}
	who, exp, err := n.identify(h.token)
	if err != nil {
		return err
	}
	h.who, h.expiry = who, exp
	return nil
}

// identify turns a token into an identity and its expiry; no token means
// a guest (who never expires) when guests are allowed. A refusal is the
// handshake's answer: 401 for the client's token, 503 when storage could
// not tell.
func (n *Node) identify(token string) (chat.Identity, time.Time, error) {
	if token == "" {
		if !n.cfg.AllowGuests {
			return chat.Identity{}, time.Time{}, reject(http.StatusUnauthorized, "a token is required (query token, Authorization: Bearer, or protocol token.<token>)")
		}
		return chat.NewGuest(), time.Time{}, nil
	}
	who, exp, err := n.chat.Authenticate(context.Background(), token)
	if err != nil {
		if ae := chat.AuthError(err); ae.Code == wire.CodeUnauthorized {
			return who, exp, reject(http.StatusUnauthorized, ae.Message)
		}
		n.limiter.Warn("handshake: check token", slog.Any("err", err))
		return who, exp, reject(http.StatusServiceUnavailable, "storage unavailable; try again")
	}
	return who, exp, nil
}

// originAllowed accepts the node's own host and the configured origins.
func (n *Node) originAllowed(origin, host string) bool {
	for _, o := range n.cfg.AllowedOrigins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	return err == nil && strings.EqualFold(u.Host, host)
}

// upgradeRaw upgrades a raw connection whose request head was read (and
// checked within limits): gobwas/ws parses it, authorize decides, the 101
// goes out, and the connection is attached with whatever the client sent
// after its request (left in br). It waits for one of the MaxHandshakes
// slots within HandshakeTimeout. accepted is when the connection was
// accepted.
func (n *Node) upgradeRaw(conn net.Conn, accepted time.Time, head []byte, br *bufio.Reader) {
	if !n.handshakeSlot() {
		conn.Close()
		return
	}
	defer func() { <-n.handshakes }()
	p := n.upgrades.Get().(*upgrade)
	defer n.putUpgrade(p)
	p.head.Reset(head)
	// The answer is kept rather than written: a 101 leaves with the
	// device's first frames (a storm of joins is counted in writes), a
	// refusal at once.
	var resp response
	if _, err := p.u.Upgrade(readWriter{&p.head, &resp}); err != nil {
		var rej *ws.ConnectionRejectedError
		if errors.As(err, &rej) {
			n.metrics.handshakeRejected.Add(1)
		} else {
			n.metrics.handshakeFailed.Add(1)
		}
		_ = conn.SetWriteDeadline(time.Now().Add(n.cfg.HandshakeTimeout))
		_, _ = conn.Write(resp.b)
		conn.Close()
		return
	}
	early, _ := br.Peek(br.Buffered())
	h := &p.h
	n.sess.Attach(conn, h.who, session.Start{Resume: h.resume, Room: h.room, Buffered: early, Response: resp.b, Expiry: h.expiry})
	n.metrics.handshakeTime.Observe(time.Since(accepted).Seconds())
}

// handshakeSlot takes one of the MaxHandshakes slots, waiting up to
// HandshakeTimeout, and reports whether it got one (a handshake shed or
// a node shutting down did not). A free slot is taken without a timer:
// one per connection of a storm otherwise.
func (n *Node) handshakeSlot() bool {
	select {
	case n.handshakes <- struct{}{}:
		return true
	default:
	}
	timer := time.NewTimer(n.cfg.HandshakeTimeout)
	defer timer.Stop()
	select {
	case n.handshakes <- struct{}{}:
		return true
	case <-timer.C:
		n.metrics.handshakeShed.Add(1)
		return false
	case <-n.done:
		return false
	}
}

// response keeps what the upgrader writes: the handshake's answer.
type response struct{ b []byte }

func (r *response) Write(p []byte) (int, error) {
	r.b = append(r.b, p...)
	return len(p), nil
}

// serveWebSocketHTTP upgrades a request that reached the HTTP server (a
// keep-alive connection that asks for /ws after other requests).
func (n *Node) serveWebSocketHTTP(w http.ResponseWriter, r *http.Request) {
	h := upgradeRequest{token: r.URL.Query().Get("token"), room: r.URL.Query().Get("room"), origin: r.Header.Get("Origin"), host: r.Host}
	var err error
	if h.resume, err = parseResume(r.URL.Query().Get("resume")); err != nil {
		httpapi.WriteError(w, http.StatusBadRequest, wire.CodeInvalidField, err.Error())
		return
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		h.token = strings.TrimSpace(tok)
	}
	h.parseProtocols(r.Header.Get("Sec-WebSocket-Protocol"))
	if err = n.authorize(&h); err != nil {
		var rej *ws.ConnectionRejectedError
		status := http.StatusUnauthorized
		if errors.As(err, &rej) {
			status = rej.StatusCode()
		}
		n.metrics.handshakeRejected.Add(1)
		httpapi.WriteError(w, status, httpapi.CodeOf(status), err.Error())
		return
	}
	up := ws.HTTPUpgrader{Protocol: func(p string) bool { return p == wsProtocol }}
	conn, brw, _, err := up.Upgrade(r, w)
	if err != nil {
		n.metrics.handshakeFailed.Add(1)
		return
	}
	var early []byte
	if brw != nil {
		early, _ = brw.Reader.Peek(brw.Reader.Buffered())
	}
	n.sess.Attach(conn, h.who, session.Start{Resume: h.resume, Room: h.room, Buffered: early, Expiry: h.expiry})
}
