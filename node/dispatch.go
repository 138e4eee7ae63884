package node

import (
	"context"
	"encoding/json"
	"hash/maphash"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// dispatchBuffer is how many NATS messages a dispatcher's channel holds.
// Past it NATS drops messages for this node (a client-side slow consumer);
// the gap logic then refills them from the stream.
const dispatchBuffer = 1 << 16

// recheckDelay is how long after subscribing a chat is checked once more
// for messages stored before the subscription was visible cluster-wide.
const recheckDelay = 2 * time.Second

// dispatcher delivers the chats hashed to it: the stream's RePublish
// copies from live.chat.<id> and the chat's events (routed from the
// node-wide evt.chat.*.* subscription by routeChatEvent), both on one
// channel, so that a chat's messages and events are delivered by one
// goroutine in the order they reach it. It owns the per-chat delivery cursor and repairs gaps with
// direct gets before delivering, so every device sees each chat as one
// gap-free ordered sequence.
type dispatcher struct {
	n    *Node
	msgs chan *nats.Msg

	mu     sync.Mutex
	ops    []func() // guarded by mu; run by the loop before the next message
	notify chan struct{}

	// canary is the last readiness canary this loop handled (readyz).
	canary atomic.Uint64

	// Owned by the loop goroutine.
	chats map[string]*chatState
	users []*localUser
	devs  []*device
}

// noCursor marks a chat whose cursor could not be read when it was
// subscribed: its first live message sets it.
const noCursor = ^uint64(0)

// chatState is a subscribed chat's delivery state.
type chatState struct {
	c       *localChat // the registry generation this state belongs to
	name    string
	lastSeq uint64 // last sequence delivered to local devices
}

func newDispatcher(n *Node) *dispatcher {
	return &dispatcher{
		n:      n,
		msgs:   make(chan *nats.Msg, dispatchBuffer),
		notify: make(chan struct{}, 1),
		chats:  make(map[string]*chatState),
	}
}

// post queues op to run on the loop goroutine. It never blocks, so it may
// be called under registry locks.
func (d *dispatcher) post(op func()) {
	d.mu.Lock()
	d.ops = append(d.ops, op)
	d.mu.Unlock()
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

func (d *dispatcher) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.notify:
			d.runOps()
		case m := <-d.msgs:
			// Ops posted before a subscription was made (its track op)
			// must run before that subscription's first message.
			d.runOps()
			d.deliver(m)
		}
	}
}

func (d *dispatcher) runOps() {
	d.mu.Lock()
	ops := d.ops
	d.ops = nil
	d.mu.Unlock()
	for _, op := range ops {
		op()
	}
}

// track starts delivery of c from baseline (the chat's last sequence,
// read before subscribing; anything after it is delivered live or
// repaired).
func (d *dispatcher) track(c *localChat, name string, baseline uint64) {
	d.post(func() { d.chats[c.id] = &chatState{c: c, name: name, lastSeq: baseline} })
	time.AfterFunc(recheckDelay, func() { d.post(func() { d.recheck(c.id) }) })
}

// untrack ends delivery of c unless a newer generation replaced it.
func (d *dispatcher) untrack(c *localChat) {
	d.post(func() {
		if st := d.chats[c.id]; st != nil && st.c == c {
			delete(d.chats, c.id)
		}
	})
}

// recheck delivers whatever the stream holds past the chat's cursor; run
// after subscribing and after a NATS reconnect.
func (d *dispatcher) recheck(chatID string) {
	if st := d.chats[chatID]; st != nil && st.lastSeq != noCursor {
		if !d.repair(st, 0) {
			d.retryLater(chatID)
		}
	}
}

func (d *dispatcher) recheckAll() {
	for id := range d.chats {
		d.recheck(id)
	}
}

func (d *dispatcher) retryLater(chatID string) {
	time.AfterFunc(time.Second, func() { d.post(func() { d.recheck(chatID) }) })
}

func (d *dispatcher) deliver(m *nats.Msg) {
	if chatID, ok := subjects.ParseLiveChat(m.Subject); ok {
		d.deliverLive(chatID, m)
		return
	}
	if chatID, kind, ok := subjects.ParseChatEvent(m.Subject); ok {
		d.deliverEvent(chatID, kind, m)
		return
	}
	if _, _, ok := subjects.ParseNodeRequest(m.Subject); ok {
		if v, err := strconv.ParseUint(string(m.Data), 10, 64); err == nil {
			d.canary.Store(v)
		}
	}
}

