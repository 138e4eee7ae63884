package node

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store/storetest"
	"github.com/natterchat/natter/subjects"
)

// Presence by interest: a node keeps its own devices and the online
// members of the chats it delivers, and nothing of users it shares no
// chat with.

// threeNodes starts three nodes on one NATS server, with mod applied to
// each.
func threeNodes(t *testing.T, mod func(*Config)) (a, b, c *testNode) {
	t.Helper()
	ns := storetest.RunServer(t)
	shared := func(c *Config) {
		c.NATSURL = ns.ClientURL()
		c.AllowGuests = true
		if mod != nil {
			mod(c)
		}
	}
	return startNode(t, shared), startNode(t, shared), startNode(t, shared)
}

// waitHeardAll waits until every node's view applied every presence event
// of every other node so far.
func waitHeardAll(t *testing.T, ns ...*testNode) {
	t.Helper()
	for _, tn := range ns {
		for _, from := range ns {
			if tn != from {
				waitHeard(t, tn, from)
			}
		}
	}
}

// waitOnline waits until tn's view has userID online (a device's own
// event reaches its node's view through NATS too).
func waitOnline(t *testing.T, tn *testNode, userID string) {
	t.Helper()
	checkFor(t, 10*time.Second, func() error {
		if !tn.presence.Online(userID) {
			return fmt.Errorf("node %s does not see %s online", tn.ID(), userID)
		}
		return nil
	})
}

// memberOnline reports whether user is online in a member list.
func memberOnline(l wire.MemberList, user string) bool { return slices.Contains(l.Online, user) }

// TestPresenceByInterest: alice (node a) and bob (node c) share a room;
// carol (node b) shares nothing with them. b keeps neither alice nor bob,
// yet answers the room's presence by asking the cluster; c learns alice
// when bob's device starts its delivery of the room; Online and Offline
// cross the nodes; and c forgets alice once nobody there shares a chat
// with her.
func TestPresenceByInterest(t *testing.T) {
	a, b, c := threeNodes(t, func(c *Config) { c.HeartbeatInterval = 100 * time.Millisecond })
	alice, bob, carol := a.register("alice"), c.register("bob"), b.register("carol")
	room := a.newChat(alice, "private", "pals", bob)
	b.newChat(carol, "private", "alone")
	a.awaitJoins(1, bob)
	c.awaitJoins(1, bob)

	da := a.dialUser(alice)
	b.dialUser(carol)
	waitOnline(t, a, alice.ID)
	waitOnline(t, b, carol.ID)
	waitHeardAll(t, a, b, c)
	// c delivers nothing yet: alice is nobody to it; b never shares.
	for _, tn := range []*testNode{b, c} {
		if tn.presence.Online(alice.ID) {
			t.Fatalf("node %s keeps alice, with whom it shares no chat", tn.ID())
		}
	}
	if got := b.presence.OnlineUsers(); got != 1 {
		t.Fatalf("node b holds %d online users, want 1 (carol)", got)
	}
	// Asked anyway, b answers from the cluster and keeps nothing of it.
	if l := b.memberList(t, room); !memberOnline(l, alice.ID) || memberOnline(l, bob.ID) {
		t.Fatalf("member list of %s from node b = %+v, want alice online and bob not", room, l)
	}
	if b.presence.Online(alice.ID) {
		t.Fatal("node b kept alice after answering for the room")
	}

	// bob connects on c: c starts delivering the room and learns alice
	// from a's snapshot; a hears bob come, alice is told.
	db := c.dialUser(bob)
	waitOnline(t, c, bob.ID)
	if l := c.memberList(t, room); !memberOnline(l, alice.ID) || !memberOnline(l, bob.ID) {
		t.Fatalf("member list of %s from node c = %+v, want alice and bob online", room, l)
	}
	if !c.presence.Online(alice.ID) {
		t.Fatal("node c does not keep alice, a member of a room it delivers")
	}
	var pe wire.PresenceEvent
	da.waitFor(wire.TypeOnline).decode(t, &pe)
	if pe.User != bob.ID {
		t.Fatalf("alice was told %+v, want bob online", pe)
	}
	waitHeardAll(t, a, b, c)
	if b.presence.Online(alice.ID) || b.presence.Online(bob.ID) || b.presence.OnlineUsers() != 1 {
		t.Fatalf("node b holds %d online users, want carol alone", b.presence.OnlineUsers())
	}

	// bob goes: alice hears it, and c, which delivers no chat of alice's
	// any more, forgets her.
	db.Conn.Close()
	da.waitFor(wire.TypeOffline).decode(t, &pe)
	if pe.User != bob.ID {
		t.Fatalf("alice was told %+v, want bob offline", pe)
	}
	checkFor(t, 10*time.Second, func() error {
		if n := c.presence.OnlineUsers(); n != 0 {
			return fmt.Errorf("node c holds %d online users after its only device left", n)
		}
		return nil
	})
}

