// Package client is natter's Go client of the WebSocket protocol.
//
// Session is what applications use: a presence on the cluster that
// outlives its connections. It reconnects with backoff and jitter,
// resumes every chat from the last seq it delivered, sends every message
// with a clientMsgId and sends again what was not acknowledged, and drops
// messages it already delivered, so that a node restart or a network
// change loses and doubles nothing. `natter chat` is built on it.
//
// Client is one connection and nothing more: it dials, reads frames on
// one goroutine and hands them out decoded, and writes protocol frames.
// Tests and the cluster tooling use it to see exactly what a node sends.
// Neither is tuned for load generation (natter-bench has its own).
package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/natterchat/natter/node/wire"
)

// ErrClosed is returned by Next after the connection ended.
var ErrClosed = errors.New("client: connection closed")

// Frame is one server frame.
type Frame struct {
	Channel string `json:"channel"`
	Message struct {
		Type     string          `json:"type"`
		Contents json.RawMessage `json:"contents"`
	} `json:"message"`
	// Raw is the frame as received.
	Raw []byte `json:"-"`
}

// Type is the frame's message type.
func (f Frame) Type() string { return f.Message.Type }

// Decode unmarshals the frame's contents into v.
func (f Frame) Decode(v any) error {
	if err := json.Unmarshal(f.Message.Contents, v); err != nil {
		return fmt.Errorf("client: decode %s contents: %w", f.Message.Type, err)
	}
	return nil
}

// Client is one WebSocket connection to a node.
type Client struct {
	conn   net.Conn
	r      io.Reader
	frames chan Frame
	done   chan struct{}

	wmu sync.Mutex // serializes writes (frames and pongs)

	mu        sync.Mutex
	closeCode ws.StatusCode // guarded by mu
	err       error         // guarded by mu
	// Welcome is the session's first frame.
	Welcome wire.Welcome
}

// Options adjust Dial.
type Options struct {
	// Header is sent with the handshake (e.g. Authorization).
	Header http.Header
	// Buffer is how many frames may wait unread; the reader blocks past
	// it. Default 4096.
	Buffer int
	// LocalAddr binds the client socket (for load tests from several
	// loopback addresses).
	LocalAddr net.Addr
}

// Dial connects to url (ws://host:port/ws?token=...) and reads the
// Welcome frame.
func Dial(ctx context.Context, url string, o Options) (*Client, error) {
	d := ws.Dialer{Timeout: 10 * time.Second}
	if o.Header != nil {
		d.Header = ws.HandshakeHeaderHTTP(o.Header)
	}
	if o.LocalAddr != nil {
		nd := net.Dialer{LocalAddr: o.LocalAddr, Timeout: 10 * time.Second}
		d.NetDial = nd.DialContext
	}
	conn, br, _, err := d.Dial(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("client: dial %s: %w", url, err)
	}
	if o.Buffer <= 0 {
		o.Buffer = 4096
	}
	c := &Client{conn: conn, r: conn, frames: make(chan Frame, o.Buffer), done: make(chan struct{})}
	if br != nil {
		c.r = io.MultiReader(br, conn)
	}
	go c.read(br)
	f, err := c.Next(ctx)
	if err != nil {
		conn.Close()
		return nil, err
	}
	if f.Type() != wire.TypeWelcome {
		conn.Close()
		return nil, fmt.Errorf("client: first frame is %s, not Welcome", f.Type())
	}
	if err := f.Decode(&c.Welcome); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

func (c *Client) read(br *bufio.Reader) {
	defer close(c.done)
	defer func() {
		if br != nil {
			ws.PutReader(br)
		}
	}()
	for {
		hdr, err := ws.ReadHeader(c.r)
		if err != nil {
			c.setErr(err)
			return
		}
		payload := make([]byte, hdr.Length)
		if _, err := io.ReadFull(c.r, payload); err != nil {
			c.setErr(err)
			return
		}
		switch hdr.OpCode {
		case ws.OpClose:
			code, _ := ws.ParseCloseFrameData(payload)
			c.mu.Lock()
			c.closeCode = code
			c.mu.Unlock()
			c.setErr(ErrClosed)
			c.conn.Close()
			return
		case ws.OpPing:
			c.wmu.Lock()
			_ = ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewPongFrame(payload)))
			c.wmu.Unlock()
		case ws.OpText:
			var f Frame
			if err := json.Unmarshal(payload, &f); err != nil {
				c.setErr(fmt.Errorf("client: server sent invalid JSON: %w", err))
				c.conn.Close()
				return
			}
			f.Raw = payload
			c.frames <- f
		}
	}
}

func (c *Client) setErr(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.mu.Unlock()
}

// Next returns the next frame, waiting until ctx is done. After the
// connection ended and every received frame was read, it returns the
// reason (ErrClosed after a close frame).
func (c *Client) Next(ctx context.Context) (Frame, error) {
	select {
	case f := <-c.frames:
		return f, nil
	default:
	}
	select {
	case f := <-c.frames:
		return f, nil
	case <-c.done:
		select {
		case f := <-c.frames:
			return f, nil
		default:
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return Frame{}, c.err
	case <-ctx.Done():
		return Frame{}, ctx.Err()
	}
}

// Send writes one protocol frame.
func (c *Client) Send(channel, typ string, contents any) error {
	return c.SendRef(channel, typ, contents, "")
}

// SendRef writes one protocol frame with a ref, which an Error about the
// frame echoes.
func (c *Client) SendRef(channel, typ string, contents any, ref string) error {
	b, err := json.Marshal(struct {
		Channel string `json:"channel"`
		Message struct {
			Type     string `json:"type"`
			Contents any    `json:"contents"`
		} `json:"message"`
		Ref string `json:"ref,omitempty"`
	}{Channel: channel, Message: struct {
		Type     string `json:"type"`
		Contents any    `json:"contents"`
	}{typ, contents}, Ref: ref})
	if err != nil {
		return fmt.Errorf("client: encode %s: %w", typ, err)
	}
	return c.SendRaw(b)
}

// SendRaw writes a text frame as is.
func (c *Client) SendRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return wsutil.WriteClientText(c.conn, b)
}

// CloseCode is the close code the server sent, 0 if none (yet).
func (c *Client) CloseCode() ws.StatusCode {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCode
}

// Done is closed when the connection has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Close closes the connection with a normal close frame.
func (c *Client) Close() error {
	c.wmu.Lock()
	_ = ws.WriteFrame(c.conn, ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))))
	c.wmu.Unlock()
	return c.conn.Close()
}

// Abort drops the connection without a close frame (a lost network).
func (c *Client) Abort() error { return c.conn.Close() }
