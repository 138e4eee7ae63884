package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/natterchat/natter/node/handshake"
	"github.com/natterchat/natter/node/tlsserve"
	"github.com/natterchat/natter/node/wsconn"
)

// Serve accepts connections on l until Shutdown. WebSocket upgrades of
// /ws and /websockets are recognised from the request line and upgraded
// on the raw connection (no http.Request, no per-connection HTTP state);
// every other connection is handed to the node's HTTP server. With
// Config.TLSCertFile every connection is TLS, handshaken before its
// request line is read (handshakeTLS; node/tlsserve). It returns http.ErrServerClosed after
// Shutdown.
func (n *Node) Serve(l net.Listener) error {
	hl := newConnListener(l.Addr())
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return http.ErrServerClosed
	}
	if fl, ok := n.fdListener(l); ok {
		l = fl // closing it closes the caller's listener too, as Shutdown does
	}
	n.listeners = append(n.listeners, l, hl)
	n.mu.Unlock()

	httpDone := make(chan struct{})
	go func() {
		defer close(httpDone)
		_ = n.http.Serve(hl)
	}()
	defer func() { hl.Close(); <-httpDone }()

	hs := newHandshakers(func(j handshakeJob) { n.serveConn(j.conn, j.accepted, j.hl, j.release) }, handshakerIdle)
	defer hs.close()
	var backoff time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			if n.isClosed() {
				return http.ErrServerClosed
			}
			if isTimeout(err) || outOfResources(err) {
				// Out of file descriptors or a transient error: wait and
				// retry instead of spinning or dying.
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				n.limiter.Warn("accept failed; retrying", slog.Any("err", err), slog.Duration("backoff", backoff))
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		// Reading a request head costs a goroutine and a buffer while
		// the client takes its time: admitted per source address and in
		// all, never queued, so that stalled handshakes cannot hold up
		// new clients or health checks.
		release, ok := n.admission.Admit(conn.RemoteAddr())
		if !ok {
			n.metrics.handshakeShed.Add(1)
			conn.Close()
			continue
		}
		hs.serve(handshakeJob{conn: conn, accepted: time.Now(), hl: hl, release: release})
	}
}

// fdListener is l as a wsconn.FDListener, which accepts sockets that
// skip the runtime's poller (wsconn.FDConn), for a node that serves
// plain TCP: with TLS, the handshake needs the runtime's blocking reads
// and deadlines from the start.
func (n *Node) fdListener(l net.Listener) (*wsconn.FDListener, bool) {
	if n.tls != nil {
		return nil, false
	}
	return wsconn.NewFDListener(l)
}

