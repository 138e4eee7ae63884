// Package natsstart waits for an embedded NATS server to accept
// connections, and says why when it never will.
//
// A nats-server that hits a fatal error while starting (a client or
// route port already taken, JetStream refused) logs it and stops
// starting; ReadyForConnections then only times out, without the reason.
// The node and the test clusters both hand the server a Logger, which
// keeps the first fatal message, and Wait returns that message at once.
package natsstart

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Logger is a server.Logger that sends the server's lines to slog (its
// notices and debug lines at debug level) and keeps its first fatal
// message for Wait.
type Logger struct {
	log   *slog.Logger
	fatal chan string
}

// NewLogger returns a Logger writing to log with component=nats.
func NewLogger(log *slog.Logger) *Logger {
	return &Logger{log: log.With(slog.String("component", "nats")), fatal: make(chan string, 1)}
}

// Noticef logs at debug level: the server's notices are its start-up
// banner and routine events, too many for a node's info log.
func (l *Logger) Noticef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }

// Warnf logs at warn level.
func (l *Logger) Warnf(format string, v ...any) { l.log.Warn(fmt.Sprintf(format, v...)) }

// Errorf logs at error level.
func (l *Logger) Errorf(format string, v ...any) { l.log.Error(fmt.Sprintf(format, v...)) }

// Debugf logs at debug level.
func (l *Logger) Debugf(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }

// Tracef logs at debug level.
func (l *Logger) Tracef(format string, v ...any) { l.log.Debug(fmt.Sprintf(format, v...)) }

// Fatalf logs at error level and keeps the first fatal message for Wait.
// Unlike the server's own logger it does not exit the process.
func (l *Logger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.log.Error(msg)
	select {
	case l.fatal <- msg:
	default:
	}
}

// Wait waits up to d for ns, started with l as its logger, to accept
// connections. It returns the server's fatal message as soon as there is
// one, or an error saying it was not ready within d.
func Wait(ns *server.Server, l *Logger, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		select {
		case msg := <-l.fatal:
			return errors.New(msg)
		default:
		}
		if ns.ReadyForConnections(50 * time.Millisecond) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready within %s", d)
		}
	}
}
