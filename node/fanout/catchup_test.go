package fanout

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store"
)

// TestCatchUpBeforeTracked: a device whose user links a chat that
// another user's Link is still subscribing (reading its cursor) is caught
// up once the chat is tracked, from the position read before its
// Welcome: the message stored in between reaches it, then live ones. (A
// restarted node showed it: the second member's catch-up found no chat
// state and gave up, and the cursor read after the message skipped it.)
func TestCatchUpBeforeTracked(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Loops = 1 })
	r.start()
	chat := r.room("tracked-late")
	r.publish(chat, "before")
	pos, err := r.store.Position(context.Background()) // the position before the Welcome
	if err != nil {
		t.Fatal(err)
	}
	d, p := r.device("bob")
	u := r.hub.User("bob")

	// Bob's user finds the chat linked, by a Link whose subscribe has not
	// run yet.
	u.addChat(chat)
	c, created := r.hub.reg.addChatUser(chat, u)
	if !created {
		t.Fatal("the chat was linked already")
	}
	missed := r.publish(chat, "between")
	d.Hold()
	r.hub.CatchUp(d, []string{chat}, nil, pos, nil)
	r.hub.subscribe(c, nil) // reads the cursor: past "between"
	if err := r.hub.cfg.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	live := r.publish(chat, "live")

	if m := p.next(t); m.Seq != missed || m.Message != "between" {
		t.Fatalf("first delivery = %+v, want the message stored while the chat was being tracked (seq %d)", m, missed)
	}
	if m := p.next(t); m.Seq != live || m.Message != "live" {
		t.Fatalf("second delivery = %+v, want the live one (seq %d)", m, live)
	}
}

// TestCatchUpOfChatGoneBeforeTracked: a catch-up waiting for a chat whose
// last local member left before it was tracked ends, so the device does
// not keep skipping the chat.
func TestCatchUpOfChatGoneBeforeTracked(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Loops = 1 })
	r.start()
	chat := r.room("gone-early")
	d, _ := r.device("bob")
	u := r.hub.User("bob")
	u.addChat(chat)
	if _, created := r.hub.reg.addChatUser(chat, u); !created {
		t.Fatal("the chat was linked already")
	}
	d.Hold()
	r.hub.CatchUp(d, []string{chat}, nil, nil, nil)
	r.hub.Unlink(u, chat)
	if err := r.hub.CheckLoops(context.Background()); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	_, skipping := d.skips[skipKey{kind: skipChat, id: chat}]
	d.mu.Unlock()
	if skipping || len(r.hub.loops[0].waiting) != 0 {
		t.Fatalf("after the chat went: device skipping it %v, catch-ups waiting %d", skipping, len(r.hub.loops[0].waiting))
	}
}

// TestResumeAheadOfLiveDelivery: a device whose resume replay read the
// store past what this node had delivered live (the node's copy of the
// newest message was still on its way) does not get that message again
// when its live copy arrives; live delivery to it goes on after. (A
// device that moved to another node during a drain got the same seq
// twice.)
func TestResumeAheadOfLiveDelivery(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Loops = 1 })
	r.start()
	chat := r.room("ahead")
	d, p := r.device("bob")
	r.hub.Link(r.hub.User("bob"), chat, nil)
	if err := r.hub.CheckLoops(context.Background()); err != nil {
		t.Fatal(err)
	}
	loop := r.hub.loops[0]
	blocked, unblock := make(chan struct{}), make(chan struct{})
	loop.post(func() { close(blocked); <-unblock }) // the node falls behind
	<-blocked
	d.BeginResume(chat)
	replayed := r.publish(chat, "replayed") // the client's replay sent it
	done := make(chan uint64, 1)
	r.hub.FinishResume(d, chat, replayed, 100, func(last uint64, more bool, err error) { done <- last })
	close(unblock)
	if last := <-done; last != replayed {
		t.Fatalf("FinishResume ended at %d, want %d", last, replayed)
	}
	next := r.publish(chat, "next")
	if m := p.next(t); m.Seq != next {
		t.Fatalf("delivered %+v, want only the message after the replay (seq %d); seq %d came twice", m, next, replayed)
	}
}

