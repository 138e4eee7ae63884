package wsconn

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

func TestMessages(t *testing.T) {
	forEachTransport(t, func(t *testing.T, cfg Config) {
		rec := newRecorder()
		rec.echo = true
		ts := startServer(t, cfg, rec)
		c := ts.dial(t)
		if c.sc.Data() != "data" || c.sc.RemoteAddr().String() != c.LocalAddr().String() {
			t.Fatalf("Data/RemoteAddr = %v, %v", c.sc.Data(), c.sc.RemoteAddr())
		}

		// One frame, then many frames in one write.
		c.send(t, text("hello"))
		if got := c.readText(t); got != "hello" {
			t.Fatalf("echo = %q", got)
		}
		var batch []byte
		var want []string
		for i := range 200 {
			s := fmt.Sprintf("m%d-%s", i, strings.Repeat("x", i))
			want = append(want, s)
			batch = append(batch, text(s)...)
		}
		c.send(t, batch)
		for _, w := range want {
			if got := c.readText(t); got != w {
				t.Fatalf("echo = %q, want %q", got, w)
			}
		}
		if got := rec.messages(c.sc.ID()); !slices.Equal(got, append([]string{"hello"}, want...)) {
			t.Fatalf("OnMessage got %d messages out of order", len(got))
		}
	})
}

func TestFragmentedWithInterleavedControl(t *testing.T) {
	forEachTransport(t, func(t *testing.T, cfg Config) {
		rec := newRecorder()
		rec.echo = true
		ts := startServer(t, cfg, rec)
		c := ts.dial(t)
		c.send(t, frameBytes(opTxt, []byte("frag"), false))
		c.send(t, frameBytes(fin|opPng, []byte("mid"), false))
		h, p := c.readFrame(t)
		if h.OpCode != ws.OpPong || string(p) != "mid" {
			t.Fatalf("got %v %q, want pong mid", h.OpCode, p)
		}
		c.send(t, frameBytes(opCon, []byte("men"), false))
		c.send(t, frameBytes(fin|opPog, nil, false)) // unsolicited pong: ignored
		c.send(t, frameBytes(fin|opCon, []byte("ted ✓"), false))
		if got := c.readText(t); got != "fragmented ✓" {
			t.Fatalf("echo = %q", got)
		}
	})
}

// TestSplitFrames writes frames byte by byte and in two pieces at every
// offset; the server must see whole messages.
func TestSplitFrames(t *testing.T) {
	forEachTransport(t, func(t *testing.T, cfg Config) {
		rec := newRecorder()
		rec.echo = true
		ts := startServer(t, cfg, rec)
		c := ts.dial(t)
		msg := strings.Repeat("s", 130) // 16-bit length header
		f := text(msg)
		for i := range f {
			c.send(t, f[i:i+1])
			if i%16 == 0 {
				time.Sleep(time.Millisecond) // let some bytes arrive alone
			}
		}
		if got := c.readText(t); got != msg {
			t.Fatalf("byte-by-byte echo = %q", got)
		}
		for i := 1; i < len(f); i++ {
			c.send(t, f[:i])
			if i%8 == 0 {
				time.Sleep(time.Millisecond)
			}
			c.send(t, f[i:])
			if got := c.readText(t); got != msg {
				t.Fatalf("split at %d: echo = %q", i, got)
			}
		}
	})
}

func TestPing(t *testing.T) {
	forEachTransport(t, func(t *testing.T, cfg Config) {
		ts := startServer(t, cfg, nil)
		c := ts.dial(t)
		c.send(t, frameBytes(fin|opPng, []byte("payload"), false))
		h, p := c.readFrame(t)
		if h.OpCode != ws.OpPong || string(p) != "payload" || !h.Fin {
			t.Fatalf("got %+v %q, want pong payload", h, p)
		}
	})
}

func TestClientClose(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
		want ws.StatusCode
	}{
		{"normal", closeBody(1000, "bye"), 1000},
		{"app code", closeBody(4123, ""), 4123},
		{"no code", nil, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachTransport(t, func(t *testing.T, cfg Config) {
				ts := startServer(t, cfg, nil)
				c := ts.dial(t)
				c.send(t, frameBytes(fin|opCls, tc.body, false))
				c.expectClose(t, tc.want)
				ts.rec.waitClosed(t, c.sc, ReasonClientClosed)
				if err := c.sc.SendText([]byte("late")); err != ErrClosed {
					t.Fatalf("Send after close = %v, want ErrClosed", err)
				}
			})
		})
	}
}

func TestClientEOF(t *testing.T) {
	forEachTransport(t, func(t *testing.T, cfg Config) {
		ts := startServer(t, cfg, nil)
		c := ts.dial(t)
		c.Close()
		ts.rec.waitClosed(t, c.sc, ReasonClientClosed)
		waitFor(t, 10*time.Second, "Len 0", func() bool { return ts.srv.Len() == 0 })
	})
}

