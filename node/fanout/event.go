package fanout

import (
	"bytes"
	"fmt"
	"log/slog"

	"github.com/nats-io/nats.go"

	"github.com/natterchat/natter/node/wsconn"
	"github.com/natterchat/natter/subjects"
)

// A chat event is a notice for the devices of a chat's members that is
// not stored: a join or leave, and whatever kinds come later (typing,
// receipts). It travels on subjects.ChatEvent(chat, kind) as the client
// frame itself, encoded once by the node that publishes it, behind one
// line that names the format and the user whose devices skip it:
//
//	natter-event/1 <skip user id, or nothing>\n<client frame>
//
// The dispatcher delivers the frame's bytes in the chat's order without
// knowing what they mean, so a new kind of event needs no change here. A
// line rather than NATS headers: every node receives every join of a
// connection storm, and a message with headers is a header map of garbage
// per node per join (garbage that pins the pages of the connections'
// long-lived objects, docs/benchmarks.md). Nodes of earlier versions
// published a JSON record on the same subjects; during a rolling upgrade
// those fail the format check and are dropped, not sent to clients.

// eventPrefix starts every chat event.
const eventPrefix = "natter-event/1 "

// encodeEvent is a chat event's payload.
func encodeEvent(frame []byte, skipUser string) []byte {
	b := make([]byte, 0, len(eventPrefix)+len(skipUser)+1+len(frame))
	b = append(b, eventPrefix...)
	b = append(b, skipUser...)
	b = append(b, '\n')
	return append(b, frame...)
}

// decodeEvent splits a chat event's payload; ok is false for any other
// format.
func decodeEvent(data []byte) (frame []byte, skipUser string, ok bool) {
	rest, found := bytes.CutPrefix(data, []byte(eventPrefix))
	if !found {
		return nil, "", false
	}
	skip, frame, found := bytes.Cut(rest, []byte{'\n'})
	if !found || len(frame) == 0 {
		return nil, "", false
	}
	return frame, string(skip), true
}

// PublishEvent sends frame, an encoded client frame, to the devices of
// chatID's members on every node, except the devices of skipUser (empty:
// none). Events are best-effort notices: the durable truth is in the
// store.
func (h *Hub) PublishEvent(chatID, kind string, frame []byte, skipUser string) error {
	if err := h.cfg.NC.Publish(subjects.ChatEvent(chatID, kind), encodeEvent(frame, skipUser)); err != nil {
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
	data, skip, ok := decodeEvent(m.Data)
	if !ok {
		d.h.cfg.Limiter.Warn("fanout: chat event of another format dropped", slog.String("subject", m.Subject))
		return
	}
	frame := wsconn.NewTextFrame(data)
	d.users = d.h.reg.chatUsers(chatID, d.users[:0])
	sent := 0
	for _, u := range d.users {
		if u.id == skip {
			continue
		}
		d.devs = u.Devices(d.devs[:0])
		for _, dev := range d.devs {
			dev.SendNotice(frame)
			sent++
		}
	}
	clear(d.users)
	clear(d.devs)
	d.h.metrics.FramesOut.Add(int64(sent))
}
