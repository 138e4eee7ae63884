package node

import (
	"maps"
	"sync"
	"time"
)

// recentWindow is how long membership events are remembered for users
// who had no device here (or were offline) when the event came.
const recentWindow = 30 * time.Second

// recentMemberships remembers the membership events of the last
// recentWindow for every user. A listing of a user's chats comes from any
// replica and may trail a join or leave made a moment ago on another
// node; every node sees every user event, so replaying the recent ones
// over a fresh listing (when a user's first device connects here, or a
// user comes online in the presence view) makes both exact.
type recentMemberships struct {
	mu     sync.Mutex
	byUser map[string][]recentEvent // guarded by mu
	oldest time.Time                // guarded by mu: when the last prune ran
}

type recentEvent struct {
	chat   string
	joined bool
	since  uint64
	at     time.Time // when this node received it
	event  chatEvent // as received, to tell a device that missed it
}

func newRecentMemberships() *recentMemberships {
	return &recentMemberships{byUser: make(map[string][]recentEvent)}
}

// add records one user event.
func (r *recentMemberships) add(userID string, ev recentEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byUser[userID] = append(r.byUser[userID], ev)
	if ev.at.Sub(r.oldest) > recentWindow {
		r.pruneLocked(ev.at)
	}
}

// of returns the user's events of the window, oldest first.
func (r *recentMemberships) of(userID string) []recentEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := r.byUser[userID]
	cutoff := time.Now().Add(-recentWindow)
	out := make([]recentEvent, 0, len(evs))
	for _, ev := range evs {
		if ev.at.After(cutoff) {
			out = append(out, ev)
		}
	}
	return out
}

// prune forgets the events older than the window, at most once per
// window (a prune scans every user's events). The events loop calls it
// every heartbeat, so that a burst of joins is not held until the next
// event, which on an idle node may be never.
func (r *recentMemberships) prune(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.byUser) > 0 && now.Sub(r.oldest) > recentWindow {
		r.pruneLocked(now)
	}
}

func (r *recentMemberships) pruneLocked(now time.Time) {
	cutoff := now.Add(-recentWindow)
	before := len(r.byUser)
	for u, evs := range r.byUser {
		keep := evs[:0]
		for _, ev := range evs {
			if ev.at.After(cutoff) {
				keep = append(keep, ev)
			}
		}
		if len(keep) == 0 {
			delete(r.byUser, u)
		} else {
			r.byUser[u] = keep
		}
	}
	if len(r.byUser) < before/4 {
		// A map never gives back the room a burst made it grow to (and
		// maps.Clone copies that room too).
		m := make(map[string][]recentEvent, len(r.byUser))
		maps.Copy(m, r.byUser)
		r.byUser = m
	}
	r.oldest = now
}
