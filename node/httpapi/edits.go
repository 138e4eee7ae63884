package httpapi

import (
	"net/http"
	"strconv"

	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// The HTTP equivalents of EditMessage, DeleteMessage and React: the same
// chat.Apply, so the same rules and error codes; members' devices get the
// same MessageEdited, MessageDeleted and Reaction frames.

// editMessage is PATCH /api/chats/{id}/messages/{seq} {text, clientMsgId}.
func (a *API) editMessage(w http.ResponseWriter, r *http.Request, who chat.Identity) {
	var in struct {
		Text        string `json:"text"`
		ClientMsgID string `json:"clientMsgId"`
	}
	a.change(w, r, who, &in, func() chat.Change {
		return chat.Change{Kind: store.KindEdit, Text: in.Text, ClientMsgID: in.ClientMsgID}
	})
}

// deleteMessage is DELETE /api/chats/{id}/messages/{seq}.
func (a *API) deleteMessage(w http.ResponseWriter, r *http.Request, who chat.Identity) {
	a.change(w, r, who, nil, func() chat.Change { return chat.Change{Kind: store.KindDelete} })
}

// react is POST /api/chats/{id}/messages/{seq}/reactions {emoji, on, clientMsgId}.
func (a *API) react(w http.ResponseWriter, r *http.Request, who chat.Identity) {
	var in struct {
		Emoji       string `json:"emoji"`
		On          *bool  `json:"on"`
		ClientMsgID string `json:"clientMsgId"`
	}
	a.change(w, r, who, &in, func() chat.Change {
		return chat.Change{Kind: store.KindReact, Emoji: in.Emoji, On: in.On == nil || *in.On, ClientMsgID: in.ClientMsgID}
	})
}

// change runs one change of message {seq} of chat {id}: body (if not
// nil) is decoded first, then made into the change, and the answer is
// the frame the members get, as JSON.
func (a *API) change(w http.ResponseWriter, r *http.Request, who chat.Identity, body any, build func() chat.Change) {
	c, ok := a.chatFor(w, r, who, true)
	if !ok {
		return
	}
	seq, err := strconv.ParseUint(r.PathValue("seq"), 10, 64)
	if err != nil || seq == 0 {
		WriteError(w, http.StatusBadRequest, wire.CodeInvalidField, "seq must be a message's sequence number")
		return
	}
	if body != nil && !decodeBody(w, r, body) {
		return
	}
	ch := build()
	ch.Seq = seq
	e, err := a.cfg.Chat.Apply(r.Context(), who, c, ch)
	if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	var out any
	switch e.Kind {
	case store.KindEdit:
		out = wire.MessageEdited{Room: c.Name, Chat: c.ID, Seq: seq, User: e.UserID, Name: e.UserName, Message: e.Text, EditedAt: e.PostedAt, EventSeq: e.Seq}
	case store.KindDelete:
		out = wire.MessageDeleted{Room: c.Name, Chat: c.ID, Seq: seq, User: e.UserID, Name: e.UserName, EventSeq: e.Seq}
	default:
		out = wire.Reaction{Room: c.Name, Chat: c.ID, Seq: seq, User: e.UserID, Name: e.UserName, Emoji: e.Emoji, On: e.On, EventSeq: e.Seq}
	}
	writeJSON(w, http.StatusOK, out)
}
