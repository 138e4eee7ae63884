package fanout

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/natterchat/natter/subjects"
)

// Link adds chatID to u's cached chats and, if u is its first local
// member, subscribes this node to it, delivering from since (nil: from
// now).
func (h *Hub) Link(u *User, chatID string, since *uint64) {
	chatID = h.reg.sharedChatID(chatID)
	if !u.addChat(chatID) {
		return
	}
	if c, created := h.reg.addChatUser(chatID, u); created {
		// The chat counts as delivered from here on (Delivers): its
		// start is told before the subscription's store reads, so that a
		// presence query made meanwhile waits for the chat's snapshot
		// rather than read a view without the chat.
		if h.cfg.OnChatStart != nil {
			h.cfg.OnChatStart(chatID)
		}
		h.subscribe(c, since)
	}
}

// Unlink removes chatID from u's cached chats and unsubscribes when u was
// its last local member.
func (h *Hub) Unlink(u *User, chatID string) {
	if !u.removeChat(chatID) {
		return
	}
	if c, removed := h.reg.removeChatUser(chatID, u); removed {
		c.endSubscription()
		h.loop(c.id).untrack(c)
		if h.cfg.OnChatStop != nil {
			h.cfg.OnChatStop(c.id)
		}
	}
}

// subscribe starts fan-out of c from since (nil: the chat's current last
// sequence): hand the cursor to the chat's loop, then subscribe (the loop
// runs the track op before the subscription's first message). Whatever is
// stored after the cursor is delivered live or repaired from the store.
func (h *Hub) subscribe(c *localChat, since *uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var name string
	chat, err := h.cfg.Store.Chat(ctx, c.id)
	if err == nil {
		name = chat.Name
	}
	var baseline uint64
	if since != nil {
		baseline = *since
	} else if baseline, err = h.cfg.Store.LastSeq(ctx, c.id); err != nil {
		// Without a cursor the recheck would replay the chat's whole
		// history; deliver from the first live message instead.
		h.cfg.Log.Warn("read chat cursor", slog.String("chat", c.id), slog.Any("err", err))
		baseline = noCursor
	}
	d := h.loop(c.id)
	h.reg.activate(c, func() subscription {
		d.track(c, name, baseline)
		subj := subjects.LiveChat(c.id)
		s, err := h.cfg.NC.ChanSubscribe(subj, d.msgs)
		if err != nil {
			h.cfg.Log.Error("subscribe chat", slog.String("subject", subj), slog.Any("err", err))
			return nil
		}
		return s
	})
}

// Ready waits until u's chats are loaded and returns the error of loading
// them. The caller that registered u's first device (AddDevice's first)
// passes first and loads them, even if that device is already gone, so
// that later devices waiting here see a consistent user.
func (h *Hub) Ready(u *User, first bool) error {
	if first {
		u.finishLoad(h.loadChats(u))
	}
	return u.Wait()
}

// loadChats fills a user's membership cache and subscribes this node to
// its chats.
func (h *Hub) loadChats(u *User) error {
	if u.guest {
		return nil // a guest starts with no chats
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.RequestTimeout)
	defer cancel()
	ms, err := h.cfg.Store.UserChats(ctx, u.id)
	if err != nil {
		return fmt.Errorf("fanout: list chats of %s: %w", u.id, err)
	}
	for _, m := range ms {
		h.Link(u, m.ChatID, nil)
	}
	// The listing may trail a join or leave announced a moment ago.
	for _, c := range h.cfg.Recent.Of(u.id) {
		if c.Joined {
			h.Link(u, c.Chat, &c.Since)
		} else {
			h.Unlink(u, c.Chat)
		}
	}
	if h.cfg.Relist > 0 {
		// A join after the first listing arrives as a user event anyway;
		// the relist catches one made just before it on another replica.
		// It gives up by itself once the hub is closed, so a Close that
		// is waiting never waits for it.
		time.AfterFunc(h.cfg.Relist, func() { h.relist(u) })
	}
	return nil
}

// relist links chats that the first listing missed, delivering each from
// the point its membership began.
func (h *Hub) relist(u *User) {
	if h.closed.Load() || h.reg.user(u.id) != u {
		return // shutting down, or the user's devices are gone
	}
	ctx, cancel := context.WithTimeout(context.Background(), h.cfg.RequestTimeout)
	defer cancel()
	ms, err := h.cfg.Store.UserChats(ctx, u.id)
	if err != nil {
		h.cfg.Limiter.Warn("relist user chats", slog.String("user", u.id), slog.Any("err", err))
		return
	}
	for _, m := range ms {
		if !u.IsMember(m.ChatID) {
			h.Link(u, m.ChatID, &m.Since)
		}
	}
}
