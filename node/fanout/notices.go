package fanout

import (
	"time"

	"github.com/natterchat/natter/node/wsconn"
)

// A storm of joins tells every member of a room of every other member's
// join: a room of N filling up is N events for up to N members each.
// Queued one by one that is N² pushes onto devices' queues, and each push
// touches a member's user, device and connection, cold in a node of many
// connections: 12 % of a join's CPU in a storm into rooms of 100
// (docs/benchmarks.md). While the node is in a storm (Hub.SetNoticeBatch)
// a chat's events wait on its loop instead and leave together: the
// batch's frames are encoded once into one buffer and each member's
// devices get one Frame of the parts they are owed, one push each.
//
// A member is owed the events that came while it was a member (the
// chat's count of additions, chatMember.since) and that do not skip its
// user, as when each event is delivered on its own. The batch leaves
// before any message of the chat (fanout), so a chat's order is kept,
// and at the latest the batch delay after its first event; its frames
// then wait as notices (Device.SendNotice) for the device's next write.

// Limits of one batch, so that a member's share stays a small part of
// its queue (wsconn.Config.MaxOutboundBytes) and a member's events are
// found by a short scan. A full batch leaves at once.
const (
	maxBatchEvents = 64
	maxBatchBytes  = 32 << 10
)

// noticeBatch is a chat's events waiting on its loop to leave together.
type noticeBatch struct {
	buf   []byte   // their frames, encoded one after another
	ends  []int    // where each event's frame ends in buf
	added []uint64 // the chat's count of additions when each came
	skips []*User  // the user each skips (nil: none)
}

// add appends an event's frame.
func (b *noticeBatch) add(frame []byte, added uint64, skip *User) {
	b.buf = wsconn.AppendTextFrame(b.buf, frame)
	b.ends = append(b.ends, len(b.buf))
	b.added = append(b.added, added)
	b.skips = append(b.skips, skip)
}

// full reports whether a frame of n more bytes would not fit.
func (b *noticeBatch) full(n int) bool {
	return len(b.ends) >= maxBatchEvents || len(b.buf)+n+wsconn.TextHeaderRoom > maxBatchBytes
}

// owed appends to parts the runs of b's frames that m is owed, and
// returns them with how many events they hold.
func (b *noticeBatch) owed(m chatMember, parts [][]byte) ([][]byte, int) {
	n, start, begin := 0, -1, 0
	for i, end := range b.ends {
		if b.added[i] >= m.since && b.skips[i] != m.u {
			if start < 0 {
				start = begin
			}
			n++
		} else if start >= 0 {
			parts = append(parts, b.buf[start:begin])
			start = -1
		}
		begin = end
	}
	if start >= 0 {
		parts = append(parts, b.buf[start:])
	}
	return parts, n
}

// SetNoticeBatch has chat events wait up to d on their chat's loop and
// leave together; d <= 0 delivers each as it comes (batches waiting
// still leave when their time is up). A node sets it while a connection
// storm is on.
func (h *Hub) SetNoticeBatch(d time.Duration) { h.noticeBatch.Store(int64(max(d, 0))) }

// batchEvent adds an event to st's batch, starting one if there is none
// (or the one there is is full), and reports true; false, after the
// batch left, if st's chat was dropped or made again since st began
// (the registry's is not st.c): the event is for whatever chat is there
// now, and is delivered on its own.
func (d *dispatcher) batchEvent(st *chatState, frame []byte, skipID string) bool {
	c, added, skip := d.h.reg.chatNow(st.c.id, skipID)
	b := st.notices
	if b != nil && (c != st.c || b.full(len(frame))) {
		d.flushNotices(st, b)
		b = nil
	}
	if c != st.c {
		return false
	}
	if b == nil {
		b = &noticeBatch{}
		st.notices = b
		time.AfterFunc(time.Duration(d.h.noticeBatch.Load()), func() {
			d.post(func() { d.flushNotices(st, b) })
		})
	}
	b.add(frame, added, skip)
	return true
}

// flushNotices queues b's frames to the devices of the members owed
// them, if b is still st's batch.
func (d *dispatcher) flushNotices(st *chatState, b *noticeBatch) {
	if st.notices != b {
		return // left already, before a message or when full
	}
	st.notices = nil
	d.members = d.h.reg.chatMembers(st.c, d.members[:0])
	var all *wsconn.Frame // the whole batch, for every member owed all of it
	sent := 0
	for _, m := range d.members {
		parts, n := b.owed(m, d.parts[:0])
		d.parts = parts
		if n == 0 {
			continue
		}
		if all == nil && n == len(b.ends) {
			all = wsconn.FramesOfParts([][]byte{b.buf})
		}
		f := all
		if n < len(b.ends) {
			f = wsconn.FramesOfParts(append([][]byte(nil), parts...))
		}
		d.devs = m.u.Devices(d.devs[:0])
		for _, dev := range d.devs {
			dev.SendNotice(f)
			sent += n
		}
	}
	clear(d.members)
	clear(d.parts[:cap(d.parts)]) // an earlier member's longer share too
	clear(d.devs)
	d.h.metrics.FramesOut.Add(int64(sent))
}
