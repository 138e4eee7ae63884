package presence

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store/storetest"
)

// TestGuestRunFollowsIndex: whatever guests arrive, join, leave and go
// offline, with lists read in between or not and runs swept away, a
// chat's run lists exactly its online guests, each once; and a list's
// copy of a run reads the same after the run changed.
func TestGuestRunFollowsIndex(t *testing.T) {
	srv := storetest.RunServer(t)
	v, hub := newTestView(t, srv, "n1", nil)
	localMember(t, hub, "c1")
	handle, _ := fromN2(t, v)
	const run = 7
	var seq uint64
	send := func(user string, up bool) {
		seq++
		handle(event{User: user, Name: "name of " + user, Guest: true, Device: "d-" + user, Node: "n2", Up: up,
			At: time.Now(), Chats: []string{"c1"}, Epoch: run, Seq: seq})
	}
	decode := func(r wire.MemberRun) []string {
		t.Helper()
		var l wire.MemberList
		if err := json.Unmarshal(wire.Encode("c", "t", wire.MemberList{Run: r}), &struct {
			Message struct{ Contents *wire.MemberList } `json:"message"`
		}{Message: struct{ Contents *wire.MemberList }{&l}}); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(l.Users, l.Online) || len(l.Members) != len(l.Users) {
			t.Fatalf("run encodes users %v, online %v, members %+v", l.Users, l.Online, l.Members)
		}
		for i, m := range l.Members {
			if m.User != l.Users[i] || m.Name != "name of "+m.User || !m.Online || m.Role != "member" {
				t.Fatalf("member %d is %+v, user %s", i, m, l.Users[i])
			}
		}
		return l.Users
	}
	type taken struct {
		r     wire.MemberRun
		users []string
	}
	var copies []taken
	online := map[string]bool{} // online guests, and whether in c1
	r := rand.New(rand.NewPCG(5, 6))
	for step := range 3000 {
		user := fmt.Sprintf("g%d", r.IntN(40))
		in, on := online[user]
		switch k := r.IntN(10); {
		case !on:
			send(user, true)
			online[user] = true
		case k < 3:
			send(user, false)
			delete(online, user)
		case k < 6:
			v.ChatChanged(user, "c1", !in)
			online[user] = !in
		case k < 9:
			got, _ := v.GuestRun("c1", user)
			copies = append(copies, taken{got, decode(got)})
		default:
			for range runIdleSweeps + 1 {
				v.Sweep(time.Now())
			}
			// The sweeps forget guests in no chat delivered here: their
			// node would announce them again at their next join.
			for u, in := range online {
				if !in {
					delete(online, u)
				}
			}
		}
		var want []string
		for u, in := range online {
			if in {
				want = append(want, u)
			}
		}
		if r.IntN(3) != 0 {
			continue // a departure before the next read cuts in place
		}
		got, listed := v.GuestRun("c1", user)
		users := decode(got)
		if listed != online[user] {
			t.Fatalf("step %d: %s listed %v, in c1 %v", step, user, listed, online[user])
		}
		slices.Sort(users)
		slices.Sort(want)
		if !slices.Equal(users, want) {
			t.Fatalf("step %d: run lists %v, want %v", step, users, want)
		}
	}
	for i, c := range copies {
		if got := decode(c.r); !slices.Equal(got, c.users) {
			t.Fatalf("copy %d reads %v, read %v when taken", i, got, c.users)
		}
	}
}
