package main

import (
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/natterchat/natter/node/client"
	"github.com/natterchat/natter/node/wire"
)

// roomDev is one device in the guest room.
type roomDev struct {
	*wsWatch
	node  int // index of its node
	guest bool
}

// guestRoom is a public room with guests on every node and rita, a
// registered user with a device on each node but the one to die first.
type guestRoom struct {
	procs []*proc
	name  string
	chat  string
	rita  account
	devs  []roomDev
}

// newGuestRoom builds the room: rita's devices first, then one guest on
// each node but first, then two on first, each joining with ?room=. It
// returns once the devices on the other nodes heard first's guests join
// and those nodes list every member.
func newGuestRoom(t *testing.T, procs []*proc, first int) *guestRoom {
	g := &guestRoom{procs: procs, name: "guest-room"}
	others := g.others(first)
	g.rita = register(t, procs[others[0]].addr, "rita")
	g.chat = createRoom(t, procs[others[0]].addr, g.rita, g.name)
	for _, n := range others {
		w := watchWS(t, "rita@"+procs[n].name, "ws://"+procs[n].addr+"/ws?token="+url.QueryEscape(g.rita.Token))
		g.devs = append(g.devs, roomDev{w, n, false})
	}
	for k, n := range append(slices.Clone(others), first, first) {
		w := watchWS(t, fmt.Sprintf("guest%d@%s", k+1, procs[n].name), "ws://"+procs[n].addr+"/ws?room="+url.QueryEscape(g.name))
		w.await(t, 0, 30*time.Second, "its own JoinedRoom", func(f client.Frame) bool {
			var e wire.MemberEvent
			return f.Type() == wire.TypeJoinedRoom && f.Decode(&e) == nil && e.User == w.user() && e.Chat == g.chat
		})
		g.devs = append(g.devs, roomDev{w, n, true})
	}
	checkFor(t, 30*time.Second, func() error {
		for _, d := range g.on(others...) {
			joined := d.memberEvents(wire.TypeJoinedRoom, g.chat)
			for _, u := range g.guestsOf(first) {
				if joined[u] != 1 {
					return fmt.Errorf("%s heard %d JoinedRoom of %s, want 1", d.name, joined[u], u)
				}
			}
		}
		return nil
	})
	for _, n := range others {
		g.checkMembers(t, n, []int{0, 1, 2})
	}
	return g
}

// others lists the nodes other than n.
func (g *guestRoom) others(n int) []int {
	var out []int
	for i := range g.procs {
		if i != n {
			out = append(out, i)
		}
	}
	return out
}

// on lists the devices connected to the given nodes.
func (g *guestRoom) on(nodes ...int) []roomDev {
	var out []roomDev
	for _, d := range g.devs {
		if slices.Contains(nodes, d.node) {
			out = append(out, d)
		}
	}
	return out
}

// ritaOn is rita's device on node n.
func (g *guestRoom) ritaOn(t testing.TB, n int) roomDev {
	t.Helper()
	for _, d := range g.on(n) {
		if !d.guest {
			return d
		}
	}
	t.Fatalf("rita has no device on %s", g.procs[n].name)
	return roomDev{}
}

// guestsOf lists the user ids of the guests on the given nodes.
func (g *guestRoom) guestsOf(nodes ...int) []string {
	var out []string
	for _, d := range g.on(nodes...) {
		if d.guest {
			out = append(out, d.user())
		}
	}
	return out
}

// checkMembers asks a device on node for the member list, which must be
// rita and exactly the guests of the nodes alive.
func (g *guestRoom) checkMembers(t *testing.T, node int, alive []int) {
	t.Helper()
	want := append([]string{g.rita.ID}, g.guestsOf(alive...)...)
	got := g.on(node)[0].members(t, g.chat, 5)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("%s lists members %v, want %v (rita and the guests of nodes %v)", g.procs[node].name, got, want, alive)
	}
}

// checkGuestsLeft: within deadNodeBound of lostAt, every device on the
// alive nodes has heard LeftRoom for each guest of the dead nodes; then
// each has heard exactly one for each of them and none for a member
// still there, and the member lists of the alive nodes, asked after
// those LeftRooms, show no dead guest.
func (g *guestRoom) checkGuestsLeft(t *testing.T, lostAt time.Time, dead, alive []int) {
	t.Helper()
	checkFor(t, max(time.Until(lostAt.Add(deadNodeBound)), 0), func() error {
		for _, d := range g.on(alive...) {
			left := d.memberEvents(wire.TypeLeftRoom, g.chat)
			for _, u := range g.guestsOf(dead...) {
				if left[u] == 0 {
					return fmt.Errorf("%s has no LeftRoom for guest %s", d.name, u)
				}
			}
		}
		return nil
	})
	t.Logf("LeftRoom for the dead nodes' guests everywhere %v after the kill", time.Since(lostAt).Round(100*time.Millisecond))
	g.checkLeftOnce(t, dead, alive)
	for _, n := range alive {
		g.checkMembers(t, n, alive)
	}
}

// checkLeftOnce: every device on the alive nodes has heard exactly one
// LeftRoom for each guest of the dead nodes, and none for a member still
// there.
func (g *guestRoom) checkLeftOnce(t *testing.T, dead, alive []int) {
	t.Helper()
	for _, d := range g.on(alive...) {
		left := d.memberEvents(wire.TypeLeftRoom, g.chat)
		for _, u := range g.guestsOf(dead...) {
			if left[u] != 1 {
				t.Errorf("%s heard %d LeftRoom for dead guest %s, want 1", d.name, left[u], u)
			}
		}
		for _, u := range append(g.guestsOf(alive...), g.rita.ID) {
			if left[u] != 0 {
				t.Errorf("%s heard %d LeftRoom for %s, who is still there", d.name, left[u], u)
			}
		}
	}
}
