//go:build !race

package chat

import "testing"

// Not under the race detector, as the other allocation guards.

// TestUserEventCodecAllocs guards the join path's user events: encoding
// one allocates its buffer, and reading one only its strings (the type
// is one of the constants).
func TestUserEventCodecAllocs(t *testing.T) {
	ev := typicalUserEvent()
	data := ev.encode()
	enc := testing.AllocsPerRun(100, func() { ev.encode() })
	dec := testing.AllocsPerRun(100, func() {
		var got userEvent
		if err := decodeUserEvent(data, &got); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("encode: %.0f allocations, decode: %.0f", enc, dec)
	if enc > 1 {
		t.Errorf("encoding allocates %.0f times, want at most 1", enc)
	}
	// room, chat, user, name.
	if dec > 4 {
		t.Errorf("decoding allocates %.0f times, want at most 4", dec)
	}
}
