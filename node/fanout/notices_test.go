package fanout

import (
	"fmt"
	"testing"
	"time"
)

// batched reports how many events wait in chatID's batch, read on the
// chat's loop.
func (r *rig) batched(chatID string) int {
	d := r.hub.loop(chatID)
	n := make(chan int, 1)
	d.post(func() {
		if st := d.chats[chatID]; st != nil && st.notices != nil {
			n <- len(st.notices.ends)
			return
		}
		n <- 0
	})
	return <-n
}

// typing is a chat event frame naming who.
func typing(who string) []byte {
	return []byte(fmt.Sprintf(`{"channel":"chat-room","message":{"type":"Typing","contents":{"user":%q}}}`, who))
}

// expect fails unless p's next frames are want, in order.
func (p *peer) expect(t *testing.T, name string, want ...[]byte) {
	t.Helper()
	for i, w := range want {
		f, ok := p.Next(5 * time.Second)
		if !ok || string(f.Raw) != string(w) {
			t.Fatalf("%s: frame %d is %s (%v), want %s", name, i, f.Raw, ok, w)
		}
	}
}

// TestNoticeBatchOwed: while events are batched, each member gets the
// events that came while it was a member and that do not skip it, in
// order, and all of them before the chat's next message.
func TestNoticeBatchOwed(t *testing.T) {
	r := newRig(t, nil)
	r.start()
	chat := r.room("batched")
	alice, bob := r.member(chat, "alice"), r.member(chat, "bob")
	_, carol := r.device("carol")
	r.hub.SetNoticeBatch(time.Hour) // only the message sends them
	e1, e2, e3 := typing("e1"), typing("e2"), typing("e3")
	for i, e := range []struct {
		frame []byte
		skip  string
	}{{e1, "bob"}, {e2, "alice"}} {
		if err := r.hub.PublishEvent(chat, "typing", e.frame, e.skip); err != nil {
			t.Fatal(err)
		}
		checkFor(t, 5*time.Second, func() error {
			if n := r.batched(chat); n != i+1 {
				return fmt.Errorf("%d events batched, want %d", n, i+1)
			}
			return nil
		})
	}
	// Carol becomes a member after e1 and e2 came: she is owed e3 only.
	var since uint64
	r.hub.Link(r.hub.User("carol"), chat, &since)
	if err := r.hub.PublishEvent(chat, "typing", e3, ""); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, func() error {
		if n := r.batched(chat); n != 3 {
			return fmt.Errorf("%d events batched, want 3", n)
		}
		return nil
	})
	alice.nothing(t, 100*time.Millisecond)
	seq := r.publish(chat, "after")
	alice.expect(t, "alice", e1, e3)
	bob.expect(t, "bob", e2, e3)
	carol.expect(t, "carol", e3)
	for name, p := range map[string]*peer{"alice": alice, "bob": bob, "carol": carol} {
		if m := p.next(t); m.Seq != seq {
			t.Fatalf("%s: message %d after the events, want %d", name, m.Seq, seq)
		}
	}
	if n := r.batched(chat); n != 0 {
		t.Fatalf("%d events still batched after the message", n)
	}
}

// TestNoticeBatchLeaves: a batch leaves when its delay is up, or at once
// when it is full, and events after the batching ended follow the batch
// still waiting rather than overtake it.
func TestNoticeBatchLeaves(t *testing.T) {
	r := newRig(t, nil)
	r.start()
	chat := r.room("leaves")
	bob := r.member(chat, "bob")

	r.hub.SetNoticeBatch(50 * time.Millisecond)
	if err := r.hub.PublishEvent(chat, "typing", typing("timed"), ""); err != nil {
		t.Fatal(err)
	}
	bob.expect(t, "after the delay", typing("timed"))

	r.hub.SetNoticeBatch(time.Hour)
	var want [][]byte
	for i := range maxBatchEvents {
		want = append(want, typing(fmt.Sprint("full ", i)))
		if err := r.hub.PublishEvent(chat, "typing", want[i], ""); err != nil {
			t.Fatal(err)
		}
	}
	// The batch is full and leaves with the next event, which starts
	// the next batch.
	if err := r.hub.PublishEvent(chat, "typing", typing("next"), ""); err != nil {
		t.Fatal(err)
	}
	bob.expect(t, "a full batch", want...)
	checkFor(t, 5*time.Second, func() error {
		if n := r.batched(chat); n != 1 {
			return fmt.Errorf("%d events batched, want 1", n)
		}
		return nil
	})
	r.hub.SetNoticeBatch(0)
	if err := r.hub.PublishEvent(chat, "typing", typing("unbatched"), ""); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, func() error {
		if n := r.batched(chat); n != 2 {
			return fmt.Errorf("%d events batched, want 2: the batch waiting takes the event", n)
		}
		return nil
	})
	r.publish(chat, "flush")
	bob.expect(t, "the batch before the message", typing("next"), typing("unbatched"))
	bob.next(t)
	if err := r.hub.PublishEvent(chat, "typing", typing("direct"), ""); err != nil {
		t.Fatal(err)
	}
	bob.expect(t, "no batch", typing("direct"))
	if n := r.batched(chat); n != 0 {
		t.Fatalf("%d events batched with batching off", n)
	}
}
