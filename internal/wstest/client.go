// Package wstest is the WebSocket client of natter's tests: it dials a
// node, reads the server's frames on a goroutine of its own (answering
// pings like a browser does) and hands them out in order, with the close
// code the server sent. It is for tests only; node/client is the client
// for programs.
package wstest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
	"github.com/natterchat/natter/node/client"
	"github.com/natterchat/natter/node/wire"
)

// Frame is a text frame the server sent, in natter's envelope: the same
// as a program's client sees.
type Frame = client.Frame

// Client is a connected WebSocket.
type Client struct {
	// Conn is the connection; tests close it to disconnect abruptly.
	Conn net.Conn
	// Handshake is what the server answered to the upgrade.
	Handshake ws.Handshake

	frames chan Frame
	done   chan struct{}

	mu   sync.Mutex
	code ws.StatusCode // guarded by mu: the close code received, 0 if none
	err  error         // guarded by mu: why reading stopped, if not a close frame
}

// Dial connects to url with d and starts reading.
func Dial(ctx context.Context, d ws.Dialer, url string) (*Client, error) {
	conn, br, hs, err := d.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	c := &Client{Conn: conn, Handshake: hs, frames: make(chan Frame, 4096), done: make(chan struct{})}
	var r io.Reader = conn
	if br != nil {
		// The server's first frames arrived with the handshake response.
		r = io.MultiReader(br, conn)
	}
	go c.read(r)
	return c, nil
}

func (c *Client) read(r io.Reader) {
	defer close(c.done)
	for {
		hdr, err := ws.ReadHeader(r)
		if err != nil {
			c.stop(0, err)
			return
		}
		payload := make([]byte, hdr.Length)
		if _, err := io.ReadFull(r, payload); err != nil {
			c.stop(0, err)
			return
		}
		switch hdr.OpCode {
		case ws.OpClose:
			code, _ := ws.ParseCloseFrameData(payload)
			c.stop(code, nil)
			return
		case ws.OpPing:
			_ = c.WriteFrame(ws.MaskFrame(ws.NewPongFrame(payload)))
		case ws.OpText:
			f := Frame{Raw: payload}
			if err := json.Unmarshal(payload, &f); err != nil {
				c.stop(0, fmt.Errorf("server sent invalid JSON %q: %w", payload, err))
				return
			}
			c.frames <- f
		}
	}
}

func (c *Client) stop(code ws.StatusCode, err error) {
	c.mu.Lock()
	c.code, c.err = code, err
	c.mu.Unlock()
}

// Write sends a masked text frame. It is safe from any goroutine.
func (c *Client) Write(text []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return wsutil.WriteClientText(c.Conn, text)
}

// WriteFrame sends f as it is (no masking added): what a well-behaved
// client never would, too.
func (c *Client) WriteFrame(f ws.Frame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return ws.WriteFrame(c.Conn, f)
}

// Unexpected returns the first frame other than presence that comes
// within d, if any: tests that want silence fail on it.
func (c *Client) Unexpected(d time.Duration) (Frame, bool) {
	deadline := time.Now().Add(d)
	for {
		f, ok := c.Next(time.Until(deadline))
		if !ok || f.Channel != wire.ChannelPresence {
			return f, ok
		}
	}
}

// Next returns the next frame, or false when none came within timeout or
// the connection has ended and every frame was handed out.
func (c *Client) Next(timeout time.Duration) (Frame, bool) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case f := <-c.frames:
		return f, true
	case <-t.C:
		return Frame{}, false
	case <-c.done:
		select {
		case f := <-c.frames:
			return f, true
		default:
			return Frame{}, false
		}
	}
}

// Find reads frames until one of type typ. With strict, any other frame
// but presence on the way is an error. It returns errors rather than
// failing a test, so any goroutine may use it.
func (c *Client) Find(typ string, strict bool, timeout time.Duration) (Frame, error) {
	deadline := time.Now().Add(timeout)
	for {
		f, ok := c.Next(time.Until(deadline))
		if !ok {
			if err := c.Err(); err != nil {
				return Frame{}, fmt.Errorf("waiting for %s: %w", typ, err)
			}
			return Frame{}, fmt.Errorf("timed out waiting for %s", typ)
		}
		if f.Message.Type == typ {
			return f, nil
		}
		if strict && f.Channel != wire.ChannelPresence {
			return Frame{}, fmt.Errorf("got %s, want %s", f.Raw, typ)
		}
	}
}

// Done is closed when the connection has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// CloseCode is the close code the server sent, 0 if it sent none; valid
// once Done is closed.
func (c *Client) CloseCode() ws.StatusCode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.code
}

// Err is why reading stopped other than a close frame (nil while reading,
// and after a close frame). A connection the server closed without a
// close frame reads io.EOF.
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if errors.Is(c.err, io.EOF) || errors.Is(c.err, net.ErrClosed) {
		return nil
	}
	return c.err
}
