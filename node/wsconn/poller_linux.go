//go:build linux

package wsconn

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/natterchat/natter/internal/epoll"
	"github.com/natterchat/natter/internal/mono"
)

// poller waits on one epoll instance and schedules ready connections on the
// worker pool. Connections are registered EPOLLONESHOT and level-triggered:
// an event disarms the fd until the connection's run re-arms it with
// EPOLL_CTL_MOD, so two workers never see the same connection, and data left
// unread when a run yields is reported again on re-arm. The event data is
// the connection id (never the fd, whose number the kernel reuses).
//
// The poller does not block in epoll_wait: it waits on the epoll
// descriptor in the Go runtime's own netpoller, like any socket, and
// harvests with a zero timeout (internal/epoll says why).
type poller struct {
	srv      *Server
	epfd     int
	epf      *os.File // epfd, registered with the runtime's netpoller
	wakefd   int      // eventfd registered with id 0; written by stop
	stopping atomic.Bool
	// harvested is when ready events were last read (mono.Now), by the
	// loop or by a busy worker (harvest).
	harvested atomic.Int64
}

// harvestEvery is how long a busy worker lets pass without the ready
// events being read before it reads them itself (harvest).
const harvestEvery = 200 * time.Microsecond

// workerSys is the Linux part of a worker's scratch space.
type workerSys struct {
	iov      []unix.Iovec
	events   []unix.EpollEvent // ready events the worker reads (harvest)
	tlsBatch []byte            // frames copied into one TLS record (tlsTransport), grown on first use
}

func (w *workerSys) init() {
	w.iov = make([]unix.Iovec, maxIov)
	w.events = make([]unix.EpollEvent, harvestBatch)
}

// harvestBatch is how many ready events a worker reads at a time.
const harvestBatch = 64

func newPoller(s *Server) (*poller, error) {
	ep, err := epoll.New()
	if err != nil {
		return nil, fmt.Errorf("wsconn: %w", err)
	}
	return &poller{srv: s, epfd: ep.Fd, epf: ep.File, wakefd: ep.WakeFd}, nil
}

func (p *poller) loop() {
	defer p.srv.wg.Done()
	rc, err := p.epf.SyscallConn()
	if err != nil {
		p.srv.log.Error("wsconn: epoll fd: poller stopped", "err", err)
		return
	}
	events := make([]unix.EpollEvent, 256)
	for {
		stop := false
		var werr error
		err := rc.Read(func(uintptr) bool {
			n, err := unix.EpollWait(p.epfd, events, 0)
			switch {
			case err == unix.EINTR || (err == nil && n == 0):
				return false // nothing yet: wait in the netpoller
			case err != nil:
				werr = err
				return true
			}
			stop = p.dispatch(events[:n], true)
			return true
		})
		if err == nil {
			err = werr
		}
		if err != nil {
			p.srv.log.Error("wsconn: epoll_wait failed; poller stopped", "err", err)
			return
		}
		if stop {
			return
		}
	}
}

// harvest reads the ready events without waiting and schedules their
// connections, if nobody did for harvestEvery; a worker calls it between
// runs, at now (mono.Now). The loop waits in the runtime's netpoller,
// which the runtime polls only when it runs out of work (or every 10
// ms): on one processor busy with fan-out, a client's request used to
// wait there for milliseconds before anything read it
// (docs/benchmarks.md). A worker never stops the poller: the wake fd's
// event is left for the loop (it stays ready, being level-triggered).
func (p *poller) harvest(w *worker, now time.Duration) {
	last := p.harvested.Load()
	if now-time.Duration(last) < harvestEvery || !p.harvested.CompareAndSwap(last, int64(now)) {
		return
	}
	n, err := unix.EpollWait(p.epfd, w.sys.events, 0)
	if err != nil || n <= 0 {
		return // EINTR, or nothing ready: the loop reports other errors
	}
	p.dispatch(w.sys.events[:n], false)
}

// dispatch schedules the connections of a batch of events; it reports
// whether the poller was told to stop (only to the loop: fromLoop).
func (p *poller) dispatch(events []unix.EpollEvent, fromLoop bool) (stop bool) {
	if fromLoop {
		p.harvested.Store(int64(mono.Now()))
	}
	for i := range events {
		e := &events[i]
		id := epoll.ID(e)
		if id == 0 {
			if fromLoop && p.stopping.Load() {
				return true
			}
			continue
		}
		c := p.srv.lookup(id)
		if c == nil {
			continue // closed meanwhile
		}
		var ev uint8
		if e.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			ev |= evRead
		}
		if e.Events&unix.EPOLLOUT != 0 {
			ev |= evWrite
		}
		c.schedule(ev)
	}
	return false
}

// stop wakes the poller loop and makes it return.
func (p *poller) stop() {
	p.stopping.Store(true)
	one := [8]byte{1}
	_, _ = unix.Write(p.wakefd, one[:])
}

// closeFds releases the epoll and wake fds after the loop returned.
func (p *poller) closeFds() {
	unix.Close(p.wakefd)
	p.epf.Close() // closes epfd
}

