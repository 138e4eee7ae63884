package httpapi

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

type createChatRequest struct {
	Name    string     `json:"name"`
	Kind    store.Kind `json:"kind"`
	Members []string   `json:"members"`
}

// createChat creates a public room, private group or direct chat.
func (a *API) createChat(w http.ResponseWriter, r *http.Request, who chat.Identity) {
	var in createChatRequest
	if !decodeBody(w, r, &in) {
		return
	}
	members, ok := chatMembers(w, in, who)
	if !ok {
		return
	}
	c := store.Chat{ID: chat.NewID(), Name: in.Name, Kind: in.Kind, CreatedBy: who.ID, CreatedAt: time.Now().UTC()}
	if in.Kind == store.Direct {
		c.ID = chat.DirectChatID(members[0], members[1])
		if existing, err := a.cfg.Store.Chat(r.Context(), c.ID); err == nil {
			writeJSON(w, http.StatusOK, existing)
			return
		}
	} else if err := chat.ValidName("name", in.Name, chat.MaxRoomNameLen); err != nil {
		a.writeOpError(w, r, err)
		return
	}
	whos, ok := a.identities(w, r, members)
	if !ok {
		return
	}
	ms := make([]store.Member, len(whos))
	for i, m := range whos {
		ms[i] = store.Member{UserID: m.ID, Name: m.Name}
	}
	if err := a.cfg.Store.CreateChat(r.Context(), c, ms); err != nil {
		if errors.Is(err, store.ErrNameTaken) {
			WriteError(w, http.StatusConflict, CodeNameTaken, "a public room named "+quote(in.Name)+" exists")
			return
		}
		a.writeOpError(w, r, err)
		return
	}
	for _, m := range whos {
		a.cfg.Chat.Announce(c, m, true, 0) // a new chat has no messages
	}
	writeJSON(w, http.StatusCreated, c)
}

// chatMembers validates a create request's kind and members and returns
// the members, the creator first.
func chatMembers(w http.ResponseWriter, in createChatRequest, who chat.Identity) ([]string, bool) {
	if in.Kind == "" {
		WriteError(w, http.StatusBadRequest, wire.CodeMissingField, "kind is required: public, private or direct")
		return nil, false
	}
	if !in.Kind.Valid() {
		WriteError(w, http.StatusBadRequest, wire.CodeInvalidField, "kind must be public, private or direct")
		return nil, false
	}
	members := []string{who.ID}
	for _, m := range in.Members {
		if !subjects.ValidID(m) {
			WriteError(w, http.StatusBadRequest, CodeInvalidID, "member "+quote(m)+" is not a valid user id")
			return nil, false
		}
		if !slices.Contains(members, m) {
			members = append(members, m)
		}
	}
	if in.Kind == store.Direct && len(members) != 2 {
		WriteError(w, http.StatusBadRequest, wire.CodeInvalidField, "a direct chat has exactly one other member")
		return nil, false
	}
	return members, true
}

// identities loads the users of ids: every member must exist, and their
// names go into the memberships.
func (a *API) identities(w http.ResponseWriter, r *http.Request, ids []string) ([]chat.Identity, bool) {
	whos := make([]chat.Identity, 0, len(ids))
	for _, id := range ids {
		u, err := a.cfg.Store.User(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			WriteError(w, http.StatusNotFound, CodeNotFound, "no user "+quote(id))
			return nil, false
		} else if err != nil {
			a.writeOpError(w, r, err)
			return nil, false
		}
		whos = append(whos, chat.Identity{ID: u.ID, Name: u.Name})
	}
	return whos, true
}

type chatWithRole struct {
	store.Chat
	Role     string    `json:"role"`
	JoinedAt time.Time `json:"joinedAt"`
	readState
}

func (a *API) listChats(w http.ResponseWriter, r *http.Request, who chat.Identity) {
	ms, err := a.cfg.Store.UserChats(r.Context(), who.ID)
	if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	out := make([]chatWithRole, 0, len(ms))
	kept := ms[:0]
	for _, m := range ms {
		c, err := a.cfg.Store.Chat(r.Context(), m.ChatID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			a.writeOpError(w, r, err)
			return
		}
		out = append(out, chatWithRole{Chat: c, Role: m.Role, JoinedAt: m.JoinedAt})
		kept = append(kept, m)
	}
	if !a.addReadState(w, r, who, kept, out) { // reads.go
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"chats": out})
}

// chatFor loads the chat of the {id} path segment and, unless it is
// public, requires who to be a member. It answers errors itself.
func (a *API) chatFor(w http.ResponseWriter, r *http.Request, who chat.Identity, mustBeMember bool) (store.Chat, bool) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return store.Chat{}, false
	}
	c, err := a.cfg.Chat.Resolve(r.Context(), wire.ChatRef{Chat: id})
	if err != nil {
		a.writeOpError(w, r, err)
		return c, false
	}
	if mustBeMember || c.Kind != store.Public {
		if err := a.cfg.Chat.RequireMember(r.Context(), who.ID, c.ID); err != nil {
			a.writeOpError(w, r, err)
			return c, false
		}
	}
	return c, true
}

func (a *API) getChat(w http.ResponseWriter, r *http.Request, who chat.Identity) {
	c, ok := a.chatFor(w, r, who, false)
	if !ok {
		return
	}
	l, err := a.cfg.Chat.MemberList(r.Context(), c)
	if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": c.ID, "name": c.Name, "kind": c.Kind, "createdBy": c.CreatedBy, "createdAt": c.CreatedAt, "members": l.Members,
	})
}

func (a *API) joinChat(w http.ResponseWriter, r *http.Request, who chat.Identity) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	c, j, err := a.cfg.Chat.Join(r.Context(), who, wire.ChatRef{Chat: id})
	if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	if j.Added {
		a.cfg.Chat.Announce(c, who, true, j.Since)
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": c.ID, "joined": j.Added})
}

func (a *API) leaveChat(w http.ResponseWriter, r *http.Request, who chat.Identity) {
	c, ok := a.chatFor(w, r, who, true)
	if !ok {
		return
	}
	removed, err := a.cfg.Chat.RemoveMember(r.Context(), c, who)
	if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": c.ID, "left": removed})
}