// TestPresenceJoinShares: a guest on node a is in a room that node b
// does not deliver; when b's guest joins, b learns a's guest (the
// snapshot at the start of delivery) and a's guest hears of b's; when a
// registered user on b joins a room whose members are all on a, a learns
// of it (the joiner announced again).
func TestPresenceJoinShares(t *testing.T) {
	a, b := twoNodes(t, func(c *Config) { c.AllowGuests = true })
	ga := a.dial("/ws?room=porch")
	ga.expect(wire.TypeMemberList)
	ga.expect(wire.TypeJoinedRoom)
	dave := b.register("dave")
	dd := b.dialUser(dave)
	waitHeardAll(t, a, b)
	if a.presence.Online(dave.ID) || b.presence.Online(ga.welcome.User) {
		t.Fatal("a node keeps a user it shares no chat with")
	}
	// dave joins the porch on b: b's join answer lists the guest, and a
	// learns dave.
	dd.chatFrame(wire.TypeJoinRoom, `{"room":"porch"}`)
	var ml wire.MemberList
	dd.waitFor(wire.TypeMemberList).decode(t, &ml)
	if !memberOnline(ml, ga.welcome.User) || !memberOnline(ml, dave.ID) {
		t.Fatalf("dave's member list = %+v, want the guest and dave online", ml)
	}
	var joined wire.MemberEvent
	ga.waitFor(wire.TypeJoinedRoom).decode(t, &joined)
	if joined.User != dave.ID {
		t.Fatalf("guest heard %+v, want dave joining", joined)
	}
	checkFor(t, 10*time.Second, func() error {
		if !a.presence.Online(dave.ID) {
			return fmt.Errorf("node a does not know dave, who joined a room it delivers")
		}
		return nil
	})
	porch := mustChat(t, a, "porch")
	if l := a.memberList(t, porch); !memberOnline(l, dave.ID) {
		t.Fatalf("member list on node a = %+v, want dave online", l)
	}
	// dave goes: the guest hears it.
	dd.Conn.Close()
	var pe wire.PresenceEvent
	ga.waitFor(wire.TypeOffline).decode(t, &pe)
	if pe.User != dave.ID {
		t.Fatalf("guest was told %+v, want dave offline", pe)
	}
}

// TestPresenceRepairsAfterReconnect: node b's NATS connection is cut
// while alice's devices on node a come and go, so b misses their events;
// once it reconnects, a's heartbeat number shows what it missed and b's
// view converges on a's.
func TestPresenceRepairsAfterReconnect(t *testing.T) {
	ns := storetest.RunServer(t)
	proxy := startCutProxy(t, ns.Addr().String())
	fast := func(c *Config) { c.HeartbeatInterval = 100 * time.Millisecond; c.NodeDeadAfter = 30 * time.Second }
	a := startNode(t, func(c *Config) { c.NATSURL = ns.ClientURL(); fast(c) })
	b := startNode(t, func(c *Config) { c.NATSURL = "nats://" + proxy.addr(); fast(c) })
	alice, bob := a.register("alice"), b.register("bob")
	room := a.newChat(alice, "private", "pair", bob)
	b.awaitJoins(1, bob)
	b.dialUser(bob)
	d1 := a.dialUser(alice)
	checkFor(t, 10*time.Second, func() error {
		if !b.presence.Online(alice.ID) {
			return fmt.Errorf("node b does not see alice")
		}
		return nil
	})
	proxy.cut()
	checkFor(t, 10*time.Second, func() error {
		if b.nc.IsConnected() {
			return fmt.Errorf("node b is still connected")
		}
		return nil
	})
	// Cut off, b misses all of this: d2 comes, d1 goes.
	d2 := a.dialUser(alice)
	d1.Conn.Close()
	checkFor(t, 10*time.Second, func() error {
		if n := len(a.hub.User(alice.ID).Devices(nil)); n != 1 {
			return fmt.Errorf("node a has %d devices of alice", n)
		}
		return nil
	})
	if devs := b.presence.Devices(alice.ID); len(devs) != 1 || devs[0].Device == d2.welcome.Device {
		t.Fatalf("node b, cut off, sees alice's devices %+v, want the old one", devs)
	}
	proxy.heal()
	checkFor(t, 20*time.Second, func() error {
		devs := b.presence.Devices(alice.ID)
		if len(devs) != 1 || devs[0].Device != d2.welcome.Device {
			return fmt.Errorf("node b sees alice's devices %+v, want %s alone", devs, d2.welcome.Device)
		}
		return nil
	})
	waitHeard(t, b, a)
	d2.Conn.Close()
	checkFor(t, 20*time.Second, func() error {
		if l := b.memberList(t, room); memberOnline(l, alice.ID) {
			return fmt.Errorf("node b still lists alice online")
		}
		return nil
	})
}

