package fanout

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestRecentNumbersChanges: every change gets the next number, whoever
// it belongs to, and Last reports the newest.
func TestRecentNumbersChanges(t *testing.T) {
	r := NewRecent()
	if r.Last() != 0 {
		t.Fatalf("empty Recent: Last = %d, want 0", r.Last())
	}
	now := time.Now()
	for i, user := range []string{"u1", "u2", "u1"} {
		if seq := r.Add(user, recentJoin("c", now)); seq != uint64(i+1) {
			t.Fatalf("change %d got Seq %d", i+1, seq)
		}
	}
	if r.Last() != 3 {
		t.Fatalf("Last = %d, want 3", r.Last())
	}
	evs := r.Of("u1")
	if len(evs) != 2 || evs[0].Seq != 1 || evs[1].Seq != 3 {
		t.Fatalf("u1's changes = %+v, want Seq 1 and 3", evs)
	}
}

// TestTellDevicesCountsMissedChanges: a membership change told before a
// device was registered is one the device missed (AddDevice's told
// covers it), whether the user had other devices here or none; a change
// told after it reaches the device. Each change is the device's exactly
// one way.
func TestTellDevicesCountsMissedChanges(t *testing.T) {
	r := newRegistry()
	newDev := func(id string) *Device {
		d := &Device{}
		d.Init(id)
		return d
	}

	// Change 1 of u, while u has no device here: told to nobody.
	if devs, _ := r.tellDevices("u", 1, nil); len(devs) != 0 {
		t.Fatalf("change 1 told to %d devices of a user with none", len(devs))
	}
	d1 := newDev("d1")
	_, first, told, ok := r.addDevice("u", "u", false, d1, 10)
	if !ok || !first || told != 1 {
		t.Fatalf("first device: first=%v told=%d ok=%v; want first, told 1 (it missed change 1)", first, told, ok)
	}

	// Change 2 reaches d1; d2, registered after it, missed it.
	if devs, _ := r.tellDevices("u", 2, nil); !slices.Equal(devs, []*Device{d1}) {
		t.Fatalf("change 2 told to %v, want d1 only", devs)
	}
	d2 := newDev("d2")
	if _, first, told, _ = r.addDevice("u", "u", false, d2, 10); first || told != 2 {
		t.Fatalf("second device: first=%v told=%d; want told 2", first, told)
	}

	// Change 3, recorded before d3 registered but told after: d3 hears it
	// from the change itself, and counts it as not missed.
	d3 := newDev("d3")
	if _, _, told, _ = r.addDevice("u", "u", false, d3, 10); told != 2 {
		t.Fatalf("third device: told %d, want 2 (change 3 not told yet)", told)
	}
	if devs, _ := r.tellDevices("u", 3, nil); len(devs) != 3 || !slices.Contains(devs, d3) {
		t.Fatalf("change 3 told to %v, want d1, d2 and d3", devs)
	}

	// A guest's change (not recorded, Seq 0) leaves the mark alone.
	if _, inOrder := r.tellDevices("u", 0, nil); !inOrder {
		t.Fatal("a guest's change (Seq 0) reported out of order")
	}
	if _, _, told, _ = r.addDevice("u", "u", false, newDev("d4"), 10); told != 3 {
		t.Fatalf("after a guest's change: told %d, want 3", told)
	}

	// A change told after a later one is reported: a device registered
	// between them would have missed it.
	if _, inOrder := r.tellDevices("u", 2, nil); inOrder {
		t.Fatal("change 2 told after change 3 reported in order")
	}
	if _, inOrder := r.tellDevices("u", 4, nil); !inOrder {
		t.Fatal("change 4 told after change 3 reported out of order")
	}
}

// TestTellMarkOutlivesUsers: the mark belongs to the registry's shard,
// not to a user: it stays when the user's last device leaves and a new
// one registers, and another user's change in the same shard raises it
// past changes of the first user that are all told.
func TestTellMarkOutlivesUsers(t *testing.T) {
	r := newRegistry()
	d := &Device{}
	d.Init("d1")
	r.addDevice("u", "u", false, d, 10)
	r.tellDevices("u", 1, nil)
	if !r.removeDevice(d) {
		t.Fatal("the only device left, and the user stayed")
	}
	d2 := &Device{}
	d2.Init("d2")
	if _, first, told, _ := r.addDevice("u", "u", false, d2, 10); !first || told != 1 {
		t.Fatalf("after the user was gone and came back: first=%v told=%d, want first, told 1", first, told)
	}

	other := ""
	for i := 0; other == ""; i++ {
		if id := fmt.Sprintf("v%d", i); r.shardOf(id) == r.shardOf("u") {
			other = id
		}
	}
	r.tellDevices(other, 2, nil)
	d3 := &Device{}
	d3.Init("d3")
	if _, _, told, _ := r.addDevice("u", "u", false, d3, 10); told != 2 {
		t.Fatalf("after %s's change 2 in the same shard: told %d, want 2", other, told)
	}
}
