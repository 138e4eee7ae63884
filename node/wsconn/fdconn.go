package wsconn

import (
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// FDConn is a TCP connection accepted by an FDListener: a non-blocking
// socket descriptor that the runtime's poller never registered. Attach
// takes the descriptor as it is into the epoll poller. A connection
// accepted through net.Listener costs three epoll_ctl calls, a dup and a
// close on its way there (the runtime registers it, Attach duplicates
// the descriptor, the close deregisters it), and a deadline timer for
// its head: in a connection storm on one core, a few percent of each
// connection's cost.
//
// Its Read and Write never block: Read returns what the socket holds,
// or ErrAgain when it holds nothing yet; Write writes what the socket
// takes now. The deadline methods do nothing, since nothing waits. It
// is meant for a request head that has arrived by the time of the
// accept, and for a short refusal; a connection that must wait for its
// client goes to the runtime with NetConn. Not safe for concurrent use.
type FDConn struct {
	fd            int // -1 once taken by Attach, handed over or closed
	local, remote net.Addr
}

// ErrAgain is the error of an FDConn's Read when the socket holds
// nothing yet, and of its Write when the socket takes no more now: a
// net.Error whose Temporary() is true.
var ErrAgain = errAgain

// Read reads what the socket holds without waiting: io.EOF at its end,
// ErrAgain when it holds nothing yet.
func (c *FDConn) Read(b []byte) (int, error) {
	if c.fd < 0 {
		return 0, net.ErrClosed
	}
	n, err := sysRead(c.fd, b)
	return fdResult(n, len(b), err)
}

// Write writes what the socket takes now: a short count and ErrAgain
// when it takes less than b.
func (c *FDConn) Write(b []byte) (int, error) {
	if c.fd < 0 {
		return 0, net.ErrClosed
	}
	n := 0
	for n < len(b) {
		k, err := sysWrite(c.fd, b[n:])
		n += k
		if err == errWouldBlock {
			return n, errAgain
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Close closes the socket, unless Attach or NetConn took it.
func (c *FDConn) Close() error {
	if fd := c.take(); fd >= 0 {
		return sysClose(fd)
	}
	return nil
}

// LocalAddr is the listener's address the connection came in on.
func (c *FDConn) LocalAddr() net.Addr { return c.local }

// RemoteAddr is the client's address, from the accept.
func (c *FDConn) RemoteAddr() net.Addr { return c.remote }

// SetDeadline does nothing: no call of an FDConn waits.
func (c *FDConn) SetDeadline(time.Time) error { return nil }

// SetReadDeadline does nothing: Read never waits.
func (c *FDConn) SetReadDeadline(time.Time) error { return nil }

// SetWriteDeadline does nothing: Write never waits.
func (c *FDConn) SetWriteDeadline(time.Time) error { return nil }

// NetConn hands the socket to the runtime's poller, for a connection
// that must wait for its client: a head that has not fully arrived, a
// plain HTTP request. The FDConn is done with afterwards; on error the
// socket is closed.
func (c *FDConn) NetConn() (net.Conn, error) {
	fd := c.take()
	if fd < 0 {
		return nil, net.ErrClosed
	}
	f := os.NewFile(uintptr(fd), "tcp")
	nc, err := net.FileConn(f) // a duplicate: f's own descriptor is closed next
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("wsconn: hand the socket to the runtime: %w", err)
	}
	return nc, nil
}

// take returns the descriptor, which the caller owns from then on (the
// transport, NetConn, Close); -1 if it was taken already.
func (c *FDConn) take() int {
	fd := c.fd
	c.fd = -1
	return fd
}

// fdResult is Read's answer for sysRead's: EOF for a read of nothing,
// a temporary error for a socket with nothing yet.
func fdResult(n, want int, err error) (int, error) {
	switch {
	case err == errWouldBlock:
		return 0, errAgain
	case err != nil:
		return 0, err
	case n == 0 && want > 0:
		return 0, io.EOF
	}
	return n, nil
}
