// Package loglimit rate-limits log lines that clients or the network can
// trigger, so that a flood of bad input cannot flood the log. It is not a
// general sampler: messages are expected to be constants.
package loglimit

import (
	"log/slog"
	"sync"
	"time"
)

// Limiter logs each message at most once a second, with a count of the
// lines it dropped meanwhile. It is safe for concurrent use.
type Limiter struct {
	log *slog.Logger

	mu   sync.Mutex
	seen map[string]*state // guarded by mu
}

type state struct {
	last    time.Time
	dropped int
}

// New returns a Limiter that writes to log.
func New(log *slog.Logger) *Limiter {
	return &Limiter{log: log, seen: make(map[string]*state)}
}

// Warn logs msg at warn level unless it was logged less than a second ago.
func (l *Limiter) Warn(msg string, attrs ...any) {
	now := time.Now()
	l.mu.Lock()
	st := l.seen[msg]
	if st == nil {
		if len(l.seen) > 1000 {
			clear(l.seen) // messages are constants; this only bounds a bug
		}
		st = &state{}
		l.seen[msg] = st
	}
	if now.Sub(st.last) < time.Second {
		st.dropped++
		l.mu.Unlock()
		return
	}
	dropped := st.dropped
	st.last, st.dropped = now, 0
	l.mu.Unlock()
	if dropped > 0 {
		attrs = append(attrs, slog.Int("suppressed", dropped))
	}
	l.log.Warn(msg, attrs...)
}

// Defaults returns log, or slog.Default() when it is nil, and lim, or a
// Limiter on that logger when it is nil: the logging defaults every part
// of a node applies to its Config.
func Defaults(log *slog.Logger, lim *Limiter) (*slog.Logger, *Limiter) {
	if log == nil {
		log = slog.Default()
	}
	if lim == nil {
		lim = New(log)
	}
	return log, lim
}
