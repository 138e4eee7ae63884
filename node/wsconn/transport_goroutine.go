package wsconn

import (
	"io"
	"net"
	"sync"
	"time"
)

// goTransport drives a connection with two goroutines of its own: a reader
// that blocks in Read and hands each chunk to the connection's run, and a
// writer that performs one (possibly blocking) vectored write at a time. It
// is the fallback where there is no epoll (non-Linux builds) or no fd
// (net.Pipe, TLS not over a PollConn); the worker pool still does all parsing and queueing, so
// behaviour is the same as with epoll, only the cost differs.
type goTransport struct {
	c        *Conn
	nc       net.Conn
	readReq  chan struct{}    // cap 1: the reader may read the next chunk
	writeReq chan net.Buffers // cap 1: at most one write in flight (wbusy)
	done     chan struct{}    // closed by close

	mu sync.Mutex
	// Guarded by mu.
	rdata   []byte // delivered by the reader, not yet consumed
	rerr    error  // the reader's final error (io.EOF for EOF)
	reading bool   // the reader was asked for a chunk and has not delivered it
	wbusy   bool   // the writer is writing wbufs
	wn      int    // bytes the writer wrote that writev has not reported yet
	werr    error
	wbufs   net.Buffers
	closed  bool
}

// goTransportOf is the goroutine transport over nc; an FDConn is handed
// to the runtime's poller first (its reads and writes never wait).
func goTransportOf(c *Conn, nc net.Conn) (transport, error) {
	if fc, ok := nc.(*FDConn); ok {
		var err error
		if nc, err = fc.NetConn(); err != nil {
			return nil, err
		}
	}
	return newGoTransport(c, nc), nil
}

func newGoTransport(c *Conn, nc net.Conn) *goTransport {
	return &goTransport{
		c:        c,
		nc:       nc,
		readReq:  make(chan struct{}, 1),
		writeReq: make(chan net.Buffers, 1),
		done:     make(chan struct{}),
	}
}

func (t *goTransport) start() error {
	_ = t.nc.SetDeadline(time.Time{}) // a handshake deadline must not end the conn
	s := t.c.srv
	s.wg.Add(2)
	go t.reader(&s.wg)
	go t.writer(&s.wg)
	t.mu.Lock()
	t.reading = true
	t.mu.Unlock()
	t.readReq <- struct{}{}
	return nil
}

func (t *goTransport) reader(wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([]byte, 4096)
	for {
		select {
		case <-t.readReq:
		case <-t.done:
			return
		}
		n, err := t.nc.Read(buf)
		t.mu.Lock()
		t.rdata = buf[:n]
		t.rerr = err
		t.reading = false
		t.mu.Unlock()
		t.c.schedule(evRead)
		if err != nil {
			return
		}
	}
}

func (t *goTransport) writer(wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		var bufs net.Buffers
		select {
		case bufs = <-t.writeReq:
		case <-t.done:
			return
		}
		n, err := bufs.WriteTo(t.nc) // writev on a TCP conn
		t.mu.Lock()
		t.wn += int(n)
		t.werr = err
		t.wbusy = false
		t.mu.Unlock()
		t.c.schedule(evWrite)
		if err != nil {
			return
		}
	}
}

func (t *goTransport) read(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.rdata) > 0 {
		n := copy(p, t.rdata)
		t.rdata = t.rdata[n:]
		return n, nil
	}
	switch t.rerr {
	case nil:
		return 0, errWouldBlock
	case io.EOF:
		return 0, nil
	default:
		return 0, t.rerr
	}
}

func (t *goTransport) writev(_ *worker, bufs [][]byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.wn > 0 {
		n := t.wn
		t.wn = 0
		return n, nil
	}
	if t.werr != nil {
		return 0, t.werr
	}
	if t.wbusy {
		return 0, errWouldBlock
	}
	t.wbusy = true
	t.wbufs = append(t.wbufs[:0], bufs...)
	t.writeReq <- t.wbufs // never blocks: nothing else is in flight
	return 0, errWouldBlock
}

func (t *goTransport) arm(out bool) error {
	var ev uint8
	t.mu.Lock()
	switch {
	case t.closed:
	case len(t.rdata) > 0 || t.rerr != nil:
		ev |= evRead // unconsumed input: run again
	case !t.reading:
		t.reading = true
		t.readReq <- struct{}{}
	}
	if out && !t.closed && (!t.wbusy || t.wn > 0 || t.werr != nil) {
		ev |= evWrite
	}
	t.mu.Unlock()
	if ev != 0 {
		t.c.schedule(ev)
	}
	return nil
}

func (t *goTransport) shutdownWrite() {
	if cw, ok := t.nc.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

func (t *goTransport) remoteAddr() net.Addr { return t.nc.RemoteAddr() }

func (t *goTransport) close() {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	close(t.done)
	_ = t.nc.Close()
}
