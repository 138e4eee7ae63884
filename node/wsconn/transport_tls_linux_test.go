package wsconn

import "testing"

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

	cfg.forceGoroutine = true
	g := startServer(t, cfg, nil).dial(t)
	if _, ok := g.sc.tr.(*goTransport); !ok {
		t.Fatalf("forced goroutine transport: %T", g.sc.tr)
	}
}
