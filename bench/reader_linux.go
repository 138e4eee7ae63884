//go:build linux

package bench

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/natterchat/natter/internal/epoll"
)

// reader reads every connection of a worker on one goroutine, from one
// epoll instance, instead of a goroutine per connection. On the
// generator's one core a goroutine per connection cost a wake-up, a read
// and a read that found nothing for every frame that arrived, and each
// woken reader queued behind all the others: a join storm's notices and
// a room's 100 deliveries woke them by the thousand, and the dials and
// the senders' acknowledgements waited behind them, timed late by that
// wait.
//
// Like the node's poller (node/wsconn), the reader does not block in
// epoll_wait (internal/epoll): the epoll descriptor waits in the Go
// runtime's netpoller and is harvested with a zero timeout. Connections
// are registered level-triggered and read once per event into one
// shared buffer; a frame split across reads waits in its connection's
// pend.
// Reads go through the socket's syscall.RawConn, which keeps the
// descriptor from being closed and reused during the read.
type reader struct {
	w      *worker
	epfd   int
	epf    *os.File // epfd, registered with the runtime's netpoller
	wakefd int      // eventfd registered with id 0: detach and stop write it
	buf    []byte   // the shared read buffer
	readFn func(fd uintptr) bool

	// The current read's result, set by readFn.
	n   int
	err error

	waits readWaits

	mu       sync.Mutex
	conns    map[uint64]*conn // registered connections by id; guarded by mu
	next     uint64           // guarded by mu
	detached []*conn          // closed by the bench, to end; guarded by mu
	stopping bool             // guarded by mu
	exited   bool             // the loop returned: its fds are closed; guarded by mu
	done     chan struct{}    // closed when the loop has returned
}

// readerBufSize is the shared read buffer: a few history pages, or a
// notice batch of a storm many times.
const readerBufSize = 256 << 10

// newReader starts w's reader.
func newReader(w *worker) (*reader, error) {
	ep, err := epoll.New()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	r := &reader{w: w, epfd: ep.Fd, epf: ep.File, wakefd: ep.WakeFd,
		buf: make([]byte, readerBufSize), conns: make(map[uint64]*conn), done: make(chan struct{})}
	r.readFn = func(fd uintptr) bool {
		r.n, r.err = unix.Read(int(fd), r.buf)
		return true
	}
	go r.loop()
	return r, nil
}