// outOfResources reports whether an accept failed for want of file
// descriptors or kernel memory, which passes: Serve waits and tries
// again.
func outOfResources(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

// wsPrefixes are request-line prefixes of a WebSocket path.
var wsPrefixes = [][]byte{[]byte("GET /ws?"), []byte("GET /ws "), []byte("GET /websockets?"), []byte("GET /websockets ")}

// peekLen is enough of the request line to tell a WebSocket path.
const peekLen = len("GET /websockets?")

// lateHeadRead is how long a request head that missed the header timeout
// may still take to be read: long enough for bytes already in the
// socket, too short for a client still sending.
const lateHeadRead = 10 * time.Millisecond

// isTimeout reports whether err is a deadline's.
func isTimeout(err error) bool {
	if err == nil {
		return false // before errors.As, whose target escapes: an allocation per connection
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// serveConn finishes the TLS handshake (when the node terminates TLS),
// reads the start of the request line and routes the connection: WebSocket
// upgrades of /ws to the raw upgrader, the rest to the HTTP server. It
// runs on a goroutine of its own; release ends the connection's admission
// once its head is read.
func (n *Node) serveConn(conn net.Conn, accepted time.Time, hl *connListener, release func()) {
	defer release()
	if fc, ok := conn.(*wsconn.FDConn); ok {
		if conn = n.serveFD(fc, accepted, release); conn == nil {
			return
		}
	}
	// The head is only read: a plain connection needs no write deadline
	// (a refusal sets its own), the TLS handshake writes.
	if n.tls != nil {
		_ = conn.SetDeadline(time.Now().Add(n.cfg.HeaderTimeout))
	} else {
		_ = conn.SetReadDeadline(time.Now().Add(n.cfg.HeaderTimeout))
	}
	if n.tls != nil {
		tc := n.handshakeTLS(conn)
		if tc == nil {
			return
		}
		conn = tc
	}
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(conn)
	defer func() {
		br.Reset(nil)
		readerPool.Put(br)
	}()
	start, err := br.Peek(peekLen)
	if isTimeout(err) && len(start) == 0 {
		// The header timeout counts from the accept. A node too busy to
		// run this goroutine before it passed (a reconnect storm on one
		// core) would drop clients that sent their request in time: one
		// short read more takes a request waiting in the socket, and
		// still waits for no client that sent nothing.
		_ = conn.SetReadDeadline(time.Now().Add(lateHeadRead))
		start, err = br.Peek(peekLen)
	}
	if err != nil && len(start) == 0 {
		if isTimeout(err) {
			n.metrics.handshakeFailed.Add(1)
		}
		conn.Close()
		return
	}
	if !isWebSocketRequest(start) {
		release() // the HTTP server reads the rest, within its own limits
		n.serveHTTPConn(conn, br, hl)
		return
	}
	head, err := handshake.ReadHead(br)
	release()
	if err != nil {
		n.refuseHead(conn, err)
		return
	}
	if pc, ok := conn.(*prefixConn); ok && len(pc.prefix) == 0 {
		// serveFD's bytes are in br now: attach the socket itself,
		// which the epoll poller can serve.
		conn = pc.Conn
	}
	n.upgradeRaw(conn, accepted, head, br)
}

// serveFD upgrades a connection accepted past the runtime's poller
// (wsconn.FDConn) when the whole head of a WebSocket request is in its
// socket already, as it is in a storm, where the accept comes well after
// the client's connect; it returns nil then, or after a failure. Any
// other connection (a head still on its way, a plain HTTP request) is
// handed to the runtime's poller with what was read in front of it, and
// returned for serveConn to serve as any other.
func (n *Node) serveFD(fc *wsconn.FDConn, accepted time.Time, release func()) net.Conn {
	hb := headBufPool.Get().(*headBuf)
	defer func() {
		hb.src.Reset(nil)
		headBufPool.Put(hb)
	}()
	b := hb.b[:]
	k, err := fc.Read(b)
	if k > 0 && isWebSocketRequest(b[:k]) && bytes.Contains(b[:k], headEnd) {
		br := readerPool.Get().(*bufio.Reader)
		hb.src.Reset(b[:k])
		br.Reset(&hb.src)
		defer func() {
			br.Reset(nil)
			readerPool.Put(br)
		}()
		head, err := handshake.ReadHead(br)
		release()
		if err != nil {
			n.refuseHead(fc, err)
			return nil
		}
		n.upgradeRaw(fc, accepted, head, br)
		return nil
	}
	if err != nil && !errors.Is(err, wsconn.ErrAgain) {
		fc.Close() // EOF or a reset before the request: nothing to answer
		return nil
	}
	conn, err := fc.NetConn()
	if err != nil {
		n.limiter.Warn("hand a connection to the runtime failed", slog.Any("err", err))
		return nil
	}
	if k > 0 {
		conn = &prefixConn{Conn: conn, prefix: append([]byte(nil), b[:k]...)}
	}
	return conn
}

// headEnd ends a request head.
var headEnd = []byte("\r\n\r\n")

// headBuf is what serveFD reads a head into, the size of the pooled
// readers' so that whatever one read takes fits in one, and the reader
// the pooled reader takes it from.
type headBuf struct {
	b   [4096]byte
	src bytes.Reader
}

// headBufPool holds serveFD's headBufs.
var headBufPool = sync.Pool{New: func() any { return new(headBuf) }}

// handshakeTLS runs the server TLS handshake on conn within its current
// deadline (tlsserve's doc tells TLS at the node). On failure it closes
// the connection and returns nil.
func (n *Node) handshakeTLS(conn net.Conn) *tls.Conn {
	// Over a PollConn, so that wsconn can serve the connection from its
	// epoll poller once it is a WebSocket.
	tc := tls.Server(wsconn.NewPollConn(conn), n.tls)
	err := tlsserve.Handshake(conn, tc)
	if err == nil {
		return tc
	}
	// Scanners, expired client trust stores and plain clients produce
	// these all day: debug, not warn.
	n.log.Debug("TLS handshake failed", slog.Any("remote", conn.RemoteAddr()), slog.Any("err", err))
	conn.Close()
	return nil
}

// ReloadTLS reads the certificate files again now (as the periodic check
// does; cmd/natter calls it on SIGHUP). A pair that does not load keeps
// the current certificate and is returned as the error. Without TLS it
// does nothing.
func (n *Node) ReloadTLS() error {
	if n.certs == nil {
		return nil
	}
	return n.certs.Reload()
}

// serveHTTPConn hands a plain HTTP connection to the HTTP server, with the
// bytes already read in front of it.
func (n *Node) serveHTTPConn(conn net.Conn, br *bufio.Reader, hl *connListener) {
	_ = conn.SetDeadline(time.Time{})
	buffered, _ := br.Peek(br.Buffered())
	pc := &prefixConn{Conn: conn, prefix: append([]byte(nil), buffered...)}
	if !hl.deliver(pc) {
		conn.Close()
	}
}

// refuseHead answers a request head that broke a limit with its status
// (414, 431, 400) and closes the connection; a head that never came
// (deadline, EOF) just closes it.
func (n *Node) refuseHead(conn net.Conn, err error) {
	defer conn.Close()
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isTimeout(err) {
		n.metrics.handshakeFailed.Add(1)
		return
	}
	n.metrics.handshakeRejected.Add(1)
	status := handshake.Status(err)
	msg := err.Error() + "\n"
	_ = conn.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = fmt.Fprintf(conn, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s",
		status, http.StatusText(status), len(msg), msg)
}

func isWebSocketRequest(head []byte) bool {
	for _, p := range wsPrefixes {
		if bytes.HasPrefix(head, p) {
			return true
		}
	}
	return false
}

// readWriter reads through the peeking reader and writes to the conn.
type readWriter struct {
	io.Reader
	io.Writer
}

// prefixConn replays bytes read while routing before reading the conn.
type prefixConn struct {
	net.Conn
	prefix []byte
}

func (c *prefixConn) Read(p []byte) (int, error) {
	if len(c.prefix) > 0 {
		n := copy(p, c.prefix)
		c.prefix = c.prefix[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// connTLSState is http.Server.ConnContext: the HTTP server gets the
// node's connections wrapped (prefixConn), so it cannot see the
// *tls.Conn; its state is kept in the connection's context for
// tlsserve.Handler.
func connTLSState(ctx context.Context, c net.Conn) context.Context {
	pc, ok := c.(*prefixConn)
	if !ok {
		return ctx
	}
	tc, ok := pc.Conn.(*tls.Conn)
	if !ok {
		return ctx
	}
	return tlsserve.WithState(ctx, tc)
}

// connListener is a net.Listener fed by Serve with the connections that
// are plain HTTP.
type connListener struct {
	addr  net.Addr
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newConnListener(addr net.Addr) *connListener {
	return &connListener{addr: addr, conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *connListener) deliver(c net.Conn) bool {
	select {
	case l.conns <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return l.addr }
