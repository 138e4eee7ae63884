package fanout

import (
	"fmt"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wire"
)

func recentJoin(chat string, at time.Time) Change {
	return Change{MemberEvent: wire.MemberEvent{Chat: chat}, Joined: true, At: at}
}

// TestRecentPrunesAtWindowEnd: events leave exactly when the window has
// passed them, oldest first, whoever they belong to; a user's later
// events stay.
func TestRecentPrunesAtWindowEnd(t *testing.T) {
	r := NewRecent()
	t0 := time.Now().Add(-time.Hour)
	r.Add("u1", recentJoin("c1", t0))
	r.Add("u2", recentJoin("c2", t0.Add(time.Second)))
	r.Add("u1", recentJoin("c3", t0.Add(2*time.Second)))

	r.Prune(t0.Add(RecentWindow - time.Millisecond))
	if got := len(r.byUser["u1"]); got != 2 {
		t.Fatalf("before the window ends u1 has %d events, want 2", got)
	}
	r.Prune(t0.Add(RecentWindow))
	if evs := r.byUser["u1"]; len(evs) != 1 || evs[0].Chat != "c3" || !evs[0].Joined {
		t.Fatalf("after the first event's window u1 has %+v, want only its join of c3", evs)
	}
	if got := len(r.byUser["u2"]); got != 1 {
		t.Fatalf("u2's event went before its window ended: %d events", got)
	}
	r.Prune(t0.Add(RecentWindow + 2*time.Second))
	if len(r.byUser) != 0 || r.order != nil || r.head != 0 {
		t.Fatalf("after every window ended: %d users, queue %d from %d; want nothing", len(r.byUser), len(r.order), r.head)
	}
}

// TestRecentOfSkipsExpired: a reader between prunes sees only the
// window's events.
func TestRecentOfSkipsExpired(t *testing.T) {
	r := NewRecent()
	now := time.Now()
	r.Add("u", recentJoin("old", now.Add(-RecentWindow-time.Second)))
	r.Add("u", recentJoin("new", now))
	// add pruned the old event already; put one back as a late prune would
	// find it, to check that Of filters too.
	r.byUser["u"] = append([]Change{recentJoin("old", now.Add(-RecentWindow-time.Second))}, r.byUser["u"]...)
	evs := r.Of("u")
	if len(evs) != 1 || evs[0].Chat != "new" {
		t.Fatalf("Of = %+v, want only the event of the window", evs)
	}
}

// TestRecentBurstGivesBackRoom: after a burst of joins by many users has
// expired, neither the queue nor the map keeps the burst's room.
func TestRecentBurstGivesBackRoom(t *testing.T) {
	r := NewRecent()
	t0 := time.Now().Add(-time.Hour)
	for i := range 10000 {
		r.Add(fmt.Sprintf("u%d", i), recentJoin("c", t0.Add(time.Duration(i)*time.Millisecond)))
	}
	// Half the burst expires: the queue slides down, the map is kept.
	r.Prune(t0.Add(RecentWindow + 4999*time.Millisecond))
	if len(r.byUser) != 5000 || len(r.order) != 5000 || r.head != 0 {
		t.Fatalf("half expired: %d users, queue %d from %d; want 5000, 5000 from 0", len(r.byUser), len(r.order), r.head)
	}
	// A late joiner after the rest expired leaves a map sized for it.
	late := t0.Add(RecentWindow + 20*time.Second)
	r.Add("late", recentJoin("c", late))
	if len(r.byUser) != 1 || r.peak != 1 || len(r.order) != 1 {
		t.Fatalf("after the burst: %d users (peak %d), queue %d; want 1, 1, 1", len(r.byUser), r.peak, len(r.order))
	}
}
