package wsconn

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/natterchat/natter/internal/testcerts"
)

// waitFor polls cond until it holds or the (generous) deadline passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// recorder is a Handler that records what it gets.
type recorder struct {
	echo bool // send every message back

	mu     sync.Mutex
	msgs   map[uint64][]string
	taken  map[uint64]int // messages nextMessage handed out
	closes map[uint64][]CloseReason
}

func newRecorder() *recorder {
	return &recorder{msgs: map[uint64][]string{}, taken: map[uint64]int{}, closes: map[uint64][]CloseReason{}}
}

func (r *recorder) OnMessage(c *Conn, msg []byte) {
	r.mu.Lock()
	r.msgs[c.ID()] = append(r.msgs[c.ID()], string(msg))
	r.mu.Unlock()
	if r.echo {
		_ = c.SendText(msg)
	}
}

func (r *recorder) OnClose(c *Conn, reason CloseReason) {
	r.mu.Lock()
	r.closes[c.ID()] = append(r.closes[c.ID()], reason)
	r.mu.Unlock()
}

// nextMessage waits for c's next message, in order.
func (r *recorder) nextMessage(t testing.TB, c *Conn) string {
	t.Helper()
	r.mu.Lock()
	seen := r.taken[c.ID()]
	r.mu.Unlock()
	waitFor(t, 10*time.Second, "a message", func() bool { return len(r.messages(c.ID())) > seen })
	r.mu.Lock()
	defer r.mu.Unlock()
	r.taken[c.ID()]++
	return r.msgs[c.ID()][seen]
}

func (r *recorder) messages(id uint64) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.msgs[id]...)
}

func (r *recorder) closeReasons(id uint64) []CloseReason {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]CloseReason(nil), r.closes[id]...)
}

func (r *recorder) closeCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, v := range r.closes {
		n += len(v)
	}
	return n
}

// waitClosed waits for c's OnClose and checks it came once with want.
func (r *recorder) waitClosed(t testing.TB, c *Conn, want CloseReason) {
	t.Helper()
	waitFor(t, 10*time.Second, "OnClose", func() bool { return len(r.closeReasons(c.ID())) > 0 })
	if got := r.closeReasons(c.ID()); len(got) != 1 || got[0] != want {
		t.Fatalf("OnClose reasons = %v, want [%v]", got, want)
	}
}

// testServer is a Server behind a real TCP listener that upgrades and
// attaches every accepted connection.
type testServer struct {
	srv      *Server
	rec      *recorder
	addr     string
	attached chan *Conn
	tls      bool // clients dial wss
}

func testConfig() Config {
	return Config{
		Workers:      2,
		PingInterval: time.Hour,
		IdleTimeout:  2 * time.Hour,
	}
}

// benchServer starts a Server of testConfig and a loopback listener for
// a benchmark that accepts and attaches by itself; both are closed when
// b ends, the listener first.
func benchServer(b *testing.B) (*Server, net.Listener) {
	b.Helper()
	srv, err := New(testConfig(), newRecorder())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	return srv, ln
}

func startServer(t testing.TB, cfg Config, rec *recorder) *testServer {
	t.Helper()
	return startServerBuffered(t, cfg, rec, nil)
}

// startServerBuffered is startServer whose connections are attached as if
// their clients had sent buffered right after the request.
func startServerBuffered(t testing.TB, cfg Config, rec *recorder, buffered []byte) *testServer {
	t.Helper()
	return startServerWith(t, cfg, rec, buffered, false)
}

