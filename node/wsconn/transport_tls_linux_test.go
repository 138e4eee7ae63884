package wsconn

import (
	"errors"
	"net"
	"testing"

	"github.com/gobwas/ws"
)

// TestTLSOverPollConnUsesPoller: a TLS connection over a PollConn is
// served from epoll (no goroutines of its own), and one whose TLS is not
// over a PollConn, or with the goroutine transport forced, is not.
func TestTLSOverPollConnUsesPoller(t *testing.T) {
	cfg := testConfig()
	cfg.testTLS = testTLSConfig(t)
	ts := startServer(t, cfg, nil)
	c := ts.dial(t)
	tr, ok := c.sc.tr.(*tlsTransport)
	if !ok {
		t.Fatalf("transport %T, want *tlsTransport", c.sc.tr)
	}
	if !tr.pc.detached || tr.pc.Conn != nil {
		t.Fatal("the PollConn was not detached from its TCP connection")
	}
	c.send(t, text("over epoll"))
	if got := ts.rec.nextMessage(t, c.sc); got != "over epoll" {
		t.Fatalf("got %q", got)
	}
	if err := c.sc.Send(NewTextFrame([]byte("back"))); err != nil {
		t.Fatal(err)
	}
	if got := c.readText(t); got != "back" {
		t.Fatalf("client got %q", got)
	}

	// The close handshake over TLS, then a late Close of the tls.Conn
	// must not write to the fd number, which may belong to another
	// socket by now.
	c.sc.Close(ReasonGoingAway, "bye")
	c.expectClose(t, ws.StatusGoingAway)
	ts.rec.waitClosed(t, c.sc, ReasonGoingAway)
	if tr.pc.fd != -1 {
		t.Fatalf("PollConn fd %d after the transport closed, want -1", tr.pc.fd)
	}
	_ = tr.tc.Close()
	if _, err := tr.pc.Write([]byte("late")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a write after the transport closed: %v, want net.ErrClosed", err)
	}
	if _, err := tr.pc.Read(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a read after the transport closed: %v, want net.ErrClosed", err)
	}

	cfg.forceGoroutine = true
	g := startServer(t, cfg, nil).dial(t)
	if _, ok := g.sc.tr.(*goTransport); !ok {
		t.Fatalf("forced goroutine transport: %T", g.sc.tr)
	}
}
