package node

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/natterchat/natter/node/wsconn"
)

// TLS termination at the node.
//
// Serve accepts TCP connections itself, so TLS is terminated there too,
// before the request line is peeked: the handshake runs on the
// connection's routing goroutine under the same admission slot and
// --header-timeout as reading the request head, so a client that stalls
// its handshake costs what one that stalls its head costs. After the
// handshake the *tls.Conn takes the place of the TCP connection on both
// paths: the raw WebSocket upgrader and the HTTP server.
//
// A WebSocket connection over TLS cannot be read by the epoll poller as
// is: the socket carries TLS records, not frames. The *tls.Conn is
// therefore made over a wsconn.PollConn: blocking, with deadlines, for
// the handshake and the request head; once the connection is attached,
// wsconn detaches it from the runtime's poller and drives the tls.Conn
// from epoll with non-blocking reads and writes (wsconn's tlsTransport),
// so a TLS WebSocket costs no goroutine, only crypto/tls's state and
// buffers (docs/benchmarks.md, "TLS at the node"). A connection that
// reaches /ws through net/http (an upgrade after other requests on a
// keep-alive connection) is handed over wrapped and takes wsconn's
// goroutine transport instead, with the same session handler.

// ReloadTLS reads the certificate files again now (as the periodic check
// does; cmd/natter calls it on SIGHUP). A pair that does not load keeps
// the current certificate and is returned as the error. Without TLS it
// does nothing.
func (n *Node) ReloadTLS() error {
	if n.certs == nil {
		return nil
	}
	return n.certs.reloadLogged()
}

// plainHTTPResponse answers a plain HTTP request that reached the TLS
// port, as net/http does, so a client that used http:// or ws:// by
// mistake learns why instead of reading garbage.
const plainHTTPResponse = "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"

// handshakeTLS runs the server TLS handshake on conn within its current
// deadline. On failure it answers a plain HTTP request with 400, closes
// the connection and returns nil.
func (n *Node) handshakeTLS(conn net.Conn) *tls.Conn {
	// Over a PollConn, so that wsconn can serve the connection from its
	// epoll poller once it is a WebSocket.
	tc := tls.Server(wsconn.NewPollConn(conn), n.tls)
	err := tc.Handshake()
	if err == nil {
		return tc
	}
	var rhe tls.RecordHeaderError
	if errors.As(err, &rhe) && rhe.Conn != nil && looksLikeHTTP(rhe.RecordHeader[:]) {
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = rhe.Conn.Write([]byte(plainHTTPResponse))
	}
	// Scanners, expired client trust stores and plain clients produce
	// these all day: debug, not warn.
	n.log.Debug("TLS handshake failed", slog.Any("remote", conn.RemoteAddr()), slog.Any("err", err))
	conn.Close()
	return nil
}

// looksLikeHTTP reports whether the first bytes of a connection are an
// HTTP method rather than a TLS record.
func looksLikeHTTP(hdr []byte) bool {
	switch string(hdr) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO", "DELET", "PATCH":
		return true
	}
	return false
}

// tlsStateKey is the context key of a connection's TLS state.
type tlsStateKey struct{}

// connTLSState is http.Server.ConnContext: the HTTP server gets the
// node's connections wrapped (prefixConn), so it cannot see the
// *tls.Conn and would leave Request.TLS nil; the state is kept in the
// connection's context instead.
func connTLSState(ctx context.Context, c net.Conn) context.Context {
	pc, ok := c.(*prefixConn)
	if !ok {
		return ctx
	}
	tc, ok := pc.Conn.(*tls.Conn)
	if !ok {
		return ctx
	}
	st := tc.ConnectionState()
	return context.WithValue(ctx, tlsStateKey{}, &st)
}

// withTLSState sets Request.TLS from the connection's context, so
// handlers tell https from http as usual (the session route answers a
// wss:// URL).
func withTLSState(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			if st, ok := r.Context().Value(tlsStateKey{}).(*tls.ConnectionState); ok {
				r.TLS = st
			}
		}
		h.ServeHTTP(w, r)
	})
}
