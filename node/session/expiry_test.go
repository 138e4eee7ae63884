package session

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/natterchat/natter/internal/testwait"
	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/wsconn"
)

// TestExpiriesDue: the index hands out each device once, when its token's
// second has come, wherever the sweeps fall; a refresh moves a device to
// its new minute, a cleanup takes it out; a device expiring later stays
// indexed, under its minute, until its sweep; nothing stays once all
// were due.
func TestExpiriesDue(t *testing.T) {
	const start = 1_000_000 * 60 // a whole minute, in Unix seconds
	e := expiries{next: start / 60}
	devs := make(map[string]*device)
	add := func(id string, secs uint32) {
		d := &device{}
		d.Init(id)
		d.expiry.Store(secs)
		devs[id] = d
		e.add(d)
	}
	due := func(cut uint32, want ...string) {
		t.Helper()
		var got []string
		for _, d := range e.due(cut, nil) {
			got = append(got, d.ID())
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("due at %+d s: %v, want %v", int64(cut)-start, got, want)
		}
	}
	add("late", start-30) // expired before the first sweep's minute
	add("a", start+10)
	add("b", start+40)
	add("c", start+70)   // the next minute
	add("d", start+3600) // an hour on
	add("gone", start+20)
	add("refreshed", start+15)

	e.remove(devs["gone"])
	if got := e.extend(devs["refreshed"], start+130); got != start+130 {
		t.Fatalf("extend returned %d, want the later expiry", got)
	}
	if got := e.extend(devs["refreshed"], start+100); got != start+130 {
		t.Fatalf("an earlier expiry moved it to %d", got)
	}

	due(start+5, "late")
	due(start+10, "a")
	due(start + 39)
	due(start+65, "b") // the first minute swept whole
	if e.next != start/60+1 {
		t.Fatalf("next minute %d, want %d", e.next, start/60+1)
	}
	due(start+200, "c", "refreshed")
	if len(e.minutes) != 1 {
		t.Fatalf("%d minutes indexed, want d's alone", len(e.minutes))
	}
	due(start + 3599)
	due(start+3600, "d")
	due(start + 7200)
	if len(e.minutes) != 0 {
		t.Fatalf("%d minutes still indexed after every device was due", len(e.minutes))
	}
	// A device indexed after next moved on, with an expiry before it,
	// is due at the next sweep.
	add("behind", start+10)
	due(start+7201, "behind")
}

// TestExpiriesClockBack: when the wall clock goes back before the minutes
// already swept, a device whose token expires between the new time and
// the old is due when the clock reaches its expiry, not when it passes
// the old time again; one that is removed meanwhile is found where it is
// kept.
func TestExpiriesClockBack(t *testing.T) {
	const start = 1_000_000 * 60
	e := expiries{next: start / 60}
	dev := func(id string, secs uint32) *device {
		d := &device{}
		d.Init(id)
		d.expiry.Store(secs)
		e.add(d)
		return d
	}
	ids := func(ds []*device) []string {
		var got []string
		for _, d := range ds {
			got = append(got, d.ID())
		}
		slices.Sort(got)
		return got
	}
	if got := e.due(start+3600, nil); len(got) != 0 { // an hour swept
		t.Fatalf("due %v in an empty index", ids(got))
	}
	// The clock goes back by an hour: these expire before the minute the
	// index had reached, so they are kept under it.
	dev("soon", start+600)
	gone := dev("gone", start+900)
	dev("later", start+3700)
	e.remove(gone)
	if got := ids(e.due(start+60, nil)); len(got) != 0 {
		t.Fatalf("due %v right after the clock went back, want none", got)
	}
	if got := ids(e.due(start+600, nil)); !slices.Equal(got, []string{"soon"}) {
		t.Fatalf("due %v at the first expiry after the clock went back, want [soon]", got)
	}
	if got := ids(e.due(start+3700, nil)); !slices.Equal(got, []string{"later"}) {
		t.Fatalf("due %v at the last expiry, want [later]", got)
	}
	if len(e.minutes) != 0 {
		t.Fatalf("%d minutes still indexed", len(e.minutes))
	}
	// Back within the minute just swept whole: a device expiring later
	// in it is due at its expiry, not a minute on.
	if got := ids(e.due(start+3719, nil)); len(got) != 0 { // minute 61 swept whole
		t.Fatalf("due %v in an empty index", got)
	}
	dev("same-minute", start+3700)
	if got := ids(e.due(start+3690, nil)); len(got) != 0 {
		t.Fatalf("due %v before its expiry", got)
	}
	if got := ids(e.due(start+3700, nil)); !slices.Equal(got, []string{"same-minute"}) {
		t.Fatalf("due %v at its expiry after the clock went back within a minute, want [same-minute]", got)
	}
}

// TestExpiryIndexFollowsDevices: on a real connection layer, a device with
// a token is indexed once registered, the sweep closes only the devices
// whose token expired (4003) and takes them out, and a device that closes
// on its own leaves the index with its cleanup: nothing of a connection
// stays behind it.
func TestExpiryIndexFollowsDevices(t *testing.T) {
	r := newRig(t, nil)
	alice := r.user("alice")
	exp := time.Now().Add(time.Hour).Truncate(time.Second)
	early := r.dial(alice, Start{Expiry: exp})
	later := r.dial(alice, Start{Expiry: exp.Add(time.Minute)})
	r.dialWelcome(chat.Identity{ID: "g1", Name: "guest", Guest: true}, Start{})
	if n := r.sess.expiries.count(); n != 2 {
		t.Fatalf("%d devices indexed, want alice's 2 (a guest has no token)", n)
	}
	if n := r.sess.CloseExpired(time.Now()); n != 0 {
		t.Fatalf("the sweep closed %d devices before any token expired", n)
	}
	if n := r.sess.CloseExpired(exp); n != 1 {
		t.Fatalf("the sweep at the first token's expiry closed %d devices, want 1", n)
	}
	if code := early.closeCode(); code != wsconn.StatusUnauthorized {
		t.Fatalf("close code %d, want %d", code, wsconn.StatusUnauthorized)
	}
	if n := r.sess.expiries.count(); n != 1 {
		t.Fatalf("%d devices indexed after the sweep, want 1", n)
	}
	later.Conn.Close()
	testwait.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		if n := r.sess.expiries.count(); n != 0 {
			return fmt.Errorf("%d devices still indexed after their connections closed", n)
		}
		return nil
	})
}

// count is the number of devices indexed.
func (e *expiries) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, ds := range e.minutes {
		n += len(ds)
	}
	return n
}
