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
// before the device's Welcome; a chat is caught up from its own stream's), which then runs on the chat's loop. Chats in resumed
// are replayed by the client's own resume. With posErr (the position
// could not be read) the hold just ends.
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

// runCatchUp is catchUp's work on the loop, for a tracked chat.
func (d *dispatcher) runCatchUp(st *chatState, dev *Device, chatID string, from uint64) {
	defer dev.EndResume(chatID)
	if st.lastSeq == noCursor {
		return
	}
	for from < st.lastSeq {
		last, full, err := d.sendStored(dev, st, from, store.MaxPageLimit)
		if err != nil {
			d.h.cfg.Limiter.Warn("catch up new device", slog.String("chat", chatID), slog.Any("err", err))
			dev.conn.Close(wsconn.ReasonTryAgain, "could not catch up; reconnect and resume")
			return
		}
		if !full {
			return
		}
		from = last
	}
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
	d.post(func() {
		last, more := lastSent, false
		st := d.chats[chatID]
		if st != nil && (st.lastSeq == noCursor || st.lastSeq < lastSent) {
			// The replay read the store past what this node delivered
			// live: the live copies up to lastSent are still to come
			// and must skip the device, or it would get them twice.
			st.releases = append(st.releases, release{dev: dev, seq: lastSent})
			done(last, false, nil)
			return
		}
		if st != nil && st.lastSeq > lastSent {
			var err error
			last, _, err = d.sendStored(dev, st, lastSent, limit)
			if err != nil {
				dev.EndResume(chatID)
				done(lastSent, false, err)
				return
			}
			more = last < st.lastSeq
		}
		if !more {
			dev.EndResume(chatID)
		}
		done(last, more, nil)
	})
}

// sendStored sends dev one page (at most limit) of the chat's stored
// messages after `after`, stopping at the last one delivered live
// (st.lastSeq): live delivery sends the rest. It returns the last
// sequence sent (after if none) and whether the page was full and within
// st.lastSeq, so that the caller may ask for the next one.
func (d *dispatcher) sendStored(dev *Device, st *chatState, after uint64, limit int) (last uint64, full bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	page, err := d.h.cfg.Store.Messages(ctx, st.c.id, store.Page{After: after, Forward: true, Limit: limit})
	cancel()
	if err != nil {
		return after, false, err
	}
	last = after
	for i := range page {
		if page[i].Seq > st.lastSeq {
			return last, false, nil
		}
		dev.Send(wsconn.NewTextFrame(d.h.cfg.Render(st.name, &page[i])))
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