// newTransport uses epoll for a connection with an fd, and for a TLS
// connection over a PollConn (tlsTransport), and the goroutine transport
// otherwise.
//
// The epoll transport keeps a duplicate of the socket's fd and closes nc at
// once: the net.TCPConn, its netFD, its two cached addresses and the
// runtime poller's descriptor are then garbage, which is about half a
// kilobyte per idle connection that nothing here would ever use again.
func (s *Server) newTransport(c *Conn, nc net.Conn) (transport, error) {
	if s.poll == nil || s.cfg.forceGoroutine {
		return goTransportOf(c, nc)
	}
	if fc, ok := nc.(*FDConn); ok {
		fd := fc.take()
		if fd < 0 {
			return nil, fmt.Errorf("wsconn: attach: %w", net.ErrClosed)
		}
		c.sys.fd = fdTransport{c: c, fd: fd}
		return &c.sys.fd, nil
	}
	if tc, ok := nc.(*tls.Conn); ok {
		if pc, ok := tc.NetConn().(*PollConn); ok {
			return s.newTLSTransport(c, tc, pc)
		}
	}
	fd, ok, err := dupFD(nc)
	if err != nil {
		return nil, err
	}
	if !ok {
		return newGoTransport(c, nc), nil
	}
	_ = nc.Close()
	c.sys.fd = fdTransport{c: c, fd: fd}
	return &c.sys.fd, nil
}

// dupFD duplicates nc's socket descriptor; ok is false for a connection
// without one. The duplicate shares the open file description, so it is
// already non-blocking (the runtime made it so) and closing nc leaves
// the socket open.
func dupFD(nc net.Conn) (fd int, ok bool, err error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return -1, false, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, false, fmt.Errorf("wsconn: attach: %w", err)
	}
	fd, dupErr := -1, error(nil)
	if err := rc.Control(func(f uintptr) {
		fd, dupErr = unix.FcntlInt(f, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, false, fmt.Errorf("wsconn: attach: %w", err)
	}
	if dupErr != nil {
		return -1, false, fmt.Errorf("wsconn: attach: dup fd: %w", dupErr)
	}
	return fd, true, nil
}

// connSys is the Linux transport state kept inside each Conn, so that an
// epoll connection costs no allocation of its own for it.
type connSys struct {
	fd fdTransport
}

// fdTransport reads and writes its own fd with non-blocking syscalls.
type fdTransport struct {
	c  *Conn // the Conn it is part of: its id and its server's poller
	fd int
}

func (t *fdTransport) event(out bool) unix.EpollEvent {
	ev := epoll.Event(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLONESHOT, t.c.id)
	if out {
		ev.Events |= unix.EPOLLOUT
	}
	return ev
}

func (t *fdTransport) start() error {
	ev := t.event(false)
	if err := unix.EpollCtl(t.c.srv.poll.epfd, unix.EPOLL_CTL_ADD, t.fd, &ev); err != nil {
		return fmt.Errorf("wsconn: epoll_ctl add: %w", err)
	}
	return nil
}

func (t *fdTransport) arm(out bool) error {
	ev := t.event(out)
	return unix.EpollCtl(t.c.srv.poll.epfd, unix.EPOLL_CTL_MOD, t.fd, &ev)
}

func (t *fdTransport) read(p []byte) (int, error) {
	for {
		n, err := unix.Read(t.fd, p)
		switch err {
		case nil:
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, errWouldBlock
		default:
			return 0, err
		}
	}
}

// writev calls writev(2) directly with the worker's iovec array: unix.Writev
// would heap-allocate its iovecs for more than 8 buffers on every flush.
func (t *fdTransport) writev(w *worker, bufs [][]byte) (int, error) {
	iov := w.sys.iov[:len(bufs)]
	for i, b := range bufs {
		iov[i].Base = &b[0] // frames are never empty
		iov[i].SetLen(len(b))
	}
	defer clear(iov)
	for {
		n, _, e := unix.Syscall(unix.SYS_WRITEV, uintptr(t.fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
		switch e {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, errWouldBlock
		default:
			return 0, e
		}
	}
}

func (t *fdTransport) shutdownWrite() { _ = unix.Shutdown(t.fd, unix.SHUT_WR) }

func (t *fdTransport) close() {
	// Deregister before the fd number can be reused.
	_ = unix.EpollCtl(t.c.srv.poll.epfd, unix.EPOLL_CTL_DEL, t.fd, nil)
	_ = unix.Close(t.fd)
}

func (t *fdTransport) remoteAddr() net.Addr {
	sa, err := unix.Getpeername(t.fd)
	if err != nil {
		return nil
	}
	return sockaddrAddr(sa)
}

// sockaddrAddr is sa as a net.Addr; nil for a kind a socket of the
// server cannot have.
func sockaddrAddr(sa unix.Sockaddr) net.Addr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return tcpAddr(sa.Addr[:], sa.Port)
	case *unix.SockaddrInet6:
		return tcpAddr(sa.Addr[:], sa.Port)
	case *unix.SockaddrUnix:
		return &net.UnixAddr{Name: sa.Name, Net: "unix"}
	}
	return nil
}

// tcpAddr is an IP of 4 or 16 bytes and a port as a net.Addr; the IP is
// kept, not copied, when it has 16 bytes.
func tcpAddr(ip []byte, port int) net.Addr {
	return &net.TCPAddr{IP: net.IP(ip).To16(), Port: port}
}

// lookup finds a live connection by the id carried in its epoll data.
func (s *Server) lookup(id uint64) *Conn {
	sh := s.shard(id)
	sh.mu.RLock()
	c := sh.m[id]
	sh.mu.RUnlock()
	return c
}

// sysRead reads fd without blocking: errWouldBlock for EAGAIN, (0, nil)
// for EOF.
func sysRead(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Read(fd, p)
		switch err {
		case nil:
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, errWouldBlock
		default:
			return 0, err
		}
	}
}

func sysClose(fd int) error { return unix.Close(fd) }

// sysWrite writes fd without blocking: errWouldBlock when it takes
// nothing now.
func sysWrite(fd int, p []byte) (int, error) {
	for {
		n, err := unix.Write(fd, p)
		switch err {
		case nil:
			return n, nil
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return 0, errWouldBlock
		default:
			return 0, err
		}
	}
}