func (d *dispatcher) deliverLive(chatID string, m *nats.Msg) {
	st := d.chats[chatID]
	if st == nil {
		return // unsubscribed meanwhile
	}
	msg, prev, err := store.DecodeLive(m)
	if err != nil {
		d.n.logLimited("fanout: undecodable live message", slog.String("subject", m.Subject), slog.Any("err", err))
		return
	}
	if st.lastSeq == noCursor {
		st.lastSeq = prev
	}
	if msg.Seq <= st.lastSeq {
		return // delivered already, by a repair
	}
	if prev > st.lastSeq {
		// Messages of this chat were stored that this node did not see
		// (missed while subscribing, dropped as a slow consumer, lost over
		// a reconnect): deliver them first.
		d.n.metrics.gapsDetected.Add(1)
		if !d.repair(st, msg.Seq) || st.lastSeq != prev {
			// The stream could not be read, or the replica that answered
			// does not have the missing messages yet: deliver nothing out
			// of order; the recheck delivers this message too.
			d.retryLater(chatID)
			return
		}
	}
	d.fanout(st, &msg)
}

// repair delivers the chat's stored messages after st.lastSeq and before
// upTo (0: all). It reports false if the stream could not be read; the
// cursor then stays where the last delivered message left it.
func (d *dispatcher) repair(st *chatState, upTo uint64) bool {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		page, err := d.n.store.Messages(ctx, st.c.id, store.Page{After: st.lastSeq, Limit: store.MaxPageLimit})
		cancel()
		if err != nil {
			d.n.logLimited("fanout: gap repair failed", slog.String("chat", st.c.id), slog.Any("err", err))
			return false
		}
		for i := range page {
			if upTo != 0 && page[i].Seq >= upTo {
				return true
			}
			d.fanout(st, &page[i])
			d.n.metrics.gapMessagesRepaired.Add(1)
		}
		if len(page) < store.MaxPageLimit {
			return true
		}
	}
}

// fanout encodes m once and queues the same bytes to every local device
// of every member, then advances the chat's cursor.
func (d *dispatcher) fanout(st *chatState, m *store.Message) {
	frame := wsconn.NewTextFrame(wire.Encode(wire.ChannelChatRoom, wire.TypeNewMessage, newMessage(st.name, m)))
	d.users = d.n.reg.chatUsers(st.c.id, d.users[:0])
	sent := 0
	for _, u := range d.users {
		d.devs = u.devicesCopy(d.devs[:0])
		for _, dev := range d.devs {
			if dev.skipDelivery(st.c.id, m) {
				continue
			}
			_ = dev.conn.Send(frame) // a closed device resumes after reconnecting
			sent++
		}
	}
	clear(d.users)
	clear(d.devs)
	st.lastSeq = m.Seq
	mt := d.n.metrics
	mt.messagesFannedOut.Add(1)
	mt.deliveries.Add(int64(sent))
	mt.framesOut.Add(int64(sent))
	mt.publishDeliver.Observe(time.Since(m.PostedAt).Seconds())
}

// chatEvent is the payload of evt.chat.<id>.member and user.<id>.evt.
type chatEvent struct {
	Type string `json:"type"` // wire.TypeJoinedRoom or wire.TypeLeftRoom
	wire.MemberEvent
	// Since is the chat's last sequence when a membership began.
	Since uint64 `json:"since,omitempty"`
	// Guest marks a guest's membership, which no listing or later device
	// can trail (see handleUserEvent).
	Guest bool `json:"guest,omitempty"`
}

