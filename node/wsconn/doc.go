// Package wsconn is natter's WebSocket connection layer after the handshake.
//
// The caller accepts a TCP connection, performs the gobwas/ws server
// handshake (the 101 response is written) and hands the connection to
// [Server.Attach]. From then on the connection owns no goroutine: on Linux
// its file descriptor is registered with an epoll instance (EPOLLONESHOT) and
// a bounded pool of worker goroutines reads, parses and writes it with
// non-blocking syscalls. Inbound frames are parsed incrementally (RFC 6455
// §5), so a client that sends half a frame and stops holds a small buffer
// borrowed from a sync.Pool but never a worker. Outbound frames are encoded
// once ([NewTextFrame]) and queued by reference on every recipient's
// byte-bounded queue; the pool flushes each queue with writev. Pings and idle
// timeouts run on one timer wheel for all connections.
//
// A server-side *tls.Conn made over a [PollConn] is served from epoll too:
// Attach detaches the PollConn from the runtime's poller and the run reads
// and writes through the tls.Conn without blocking (tlsTransport; see
// [PollConn] for how crypto/tls is kept from blocking or failing).
//
// On other systems, and on Linux for connections that expose no file
// descriptor (net.Pipe, a TLS connection not over a PollConn, a wrapped
// one), a goroutine-per-connection transport feeds the same worker pool, so
// behaviour is identical and only the cost differs.
//
// It is not the HTTP upgrade (see package node), not the chat protocol (the
// [Handler] gets raw text messages) and not the TLS handshake.
//
// # Serialization and fd safety
//
// Every piece of work on a connection (reading, parsing, flushing, closing
// the socket) runs inside one run of that connection on a worker. A
// connection has at most one entry in each of the run queue's FIFOs
// (Conn.sched), and a worker that takes an entry runs the connection
// only if it owes a run and no other worker runs it (Conn.claim). Events
// that arrive meanwhile are OR-ed into Conn.pending and picked up by the
// same run.
// The fd is only read, written, re-armed and closed inside a run, and the
// socket is closed by the run that finalizes the connection, after which the
// connection is marked dead and never run again. So no worker ever uses an fd
// number after close, and a reused fd number cannot reach a stale Conn: the
// epoll data holds the connection id, not the fd.
//
// # Lock order
//
// Locks are never held while calling the Handler.
//
//	Server.attachMu (RLock in Attach) -> registry shard mu, wheel.mu
//	Conn.mu -> nothing (the run queue is pushed after Conn.mu is released)
//	wheel.mu -> nothing (due connections are scheduled after it is released)
//	runQueue.mu -> nothing
package wsconn
