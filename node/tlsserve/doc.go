// Package tlsserve is the TLS a node serves itself: the certificate it
// presents, reloaded when its files change, the server configuration, the
// answer to a plain HTTP request that reached the TLS port, and the TLS
// state handed to HTTP handlers.
//
// The node accepts TCP connections itself, so TLS is terminated there
// too, before the request line is peeked: the handshake runs on the
// connection's routing goroutine under the same admission slot and
// --header-timeout as reading the request head, so a client that stalls
// its handshake costs what one that stalls its head costs. After the
// handshake the *tls.Conn takes the place of the TCP connection on both
// paths: the raw WebSocket upgrader and the HTTP server.
//
// A WebSocket connection over TLS cannot be read by the epoll poller as
// is: the socket carries TLS records, not frames. The node therefore
// makes the *tls.Conn over a wsconn.PollConn: blocking, with deadlines,
// for the handshake and the request head; once the connection is
// attached, wsconn detaches it from the runtime's poller and drives the
// tls.Conn from epoll with non-blocking reads and writes (wsconn's
// tlsTransport), so a TLS WebSocket costs no goroutine, only crypto/tls's
// state and buffers (docs/benchmarks.md, "TLS at the node"). A connection
// that reaches /ws through net/http (an upgrade after other requests on a
// keep-alive connection) is handed over wrapped and takes wsconn's
// goroutine transport instead, with the same session handler.
package tlsserve
