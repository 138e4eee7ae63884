//go:build !linux

package wsconn

import (
	"errors"
	"net"
	"time"
)

// poller is absent off Linux: every connection uses the goroutine transport.
type poller struct{}

type workerSys struct{}

// connSys is empty where there is no epoll transport.
type connSys struct{}

func (w *workerSys) init() {}

func newPoller(*Server) (*poller, error) { return nil, nil }

func (p *poller) loop()                          {}
func (p *poller) harvest(*worker, time.Duration) {}
func (p *poller) stop()                          {}
func (p *poller) closeFds()                      {}

func (s *Server) newTransport(c *Conn, nc net.Conn) (transport, error) {
	return goTransportOf(c, nc)
}

// FDListener is Linux's: NewFDListener reports false elsewhere.
type FDListener struct{}

// NewFDListener reports false off Linux: use the listener as it is.
func NewFDListener(net.Listener) (*FDListener, bool) { return nil, false }

// Accept, AcceptFD, Addr and Close are never called off Linux
// (NewFDListener returns no listener).
func (*FDListener) Accept() (net.Conn, error)  { return nil, errNoPoller }
func (*FDListener) AcceptFD() (*FDConn, error) { return nil, errNoPoller }
func (*FDListener) Addr() net.Addr             { return nil }
func (*FDListener) Close() error               { return errNoPoller }

func sysClose(int) error { return errNoPoller }

// errNoPoller: a PollConn is never detached where there is no epoll.
var errNoPoller = errors.New("wsconn: no poller on this system")

func sysRead(int, []byte) (int, error)  { return 0, errNoPoller }
func sysWrite(int, []byte) (int, error) { return 0, errNoPoller }