// startServerWith is startServerBuffered that, with keepResponse, keeps
// the handshake's 101 for the connection layer to write, as the node does.
func startServerWith(t testing.TB, cfg Config, rec *recorder, buffered []byte, keepResponse bool) *testServer {
	t.Helper()
	if rec == nil {
		rec = newRecorder()
	}
	srv, err := New(cfg, rec)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{srv: srv, rec: rec, addr: ln.Addr().String(), attached: make(chan *Conn, 4096), tls: cfg.testTLS != nil}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			if cfg.testTLS != nil {
				tc := tls.Server(NewPollConn(nc), cfg.testTLS)
				_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
				if err := tc.Handshake(); err != nil {
					nc.Close()
					continue
				}
				nc = tc
			}
			var resp bytes.Buffer
			var w io.Writer = nc
			if keepResponse {
				w = &resp
			}
			if _, err := ws.Upgrade(struct {
				io.Reader
				io.Writer
			}{nc, w}); err != nil {
				nc.Close()
				continue
			}
			c := new(Conn)
			if err := srv.AttachConnBuffered(c, nc, "data", resp.Bytes(), buffered); err != nil {
				nc.Close()
				continue
			}
			ts.attached <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		srv.Close()
	})
	return ts
}

// client is the test's WebSocket client on a real socket.
type client struct {
	net.Conn
	r  *bufio.Reader
	sc *Conn // the server side
}

// dialWS connects and handshakes within 10 s; it calls no t method, so
// any goroutine may use it.
func (ts *testServer) dialWS() (net.Conn, *bufio.Reader, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	d, url := ws.Dialer{}, "ws://"+ts.addr+"/"
	if ts.tls {
		d.TLSConfig, url = &tls.Config{RootCAs: testTLSPool}, "wss://"+ts.addr+"/"
	}
	nc, br, _, err := d.Dial(ctx, url)
	return nc, br, err
}

// dial connects, handshakes and returns the client and its server-side Conn.
func (ts *testServer) dial(t testing.TB) *client {
	t.Helper()
	nc, br, err := ts.dialWS()
	if err != nil {
		t.Fatal(err)
	}
	if br == nil {
		br = bufio.NewReader(nc)
	}
	t.Cleanup(func() { nc.Close() })
	select {
	case sc := <-ts.attached:
		return &client{Conn: nc, r: br, sc: sc}
	case <-time.After(10 * time.Second):
		t.Fatal("no attached conn")
		return nil
	}
}

// send writes raw bytes.
func (c *client) send(t testing.TB, b []byte) {
	t.Helper()
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
}

// readFrame reads one server frame.
func (c *client) readFrame(t testing.TB) (ws.Header, []byte) {
	t.Helper()
	h, p, err := c.tryReadFrame(10 * time.Second)
	if err != nil {
		t.Fatalf("read frame: %v", err)
	}
	return h, p
}

func (c *client) tryReadFrame(d time.Duration) (ws.Header, []byte, error) {
	c.SetReadDeadline(time.Now().Add(d))
	h, err := ws.ReadHeader(c.r)
	if err != nil {
		return h, nil, err
	}
	if h.Masked {
		return h, nil, errors.New("server frame is masked")
	}
	p := make([]byte, h.Length)
	_, err = io.ReadFull(c.r, p)
	return h, p, err
}

// readText reads frames until a text frame, skipping pings.
func (c *client) readText(t testing.TB) string {
	t.Helper()
	for {
		h, p := c.readFrame(t)
		switch h.OpCode {
		case ws.OpText:
			return string(p)
		case ws.OpPing, ws.OpPong:
		default:
			t.Fatalf("got %v frame %q, want text", h.OpCode, p)
		}
	}
}

// expectClose reads frames until a close frame and checks its code, then
// checks the server closes the socket.
func (c *client) expectClose(t testing.TB, want ws.StatusCode) {
	t.Helper()
	if err := c.checkClose(want); err != nil {
		t.Fatal(err)
	}
}

