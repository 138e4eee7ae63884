package node

import (
	"maps"
	"sync"
	"time"

	"github.com/natterchat/natter/node/wire"
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
//
// Every user event of the cluster passes through here, so a connection
// storm puts one entry per join into it. Entries leave in arrival order
// from a queue, at a cost per expired entry, so the heartbeat can prune
// exactly at the window's end on a node of any size.
type recentMemberships struct {
	mu     sync.Mutex
	byUser map[string][]recentEvent // guarded by mu; each user's events in arrival order
	order  []recentEntry            // guarded by mu; all events in arrival order, from head
	head   int                      // guarded by mu
	peak   int                      // guarded by mu: most users held since byUser was made
}

// recentEntry names the user of one queued event and when it expires.
type recentEntry struct {
	user string
	at   time.Time
}

type recentEvent struct {
	at    time.Time // when this node received it
	event chatEvent // as received, to tell a device that missed it
}

func (e *recentEvent) chat() string { return e.event.Chat }
func (e *recentEvent) joined() bool { return e.event.Type == wire.TypeJoinedRoom }

func newRecentMemberships() *recentMemberships {
	return &recentMemberships{byUser: make(map[string][]recentEvent)}
}

// add records one user event received at ev.at.
func (r *recentMemberships) add(userID string, ev recentEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked(ev.at)
	r.byUser[userID] = append(r.byUser[userID], ev)
	r.peak = max(r.peak, len(r.byUser))
	r.order = append(r.order, recentEntry{user: userID, at: ev.at})
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

// prune forgets the events older than the window. The events loop calls
// it every heartbeat, so that a burst of joins is not held until the next
// event, which on an idle node may be never.
func (r *recentMemberships) prune(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked(now)
}

func (r *recentMemberships) pruneLocked(now time.Time) {
	cutoff := now.Add(-recentWindow)
	start := r.head
	for r.head < len(r.order) && !r.order[r.head].at.After(cutoff) {
		// A user's events were queued in the same order as the user's
		// slice, so the entry at the head is the user's first event.
		u := r.order[r.head].user
		r.order[r.head] = recentEntry{}
		r.head++
		if evs := r.byUser[u]; len(evs) > 1 {
			evs[0] = recentEvent{}
			r.byUser[u] = evs[1:]
		} else {
			delete(r.byUser, u)
		}
	}
	if r.head == start {
		return
	}
	switch live := len(r.order) - r.head; {
	case live == 0:
		r.order, r.head = nil, 0
	case r.head >= live:
		// Slide the queue down rather than let it creep along its
		// backing array; this copies each entry at most once per window.
		r.order = append(r.order[:0:0], r.order[r.head:]...)
		r.head = 0
	}
	if r.peak >= 64 && len(r.byUser) < r.peak/4 {
		// A map never gives back the room a burst made it grow to (and
		// maps.Clone copies that room too).
		m := make(map[string][]recentEvent, len(r.byUser))
		maps.Copy(m, r.byUser)
		r.byUser, r.peak = m, len(m)
	}
}
