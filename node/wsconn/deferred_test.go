package wsconn

import (
	"bufio"
	"fmt"
	"net"
	"testing"
	"time"
)

// TestSendDeferred: frames sent with SendDeferred arrive by themselves
// once DeferDelay is up; a Send takes the deferred frames along at once;
// order is kept either way, and so is the slow-consumer limit.
func TestSendDeferred(t *testing.T) {
	forEachTransport(t, func(t *testing.T, cfg Config) {
		cfg.DeferDelay = 50 * time.Millisecond
		ts := startServer(t, cfg, nil)
		c := ts.dial(t)
		for i := range 3 {
			if err := c.sc.SendDeferred(NewTextFrame(fmt.Appendf(nil, "notice %d", i))); err != nil {
				t.Fatal(err)
			}
		}
		for i := range 3 {
			if got, want := c.readText(t), fmt.Sprintf("notice %d", i); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
		// A Send does not wait for the delay, and brings what was
		// deferred before it first.
		cfg.DeferDelay = time.Hour
		ts2 := startServer(t, cfg, nil)
		c2 := ts2.dial(t)
		if err := c2.sc.SendDeferred(NewTextFrame([]byte("notice"))); err != nil {
			t.Fatal(err)
		}
		if err := c2.sc.Send(NewTextFrame([]byte("message"))); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"notice", "message"} {
			if got := c2.readText(t); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
	})
}

// TestSetDeferDelay: a delay set while the server runs applies to the
// next flush (a deferred frame of a server configured to wait an hour
// arrives), and zero returns to the configured one.
func TestSetDeferDelay(t *testing.T) {
	cfg := testConfig()
	cfg.DeferDelay = time.Hour
	ts := startServer(t, cfg, nil)
	c := ts.dial(t)
	ts.srv.SetDeferDelay(20 * time.Millisecond)
	if got := ts.srv.DeferDelay(); got != 20*time.Millisecond {
		t.Fatalf("DeferDelay = %v after setting 20ms", got)
	}
	if err := c.sc.SendDeferred(NewTextFrame([]byte("notice"))); err != nil {
		t.Fatal(err)
	}
	if got := c.readText(t); got != "notice" {
		t.Fatalf("got %q, want the deferred notice", got)
	}
	ts.srv.SetDeferDelay(0)
	if got := ts.srv.DeferDelay(); got != time.Hour {
		t.Fatalf("DeferDelay = %v after setting 0, want the configured hour", got)
	}
}

// TestSendDeferredSlowConsumer: deferred frames count against
// MaxOutboundBytes like any other.
func TestSendDeferredSlowConsumer(t *testing.T) {
	cfg := testConfig()
	cfg.MaxOutboundBytes = 1 << 10
	cfg.DeferDelay = time.Hour
	ts := startServer(t, cfg, nil)
	c := ts.dial(t)
	f := NewTextFrame(make([]byte, 300))
	var err error
	for range 10 {
		if err = c.sc.SendDeferred(f); err != nil {
			break
		}
	}
	if err != ErrSlowConsumer {
		t.Fatalf("SendDeferred past the limit = %v, want ErrSlowConsumer", err)
	}
	ts.rec.waitClosed(t, c.sc, ReasonSlowConsumer)
}

// TestSendDeferredWhileRunning: a frame deferred while the connection's
// run is under way (busy with other frames) still leaves once the delay
// is up, even if no other frame follows it.
func TestSendDeferredWhileRunning(t *testing.T) {
	cfg := testConfig()
	cfg.DeferDelay = 20 * time.Millisecond
	ts := startServer(t, cfg, nil)
	c := ts.dial(t)
	const n = 200
	for i := range n {
		f := NewTextFrame(fmt.Appendf(nil, "%d", i))
		var err error
		if i%2 == 0 {
			err = c.sc.Send(f)
		} else {
			err = c.sc.SendDeferred(f)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if got, want := c.readText(t), fmt.Sprint(i); got != want {
			t.Fatalf("frame %d is %q", i, got)
		}
	}
}

// TestResponseWithFirstFrames: a handshake response given to
// AttachConnBuffered goes out ahead of every frame, with the first one
// sent; with none sent it goes out by itself once DeferDelay is up.
func TestResponseWithFirstFrames(t *testing.T) {
	forEachTransport(t, func(t *testing.T, cfg Config) {
		t.Run("with a frame", func(t *testing.T) {
			cfg := cfg
			cfg.DeferDelay = time.Hour // only the Send takes the 101 along
			ts := startServerWith(t, cfg, nil, nil, true)
			type dialed struct {
				nc  net.Conn
				br  *bufio.Reader
				err error
			}
			done := make(chan dialed, 1)
			go func() {
				nc, br, err := ts.dialWS()
				done <- dialed{nc, br, err}
			}()
			var sc *Conn
			select {
			case sc = <-ts.attached:
			case <-time.After(10 * time.Second):
				t.Fatal("no attached conn")
			}
			if err := sc.Send(NewTextFrame([]byte("first"))); err != nil {
				t.Fatal(err)
			}
			got := <-done
			if got.err != nil {
				t.Fatalf("dial: %v", got.err)
			}
			t.Cleanup(func() { got.nc.Close() })
			br := got.br
			if br == nil {
				br = bufio.NewReader(got.nc)
			}
			c := &client{Conn: got.nc, r: br, sc: sc}
			if text := c.readText(t); text != "first" {
				t.Fatalf("got %q, want first", text)
			}
		})
		t.Run("alone", func(t *testing.T) {
			cfg := cfg
			cfg.DeferDelay = 20 * time.Millisecond
			ts := startServerWith(t, cfg, nil, nil, true)
			c := ts.dial(t) // fails unless the 101 comes
			if err := c.sc.Send(NewTextFrame([]byte("after"))); err != nil {
				t.Fatal(err)
			}
			if text := c.readText(t); text != "after" {
				t.Fatalf("got %q, want after", text)
			}
		})
	})
}
