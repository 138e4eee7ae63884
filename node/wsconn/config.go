package wsconn

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"runtime"
	"time"
)

// Config configures a Server. Every zero value means its documented default,
// applied in New.
type Config struct {
	// Workers is the number of worker goroutines that read, parse and write
	// connections. Default 2*GOMAXPROCS, at least 4.
	Workers int
	// MaxMessageSize is the largest payload of one inbound message, its
	// fragments summed. Larger messages close the connection with 1009
	// (ReasonTooBig), judged from frame headers before any payload is
	// buffered. Default 64 KiB.
	MaxMessageSize int
	// MaxOutboundBytes bounds the bytes queued for one connection and not yet
	// written to its socket. A Send past it closes the connection with 4001
	// (ReasonSlowConsumer). Default 1 MiB.
	MaxOutboundBytes int
	// PingInterval is how long a connection may be silent before the server
	// pings it. Default 30s.
	PingInterval time.Duration
	// IdleTimeout is how long a connection may be silent (no complete inbound
	// frame of any kind, pongs included) before it is closed with 4000
	// (ReasonIdleTimeout). A partial frame does not count as activity, so a
	// stalled half frame is closed after IdleTimeout too. Default 75s.
	IdleTimeout time.Duration
	// ReadBufferSize is the size of each worker's read buffer (not per
	// connection). Default 32 KiB.
	ReadBufferSize int
	// DeferDelay is how long a frame sent with Conn.SendDeferred, or a
	// handshake response given to AttachConnBuffered, may wait for
	// company before it is written. Default 250ms.
	DeferDelay time.Duration
	// CloseTimeout bounds how long a closing connection may take to flush
	// its queue and close frame, and to wait for the client's EOF, before
	// its socket is closed regardless: a client that does not read gets
	// this long to take its close frame. Default 1s.
	CloseTimeout time.Duration
	// Logger receives server-level errors and, at debug level, connection
	// closes. Default slog.Default().
	Logger *slog.Logger

	// tick is the timer wheel's granularity. Default
	// min(PingInterval, IdleTimeout)/8, clamped to [5ms, 1s]. Tests set it.
	tick time.Duration
	// forceGoroutine makes Attach use the goroutine-per-connection transport
	// even when an fd is available, so tests exercise it on Linux.
	forceGoroutine bool
	// testTLS makes the tests' server and clients speak TLS, with this
	// server configuration, so that the suite runs over both TLS
	// transports too. Only tests read it.
	testTLS *tls.Config
}

func (c Config) withDefaults() (Config, error) {
	if c.Workers < 0 || c.MaxMessageSize < 0 || c.MaxOutboundBytes < 0 ||
		c.PingInterval < 0 || c.IdleTimeout < 0 || c.ReadBufferSize < 0 || c.CloseTimeout < 0 || c.DeferDelay < 0 {
		return c, errors.New("wsconn: negative config value")
	}
	if c.Workers == 0 {
		c.Workers = max(2*runtime.GOMAXPROCS(0), 4)
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = 64 << 10
	}
	if c.MaxOutboundBytes == 0 {
		c.MaxOutboundBytes = 1 << 20
	}
	if c.PingInterval == 0 {
		c.PingInterval = 30 * time.Second
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 75 * time.Second
	}
	if c.ReadBufferSize == 0 {
		c.ReadBufferSize = 32 << 10
	}
	if c.ReadBufferSize < maxHeaderLen {
		c.ReadBufferSize = maxHeaderLen
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.tick == 0 {
		c.tick = min(c.PingInterval, c.IdleTimeout) / 8
		c.tick = min(max(c.tick, 5*time.Millisecond), time.Second)
	}
	if c.DeferDelay == 0 {
		c.DeferDelay = 250 * time.Millisecond
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = time.Second
	}
	return c, nil
}
