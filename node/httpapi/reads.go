package httpapi

import (
	"net/http"

	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// readState is a chat's read state for the caller in GET /api/chats: the
// chat's newest sequence, the caller's read marker and the others'
// messages after it.
type readState struct {
	LastSeq uint64 `json:"lastSeq"`
	ReadSeq uint64 `json:"readSeq"`
	Unread  uint64 `json:"unread"`
}

// addReadState fills the read state of out, the chats of memberships ms
// in the same order. It answers errors itself.
func (a *API) addReadState(w http.ResponseWriter, r *http.Request, who chat.Identity, ms []store.Member, out []chatWithRole) bool {
	st, err := a.cfg.Chat.ReadState(r.Context(), who.ID, ms)
	if err != nil {
		a.writeOpError(w, r, err)
		return false
	}
	for i := range out {
		out[i].readState = readState{LastSeq: st[i].LastSeq, ReadSeq: st[i].ReadSeq, Unread: st[i].Unread}
	}
	return true
}

// markReadRequest is the body of POST /api/chats/{id}/read.
type markReadRequest struct {
	Seq uint64 `json:"seq"`
}

// markRead is MarkRead over HTTP: the caller's marker moves forward to
// seq, and the devices that should hear of it do, as for the frame.
func (a *API) markRead(w http.ResponseWriter, r *http.Request, who chat.Identity) {
	var in markReadRequest
	if !decodeBody(w, r, &in) {
		return
	}
	c, ok := a.chatFor(w, r, who, true)
	if !ok {
		return
	}
	rm, moved, err := a.cfg.Chat.MarkRead(r.Context(), who, c, in.Seq)
	if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		wire.ReadMarker
		Moved bool `json:"moved"`
	}{rm, moved})
}

// chatReads lists the read marker of every member of a chat (the "seen
// by" of each message); members only.
func (a *API) chatReads(w http.ResponseWriter, r *http.Request, who chat.Identity) {
	c, ok := a.chatFor(w, r, who, true)
	if !ok {
		return
	}
	reads, err := a.cfg.Chat.ChatReads(r.Context(), c)
	if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": c.ID, "reads": reads})
}