// TestPresenceNodeStartsLater: a lone node takes no snapshot of the
// chats it starts to deliver (nobody but itself would answer); a node
// that starts later learns their members from its own snapshot, the first
// node learns the new node's from its events and the sync at its first
// heartbeat, and both agree on who is online.
func TestPresenceNodeStartsLater(t *testing.T) {
	ns := storetest.RunServer(t)
	// A beat interval over peerAnswerWait (250 ms): two beats of a node
	// are the proof that it counts on the nodes it heard.
	shared := func(c *Config) { c.NATSURL = ns.ClientURL(); c.HeartbeatInterval = 300 * time.Millisecond }
	watcher := storetest.Connect(t, ns)
	beats, err := watcher.SubscribeSync(subjects.Heartbeat)
	if err != nil {
		t.Fatal(err)
	}
	requests, err := watcher.SubscribeSync(subjects.PresenceSnapshotWildcard)
	if err != nil {
		t.Fatal(err)
	}
	if err := watcher.Flush(); err != nil {
		t.Fatal(err)
	}
	a := startNode(t, shared)
	for heard := 0; heard < 2; {
		m, err := beats.NextMsg(10 * time.Second)
		if err != nil {
			t.Fatalf("node a's beats: %v", err)
		}
		var hb struct {
			Node string `json:"node"`
		}
		if err := json.Unmarshal(m.Data, &hb); err != nil {
			t.Fatal(err)
		}
		if hb.Node == a.ID() {
			heard++
		}
	}

	alice, bob := a.register("alice"), a.register("bob")
	room := a.newChat(alice, "private", "pals", bob)
	// The chat's membership events reach a's cache a moment after the
	// API's answer: a device connected before them hears them late.
	a.awaitJoins(1, alice, bob)
	da := a.dialUser(alice)
	waitOnline(t, a, alice.ID)
	if l := a.memberList(t, room); !memberOnline(l, alice.ID) || memberOnline(l, bob.ID) {
		t.Fatalf("member list of %s from node a = %+v, want alice online and bob not", room, l)
	}
	// The member list waited for a snapshot in flight, if any: a request
	// of a's after it comes after the snapshot's (NATS keeps a
	// publisher's order).
	end := subjects.PresenceSnapshot("end")
	if err := a.nc.PublishRequest(end, a.nc.NewInbox(), nil); err != nil {
		t.Fatal(err)
	}
	m, err := requests.NextMsg(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != end {
		t.Fatalf("lone node a asked %s", m.Subject)
	}

	// b starts, and bob connects there.
	b := startNode(t, shared)
	db := b.dialUser(bob)
	waitOnline(t, b, bob.ID)
	if l := b.memberList(t, room); !memberOnline(l, alice.ID) || !memberOnline(l, bob.ID) {
		t.Fatalf("member list of %s from node b = %+v, want alice and bob online", room, l)
	}
	var pe wire.PresenceEvent
	da.waitFor(wire.TypeOnline).decode(t, &pe)
	if pe.User != bob.ID {
		t.Fatalf("alice was told %+v, want bob online", pe)
	}
	waitHeardAll(t, a, b)
	if l := a.memberList(t, room); !memberOnline(l, alice.ID) || !memberOnline(l, bob.ID) {
		t.Fatalf("member list of %s from node a = %+v, want alice and bob online", room, l)
	}
	for _, tn := range []*testNode{a, b} {
		for _, u := range []account{alice, bob} {
			if devs := tn.presence.Devices(u.ID); len(devs) != 1 {
				t.Errorf("node %s sees %s's devices %+v, want one", tn.ID(), u.Name, devs)
			}
		}
	}

	// bob goes: a hears it and tells alice.
	db.Conn.Close()
	da.waitFor(wire.TypeOffline).decode(t, &pe)
	if pe.User != bob.ID {
		t.Fatalf("alice was told %+v, want bob offline", pe)
	}
}

// cutProxy forwards TCP connections to a NATS server until cut, which
// ends them and refuses new ones until heal: a network failure between a
// node and NATS.
type cutProxy struct {
	l      net.Listener
	target string
	wg     sync.WaitGroup
	mu     sync.Mutex
	isCut  bool
	conns  []net.Conn
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{l: l, target: target}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		l.Close()
		p.cut()
		p.wg.Wait()
	})
	return p
}

