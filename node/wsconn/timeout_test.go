package wsconn

import (
	"fmt"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// TestSlowloris: a client that sends half a frame and stops holds no worker
// (with a single worker, another client keeps being served) and is closed
// with 4000 after IdleTimeout.
func TestSlowloris(t *testing.T) {
	forEachTransport(t, func(t *testing.T, cfg Config) {
		cfg.Workers = 1
		cfg.IdleTimeout = 300 * time.Millisecond
		cfg.PingInterval = time.Hour // no pings: only the stall matters
		rec := newRecorder()
		rec.echo = true
		ts := startServer(t, cfg, rec)

		stalled := ts.dial(t)
		stalled.send(t, cat(headerBytes(fin|opTxt, 100, false), make([]byte, 10)))

		busy := ts.dial(t)
		for i := range 50 {
			msg := fmt.Sprint("ping ", i)
			busy.send(t, text(msg))
			if got := busy.readText(t); got != msg {
				t.Fatalf("echo = %q, want %q", got, msg)
			}
		}
		stalled.expectClose(t, StatusIdleTimeout)
		rec.waitClosed(t, stalled.sc, ReasonIdleTimeout)
	})
}

// TestIdle: a connection silent for PingInterval gets a ping; one that
// answers stays open, one that does not is closed with 4000.
func TestIdle(t *testing.T) {
	forEachTransport(t, func(t *testing.T, cfg Config) {
		cfg.PingInterval = 100 * time.Millisecond
		cfg.IdleTimeout = 600 * time.Millisecond
		ts := startServer(t, cfg, nil)

		silent := ts.dial(t)
		live := ts.dial(t)
		pings := 0
		for pings < 4 { // 400ms+ of pings: past the idle timeout
			h, p := live.readFrame(t)
			if h.OpCode != ws.OpPing {
				t.Fatalf("got %v, want ping", h.OpCode)
			}
			pings++
			live.send(t, frameBytes(fin|opPog, p, false))
		}
		silent.expectClose(t, StatusIdleTimeout)
		ts.rec.waitClosed(t, silent.sc, ReasonIdleTimeout)
		if got := ts.rec.closeReasons(live.sc.ID()); len(got) != 0 {
			t.Fatalf("live conn closed: %v", got)
		}
		// The live one still works.
		if err := live.sc.SendText([]byte("still here")); err != nil {
			t.Fatal(err)
		}
		if got := live.readText(t); got != "still here" {
			t.Fatalf("got %q", got)
		}
	})
}

// TestWheel checks the wheel's bookkeeping without sockets.
func TestWheel(t *testing.T) {
	w := newWheel(time.Millisecond, 10*time.Millisecond)
	cs := make([]*Conn, 50)
	for i := range cs {
		cs[i] = &Conn{}
		w.add(cs[i], int64(i%25+1))
	}
	for i := 0; i < len(cs); i += 2 {
		w.remove(cs[i])
	}
	n := 0
	for _, head := range w.slots {
		for c := head; c != nil; c = c.wNext {
			n++
			if c.wNext != nil && c.wNext.wPrev != c {
				t.Fatal("broken links")
			}
		}
	}
	if n != 25 {
		t.Fatalf("%d conns in the wheel, want 25", n)
	}
}
