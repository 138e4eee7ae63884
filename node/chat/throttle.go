package chat

import (
	"sync"
	"time"
)

// Typing notices are throttled on the typist's node: at most one Typing
// per user and chat goes out every TypingInterval, however often its
// devices send one (clients send on keystrokes). Clients drop an
// indicator TypingShown after its last Typing, so a typist's indicator
// stays on with one notice per TypingInterval.
const (
	TypingInterval = 2 * time.Second
	TypingShown    = 5 * time.Second
)

// minTypingSweep is the size under which the throttle's map is never swept.
const minTypingSweep = 1024

// typingKey is one user typing in one chat.
type typingKey struct{ user, chat string }

// typingThrottle remembers when each user's last Typing of each chat
// went out. Entries older than TypingShown mean nothing any more; they are
// swept whenever the map has doubled since the last sweep, so its size
// stays about twice the number of recent typists. The zero value is ready
// to use, on the wall clock.
type typingThrottle struct {
	now func() time.Time // static; nil: time.Now

	mu      sync.Mutex
	last    map[typingKey]time.Time // guarded by mu
	sweepAt int                     // guarded by mu: len(last) that triggers the next sweep
}

// clock reads the throttle's clock.
func (t *typingThrottle) clock() time.Time {
	if t.now == nil {
		return time.Now()
	}
	return t.now()
}

// typing reports whether a Typing of user in chat goes out now: none went
// out in the last TypingInterval.
func (t *typingThrottle) typing(user, chat string) bool {
	now := t.clock()
	k := typingKey{user, chat}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.last == nil {
		t.last = make(map[typingKey]time.Time)
	}
	if at, ok := t.last[k]; ok && now.Sub(at) < TypingInterval {
		return false
	}
	t.last[k] = now
	if len(t.last) >= max(t.sweepAt, minTypingSweep) {
		for k, at := range t.last {
			if now.Sub(at) >= TypingShown {
				delete(t.last, k)
			}
		}
		t.sweepAt = max(2*len(t.last), minTypingSweep)
	}
	return true
}

// stop reports whether a StopTyping of user in chat goes out: only when a
// Typing went out that clients may still show, so that a StopTyping
// without one costs the cluster nothing. The next Typing goes out at once.
func (t *typingThrottle) stop(user, chat string) bool {
	now := t.clock()
	k := typingKey{user, chat}
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.last[k]
	delete(t.last, k)
	return ok && now.Sub(at) < TypingShown
}

// size is the number of remembered typists (tests).
func (t *typingThrottle) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.last)
}