// TestCatchUpThreeStreams: with chats spread over three message streams,
// whose sequences are not comparable, a new device is caught up in each
// chat from its own stream's position: a chat whose stream is behind
// another's still gets the message stored after the Welcome.
func TestCatchUpThreeStreams(t *testing.T) {
	const k = 3
	r := newRigOn(t, store.Config{Streams: k}, func(c *Config) { c.Loops = 1 })
	r.start()
	chats := make([]string, k)
	for i, found := 0, 0; found < k; i++ {
		if i == 200 {
			t.Fatal("no room in every stream")
		}
		c := r.room(fmt.Sprintf("room-%d", i))
		if p := store.Partition(c, k); chats[p] == "" {
			chats[p] = c
			found++
		}
	}
	// The first chat's stream runs ahead of the others.
	for range 5 {
		r.publish(chats[0], "ahead")
	}
	for _, c := range chats[1:] {
		r.publish(c, "before")
	}
	pos, err := r.store.Position(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(pos) != k || pos.Of(chats[0]) != 5 || pos.Of(chats[1]) != 1 {
		t.Fatalf("position %v, want 5 for the first chat and 1 for the others", pos)
	}
	d, p := r.device("bob")
	u := r.hub.User("bob")
	for _, c := range chats {
		u.addChat(c)
		if _, created := r.hub.reg.addChatUser(c, u); !created {
			t.Fatal("the chat was linked already")
		}
	}
	missed := make(map[string]uint64, k)
	for _, c := range chats {
		missed[c] = r.publish(c, "between")
	}
	d.Hold()
	r.hub.CatchUp(d, chats, nil, pos, nil)
	for _, c := range chats {
		r.hub.subscribe(r.hub.reg.chat(c), nil)
	}
	if err := r.hub.cfg.NC.Flush(); err != nil {
		t.Fatal(err)
	}
	for range k {
		m := p.next(t)
		if m.Message != "between" || missed[m.Chat] != m.Seq {
			t.Fatalf("delivery %+v, want one of the messages stored after the position %v", m, missed)
		}
		delete(missed, m.Chat)
	}
	live := r.publish(chats[1], "live")
	if m := p.next(t); m.Seq != live || m.Message != "live" || m.Chat != chats[1] {
		t.Fatalf("delivery %+v, want the live one (seq %d)", m, live)
	}
}

// gatedStore holds Messages reads while gate is open (nil: none held):
// a store slow to answer, which a real one is only under load.
type gatedStore struct {
	store.Store
	mu   sync.Mutex
	gate chan struct{}
}

func (g *gatedStore) hold() {
	g.mu.Lock()
	g.gate = make(chan struct{})
	g.mu.Unlock()
}

// release lets the held reads go; it may be called again.
func (g *gatedStore) release() {
	g.mu.Lock()
	if g.gate != nil {
		close(g.gate)
		g.gate = nil
	}
	g.mu.Unlock()
}

func (g *gatedStore) Messages(ctx context.Context, chatID string, p store.Page) ([]store.Message, error) {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	if gate != nil {
		<-gate
	}
	return g.Store.Messages(ctx, chatID, p)
}

// TestHandOverOffTheLoop: a device's catch-up reads the store off its
// chat's loop, so live delivery of the loop's other chats goes on while
// the read waits (a storm of reconnects is thousands of such reads).
func TestHandOverOffTheLoop(t *testing.T) {
	var gs *gatedStore
	r := newRig(t, func(c *Config) {
		c.Loops = 1
		gs = &gatedStore{Store: c.Store}
		c.Store = gs
	})
	r.start()
	slow, busy := r.room("slow"), r.room("busy")
	bob, bp := r.device("bob")
	_, cp := r.device("carol")
	var since uint64
	r.hub.Link(r.hub.User("bob"), slow, &since)
	r.hub.Link(r.hub.User("carol"), busy, &since)
	if err := r.hub.CheckLoops(context.Background()); err != nil {
		t.Fatal(err)
	}
	bob.BeginResume(slow)
	missed := r.publish(slow, "missed") // delivered live past bob, who resumes
	loop := r.hub.loops[0]
	checkFor(t, 5*time.Second, func() error {
		cursor := make(chan uint64, 1)
		loop.post(func() { cursor <- loop.chats[slow].lastSeq }) // read on the loop that owns it
		if got := <-cursor; got != missed {
			return fmt.Errorf("cursor %d", got)
		}
		return nil
	})
	gs.hold()
	t.Cleanup(gs.release) // before the rig's: a failed test must not leave a read held
	done := make(chan uint64, 1)
	r.hub.FinishResume(bob, slow, 0, 100, func(last uint64, _ bool, _ error) { done <- last })
	live := r.publish(busy, "meanwhile")
	if m := cp.next(t); m.Seq != live {
		t.Fatalf("carol got %+v, want the live message of the other chat", m)
	}
	gs.release()
	if m := bp.next(t); m.Seq != missed {
		t.Fatalf("bob got %+v, want the message delivered while he resumed", m)
	}
	if last := <-done; last != missed {
		t.Fatalf("hand-over ended at %d, want %d", last, missed)
	}
}

// TestCatchUpPastTheCursor: a new device is caught up from the stream's
// position, which other chats' messages put past this chat's cursor: the
// chat's next message, past that position, reaches the device. (It
// waited for the cursor to pass the position and was skipped with it.)
func TestCatchUpPastTheCursor(t *testing.T) {
	r := newRig(t, func(c *Config) { c.Loops = 1 })
	r.start()
	quiet, busy := r.room("quiet"), r.room("busy")
	r.publish(quiet, "old")
	var pos uint64
	for i := range 3 {
		pos = r.publish(busy, fmt.Sprint("elsewhere", i)) // the position moves on
	}
	d, p := r.device("bob")
	u := r.hub.User("bob")
	r.hub.Link(u, quiet, nil) // the chat's cursor: its last message, before pos
	if err := r.hub.CheckLoops(context.Background()); err != nil {
		t.Fatal(err)
	}
	d.Hold()
	r.hub.CatchUp(d, []string{quiet}, nil, store.Position{pos}, nil)
	if err := r.hub.CheckLoops(context.Background()); err != nil {
		t.Fatal(err)
	}
	next := r.publish(quiet, "next")
	if m := p.next(t); m.Seq != next {
		t.Fatalf("bob got %+v, want the chat's next message (seq %d)", m, next)
	}
}

// TestHoldKeepsFramesBack: while a device is held, every frame sent to it
// (a member's notice through the chat's loop, a notice of its own user)
// waits, so that its setup's frames come first; Release sends the kept
// frames in their order and ahead of later ones, and live messages
// stored meanwhile reach it through its catch-up, once.
func TestHoldKeepsFramesBack(t *testing.T) {
	r := newRig(t, nil)
	r.start()
	chat := r.room("held")
	pos, err := r.store.Position(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	d, p := r.device("bob")
	var since uint64
	r.hub.Link(r.hub.User("bob"), chat, &since)
	typed := func(typ string) *wsconn.Frame {
		return wsconn.NewTextFrame(wire.Encode(wire.ChannelChatRoom, typ, wire.MemberEvent{Chat: chat, User: "alice"}))
	}

	keptBack := func(want int) {
		t.Helper()
		checkFor(t, 5*time.Second, func() error {
			d.mu.Lock()
			n := len(d.skips[holdKey])
			d.mu.Unlock()
			if n != want {
				return fmt.Errorf("%d frames kept back, want %d", n, want)
			}
			return nil
		})
	}
	d.Hold()
	d.mu.Lock()
	allocated := d.skips != nil
	d.mu.Unlock()
	if allocated {
		t.Fatal("a hold with nothing kept back allocated the skips map")
	}
	if err := r.hub.PublishEvent(chat, "member", wire.Encode(wire.ChannelChatRoom, wire.TypeJoinedRoom, wire.MemberEvent{Chat: chat, User: "alice"}), ""); err != nil {
		t.Fatal(err)
	}
	keptBack(1)
	d.Send(typed(wire.TypeLeftRoom))
	keptBack(2)
	stored := r.publish(chat, "while-held")
	d.SendSetup(typed(wire.TypeUnread))
	if f, ok := p.Next(5 * time.Second); !ok || f.Type() != wire.TypeUnread {
		t.Fatalf("first frame while held = %s (%v), want the setup's Unread", f.Raw, ok)
	}
	p.nothing(t, 200*time.Millisecond)

	r.hub.CatchUp(d, []string{chat}, nil, pos, nil)
	d.Send(typed(wire.TypeTyping))
	// The kept frames first, in order; then the Typing sent after the
	// release and the caught-up message, in either order (the catch-up
	// reads the store off the loop).
	for _, want := range []string{wire.TypeJoinedRoom, wire.TypeLeftRoom} {
		if f, ok := p.Next(5 * time.Second); !ok || f.Type() != want {
			t.Fatalf("after Release got %s (%v), want %s", f.Raw, ok, want)
		}
	}
	var typing, caughtUp int
	for range 2 {
		f, ok := p.Next(5 * time.Second)
		switch {
		case !ok:
			t.Fatalf("after the kept frames: %d Typing, %d NewMessage, then nothing", typing, caughtUp)
		case f.Type() == wire.TypeTyping:
			typing++
		case f.Type() == wire.TypeNewMessage:
			var m wire.NewMessage
			if err := f.Decode(&m); err != nil || m.Seq != stored {
				t.Fatalf("caught up %s, want the message stored while held (seq %d)", f.Raw, stored)
			}
			caughtUp++
		default:
			t.Fatalf("after the kept frames got %s", f.Raw)
		}
	}
	if typing != 1 || caughtUp != 1 {
		t.Fatalf("after the kept frames: %d Typing, %d NewMessage, want one each", typing, caughtUp)
	}
	p.nothing(t, 200*time.Millisecond)
	d.mu.Lock()
	left := len(d.skips)
	d.mu.Unlock()
	if left != 0 {
		t.Fatalf("%d skips left after the catch-up", left)
	}
}

// TestReleaseAheadOfConcurrentSends: frames sent while a hold ends, from
// other goroutines, never overtake the frames the hold kept back (a
// device whose hold is its only skip drops to the lock-free path at the
// release, and must not before its kept frames are queued).
func TestReleaseAheadOfConcurrentSends(t *testing.T) {
	r := newRig(t, nil)
	d, p := r.device("bob")
	frame := func(kind string, i int) *wsconn.Frame {
		return wsconn.NewTextFrame(wire.Encode(wire.ChannelChatRoom, wire.TypeJoinedRoom, wire.MemberEvent{User: fmt.Sprintf("%s-%d", kind, i)}))
	}
	const rounds, kept, racing = 100, 5, 5
	for round := range rounds {
		d.Hold()
		for i := range kept {
			d.SendNotice(frame("kept", i))
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range racing {
				d.Send(frame("racing", i))
			}
		}()
		d.Release()
		wg.Wait()
		sawRacing := false
		keptSeen := 0
		for range kept + racing {
			f, ok := p.Next(5 * time.Second)
			if !ok {
				t.Fatalf("round %d: a frame missing", round)
			}
			var e wire.MemberEvent
			if err := f.Decode(&e); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(e.User, "racing-") {
				sawRacing = true
				continue
			}
			if sawRacing {
				t.Fatalf("round %d: kept frame %s came after a frame sent during the release", round, e.User)
			}
			if want := fmt.Sprintf("kept-%d", keptSeen); e.User != want {
				t.Fatalf("round %d: got %s, want %s", round, e.User, want)
			}
			keptSeen++
		}
	}
}
