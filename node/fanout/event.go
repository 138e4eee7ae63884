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
// receipts). It travels on the chat's live subject, subjects.LiveChat,
// beside the stream's copies of its messages: only the nodes that deliver
// the chat (those with a local member) receive it, and it needs no
// subscription of its own. It is the client frame itself, encoded once by
// the node that publishes it, behind one line that names the format and
// the user whose devices skip it:
//
//	natter-event/1 <skip user id, or nothing>\n<client frame>
//
// The dispatcher delivers the frame's bytes in the chat's order without
// knowing what they mean, so a new kind of event needs no change here. A
// line rather than NATS headers: every node receives every join of a
// connection storm, and a message with headers is a header map of garbage
// per node per join (garbage that pins the pages of the connections'
// long-lived objects, docs/benchmarks.md); and the stream's copies always
// have headers, so a message without any is told apart as an event at
// no cost. Nodes of earlier versions published events on evt.chat.<id>.*
// to a node-wide subscription; during a rolling upgrade the two versions
// do not see each other's events (docs/operations.md).

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
// kind names the event in errors.
func (h *Hub) PublishEvent(chatID, kind string, frame []byte, skipUser string) error {
	if err := h.cfg.NC.Publish(subjects.LiveChat(chatID), encodeEvent(frame, skipUser)); err != nil {
		return fmt.Errorf("fanout: publish %s event of %s: %w", kind, chatID, err)
	}
	return nil
}

// isEvent tells a chat event on a chat's live subject from the stream's
// copy of a message, which always has headers.
func isEvent(m *nats.Msg) bool {
	return m.Header == nil && bytes.HasPrefix(m.Data, []byte(eventPrefix))
}

// DeliverEventHere queues frame, an encoded client frame, to this node's
// devices of chatID's members but skipUser's, in order with the chat's
// other events, without telling other nodes: each node that knows of
// the event tells its own devices (a dead node's guests leaving).
func (h *Hub) DeliverEventHere(chatID string, frame []byte, skipUser string) {
	d := h.loop(chatID)
	m := &nats.Msg{Subject: subjects.LiveChat(chatID), Data: encodeEvent(frame, skipUser)}
	d.post(func() { d.deliverEvent(chatID, m) })
}

// deliverEvent queues an event's frame to the local devices of chatID's
// members but the skipped user's, or adds it to the chat's batch
// (notices.go).
func (d *dispatcher) deliverEvent(chatID string, m *nats.Msg) {
	data, skip, ok := decodeEvent(m.Data)
	if !ok {
		d.h.cfg.Limiter.Warn("fanout: chat event of another format dropped", slog.String("subject", m.Subject))
		return
	}
	if st := d.chats[chatID]; st != nil && (st.notices != nil || d.h.noticeBatch.Load() > 0) && d.batchEvent(st, data, skip) {
		return
	}
	frame := wsconn.NewTextFrame(data)
	d.users = d.h.reg.chatUsersExcept(chatID, skip, d.users[:0])
	sent := 0
	for _, u := range d.users {
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
