package fanout

import (
	"context"
	"log/slog"
	"time"

	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/store"
)

// CatchUp ends a new device's Hold: every chat not in resumed is first
// marked resuming, so that releasing the hold lets no live message through
// before the chat's catch-up from pos.Of(chat) (the store position read
// before the device's Welcome; a chat is caught up from its own stream's),
// which then runs on the chat's loop. Chats in resumed are replayed by the
// client's own resume. With posErr (the position could not be read) the
// hold just ends. Either way the frames the hold kept back are queued
// first (Device.Release), ahead of every caught-up message.
func (h *Hub) CatchUp(d *Device, chats []string, resumed map[string]bool, pos store.Position, posErr error) {
	if posErr != nil {
		h.cfg.Limiter.Warn("read stream position", slog.Any("err", posErr))
		d.Release()
		return
	}
	var todo []string
	for _, chat := range chats {
		if !resumed[chat] {
			d.BeginResume(chat)
			todo = append(todo, chat)
		}
	}
	d.Release()
	for _, chat := range todo {
		h.loop(chat).catchUp(d, chat, pos.Of(chat))
	}
}

// catchUp runs on the chat's loop for a device that just connected: it
// sends the chat's messages stored after from up to what was delivered
// live meanwhile, then lets live delivery to the device begin, all in the
// chat's order. A chat not tracked yet (its subscription is being set up
// by another user's Link) is caught up once it is, from its cursor then.
// A device that cannot be caught up is closed (1013) so that it
// reconnects and resumes rather than miss a message.
func (d *dispatcher) catchUp(dev *Device, chatID string, from uint64) {
	d.post(func() {
		st := d.chats[chatID]
		if st == nil {
			if d.waiting == nil {
				d.waiting = make(map[string][]waitingCatchUp)
			}
			d.waiting[chatID] = append(d.waiting[chatID], waitingCatchUp{dev: dev, from: from})
			return
		}
		d.runCatchUp(st, dev, chatID, from)
	})
}

// waitingCatchUp is a device's catch-up of a chat not tracked yet.
type waitingCatchUp struct {
	dev  *Device
	from uint64
}

// runCatchUp is catchUp's work on the loop, for a tracked chat: the
// hand-over, paging on by itself; a device that cannot be caught up is
// closed (1013) so that it reconnects and resumes rather than miss a
// message.
func (d *dispatcher) runCatchUp(st *chatState, dev *Device, chatID string, from uint64) {
	d.handOver(dev, chatID, from, store.MaxPageLimit, false, func(_ uint64, _ bool, err error) {
		if err != nil {
			d.h.cfg.Limiter.Warn("catch up new device", slog.String("chat", chatID), slog.Any("err", err))
			dev.conn.Close(wsconn.ReasonTryAgain, "could not catch up; reconnect and resume")
		}
	})
}

// FinishResume runs on the chat's loop after a device replayed chatID up
// to lastSent (it called BeginResume first): it sends at most limit
// messages that were delivered live meanwhile and, unless more remain,
// lets live delivery to the device resume; all in the chat's order. done
// then runs on the loop with the last sequence sent and whether more
// remain (the client resumes again from there), or the error that ended
// the replay (live delivery resumes then). done must not block.
func (h *Hub) FinishResume(dev *Device, chatID string, lastSent uint64, limit int, done func(last uint64, more bool, err error)) {
	d := h.loop(chatID)
	d.post(func() { d.handOver(dev, chatID, lastSent, limit, true, done) })
}

// handOver runs on the chat's loop for a device that skips chatID while
// it is caught up, and has every message of it up to sent: once the
// device has every message up to the chat's cursor, live delivery to it
// begins. The stored messages in between are read and sent off the loop
// (a store read on the loop would hold live delivery of every chat of the
// loop, and a storm of reconnects is thousands of them), then the loop
// checks again, since live delivery may have moved on meanwhile. With
// paged (a client's Resume), a full page of limit ends it with more, and
// the client resumes again from there; otherwise it pages on by itself.
// done runs on the loop, once.
func (d *dispatcher) handOver(dev *Device, chatID string, sent uint64, limit int, paged bool, done func(last uint64, more bool, err error)) {
	st := d.chats[chatID]
	switch {
	case st == nil:
		// Not delivered here (any more): nothing is owed to the device.
		dev.EndResume(chatID)
		done(sent, false, nil)
		return
	case st.lastSeq == noCursor || st.lastSeq < sent:
		// The device has what this node has not delivered live yet:
		// the live copies up to sent are still to come and must skip
		// it, or it would get them twice.
		st.releases = append(st.releases, release{dev: dev, seq: sent})
		done(sent, false, nil)
		return
	case st.lastSeq == sent:
		dev.EndResume(chatID)
		done(sent, false, nil)
		return
	}
	c, name, upTo := st.c, st.name, st.lastSeq
	d.h.handOvers.Add(1)
	go func() {
		defer d.h.handOvers.Done()
		last, full, err := d.sendStored(dev, c, name, sent, upTo, limit)
		d.post(func() {
			switch {
			case err != nil:
				dev.EndResume(chatID)
				done(sent, false, err)
			case full && paged && last < upTo:
				done(last, true, nil) // the device keeps skipping the chat
			default:
				d.handOver(dev, chatID, last, limit, paged, done)
			}
		})
	}()
}

// sendStored sends dev one page (at most limit) of the chat's stored
// messages after `after` and up to upTo (what live delivery had sent when
// the page was asked for: live delivery sends the rest). It returns the
// last sequence sent (after if none) and whether the page was full and
// within upTo, so that the caller may ask for the next one. It runs off
// the chat's loop.
func (d *dispatcher) sendStored(dev *Device, c *localChat, name string, after, upTo uint64, limit int) (last uint64, full bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	page, err := d.h.cfg.Store.Messages(ctx, c.id, store.Page{After: after, Forward: true, Limit: limit})
	cancel()
	if err != nil {
		return after, false, err
	}
	last = after
	for i := range page {
		if page[i].Seq > upTo {
			return last, false, nil
		}
		dev.Send(wsconn.NewTextFrame(d.h.cfg.Render(name, &page[i])))
		d.h.metrics.FramesOut.Add(1)
		last = page[i].Seq
	}
	return last, len(page) == limit, nil
}

// release is a device's replay of a chat that went past the chat's
// cursor: it skips live delivery until the cursor reaches seq.
type release struct {
	dev *Device
	seq uint64
}

// releaseUpTo ends the replays up to seq (noCursor: all, the chat is no
// longer delivered here).
func (st *chatState) releaseUpTo(seq uint64) {
	kept := st.releases[:0]
	for _, r := range st.releases {
		if seq == noCursor || r.seq <= seq {
			r.dev.EndResume(st.c.id)
		} else {
			kept = append(kept, r)
		}
	}
	clear(st.releases[len(kept):])
	st.releases = kept
}
