package wsconn

import "errors"

// Errors returned by Server and Conn.
var (
	// ErrClosed is returned by Send on a connection that is closing or closed.
	ErrClosed = errors.New("wsconn: connection closed")
	// ErrSlowConsumer is returned by Send when the frame would take the
	// outbound queue over Config.MaxOutboundBytes; the connection is then
	// closed with ReasonSlowConsumer.
	ErrSlowConsumer = errors.New("wsconn: slow consumer")
	// ErrServerClosed is returned by Attach after Server.Close.
	ErrServerClosed = errors.New("wsconn: server closed")
	// ErrNotSupported is returned by Attach for a net.Conn the server cannot drive.
	ErrNotSupported = errors.New("wsconn: connection type not supported")

	// errWouldBlock is a transport's EAGAIN: nothing to read, or the socket
	// send buffer is full.
	errWouldBlock = errors.New("wsconn: would block")
)
