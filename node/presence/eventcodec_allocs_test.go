//go:build !race

package presence

import "testing"

// Not under the race detector, as the other allocation guards.

// TestEventCodecAllocs guards the join path's presence events: encoding
// one reuses the view's buffer, and reading one allocates only its
// strings and its list of chats.
func TestEventCodecAllocs(t *testing.T) {
	ev := typicalEvent()
	buf, err := ev.appendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	data := append([]byte(nil), buf...)
	enc := testing.AllocsPerRun(100, func() {
		buf, _ = ev.appendJSON(buf[:0])
	})
	dec := testing.AllocsPerRun(100, func() {
		var got event
		if err := decodeEvent(data, &got); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("encode: %.0f allocations, decode: %.0f", enc, dec)
	if enc != 0 {
		t.Errorf("encoding in a buffer allocates %.0f times, want 0", enc)
	}
	// user, name, device, node, the chats and their one string.
	if want := float64(4 + 1 + len(ev.Chats)); dec > want {
		t.Errorf("decoding allocates %.0f times, want at most %.0f", dec, want)
	}
}
