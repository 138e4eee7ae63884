package fanout

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/natterchat/natter/subjects"
)

// TestGapDetectedAndRepaired drops live copies for real: the chat's loop
// is wedged and its channel holds one message, so NATS drops the next
// ones as a slow consumer. The first message after the loop moves again
// names a predecessor the node never delivered: the gap is detected, the
// missing messages are read from the stream, and the device gets every
// message once, in order.
func TestGapDetectedAndRepaired(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Loops = 1; c.Buffer = 1 })
	r.start()
	chat := r.room("gaps")
	_, p := r.device("alice")
	u := r.hub.User("alice")
	var since uint64
	r.hub.Link(u, chat, &since)
	if err := r.hub.cfg.NC.Flush(); err != nil {
		t.Fatal(err)
	}

	release := make(chan struct{})
	r.hub.loops[0].post(func() { <-release }) // wedge the loop
	var seqs []uint64
	for i := range 3 {
		seqs = append(seqs, r.publish(chat, fmt.Sprintf("m%d", i)))
	}
	// The first copy fills the channel, the others are dropped.
	checkFor(t, 5*time.Second, func() error {
		if n := len(r.hub.loops[0].msgs); n != 1 {
			return fmt.Errorf("%d copies queued, want 1", n)
		}
		return nil
	})
	close(release)
	if m := p.next(t); m.Seq != seqs[0] || m.Message != "m0" {
		t.Fatalf("first delivery = %+v, want m0 at seq %d", m, seqs[0])
	}
	p.nothing(t, 200*time.Millisecond) // m1 and m2 were lost on the way
	if g := r.hub.metrics.GapsDetected.Load(); g != 0 {
		t.Fatalf("%d gaps detected before the next live message", g)
	}

	seqs = append(seqs, r.publish(chat, "m3"))
	for i := 1; i < 4; i++ {
		if m := p.next(t); m.Seq != seqs[i] || m.Message != fmt.Sprintf("m%d", i) {
			t.Fatalf("delivery %d = %+v, want m%d at seq %d", i, m, i, seqs[i])
		}
	}
	p.nothing(t, 200*time.Millisecond)
	if g, rep := r.hub.metrics.GapsDetected.Load(), r.hub.metrics.GapMessagesRepaired.Load(); g != 1 || rep != 2 {
		t.Fatalf("gaps detected %d, messages repaired %d; want 1 and 2", g, rep)
	}
}

// TestCheckLoopsFindsStuckLoop: the readiness canary passes through every
// loop; a loop that does not move makes CheckLoops fail, naming it.
func TestCheckLoopsFindsStuckLoop(t *testing.T) {
	r := newRig(t, nil)
	r.start()
	if err := r.hub.CheckLoops(context.Background()); err != nil {
		t.Fatalf("CheckLoops on idle loops: %v", err)
	}
	release := make(chan struct{})
	r.hub.loops[1].post(func() { <-release })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	err := r.hub.CheckLoops(ctx)
	cancel()
	if err == nil || !strings.Contains(err.Error(), "loop 1") {
		t.Fatalf("CheckLoops with loop 1 stuck = %v", err)
	}
	close(release)
	if err := r.hub.CheckLoops(context.Background()); err != nil {
		t.Fatalf("CheckLoops after the loop moved: %v", err)
	}
}

// TestEventSkipsUser: a chat event reaches the local devices of the
// chat's members but those of the skipped user, as the bytes published.
func TestEventSkipsUser(t *testing.T) {
	r := newRig(t, nil)
	r.start()
	chat := r.room("events")
	alice, bob := r.member(chat, "alice"), r.member(chat, "bob")
	frame := []byte(`{"channel":"chat-room","message":{"type":"Typing","contents":{"user":"alice"}}}`)
	if err := r.hub.PublishEvent(chat, "typing", frame, "alice"); err != nil {
		t.Fatal(err)
	}
	if f, ok := bob.Next(5 * time.Second); !ok || string(f.Raw) != string(frame) {
		t.Fatalf("bob got %s (%v), want %s", f.Raw, ok, frame)
	}
	alice.nothing(t, 200*time.Millisecond)
	// Anything else on the chat's subject without headers (no stored
	// message: those have headers) is not sent to clients as a frame.
	if err := r.hub.cfg.NC.Publish(subjects.LiveChat(chat), []byte(`{"type":"JoinedRoom","chat":"x"}`)); err != nil {
		t.Fatal(err)
	}
	bob.nothing(t, 200*time.Millisecond)
}

// TestEventsByInterest: a chat's events reach only the nodes that deliver
// the chat; a node without a member of it receives nothing of them.
func TestEventsByInterest(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Loops = 1 })
	r.start()
	chat, other := r.room("near"), r.room("far")
	bob := r.member(chat, "bob")
	if err := r.hub.CheckLoops(context.Background()); err != nil {
		t.Fatal(err)
	}
	nc := r.hub.cfg.NC
	before := nc.Stats().InMsgs
	for i := range 50 {
		if err := r.hub.PublishEvent(other, "typing", []byte(fmt.Sprintf(`{"n":%d}`, i)), ""); err != nil {
			t.Fatal(err)
		}
	}
	frame := []byte(`{"channel":"chat-room","message":{"type":"Typing","contents":{"user":"alice"}}}`)
	if err := r.hub.PublishEvent(chat, "typing", frame, ""); err != nil {
		t.Fatal(err)
	}
	if f, ok := bob.Next(5 * time.Second); !ok || string(f.Raw) != string(frame) {
		t.Fatalf("bob got %s (%v), want %s", f.Raw, ok, frame)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	// The node's connection got the one event of its chat (and its own
	// flush's answer is not a message), none of the 50 of the other.
	if got := nc.Stats().InMsgs - before; got != 1 {
		t.Fatalf("the node received %d messages for one event of its chat and 50 of another", got)
	}
}

// TestStateSizes guards the size of the per-connection objects of the
// fan-out: each is one heap object, and crossing a Go size class (…, 128,
// 144, 160, …, 256, 288, …) costs every connection the difference. The
// session embeds Device in its device, which must stay within 320 B (see
// session's TestConnectionStateSizes).
func TestStateSizes(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes are for 64-bit platforms")
	}
	for _, c := range []struct {
		name      string
		size, max uintptr
	}{
		{"Device (with its wsconn.Conn)", unsafe.Sizeof(Device{}), 272},
		{"User", unsafe.Sizeof(User{}), 160},
	} {
		if c.size > c.max {
			t.Errorf("%s is %d B, over its %d B budget", c.name, c.size, c.max)
		}
	}
}

// TestEventFormat: a chat event's payload carries the frame and the user
// to skip, and anything else (an earlier version's JSON record, a frame
// without the line, an empty frame) is refused.
func TestEventFormat(t *testing.T) {
	frame := []byte(`{"channel":"chat-room","message":{"type":"JoinedRoom","contents":{}}}`)
	for _, skip := range []string{"", "user-1"} {
		got, gotSkip, ok := decodeEvent(encodeEvent(frame, skip))
		if !ok || string(got) != string(frame) || gotSkip != skip {
			t.Fatalf("round trip with skip %q: %q, %q, %v", skip, got, gotSkip, ok)
		}
	}
	for _, bad := range []string{
		`{"type":"JoinedRoom","chat":"c1","user":"u1"}`,
		string(frame),
		"natter-event/1 u1",
		"natter-event/1 u1\n",
		"natter-event/2 u1\n" + string(frame),
		"",
	} {
		if _, _, ok := decodeEvent([]byte(bad)); ok {
			t.Errorf("decodeEvent accepted %q", bad)
		}
	}
}
