package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gobwas/ws"

	"github.com/natterchat/natter/node/wire"
)

// readBufferSize is each connection's read buffer: a NewMessage frame
// fits many times; larger frames (history pages) borrow from bigPayloads.
const readBufferSize = 2048

var bigPayloads = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// conn is one bench connection: a socket read by its worker's reader
// (reader_linux.go), or elsewhere by a goroutine of its own (run) through
// a small buffer.
type conn struct {
	// Static after dial.
	plan *ConnPlan
	nc   net.Conn
	br   *bufio.Reader // the dial's; nil once the worker's reader has c
	w    *worker

	// The worker's reader's, set before c is registered with it: the
	// socket, the reader, c's id there and the start of a frame not
	// read whole yet (touched only by the reader's goroutine).
	raw  syscall.RawConn
	rd   *reader
	rid  uint64
	pend []byte

	wmu  sync.Mutex // serializes writes (sends, pongs, close)
	wbuf []byte     // guarded by wmu

	chatID   string        // set once before joined is closed
	joined   chan struct{} // closed when the chat is joined (MemberList)
	joinOnce sync.Once

	recv   *receiver // kept across a reconnect (reconnect scenario)
	send   *sender   // nil unless a sender
	hist   historyState
	closed chan struct{} // closed when the reader ends
	// dropped: the bench closed the connection to reconnect it, so its
	// reader's end is no error.
	dropped atomic.Bool
}

// dial opens cp's connection and reads its Welcome, recording its
// deliveries in recv (nil: a fresh receiver). It returns the handshake
// latency (dial to Welcome).
func dial(ctx context.Context, w *worker, cp *ConnPlan, rawURL string, recv *receiver) (*conn, time.Duration, error) {
	start := time.Now()
	// No TCP keepalive probes: a run is minutes long, and turning them on
	// cost four setsockopt calls per dial, on the generator's one core in
	// a connection storm.
	nd := net.Dialer{Timeout: 10 * time.Second, KeepAlive: -1}
	if cp.Source != "" {
		nd.LocalAddr = &net.TCPAddr{IP: net.ParseIP(cp.Source)}
	}
	d := ws.Dialer{NetDial: nd.DialContext, Timeout: 10 * time.Second, ReadBufferSize: readBufferSize}
	nc, br, _, err := d.Dial(ctx, rawURL)
	if err != nil {
		return nil, 0, fmt.Errorf("dial: %w", err)
	}
	if br == nil {
		br = bufio.NewReaderSize(nc, readBufferSize)
	}
	if recv == nil {
		recv = &receiver{}
	}
	c := &conn{plan: cp, nc: nc, br: br, w: w, recv: recv, joined: make(chan struct{}), closed: make(chan struct{})}
	if cp.Sender {
		c.send = &sender{}
	}
	_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var welcome bool
	for !welcome {
		p, op, err := c.readFrame()
		if err != nil {
			nc.Close()
			return nil, 0, fmt.Errorf("read welcome: %w", err)
		}
		if op == ws.OpText {
			welcome = string(frameType(p)) == wire.TypeWelcome
			if !welcome {
				c.handle(p, time.Now())
			}
		}
		c.release(p)
	}
	_ = nc.SetReadDeadline(time.Time{})
	if cp.Chat >= 0 && w.plan.Chats[cp.Chat].ID != "" {
		c.setJoined(w.plan.Chats[cp.Chat].ID)
	}
	return c, time.Since(start), nil
}

// readFrame reads one frame; control frames are answered here. The
// payload is valid until release.
func (c *conn) readFrame() ([]byte, ws.OpCode, error) {
	h, err := ws.ReadHeader(c.br)
	if err != nil {
		return nil, 0, err
	}
	if h.Length > 1<<24 {
		return nil, 0, fmt.Errorf("frame of %d bytes", h.Length)
	}
	n := int(h.Length)
	var p []byte
	if n <= c.br.Size() {
		if p, err = c.br.Peek(n); err != nil {
			return nil, 0, err
		}
		// Discard keeps the bytes in the buffer until the next read,
		// so p stays valid until the next readFrame: no copy.
		p = p[:n:n]
		_, _ = c.br.Discard(n)
	} else {
		bp := bigPayloads.Get().(*[]byte)
		if cap(*bp) < n {
			*bp = make([]byte, 0, n)
		}
		p = (*bp)[:n]
		if _, err := io.ReadFull(c.br, p); err != nil {
			return nil, 0, err
		}
	}
	if h.Masked {
		ws.Cipher(p, h.Mask, 0)
	}
	if err := c.control(h.OpCode, p); err != nil {
		return nil, ws.OpClose, err
	}
	return p, h.OpCode, nil
}

// control answers a ping and reports a close frame as io.EOF, counting
// its code.
func (c *conn) control(op ws.OpCode, p []byte) error {
	switch op {
	case ws.OpPing:
		c.write(ws.OpPong, p)
	case ws.OpClose:
		code, _ := ws.ParseCloseFrameData(p)
		c.w.countError("close_" + strconv.Itoa(int(code)))
		return io.EOF
	}
	return nil
}

