package node

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"
)

// Serve accepts connections on l until Shutdown. WebSocket upgrades of
// /ws and /websockets are recognised from the request line and upgraded
// on the raw connection (no http.Request, no per-connection HTTP state);
// every other connection is handed to the node's HTTP server. It returns
// http.ErrServerClosed after Shutdown.
func (n *Node) Serve(l net.Listener) error {
	hl := newConnListener(l.Addr())
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return http.ErrServerClosed
	}
	n.listeners = append(n.listeners, l, hl)
	n.mu.Unlock()

	httpDone := make(chan struct{})
	go func() {
		defer close(httpDone)
		_ = n.http.Serve(hl)
	}()
	defer func() { hl.Close(); <-httpDone }()

	var backoff time.Duration
	for {
		conn, err := l.Accept()
		if err != nil {
			if n.isClosed() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) {
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
		// The handshake cap: when it is reached, accepting waits and new
		// connections queue in the kernel's backlog.
		select {
		case n.handshakes <- struct{}{}:
		case <-n.done:
			conn.Close()
			return http.ErrServerClosed
		}
		go n.serveConn(conn, hl)
	}
}

// wsPrefixes are request-line prefixes of a WebSocket path.
var wsPrefixes = [][]byte{[]byte("GET /ws?"), []byte("GET /ws "), []byte("GET /websockets?"), []byte("GET /websockets ")}

// peekLen is enough of the request line to tell a WebSocket path.
const peekLen = len("GET /websockets?")

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}

// serveConn reads the start of the request line and routes the
// connection; it runs on a short-lived goroutine under a deadline.
func (n *Node) serveConn(conn net.Conn, hl *connListener) {
	defer func() { <-n.handshakes }()
	_ = conn.SetDeadline(time.Now().Add(n.cfg.HandshakeTimeout))
	br := readerPool.Get().(*bufio.Reader)
	br.Reset(conn)
	head, err := br.Peek(peekLen)
	if err != nil && len(head) == 0 {
		br.Reset(nil)
		readerPool.Put(br)
		conn.Close()
		return
	}
	if isWebSocketRequest(head) {
		n.upgradeRaw(conn, readWriter{br, conn})
		br.Reset(nil)
		readerPool.Put(br)
		return
	}
	// Plain HTTP: the HTTP server owns the connection from here, with the
	// bytes already read in front of it.
	_ = conn.SetDeadline(time.Time{})
	buffered, _ := br.Peek(br.Buffered())
	pc := &prefixConn{Conn: conn, prefix: append([]byte(nil), buffered...)}
	br.Reset(nil)
	readerPool.Put(br)
	if !hl.deliver(pc) {
		conn.Close()
	}
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
