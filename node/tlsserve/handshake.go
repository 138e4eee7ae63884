package tlsserve

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"time"
)

// plainHTTPResponse answers a plain HTTP request that reached the TLS
// port, as net/http does, so a client that used http:// or ws:// by
// mistake learns why instead of reading garbage.
const plainHTTPResponse = "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"

// Handshake runs the server handshake of tc, whose underlying connection
// is conn, within conn's current deadline. When it fails because the
// client spoke plain HTTP, the client gets a 400 that says so; the
// caller closes conn.
func Handshake(conn net.Conn, tc *tls.Conn) error {
	err := tc.Handshake()
	var rhe tls.RecordHeaderError
	if errors.As(err, &rhe) && rhe.Conn != nil && looksLikeHTTP(rhe.RecordHeader[:]) {
		_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = rhe.Conn.Write([]byte(plainHTTPResponse))
	}
	return err
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

// stateKey is the context key of a connection's TLS state.
type stateKey struct{}

// WithState keeps tc's TLS state in ctx, for http.Server.ConnContext: the
// node hands its HTTP server the connections wrapped, so the server
// cannot see the *tls.Conn and would leave Request.TLS nil.
func WithState(ctx context.Context, tc *tls.Conn) context.Context {
	st := tc.ConnectionState()
	return context.WithValue(ctx, stateKey{}, &st)
}

// Handler sets Request.TLS from the state WithState kept in the
// connection's context, so handlers tell https from http as usual (the
// session route answers a wss:// URL).
func Handler(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			if st, ok := r.Context().Value(stateKey{}).(*tls.ConnectionState); ok {
				r.TLS = st
			}
		}
		h.ServeHTTP(w, r)
	})
}