// add hands c, whose Welcome was read, to the reader: the frames already
// buffered behind the Welcome are handled here, on the caller's
// goroutine (nothing else has c yet), then c's socket is registered.
func (r *reader) add(c *conn) error {
	raw, err := c.nc.(syscall.Conn).SyscallConn()
	if err != nil {
		return fmt.Errorf("raw conn: %w", err)
	}
	if n := c.br.Buffered(); n > 0 {
		b, _ := c.br.Peek(n)
		rest, err := c.consume(b)
		if err != nil {
			return err
		}
		c.pend = append([]byte(nil), rest...)
	}
	c.br = nil // the reader's buffer reads from now on
	c.raw, c.rd = raw, r
	r.mu.Lock()
	if r.stopping {
		r.mu.Unlock()
		return net.ErrClosed
	}
	r.next++
	c.rid = r.next
	r.conns[c.rid] = c
	r.mu.Unlock()
	var cerr error
	err = raw.Control(func(fd uintptr) {
		ev := epoll.Event(unix.EPOLLIN|unix.EPOLLRDHUP, c.rid)
		cerr = unix.EpollCtl(r.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		r.mu.Lock()
		delete(r.conns, c.rid)
		r.mu.Unlock()
		return fmt.Errorf("epoll_ctl: %w", err)
	}
	return nil
}

// detach ends c, which the bench closed, on the reader's goroutine: a
// closed socket leaves the epoll set without an event.
func (r *reader) detach(c *conn) {
	r.mu.Lock()
	r.detached = append(r.detached, c)
	r.mu.Unlock()
	r.wake()
}

// waitSnapshot returns the counts of the reader's waits so far, or nil
// for no reader.
func (r *reader) waitSnapshot() []uint64 {
	if r == nil {
		return nil
	}
	return r.waits.snapshot()
}

// stop ends the loop once every connection has ended, and waits for it.
func (r *reader) stop() {
	r.mu.Lock()
	r.stopping = true
	r.mu.Unlock()
	r.wake()
	<-r.done
}

// wake has the loop look at detached and stopping; the lock keeps the
// loop from closing the wake fd, whose number the kernel would reuse,
// during the write.
func (r *reader) wake() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.exited {
		one := [8]byte{1}
		_, _ = unix.Write(r.wakefd, one[:])
	}
}

func (r *reader) loop() {
	defer close(r.done)
	defer func() {
		r.mu.Lock()
		r.exited = true
		r.mu.Unlock()
		unix.Close(r.wakefd)
		r.epf.Close()
	}()
	rc, err := r.epf.SyscallConn()
	if err != nil {
		r.w.countError("reader_failed")
		return
	}
	events := make([]unix.EpollEvent, 256)
	for {
		var n int
		var werr error
		err := rc.Read(func(uintptr) bool {
			n, werr = unix.EpollWait(r.epfd, events, 0)
			return !(werr == unix.EINTR || (werr == nil && n == 0)) // nothing yet: wait in the netpoller
		})
		if err == nil {
			err = werr
		}
		if err != nil {
			r.w.countError("reader_failed")
			r.w.addExample(fmt.Sprintf("reader: epoll_wait: %v", err))
			r.mu.Lock()
			r.stopping = true // no connection is added to a reader that stopped
			r.mu.Unlock()
			r.endAll()
			return
		}
		batchAt := time.Now()
		for i := range events[:n] {
			e := &events[i]
			id := epoll.ID(e)
			if id == 0 {
				if r.woken() {
					return
				}
				continue
			}
			r.mu.Lock()
			c := r.conns[id]
			r.mu.Unlock()
			if c != nil {
				r.waits.add(time.Since(batchAt))
				r.read(c)
			}
		}
	}
}

// woken drains the wake fd, ends the detached connections and reports
// whether the reader is to stop; it then ends any connection left.
func (r *reader) woken() bool {
	var b [8]byte
	_, _ = unix.Read(r.wakefd, b[:])
	r.mu.Lock()
	detached, stopping := r.detached, r.stopping
	r.detached = nil
	r.mu.Unlock()
	for _, c := range detached {
		r.end(c, net.ErrClosed)
	}
	if stopping {
		r.endAll()
	}
	return stopping
}

// read reads what c's socket has and handles its whole frames.
func (r *reader) read(c *conn) {
	if err := c.raw.Read(r.readFn); err != nil {
		r.end(c, err) // closed meanwhile
		return
	}
	switch n, err := r.n, r.err; {
	case n > 0:
		data := r.buf[:n]
		if len(c.pend) > 0 {
			c.pend = append(c.pend, data...)
			data = c.pend
		}
		rest, err := c.consume(data)
		if err != nil {
			r.end(c, err)
			return
		}
		switch {
		case len(rest) == 0 && cap(c.pend) > readBufferSize:
			c.pend = nil // a large frame's room, not kept per connection
		default:
			c.pend = append(c.pend[:0], rest...) // copy handles the overlap
		}
	case err == nil:
		r.end(c, io.EOF)
	case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
		// Level-triggered: reported again if anything is left.
	default:
		r.end(c, err)
	}
}

// end ends c once: its socket leaves the epoll set (if still open) and
// c.closed is closed, with the error counted as a reader's would be.
func (r *reader) end(c *conn, err error) {
	r.mu.Lock()
	_, ok := r.conns[c.rid]
	delete(r.conns, c.rid)
	r.mu.Unlock()
	if !ok {
		return
	}
	_ = c.raw.Control(func(fd uintptr) { _ = unix.EpollCtl(r.epfd, unix.EPOLL_CTL_DEL, int(fd), nil) })
	c.pend = nil
	c.ended(err)
}

// endAll ends every connection left: at stop, or when the reader fails.
func (r *reader) endAll() {
	r.mu.Lock()
	conns := make([]*conn, 0, len(r.conns))
	for _, c := range r.conns {
		conns = append(conns, c)
	}
	r.mu.Unlock()
	for _, c := range conns {
		r.end(c, net.ErrClosed)
	}
}