// checkClose is expectClose for goroutines other than the test's: it
// returns what went wrong instead of failing the test.
func (c *client) checkClose(want ws.StatusCode) error {
	for {
		h, p, err := c.tryReadFrame(10 * time.Second)
		if err != nil {
			return fmt.Errorf("read frame: %w", err)
		}
		if h.OpCode != ws.OpClose {
			continue
		}
		if code, _ := ws.ParseCloseFrameData(p); code != want {
			return fmt.Errorf("close code = %d (%q), want %d", code, p, want)
		}
		break
	}
	// Reply like a real client (RFC 6455 §5.5.1); the server then closes.
	c.Write(frameBytes(fin|opCls, closeBody(uint16(want), ""), false))
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.r.Read(make([]byte, 1)); err == nil {
		return fmt.Errorf("read %d bytes after close frame, want EOF", n)
	}
	return nil
}

// frameBytes encodes a client frame: b0 is FIN|RSV|opcode; masked with a
// fixed non-zero key unless unmasked.
func frameBytes(b0 byte, payload []byte, unmasked bool) []byte {
	b := headerBytes(b0, uint64(len(payload)), unmasked)
	off := len(b)
	b = append(b, payload...)
	if !unmasked {
		ws.Cipher(b[off:], testMask, 0)
	}
	return b
}

var testMask = [4]byte{0x37, 0xfa, 0x21, 0x3d}

// headerBytes encodes just a client frame header announcing n bytes.
func headerBytes(b0 byte, n uint64, unmasked bool) []byte {
	var b []byte
	b = append(b, b0)
	var mbit byte = 0x80
	if unmasked {
		mbit = 0
	}
	switch {
	case n <= 125:
		b = append(b, mbit|byte(n))
	case n <= 0xffff:
		b = append(b, mbit|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, mbit|127)
		b = binary.BigEndian.AppendUint64(b, n)
	}
	if !unmasked {
		b = append(b, testMask[:]...)
	}
	return b
}

const (
	fin   = 0x80
	rsv1  = 0x40
	opCon = byte(ws.OpContinuation)
	opTxt = byte(ws.OpText)
	opBin = byte(ws.OpBinary)
	opCls = byte(ws.OpClose)
	opPng = byte(ws.OpPing)
	opPog = byte(ws.OpPong)
)

func text(s string) []byte { return frameBytes(fin|opTxt, []byte(s), false) }

func closeBody(code uint16, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, code), reason...)
}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// goroutinesSettle waits until the goroutine count is at most n.
func goroutinesSettle(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("goroutines = %d, want <= %d\n%s", runtime.NumGoroutine(), n, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// forEachTransport runs f against the epoll transport (on Linux) and the
// goroutine-per-connection fallback, each over plain TCP and over TLS.
func forEachTransport(t *testing.T, f func(t *testing.T, cfg Config)) {
	t.Run("poller", func(t *testing.T) { f(t, testConfig()) })
	t.Run("goroutine", func(t *testing.T) {
		cfg := testConfig()
		cfg.forceGoroutine = true
		f(t, cfg)
	})
	t.Run("tls-poller", func(t *testing.T) {
		cfg := testConfig()
		cfg.testTLS = testTLSConfig(t)
		f(t, cfg)
	})
	t.Run("tls-goroutine", func(t *testing.T) {
		cfg := testConfig()
		cfg.forceGoroutine = true
		cfg.testTLS = testTLSConfig(t)
		f(t, cfg)
	})
}

var (
	testTLSOnce sync.Once
	testTLSCert tls.Certificate
	testTLSPool *x509.CertPool
)

// testTLSConfig is a server TLS configuration with a certificate for
// 127.0.0.1 from a test CA (testTLSPool), made once per test binary.
func testTLSConfig(t *testing.T) *tls.Config {
	testTLSOnce.Do(func() {
		dir, err := os.MkdirTemp("", "wsconn-tls-")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		ca := testcerts.NewCA(t, dir, "ca")
		testTLSCert = ca.Issue(t, dir, "server", "127.0.0.1").TLS(t)
		testTLSPool = ca.Pool()
	})
	return &tls.Config{Certificates: []tls.Certificate{testTLSCert}}
}

func newBufReader(nc net.Conn) *bufio.Reader { return bufio.NewReader(nc) }
