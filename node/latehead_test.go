package node

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"testing"
	"time"
)

// gatedListener accepts only when the test lets it: the connection's
// first bytes can be in its socket before the node gets to it.
type gatedListener struct {
	net.Listener
	gate chan struct{}
}

func (l *gatedListener) Accept() (net.Conn, error) {
	<-l.gate
	return l.Listener.Accept()
}

// TestLateHeadRead: a WebSocket request that waits in its socket when
// the node gets to it is answered even though the header timeout passed
// meanwhile (a node too busy to read in time must not drop a client that
// did everything right), and a client that sends nothing is still
// closed.
func TestLateHeadRead(t *testing.T) {
	n, err := New(Config{DataDir: t.TempDir(), Secret: testSecret, Logger: testLogger(), AllowGuests: true, HeaderTimeout: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gl := &gatedListener{Listener: l, gate: make(chan struct{})}
	serve := make(chan error, 1)
	go func() { serve <- n.Serve(gl) }()
	t.Cleanup(func() {
		close(gl.gate)
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		<-serve
	})

	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := "GET /ws HTTP/1.1\r\nHost: " + l.Addr().String() + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	// The request is in the node's socket (loopback delivers a write
	// before it returns); only now may the node accept it.
	gl.gate <- struct{}{}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to a request that arrived in time: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("answer %s, want 101", resp.Status)
	}

	silent, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	gl.gate <- struct{}{}
	_ = silent.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err == nil || isTimeout(err) {
		t.Fatalf("a client that sent nothing: read %v, want the node to close it", err)
	}
}