// TestViolations checks each protocol violation closes with its code and
// the client receives that close frame.
func TestViolations(t *testing.T) {
	cases := []struct {
		name   string
		in     []byte
		code   ws.StatusCode
		reason CloseReason
	}{
		{"unmasked", frameBytes(fin|opTxt, []byte("x"), true), 1002, ReasonProtocolError},
		{"binary", frameBytes(fin|opBin, []byte("x"), false), 1003, ReasonUnsupportedData},
		{"invalid utf8", text("bad \xff"), 1007, ReasonInvalidUTF8},
		{"invalid utf8 fragmented", cat(frameBytes(opTxt, []byte("ok"), false), frameBytes(fin|opCon, []byte{0xe4, 0xb8}, false)), 1007, ReasonInvalidUTF8},
		// Only the header is sent: the size is judged before buffering.
		{"too big", headerBytes(fin|opTxt, 1<<20, false), 1009, ReasonTooBig},
		{"too big fragments", cat(frameBytes(opTxt, make([]byte, 1000), false), headerBytes(fin|opCon, 100, false)), 1009, ReasonTooBig},
		{"control over 125", headerBytes(fin|opPng, 126, false), 1002, ReasonProtocolError},
		{"fragmented control", frameBytes(opPng, nil, false), 1002, ReasonProtocolError},
		{"rsv bits", frameBytes(fin|rsv1|opTxt, []byte("x"), false), 1002, ReasonProtocolError},
		{"reserved opcode", frameBytes(fin|0xB, nil, false), 1002, ReasonProtocolError},
		{"bad continuation", frameBytes(fin|opCon, []byte("x"), false), 1002, ReasonProtocolError},
		{"close code invalid", frameBytes(fin|opCls, closeBody(1006, ""), false), 1002, ReasonProtocolError},
		{"close reason invalid utf8", frameBytes(fin|opCls, closeBody(1000, "\xff"), false), 1007, ReasonInvalidUTF8},
	}
	forEachTransport(t, func(t *testing.T, cfg Config) {
		cfg.MaxMessageSize = 1024
		ts := startServer(t, cfg, nil)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				c := ts.dial(t)
				c.send(t, text("before"))
				c.send(t, tc.in)
				c.expectClose(t, tc.code)
				ts.rec.waitClosed(t, c.sc, tc.reason)
				if got := ts.rec.messages(c.sc.ID()); len(got) < 1 || got[0] != "before" {
					t.Fatalf("messages = %q", got)
				}
			})
		}
	})
}

func TestServerClose(t *testing.T) {
	forEachTransport(t, func(t *testing.T, cfg Config) {
		ts := startServer(t, cfg, nil)
		c := ts.dial(t)
		if err := c.sc.SendText([]byte("queued first")); err != nil {
			t.Fatal(err)
		}
		c.sc.Close(ReasonPolicy, strings.Repeat("é", 100)) // truncated to 123 bytes
		c.sc.Close(ReasonInternal, "ignored")              // idempotent
		if got := c.readText(t); got != "queued first" {
			t.Fatalf("got %q", got)
		}
		h, p := c.readFrame(t)
		code, reason := ws.ParseCloseFrameData(p)
		if h.OpCode != ws.OpClose || code != 1008 || len(p) > 125 || !strings.HasPrefix(strings.Repeat("é", 100), reason) || len(reason) != 122 {
			t.Fatalf("got %v code %d reason %d bytes", h.OpCode, code, len(reason))
		}
		c.send(t, frameBytes(fin|opCls, closeBody(1008, ""), false))
		ts.rec.waitClosed(t, c.sc, ReasonPolicy)
	})
}

func TestIOErrorClose(t *testing.T) {
	ts := startServer(t, testConfig(), nil)
	c := ts.dial(t)
	c.sc.Close(ReasonIOError, "")
	ts.rec.waitClosed(t, c.sc, ReasonIOError)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.r.Read(make([]byte, 1)); err == nil {
		t.Fatal("got data, want EOF without a close frame")
	}
}

// TestAttachBufferedFrames: frames a client sent right after its request,
// which the handshake read already, are delivered first and in order.
func TestAttachBufferedFrames(t *testing.T) {
	forEachTransport(t, func(t *testing.T, cfg Config) {
		rec := newRecorder()
		ts := startServerBuffered(t, cfg, rec, append(text("early 1"), text("early 2")...))
		c := ts.dial(t)
		c.send(t, text("late"))
		for _, want := range []string{"early 1", "early 2", "late"} {
			if got := rec.nextMessage(t, c.sc); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
	})
}
