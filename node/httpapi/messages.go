package httpapi

import (
	"net/http"
	"strconv"
	"time"

	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// apiMessage is a message in API answers; a deleted one has only its
// seq and deleted.
type apiMessage struct {
	Seq      uint64    `json:"seq"`
	ID       string    `json:"id,omitempty"`
	User     string    `json:"user,omitempty"`
	Name     string    `json:"name,omitempty"`
	Device   string    `json:"device,omitempty"`
	Message  string    `json:"message,omitempty"`
	PostedAt time.Time `json:"postedAt,omitzero"`
	// Replies, edits, deletions and reactions (edits.go).
	ReplyTo   *wire.ReplyRef      `json:"replyTo,omitempty"`
	EditedAt  *time.Time          `json:"editedAt,omitempty"`
	Deleted   bool                `json:"deleted,omitempty"`
	Reactions map[string][]string `json:"reactions,omitempty"`
}

func (a *API) listMessages(w http.ResponseWriter, r *http.Request, who chat.Identity) {
	c, ok := a.chatFor(w, r, who, true)
	if !ok {
		return
	}
	p, ok := pageOf(w, r)
	if !ok {
		return
	}
	msgs, err := a.cfg.Chat.History(r.Context(), who, c.ID, p)
	if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	out := make([]apiMessage, len(msgs))
	for i := range msgs {
		m := chat.HistoryMessage(c.Name, &msgs[i])
		out[i] = apiMessage{Seq: m.Seq, ID: m.ID, User: m.User, Name: m.Name, Device: m.Device, Message: m.Message, PostedAt: m.PostedAt,
			ReplyTo: m.ReplyTo, EditedAt: m.EditedAt, Deleted: m.Deleted, Reactions: m.Reactions}
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": c.ID, "messages": out})
}

// pageOf reads the before, after and limit query parameters, answering
// a malformed one itself.
func pageOf(w http.ResponseWriter, r *http.Request) (store.Page, bool) {
	var p store.Page
	for _, f := range []struct {
		name string
		dst  *uint64
	}{{"before", &p.Before}, {"after", &p.After}} {
		if v := r.URL.Query().Get(f.name); v != "" {
			x, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				WriteError(w, http.StatusBadRequest, wire.CodeInvalidField, f.name+" must be a sequence number")
				return p, false
			}
			*f.dst = x
			// after=0 asks for every message from the first one.
			p.Forward = f.name == "after"
		}
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		x, err := strconv.Atoi(v)
		if err != nil || x < 1 {
			WriteError(w, http.StatusBadRequest, wire.CodeInvalidField, "limit must be a positive number")
			return p, false
		}
		p.Limit = x
	}
	return p, true
}

// postMessage is the seeds' HTTP publish.
func (a *API) postMessage(w http.ResponseWriter, r *http.Request, who chat.Identity) {
	c, ok := a.chatFor(w, r, who, true)
	if !ok {
		return
	}
	var in struct {
		Text        string `json:"text"`
		ClientMsgID string `json:"clientMsgId"`
		ReplyTo     uint64 `json:"replyTo"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	m, dup, err := a.cfg.Chat.Send(r.Context(), who, nil, c, chat.Post{Text: in.Text, ClientMsgID: in.ClientMsgID, ReplyTo: in.ReplyTo})
	if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"chat": c.ID, "id": m.ID, "seq": m.Seq, "duplicate": dup})
}
