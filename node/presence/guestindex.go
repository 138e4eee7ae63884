package presence

import (
	"github.com/natterchat/natter/node/internal/smallmap"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// guestIndex is one chat's online guests (View.guests).
type guestIndex struct {
	users smallmap.Map[*user]
	// run is the guests encoded for member lists (wire.MemberRun), or
	// nil. A member list is built per join, so while a room fills the
	// run is asked for at every join: it is built at the first list and
	// a guest who arrives is appended to it, so that filling a room of N
	// encodes each guest once instead of N/2 times.
	run *wire.MemberRun
	// shared is set when a list took a copy of run: a guest who leaves
	// then is cut from new arrays, otherwise in place.
	shared bool
	// idle counts the sweeps since a list last copied run.
	idle uint8
}

// runIdleSweeps is how many sweeps (heartbeat intervals) a chat's run
// outlives the last list that read it. The run is as big as the chat's
// guests' ids and names twice over; kept for every chat it would add
// about a tenth to a guest connection's memory, so only chats whose
// lists are being asked for keep one.
const runIdleSweeps = 10

// indexGuestLocked adds guest u, just arrived in chatID, to the index.
func (v *View) indexGuestLocked(userID string, u *user, chatID string) {
	g := v.guests[chatID]
	if g == nil {
		g = new(guestIndex)
		v.guests[chatID] = g
	}
	if _, ok := g.users.Get(userID); ok {
		return
	}
	g.users.Set(userID, u)
	if g.run != nil {
		g.run.AppendOnline(userID, u.name, store.RoleMember)
	}
}

// unindexGuestLocked removes a guest who left chatID or went offline.
// The guest is cut from the run: in place, unless a list took a copy of
// it since it was last cut (then in new arrays). Either copies bytes, no
// encoding.
func (v *View) unindexGuestLocked(userID, chatID string) {
	g := v.guests[chatID]
	if g == nil {
		return
	}
	g.users.Delete(userID)
	if g.users.Len() == 0 {
		delete(v.guests, chatID)
		return
	}
	switch {
	case g.run == nil:
	case g.shared:
		*g.run, _ = g.run.Without(userID) // the lists hold copies of the struct
		g.shared = false
	default:
		g.run.Delete(userID)
	}
}

// sweepRunsLocked drops the runs no list has read for runIdleSweeps.
func (v *View) sweepRunsLocked() {
	for _, g := range v.guests {
		if g.run == nil {
			continue
		}
		if g.idle++; g.idle > runIdleSweeps {
			g.run, g.shared = nil, false
		}
	}
}

// GuestRun returns the online guests of chatID encoded for a member list
// (wire.MemberList.Run), and whether joinerID is one of them. The run is
// the caller's to encode, not to append to.
func (v *View) GuestRun(chatID, joinerID string) (run wire.MemberRun, listed bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	g := v.guests[chatID]
	if g == nil {
		return wire.MemberRun{}, false
	}
	if g.run == nil {
		g.run = new(wire.MemberRun)
		for id, u := range g.users.All() {
			g.run.AppendOnline(id, u.name, store.RoleMember)
		}
	}
	g.shared, g.idle = true, 0
	_, listed = g.users.Get(joinerID)
	return *g.run, listed
}

// GuestMembers lists the online guests that are members of chatID.
func (v *View) GuestMembers(chatID string) []wire.MemberInfo {
	v.mu.Lock()
	defer v.mu.Unlock()
	g := v.guests[chatID]
	if g == nil {
		return nil
	}
	dst := make([]wire.MemberInfo, 0, g.users.Len())
	for id, u := range g.users.All() {
		dst = append(dst, wire.MemberInfo{User: id, Name: u.name, Role: store.RoleMember, Online: true})
	}
	return dst
}
