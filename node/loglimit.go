package node

import (
	"log/slog"
	"sync"
	"time"
)

// logLimiter rate-limits logs that clients or the network can trigger,
// per message: at most one line a second each, with a count of the lines
// it dropped meanwhile.
type logLimiter struct {
	log *slog.Logger

	mu   sync.Mutex
	seen map[string]*limitState // guarded by mu
}

type limitState struct {
	last    time.Time
	dropped int
}

func newLogLimiter(log *slog.Logger) *logLimiter {
	return &logLimiter{log: log, seen: make(map[string]*limitState)}
}

// logLimited logs msg at warn level unless it was logged less than a
// second ago.
func (n *Node) logLimited(msg string, attrs ...any) {
	l := n.limiter
	now := time.Now()
	l.mu.Lock()
	st := l.seen[msg]
	if st == nil {
		if len(l.seen) > 1000 {
			clear(l.seen) // messages are constants; this only bounds a bug
		}
		st = &limitState{}
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
