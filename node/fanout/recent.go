package fanout

import (
	"maps"
	"sync"
	"time"

	"github.com/natterchat/natter/node/wire"
)

// RecentWindow is how long membership changes are remembered for users
// who had no device here (or were offline) when the change came.
const RecentWindow = 30 * time.Second

// Change is one membership change of a user, as every node hears it.
type Change struct {
	wire.MemberEvent
	// Joined is true for a join, false for a leave.
	Joined bool
	// Since is the chat's last sequence when a membership began: the
	// member receives what follows it.
	Since uint64
	// At is when this node received the change.
	At time.Time
	// Seq is the change's place in this node's order of changes, set by
	// Recent.Add: numbers, not times, tell a device being set up which
	// changes it missed (Hub.AddDevice, Hub.TellDevices).
	Seq uint64
}

// Recent remembers the membership changes of the last RecentWindow for
// every user. A listing of a user's chats comes from any replica and may
// trail a join or leave made a moment ago on another node; every node
// sees every user event, so replaying the recent ones over a fresh listing
// (when a user's first device connects here, or a user comes online in
// the presence view) makes both exact.
//
// Every user event of the cluster passes through here, so a connection
// storm puts one entry per join into it. Entries leave in arrival order
// from a queue, at a cost per expired entry, so the heartbeat can prune
// exactly at the window's end on a node of any size.
type Recent struct {
	mu     sync.Mutex
	byUser map[string][]Change // guarded by mu; each user's changes in arrival order
	order  []recentEntry       // guarded by mu; all changes in arrival order, from head
	head   int                 // guarded by mu
	peak   int                 // guarded by mu: most users held since byUser was made
	last   uint64              // guarded by mu: the Seq of the last change added
}

// recentEntry names the user of one queued change and when it expires.
type recentEntry struct {
	user string
	at   time.Time
}

// NewRecent returns an empty Recent.
func NewRecent() *Recent {
	return &Recent{byUser: make(map[string][]Change)}
}

// Add records one change of userID, received at c.At, and returns the
// Seq it gave it: one more than the change before.
func (r *Recent) Add(userID string, c Change) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked(c.At)
	r.last++
	c.Seq = r.last
	r.byUser[userID] = append(r.byUser[userID], c)
	r.peak = max(r.peak, len(r.byUser))
	r.order = append(r.order, recentEntry{user: userID, at: c.At})
	return c.Seq
}

// Last returns the Seq of the last change added (0 before the first):
// every change added later has a greater one.
func (r *Recent) Last() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

// Of returns the user's changes of the window, oldest first.
func (r *Recent) Of(userID string) []Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs := r.byUser[userID]
	cutoff := time.Now().Add(-RecentWindow)
	out := make([]Change, 0, len(cs))
	for _, c := range cs {
		if c.At.After(cutoff) {
			out = append(out, c)
		}
	}
	return out
}

// Prune forgets the changes older than the window. The node calls it
// every heartbeat, so that a burst of joins is not held until the next
// change, which on an idle node may be never.
func (r *Recent) Prune(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked(now)
}

func (r *Recent) pruneLocked(now time.Time) {
	cutoff := now.Add(-RecentWindow)
	start := r.head
	for r.head < len(r.order) && !r.order[r.head].at.After(cutoff) {
		// A user's changes were queued in the same order as the user's
		// slice, so the entry at the head is the user's first change.
		u := r.order[r.head].user
		r.order[r.head] = recentEntry{}
		r.head++
		if cs := r.byUser[u]; len(cs) > 1 {
			cs[0] = Change{}
			r.byUser[u] = cs[1:]
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
		m := make(map[string][]Change, len(r.byUser))
		maps.Copy(m, r.byUser)
		r.byUser, r.peak = m, len(m)
	}
}
