package wsconn

import (
	"net"
	"time"
)

// PollConn is the TCP connection under a server-side *tls.Conn, made so
// that the connection layer can serve the TLS connection from its epoll
// poller after the handshake instead of with two goroutines of its own.
//
// Until the connection is attached it is the TCP connection it wraps:
// blocking reads and writes with deadlines, for the TLS handshake and the
// request head. When Attach gets a *tls.Conn over a PollConn (Linux), it
// detaches the PollConn from the runtime's poller: it keeps a duplicate of
// the socket's fd, closes the net.TCPConn, and from then on reads return
// at once, with a temporary error (which crypto/tls does not keep) when
// the socket has nothing, and writes go to the socket as far as it takes
// them and are kept for the transport to finish.
//
// Use it as tls.Server(NewPollConn(tcpConn), cfg). Elsewhere, or when the
// TLS connection is handed over wrapped in something else, it stays a
// plain wrapper and the goroutine transport serves the connection.
type PollConn struct {
	net.Conn // until detached

	// Written only inside the connection's run once detached.
	fd       int    // the duplicate fd; -1 until detached
	out      []byte // ciphertext the socket has not taken yet
	werr     error  // a write error of the socket, reported by the transport
	detached bool

	local, remote net.Addr
}

// NewPollConn wraps a TCP connection for tls.Server.
func NewPollConn(c net.Conn) *PollConn {
	return &PollConn{Conn: c, fd: -1, local: c.LocalAddr(), remote: c.RemoteAddr()}
}

// errAgain is a detached PollConn's "nothing to read now": temporary, so
// crypto/tls keeps the connection usable and what it buffered of a
// partial record.
type errAgainT struct{}

func (errAgainT) Error() string   { return "wsconn: would block" }
func (errAgainT) Timeout() bool   { return false }
func (errAgainT) Temporary() bool { return true }

var errAgain net.Error = errAgainT{}

// Read reads the socket: blocking until detached, then without blocking.
func (p *PollConn) Read(b []byte) (int, error) {
	if !p.detached {
		return p.Conn.Read(b)
	}
	if p.fd < 0 {
		return 0, net.ErrClosed
	}
	n, err := sysRead(p.fd, b)
	return fdResult(n, len(b), err)
}

// Write writes to the socket: blocking until detached; then what the
// socket does not take now is kept in out for the transport to flush, and
// the whole of b is reported written (crypto/tls must not see a short
// write, which it would keep as a permanent error).
func (p *PollConn) Write(b []byte) (int, error) {
	if !p.detached {
		return p.Conn.Write(b)
	}
	if p.werr != nil {
		return 0, p.werr
	}
	n := 0
	if len(p.out) == 0 {
		var err error
		n, err = sysWrite(p.fd, b)
		if err != nil && err != errWouldBlock {
			p.werr = err
			return 0, err
		}
	}
	p.out = append(p.out, b[n:]...)
	return len(b), nil
}

// flushOut writes what the socket did not take before; it reports
// whether everything is out.
func (p *PollConn) flushOut() (bool, error) {
	if p.werr != nil {
		return false, p.werr
	}
	for len(p.out) > 0 {
		n, err := sysWrite(p.fd, p.out)
		if err == errWouldBlock {
			return false, nil
		}
		if err != nil {
			p.werr = err
			return false, err
		}
		p.out = p.out[n:]
	}
	p.out = nil // an idle connection keeps no write buffer
	return true, nil
}

// Close closes the TCP connection; once detached the transport closes
// the fd.
func (p *PollConn) Close() error {
	if !p.detached {
		return p.Conn.Close()
	}
	return nil
}

// SetDeadline and its two siblings apply until detached; after it the
// connection layer's timers bound the connection.
func (p *PollConn) SetDeadline(t time.Time) error {
	if !p.detached {
		return p.Conn.SetDeadline(t)
	}
	return nil
}

// SetReadDeadline: see SetDeadline.
func (p *PollConn) SetReadDeadline(t time.Time) error {
	if !p.detached {
		return p.Conn.SetReadDeadline(t)
	}
	return nil
}

// SetWriteDeadline: see SetDeadline.
func (p *PollConn) SetWriteDeadline(t time.Time) error {
	if !p.detached {
		return p.Conn.SetWriteDeadline(t)
	}
	return nil
}

// LocalAddr is the connection's local address.
func (p *PollConn) LocalAddr() net.Addr { return p.local }

// RemoteAddr is the peer's address.
func (p *PollConn) RemoteAddr() net.Addr { return p.remote }
