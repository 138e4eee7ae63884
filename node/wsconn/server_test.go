package wsconn

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// TestIdleConnsNoGoroutines attaches 2,000 idle connections: the goroutine
// count must not grow with them.
func TestIdleConnsNoGoroutines(t *testing.T) {
	if testing.Short() {
		t.Skip("2,000 sockets")
	}
	const n = 2000
	ts := startServer(t, testConfig(), nil)
	ts.dial(t) // warm up: the accept goroutine is running
	base := runtime.NumGoroutine()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for range n {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		nc, _, _, err := ws.Dial(ctx, "ws://"+ts.addr+"/")
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, nc)
		<-ts.attached
	}
	waitFor(t, 10*time.Second, "all attached", func() bool { return ts.srv.Len() == n+1 })
	if g := runtime.NumGoroutine(); g > base+10 {
		t.Fatalf("goroutines grew from %d to %d with %d idle conns", base, g, n)
	}
	// They all still work: a broadcast reaches a sample.
	f := NewTextFrame([]byte("broadcast"))
	ts.srv.Range(func(c *Conn) bool { return c.Send(f) == nil })
	for _, nc := range conns[:20] {
		nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		h, err := ws.ReadHeader(nc)
		if err != nil || h.OpCode != ws.OpText {
			t.Fatalf("broadcast: %v %v", h.OpCode, err)
		}
	}
}

// TestCloseStopsEverything checks Close closes every connection with 1001
// and the goroutine count returns to what it was before New.
func TestCloseStopsEverything(t *testing.T) {
	forEachTransport(t, func(t *testing.T, cfg Config) {
		base := runtime.NumGoroutine()
		srv, err := New(cfg, newRecorder())
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		var clients []*client
		for i := range 10 {
			done := make(chan *Conn)
			go func() {
				nc, err := ln.Accept()
				if err != nil {
					close(done)
					return
				}
				ws.Upgrade(nc)
				c, err := srv.Attach(nc, nil)
				if err != nil {
					t.Error(err)
				}
				done <- c
			}()
			nc, br, _, err := ws.Dial(context.Background(), "ws://"+ln.Addr().String()+"/")
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			sc := <-done
			cl := &client{Conn: nc, sc: sc}
			if br != nil {
				cl.r = br
			} else {
				cl.r = newBufReader(nc)
			}
			clients = append(clients, cl)
			switch i % 3 {
			case 1: // a partial frame pending
				cl.send(t, headerBytes(fin|opTxt, 50, false))
			case 2: // queued data
				sc.SendText([]byte("queued"))
			}
		}
		closed := make(chan []error)
		go func() {
			var errs []error
			for _, cl := range clients {
				if err := cl.checkClose(ws.StatusGoingAway); err != nil {
					errs = append(errs, err)
				}
			}
			closed <- errs
		}()
		srv.Close()
		srv.Close() // idempotent
		for _, err := range <-closed {
			t.Error(err)
		}
		if srv.Len() != 0 {
			t.Fatalf("Len = %d after Close", srv.Len())
		}
		if _, err := srv.Attach(clients[0].Conn, nil); err != ErrServerClosed {
			t.Fatalf("Attach after Close = %v", err)
		}
		goroutinesSettle(t, base)
	})
}
