package wsconn

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
)

// tlsTransport serves a TLS connection from the epoll poller: the fd of
// its detached PollConn is registered like a plain connection's, and the
// run reads and writes through the *tls.Conn, which reads and writes the
// PollConn without blocking.
//
// Two things differ from plain sockets. crypto/tls may hold decrypted
// input or whole records the socket no longer shows (several records in
// one socket read, or bytes the handshake read past its end), which no
// epoll event would announce: after any read that returned data, arm
// schedules one more read, which ends when the PollConn says "nothing".
// And a write is not done when crypto/tls returns but when its ciphertext
// is on the socket: writev reports the frames it encrypted only once the
// PollConn has flushed them, so the queue, the close handshake and
// shutdownWrite see the same progress as with writev(2).
type tlsTransport struct {
	fdTransport
	tc *tls.Conn
	pc *PollConn

	more bool // the last read returned data: crypto/tls may hold more
	owed int  // plaintext bytes encrypted whose ciphertext is not all out
}

// maxTLSBatch bounds the plaintext one writev encrypts: one full TLS
// record.
const maxTLSBatch = 16 << 10

// newTLSTransport detaches pc (see PollConn) and serves tc from epoll.
func (s *Server) newTLSTransport(c *Conn, tc *tls.Conn, pc *PollConn) (transport, error) {
	fd, ok, err := dupFD(pc.Conn)
	if err != nil {
		return nil, err
	}
	if !ok {
		return newGoTransport(c, tc), nil
	}
	_ = pc.Conn.Close()
	pc.Conn, pc.fd, pc.detached = nil, fd, true
	return &tlsTransport{fdTransport: fdTransport{c: c, fd: fd}, tc: tc, pc: pc, more: true}, nil
}

func (t *tlsTransport) start() error {
	if err := t.fdTransport.start(); err != nil {
		return err
	}
	// The handshake and the request head may have left records in
	// crypto/tls's buffer: read once without waiting for the socket.
	t.c.schedule(evRead)
	return nil
}

func (t *tlsTransport) read(p []byte) (int, error) {
	n, err := t.tc.Read(p)
	if len(t.pc.out) > 0 {
		// Reading can make crypto/tls write (a KeyUpdate's answer).
		if _, ferr := t.pc.flushOut(); ferr != nil {
			return 0, ferr
		}
	}
	if n > 0 {
		t.more = true
		return n, nil
	}
	switch {
	case err == nil:
		return 0, errWouldBlock // a record without application data
	case errors.Is(err, errAgain):
		t.more = false
		return 0, errWouldBlock
	case errors.Is(err, io.EOF):
		return 0, nil
	default:
		return 0, err
	}
}

func (t *tlsTransport) writev(w *worker, bufs [][]byte) (int, error) {
	if t.owed > 0 || len(t.pc.out) > 0 {
		done, err := t.pc.flushOut()
		if err != nil {
			return 0, err
		}
		if !done {
			return 0, errWouldBlock
		}
		n := t.owed
		t.owed = 0
		return n, nil
	}
	// One record for many small frames instead of one record each.
	batch := w.sys.tlsBatch[:0]
	for _, b := range bufs {
		room := maxTLSBatch - len(batch)
		if room <= 0 {
			break
		}
		batch = append(batch, b[:min(len(b), room)]...)
	}
	w.sys.tlsBatch = batch[:0]
	n, err := t.tc.Write(batch)
	if err != nil {
		return 0, err
	}
	if len(t.pc.out) > 0 {
		t.owed = n
		return 0, errWouldBlock
	}
	return n, nil
}

func (t *tlsTransport) arm(out bool) error {
	if err := t.fdTransport.arm(out); err != nil {
		return err
	}
	if t.more {
		t.c.schedule(evRead)
	}
	return nil
}

func (t *tlsTransport) shutdownWrite() {
	// close_notify, then the half-close; a close_notify the socket does
	// not take now is dropped (the close frame before it is out).
	_ = t.tc.CloseWrite()
	_, _ = t.pc.flushOut()
	t.fdTransport.shutdownWrite()
}

func (t *tlsTransport) close() {
	// The fd number may be reused once closed: a late Close of the
	// tls.Conn (its close_notify) must not write to it.
	t.pc.out, t.pc.werr, t.pc.fd = nil, net.ErrClosed, -1
	t.fdTransport.close()
}