func (p *cutProxy) addr() string { return p.l.Addr().String() }

func (p *cutProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		p.mu.Lock()
		if err != nil || p.isCut {
			p.mu.Unlock()
			c.Close()
			if up != nil {
				up.Close()
			}
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); _, _ = io.Copy(up, c); up.Close() }()
		go func() { defer p.wg.Done(); _, _ = io.Copy(c, up); c.Close() }()
	}
}

// cut ends every forwarded connection and refuses new ones.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isCut = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// heal accepts connections again.
func (p *cutProxy) heal() {
	p.mu.Lock()
	p.isCut = false
	p.mu.Unlock()
}

// TestPresenceDeadNodeGuests: node c dies (its NATS connection ends
// without a goodbye) with a guest in a room delivered by a but not b: a's
// member hears the guest leave once and a's list drops it; b, which never
// knew the guest, does not list it either.
func TestPresenceDeadNodeGuests(t *testing.T) {
	a, b, c := threeNodes(t, func(c *Config) {
		c.HeartbeatInterval = 100 * time.Millisecond
		c.NodeDeadAfter = time.Second
	})
	gc := c.dial("/ws?room=yard")
	gc.expect(wire.TypeMemberList)
	gc.expect(wire.TypeJoinedRoom)
	ga := a.dial("/ws?room=yard")
	var ml wire.MemberList
	ga.expect(wire.TypeMemberList).decode(t, &ml)
	if !memberOnline(ml, gc.welcome.User) {
		t.Fatalf("guest on a sees %+v, want c's guest online", ml)
	}
	ga.expect(wire.TypeJoinedRoom)
	gb := b.dial("/ws?room=shed")
	gb.expect(wire.TypeMemberList)
	gb.expect(wire.TypeJoinedRoom)
	waitHeardAll(t, a, b, c)
	if b.presence.Online(gc.welcome.User) {
		t.Fatal("node b keeps a guest it shares no chat with")
	}
	yard := mustChat(t, a, "yard")

	c.nc.Close() // c dies: no goodbye, no more heartbeats
	var left wire.MemberEvent
	ga.waitFor(wire.TypeLeftRoom).decode(t, &left)
	if left.User != gc.welcome.User {
		t.Fatalf("LeftRoom = %+v, want c's guest", left)
	}
	for _, tn := range []*testNode{a, b} {
		if l := tn.memberList(t, yard); slices.Contains(l.Users, gc.welcome.User) {
			t.Fatalf("member list on node %s = %+v, still lists the dead node's guest", tn.ID(), l)
		}
	}
	// Once: the guest's next message comes after no other LeftRoom (the
	// chat's events and messages reach a device in order).
	ga.chatFrame(wire.TypeSendMessage, `{"room":"yard","message":"still here"}`)
	for {
		f, ok := ga.next(10 * time.Second)
		if !ok {
			t.Fatal("the guest's own message did not come back")
		}
		if f.Message.Type == wire.TypeLeftRoom {
			t.Fatalf("a second LeftRoom: %s", f.Raw)
		}
		if f.Message.Type == wire.TypeNewMessage {
			break
		}
	}
}
