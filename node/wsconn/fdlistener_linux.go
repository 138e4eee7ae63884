//go:build linux

package wsconn

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// FDListener accepts a TCP listener's connections as FDConns. It waits
// on a duplicate of the listener's descriptor in the runtime's poller,
// which wakes it when a connection waits (a TCPListener's own raw
// descriptor cannot be waited on); the accepted socket does not enter
// the poller (see FDConn). It is a net.Listener whose Accept returns
// *FDConn.
type FDListener struct {
	l  *net.TCPListener
	f  *os.File // the duplicate, in the runtime's poller
	rc syscall.RawConn
}

// deferAccept is the listener's TCP_DEFER_ACCEPT, in seconds: the kernel
// completes a connection's accept only once its first bytes have come,
// so that a WebSocket's accept finds its request head in the socket and
// is upgraded straight away rather than handed to the runtime's poller to
// wait for it (half of a storm's connections were, before: the accept
// loop, when it keeps up, takes a connection as soon as its TCP
// handshake is done, before the client has written). A client that sends
// nothing is accepted after about this long anyway (the kernel's next
// SYN-ACK and its answer), and meets the node's header timeout.
const deferAccept = 1

// NewFDListener wraps l, which must be a *net.TCPListener; ok is false
// for any other listener, and off Linux. It sets the socket's
// TCP_DEFER_ACCEPT (deferAccept). Close closes both.
func NewFDListener(l net.Listener) (fl *FDListener, ok bool) {
	tl, ok := l.(*net.TCPListener)
	if !ok {
		return nil, false
	}
	f, err := tl.File()
	if err != nil {
		return nil, false
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, false
	}
	// Best effort: without it every connection still works, some of
	// them through the runtime's poller.
	_ = rc.Control(func(fd uintptr) {
		_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, deferAccept)
	})
	return &FDListener{l: tl, f: f, rc: rc}, true
}

// Accept is AcceptFD as a net.Listener's.
func (fl *FDListener) Accept() (net.Conn, error) {
	c, err := fl.AcceptFD()
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Addr is the listener's address.
func (fl *FDListener) Addr() net.Addr { return fl.l.Addr() }

// Close stops the listening: it closes the duplicate, which ends a
// waiting Accept, and the listener.
func (fl *FDListener) Close() error {
	err := fl.f.Close()
	if lerr := fl.l.Close(); err == nil {
		err = lerr
	}
	return err
}

// AcceptFD waits for a connection and returns it, its socket non-blocking
// and close-on-exec, with TCP_NODELAY set (frames are written whole, and
// a small one must not wait for an ack). It sets no TCP keep-alive: the
// connection layer pings. An accept that failed for want of descriptors
// or memory returns an error that errors.Is EMFILE, ENFILE, ENOBUFS or
// ENOMEM, for the caller to back off.
// After Close it returns the runtime's error for a closed file.
func (fl *FDListener) AcceptFD() (*FDConn, error) {
	var (
		nfd  int
		sa   syscall.Sockaddr
		aerr error
	)
	err := fl.rc.Read(func(fd uintptr) bool {
		for {
			// syscall's, not unix's: unix asks the kernel each socket's
			// protocol (a getsockopt) to make its address.
			nfd, sa, aerr = syscall.Accept4(int(fd), syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC)
			switch aerr {
			case syscall.EINTR, syscall.ECONNABORTED:
				continue // a client that left before its accept: the next one
			case syscall.EAGAIN:
				return false // nothing waits: park in the runtime's poller
			}
			return true
		}
	})
	if err != nil {
		return nil, fmt.Errorf("wsconn: accept: %w", err)
	}
	if aerr != nil {
		return nil, os.NewSyscallError("accept4", aerr)
	}
	if err := unix.SetsockoptInt(nfd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil && !errors.Is(err, unix.EOPNOTSUPP) {
		unix.Close(nfd)
		return nil, os.NewSyscallError("setsockopt TCP_NODELAY", err)
	}
	return &FDConn{fd: nfd, local: fl.l.Addr(), remote: acceptedAddr(sa)}, nil
}

// acceptedAddr is the address accept4 gave, as sockaddrAddr makes the
// poller's; syscall's type, not unix's, so nothing is copied into a
// new sockaddr on the way (an allocation per accept).
func acceptedAddr(sa syscall.Sockaddr) net.Addr {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return tcpAddr(sa.Addr[:], sa.Port)
	case *syscall.SockaddrInet6:
		return tcpAddr(sa.Addr[:], sa.Port)
	}
	return nil
}
