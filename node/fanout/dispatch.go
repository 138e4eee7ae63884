package fanout

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// dispatcher delivers the chats hashed to it: the stream's RePublish
// copies and the chat's events, both from live.chat.<id> on one
// channel, so that a chat's messages and events are delivered by one
// goroutine in the order they reach it. It owns the per-chat delivery
// cursor and repairs gaps from the store before delivering, so every
// device sees each chat as one gap-free ordered sequence.
type dispatcher struct {
	h    *Hub
	msgs chan *nats.Msg

	mu     sync.Mutex
	ops    []func() // guarded by mu; run by the loop before the next message
	notify chan struct{}

	// canary is the last readiness canary this loop handled.
	canary atomic.Uint64

	// Owned by the loop goroutine.
	chats map[string]*chatState
	// waiting holds the catch-ups of devices whose chat is not tracked
	// yet: another user's Link subscribes it and reads its cursor, and
	// this device's user found it linked before that was done.
	waiting map[string][]waitingCatchUp
	users   []*User
	devs    []*Device
	members []chatMember
	parts   [][]byte
}

// noCursor marks a chat whose cursor could not be read when it was
// subscribed: its first live message sets it.
const noCursor = ^uint64(0)

// chatState is a subscribed chat's delivery state.
type chatState struct {
	c       *localChat // the registry generation this state belongs to
	name    string
	lastSeq uint64 // last sequence delivered to local devices
	// releases are devices whose replay went past lastSeq: they skip the
	// chat until live delivery reaches what they were sent (release).
	releases []release
	// notices are the chat's events waiting to leave together
	// (notices.go); nil when none wait.
	notices *noticeBatch
}

func newDispatcher(h *Hub, buffer int) *dispatcher {
	return &dispatcher{
		h:      h,
		msgs:   make(chan *nats.Msg, buffer),
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
	d.post(func() {
		st := &chatState{c: c, name: name, lastSeq: baseline}
		d.chats[c.id] = st
		w := d.waiting[c.id]
		delete(d.waiting, c.id)
		for _, p := range w {
			d.runCatchUp(st, p.dev, c.id, p.from)
		}
	})
	time.AfterFunc(d.h.cfg.RecheckDelay, func() { d.post(func() { d.recheck(c.id) }) })
}

// untrack ends delivery of c unless a newer generation replaced it.
func (d *dispatcher) untrack(c *localChat) {
	d.post(func() {
		if st := d.chats[c.id]; st != nil && st.c == c {
			st.releaseUpTo(noCursor)
			delete(d.chats, c.id)
		}
		if d.chats[c.id] == nil {
			// The chat went before it was tracked: its last local member
			// left, so nothing of it is owed to these devices.
			for _, p := range d.waiting[c.id] {
				p.dev.EndResume(c.id)
			}
			delete(d.waiting, c.id)
		}
	})
}

// RecheckAll checks every subscribed chat for messages stored past its
// cursor and delivers them: after a NATS reconnect, live copies sent
// while the node was away never arrive.
func (h *Hub) RecheckAll() {
	for _, d := range h.loops {
		d.post(d.recheckAll)
	}
}

// recheck delivers whatever the store holds past the chat's cursor; run
// after subscribing and after a NATS reconnect.
func (d *dispatcher) recheck(chatID string) {
	if st := d.chats[chatID]; st != nil && st.lastSeq != noCursor {
		if !d.repair(st, 0) {
			d.retryLater(chatID)
		}
	}
}

// RecheckAfterReconnect is RecheckAll for a NATS reconnect, without its
// window: the check reads the store only once the server has taken the
// subscriptions the client sent again (a flush), so that a message is
// either stored before the read or delivered live after it; and once
// more RecheckDelay later, for a replica that answered the first read
// without the newest messages. A message stored in that window was
// otherwise held back until the chat's next message showed the gap.
func (h *Hub) RecheckAfterReconnect() {
	go func() {
		_ = h.cfg.NC.FlushTimeout(5 * time.Second) // a failed flush: the checks still run
		h.RecheckAll()
		time.AfterFunc(h.cfg.RecheckDelay, h.RecheckAll)
	}()
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
		if isEvent(m) {
			d.deliverEvent(chatID, m)
		} else {
			d.deliverLive(chatID, m)
		}
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
		d.h.cfg.Limiter.Warn("fanout: undecodable live message", slog.String("subject", m.Subject), slog.Any("err", err))
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
		d.h.metrics.GapsDetected.Add(1)
		if !d.repair(st, msg.Seq) || st.lastSeq != prev {
			// The store could not be read, or the replica that answered
			// does not have the missing messages yet: deliver nothing out
			// of order; the recheck delivers this message too.
			d.retryLater(chatID)
			return
		}
	}
	d.fanout(st, &msg)
}

// repair delivers the chat's stored messages after st.lastSeq and before
// upTo (0: all). It reports false if the store could not be read; the
// cursor then stays where the last delivered message left it.
func (d *dispatcher) repair(st *chatState, upTo uint64) bool {
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		page, err := d.h.cfg.Store.Messages(ctx, st.c.id, store.Page{After: st.lastSeq, Forward: true, Limit: store.MaxPageLimit})
		cancel()
		if err != nil {
			d.h.cfg.Limiter.Warn("fanout: gap repair failed", slog.String("chat", st.c.id), slog.Any("err", err))
			return false
		}
		for i := range page {
			if upTo != 0 && page[i].Seq >= upTo {
				return true
			}
			d.fanout(st, &page[i])
			d.h.metrics.GapMessagesRepaired.Add(1)
		}
		if len(page) < store.MaxPageLimit {
			return true
		}
	}
}

// fanout encodes m once and queues the same bytes to every local device
// of every member, then advances the chat's cursor.
func (d *dispatcher) fanout(st *chatState, m *store.Message) {
	if b := st.notices; b != nil {
		d.flushNotices(st, b) // the chat's events before its message
	}
	if len(st.releases) > 0 {
		// A device whose catch-up reached past the cursor has every
		// message up to its mark: one after it is its to get.
		st.releaseUpTo(m.Seq - 1)
	}
	frame := wsconn.NewTextFrame(d.h.cfg.Render(st.name, m))
	d.users = d.h.reg.chatUsers(st.c.id, d.users[:0])
	sent := 0
	for _, u := range d.users {
		d.devs = u.Devices(d.devs[:0])
		for _, dev := range d.devs {
			if dev.skipDelivery(st.c.id, m) {
				continue
			}
			// skipDelivery has looked at the hold already: straight to
			// the connection, not through Send's second look (a lock
			// for a device replaying another chat). A closed device
			// resumes after reconnecting.
			_ = dev.conn.Send(frame)
			sent++
		}
	}
	clear(d.users)
	clear(d.devs)
	st.lastSeq = m.Seq
	if len(st.releases) > 0 {
		st.releaseUpTo(st.lastSeq)
	}
	mt := d.h.metrics
	mt.MessagesFannedOut.Add(1)
	mt.Deliveries.Add(int64(sent))
	mt.FramesOut.Add(int64(sent))
	mt.PublishDeliver.Observe(time.Since(m.PostedAt).Seconds())
}