// consume handles the whole frames at the start of data as readFrame and
// run do, and returns the rest: the start of a frame still coming.
func (c *conn) consume(data []byte) ([]byte, error) {
	for {
		h, n, ok := parseHeader(data)
		if !ok {
			return data, nil
		}
		if h.Length < 0 || h.Length > 1<<24 {
			return nil, fmt.Errorf("frame of %d bytes", h.Length)
		}
		end := n + int(h.Length)
		if len(data) < end {
			return data, nil
		}
		p := data[n:end]
		data = data[end:]
		if h.Masked {
			ws.Cipher(p, h.Mask, 0)
		}
		if err := c.control(h.OpCode, p); err != nil {
			return nil, err
		}
		if h.OpCode == ws.OpText {
			c.handle(p, time.Now())
		}
	}
}

func (c *conn) release(p []byte) {
	if cap(p) > readBufferSize {
		p = p[:0]
		bigPayloads.Put(&p)
	}
}

// run reads frames until the connection ends.
func (c *conn) run() {
	for {
		p, op, err := c.readFrame()
		if err != nil {
			c.ended(err)
			return
		}
		if op == ws.OpText {
			c.handle(p, time.Now())
		}
		c.release(p)
	}
}

// ended closes c.closed once c's reading ended with err, counted as a
// read error unless the bench closed c.
func (c *conn) ended(err error) {
	if !c.w.closing.Load() && !c.dropped.Load() && !errors.Is(err, net.ErrClosed) {
		c.w.countError("read_error")
	}
	close(c.closed)
}

// handle processes one text frame from the server.
func (c *conn) handle(p []byte, now time.Time) {
	switch string(frameType(p)) {
	case wire.TypeNewMessage:
		f, ok := parseNewMessage(p)
		if !ok {
			c.w.countError("bad_frame")
			return
		}
		if c.recv.deliver(c.plan.ID, &f) && f.ok {
			lat := now.Sub(time.Unix(0, f.st.sentNs))
			c.w.deliveries.record(c.plan.ID, now, lat)
			if c.send != nil && c.w.storming.Load() {
				// A sender stays connected through a reconnect storm:
				// its deliveries are the live traffic meanwhile.
				c.w.duringStorm.record(c.plan.ID, now, lat)
			}
			if n := len(c.w.cfg.URLs); n > 1 {
				if c.w.cfg.RoomAffinity == AffinityNode || nodeOf(f.st.sender, n) == nodeOf(c.plan.ID, n) {
					c.w.sameNode.record(c.plan.ID, now, lat)
				} else {
					c.w.crossNode.record(c.plan.ID, now, lat)
				}
			}
		}
	case wire.TypeMessageAccepted:
		st, ok := parseStamp(stringField(p, keyClientMsgID), '-')
		if !ok || c.send == nil {
			c.w.countError("bad_ack")
			return
		}
		if c.send.ack(st.counter) {
			c.w.acks.record(c.plan.ID, now, now.Sub(time.Unix(0, st.sentNs)))
		}
	case wire.TypeMemberList:
		if id := stringField(p, keyChat); id != nil {
			c.setJoined(string(id))
		}
	case wire.TypeHistoryPage:
		c.historyPage(p, now)
	case wire.TypeError:
		code := stringField(p, keyCode)
		c.w.countError(string(code))
		if st, ok := parseStamp(stringField(p, keyRef), '-'); ok && c.send != nil {
			c.send.fail(st.counter)
		}
		if bytes.Contains(p, historyErrorType) {
			c.hist.pending.Store(0)
		}
	}
}

var historyErrorType = []byte(`"type":"History"`)

func (c *conn) setJoined(chatID string) {
	c.joinOnce.Do(func() {
		c.chatID = chatID
		close(c.joined)
	})
}

// write sends one frame of op with payload, masked.
func (c *conn) write(op ws.OpCode, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if op == ws.OpText {
		c.wbuf = appendClientFrame(c.wbuf[:0], payload)
	} else {
		f := ws.MaskFrame(ws.NewFrame(op, true, payload))
		c.wbuf = c.wbuf[:0]
		c.wbuf = appendFrame(c.wbuf, f)
	}
	_ = c.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	_, err := c.nc.Write(c.wbuf)
	if cap(c.wbuf) > 4096 {
		c.wbuf = nil
	}
	return err
}

func appendFrame(dst []byte, f ws.Frame) []byte {
	var hb [ws.MaxHeaderSize]byte
	n := headerInto(hb[:], f.Header)
	dst = append(dst, hb[:n]...)
	return append(dst, f.Payload...)
}

// close sends a normal close frame and closes the socket; the worker's
// reader then ends c (a closed socket reports nothing to it).
func (c *conn) close() {
	_ = c.write(ws.OpClose, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
	_ = c.nc.Close()
	if c.rd != nil {
		c.rd.detach(c)
	}
}
