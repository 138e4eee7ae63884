package fanout

import (
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/subjects"
)

// A chat event is a notice for the devices of a chat's members that is
// not stored: a join or leave, and whatever kinds come later (typing,
// receipts). It travels on subjects.ChatEvent(chat, kind) as the client
// frame itself, encoded once by the node that publishes it, with the user
// whose devices skip it in a header. The dispatcher delivers its bytes in
// the chat's order without knowing what they mean, so a new kind of event
// needs no change here.

// skipHeader names the user whose devices do not get an event (they hear
// of it another way, or it is their own).
const skipHeader = "Natter-Skip-User"

// formatHeader marks the event's format: the payload is a client frame.
// Nodes of earlier versions published a JSON record on the same subjects;
// during a rolling upgrade theirs are dropped here rather than sent to
// clients as frames.
const formatHeader, formatFrame = "Natter-Event", "frame/1"

// PublishEvent sends frame, an encoded client frame, to the devices of
// chatID's members on every node, except the devices of skipUser (empty:
// none). Events are best-effort notices: the durable truth is in the
// store.
func (h *Hub) PublishEvent(chatID, kind string, frame []byte, skipUser string) error {
	m := nats.NewMsg(subjects.ChatEvent(chatID, kind))
	m.Data = frame
	m.Header.Set(formatHeader, formatFrame)
	if skipUser != "" {
		m.Header.Set(skipHeader, skipUser)
	}
	if err := h.cfg.NC.PublishMsg(m); err != nil {
		return fmt.Errorf("fanout: publish %s event of %s: %w", kind, chatID, err)
	}
	return nil
}

// routeChatEvent hands a chat event to the chat's loop when the chat has
// local members. Chat events come through one node-wide subscription
// (subjects.ChatEventWildcard) rather than one per chat: a subscription
// per chat cost ~1 KiB in the client and the server, about 100 B per
// connection in rooms of 10. The handler runs on the subscription's own
// goroutine and never blocks: if the loop is that far behind, the notice
// is dropped as NATS would drop it for a slow consumer.
func (h *Hub) routeChatEvent(m *nats.Msg) {
	chatID, _, ok := subjects.ParseChatEvent(m.Subject)
	if !ok || h.reg.chat(chatID) == nil {
		return
	}
	select {
	case h.loop(chatID).msgs <- m:
	default:
		h.cfg.Limiter.Warn("fanout: dispatcher full, chat event dropped", slog.String("chat", chatID))
	}
}

// deliverEvent queues an event's frame to the local devices of chatID's
// members but the skipped user's.
func (d *dispatcher) deliverEvent(chatID string, m *nats.Msg) {
	if len(m.Data) == 0 || m.Header.Get(formatHeader) != formatFrame {
		d.h.cfg.Limiter.Warn("fanout: chat event of another format dropped", slog.String("subject", m.Subject))
		return
	}
	frame := wsconn.NewTextFrame(m.Data)
	skip := m.Header.Get(skipHeader)
	d.users = d.h.reg.chatUsers(chatID, d.users[:0])
	sent := 0
	for _, u := range d.users {
		if u.id == skip {
			continue
		}
		d.devs = u.Devices(d.devs[:0])
		for _, dev := range d.devs {
			dev.Send(frame)
			sent++
		}
	}
	clear(d.users)
	clear(d.devs)
	d.h.metrics.FramesOut.Add(int64(sent))
}