func (d *dispatcher) deliverEvent(chatID, kind string, m *nats.Msg) {
	if kind != eventMember {
		return
	}
	var ev chatEvent
	if err := json.Unmarshal(m.Data, &ev); err != nil || (ev.Type != wire.TypeJoinedRoom && ev.Type != wire.TypeLeftRoom) {
		d.n.logLimited("fanout: bad chat event", slog.String("subject", m.Subject))
		return
	}
	frame := wsconn.NewTextFrame(wire.Encode(wire.ChannelChatRoom, ev.Type, ev.MemberEvent))
	d.users = d.n.reg.chatUsers(chatID, d.users[:0])
	for _, u := range d.users {
		if u.id == ev.User {
			continue // the user's own devices hear it from its user event
		}
		d.devs = u.devicesCopy(d.devs[:0])
		for _, dev := range d.devs {
			dev.send(frame)
		}
	}
	clear(d.users)
	clear(d.devs)
}

// finishResume runs on the chat's dispatcher after a device replayed a
// chat up to lastSent: it sends what was delivered live meanwhile, then
// lets live delivery to the device resume, all in the chat's order.
func (d *dispatcher) finishResume(dev *device, chatID, room string, lastSent uint64, limit int) {
	d.post(func() {
		last := lastSent
		more := false
		if st := d.chats[chatID]; st != nil && st.lastSeq != noCursor && st.lastSeq > lastSent {
			var err error
			last, _, err = d.sendStored(dev, chatID, st, lastSent, limit)
			if err != nil {
				dev.sendError(wire.ChannelChatRoom, "", wire.TypeResume, clientError(err))
				dev.endResume(chatID)
				return
			}
			more = last < st.lastSeq
		}
		if !more {
			dev.endResume(chatID)
		}
		dev.send(wsconn.NewTextFrame(wire.Encode(wire.ChannelChatRoom, wire.TypeResumed, wire.Resumed{Room: room, Chat: chatID, LastSeq: last, More: more})))
	})
}

// catchUp runs on the chat's dispatcher for a device that just connected:
// it sends the chat's messages stored after from (the stream position
// before the device's Welcome) up to what was delivered live meanwhile,
// then lets live delivery to the device begin, all in the chat's order.
// A device that cannot be caught up is closed (1013) so that it
// reconnects and resumes rather than miss a message.
func (d *dispatcher) catchUp(dev *device, chatID string, from uint64) {
	d.post(func() {
		defer dev.endResume(chatID)
		st := d.chats[chatID]
		if st == nil || st.lastSeq == noCursor {
			return
		}
		for from < st.lastSeq {
			last, full, err := d.sendStored(dev, chatID, st, from, store.MaxPageLimit)
			if err != nil {
				d.n.logLimited("catch up new device", slog.String("chat", chatID), slog.Any("err", err))
				dev.conn.Close(wsconn.ReasonTryAgain, "could not catch up; reconnect and resume")
				return
			}
			if !full {
				return
			}
			from = last
		}
	})
}

// sendStored sends dev one page (at most limit) of the chat's stored
// messages after `after`, stopping at the last one delivered live
// (st.lastSeq): live delivery sends the rest. It returns the last
// sequence sent (after if none) and whether the page was full and within
// st.lastSeq, so that the caller may ask for the next one.
func (d *dispatcher) sendStored(dev *device, chatID string, st *chatState, after uint64, limit int) (last uint64, full bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	page, err := d.n.store.Messages(ctx, chatID, store.Page{After: after, Limit: limit})
	cancel()
	if err != nil {
		return after, false, err
	}
	last = after
	for i := range page {
		if page[i].Seq > st.lastSeq {
			return last, false, nil
		}
		dev.send(wsconn.NewTextFrame(wire.Encode(wire.ChannelChatRoom, wire.TypeNewMessage, newMessage(st.name, &page[i]))))
		last = page[i].Seq
	}
	return last, len(page) == limit, nil
}

// newMessage is the NewMessage contents of a stored message.
func newMessage(room string, m *store.Message) wire.NewMessage {
	return wire.NewMessage{
		Room: room, User: m.UserID, Message: m.Text, Chat: m.ChatID, Name: m.UserName,
		Seq: m.Seq, ID: m.ID, PostedAt: m.PostedAt, Device: m.DeviceID,
	}
}

// dispatchers shards chats over a few dispatcher loops.
type dispatchers struct {
	seed maphash.Seed
	all  []*dispatcher
}

func (ds *dispatchers) of(chatID string) *dispatcher {
	return ds.all[maphash.String(ds.seed, chatID)%uint64(len(ds.all))]
}
