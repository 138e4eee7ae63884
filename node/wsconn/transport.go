package wsconn

import "net"

// transport is how a connection's run reaches its socket. All methods except
// start are called only from inside the connection's run.
type transport interface {
	// start begins delivering readiness events (evRead/evWrite) to the conn.
	start() error
	// read reads without blocking: (n>0, nil) data, (0, nil) EOF,
	// (0, errWouldBlock) nothing yet, (0, err) socket error.
	read(p []byte) (int, error)
	// writev writes bufs without blocking and returns the bytes written, or
	// errWouldBlock when nothing could be written now.
	writev(w *worker, bufs [][]byte) (int, error)
	// arm asks for the next readiness event: readable always, writable if out.
	arm(out bool) error
	// shutdownWrite half-closes the socket after the close frame.
	shutdownWrite()
	// remoteAddr is the peer's address (nil if it cannot be told).
	remoteAddr() net.Addr
	// close stops events and closes the socket.
	close()
}
