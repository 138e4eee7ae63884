package httpapi

import (
	"errors"
	"net/http"

	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/presence"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// addMember lets a member of a private chat add another user.
func (a *API) addMember(w http.ResponseWriter, r *http.Request, who chat.Identity) {
	c, ok := a.chatFor(w, r, who, true)
	if !ok {
		return
	}
	var in struct {
		User string `json:"user"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	switch {
	case in.User == "":
		WriteError(w, http.StatusBadRequest, wire.CodeMissingField, "user is required")
		return
	case !subjects.ValidID(in.User):
		WriteError(w, http.StatusBadRequest, CodeInvalidID, "user must be 1-64 characters of [A-Za-z0-9_-]")
		return
	case c.Kind == store.Direct:
		WriteError(w, http.StatusForbidden, wire.CodeForbidden, "a direct chat has exactly two members")
		return
	}
	u, err := a.cfg.Store.User(r.Context(), in.User)
	if errors.Is(err, store.ErrNotFound) {
		WriteError(w, http.StatusNotFound, CodeNotFound, "no user "+quote(in.User))
		return
	} else if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	target := chat.Identity{ID: u.ID, Name: u.Name}
	j, err := a.cfg.Chat.AddMember(r.Context(), c, target, store.RoleMember)
	if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	if j.Added {
		a.cfg.Chat.Announce(c, target, true, j.Since)
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": c.ID, "user": u.ID, "added": j.Added})
}

// removeMember: the owner removes anyone, a member removes itself.
func (a *API) removeMember(w http.ResponseWriter, r *http.Request, who chat.Identity) {
	c, ok := a.chatFor(w, r, who, true)
	if !ok {
		return
	}
	userID, ok := pathID(w, r, "user")
	if !ok {
		return
	}
	if userID != who.ID {
		me, err := a.cfg.Store.Member(r.Context(), c.ID, who.ID)
		if err != nil {
			a.writeOpError(w, r, err)
			return
		}
		if me.Role != store.RoleOwner {
			WriteError(w, http.StatusForbidden, wire.CodeForbidden, "only the chat's owner removes other members")
			return
		}
	}
	target := chat.Identity{ID: userID}
	if m, err := a.cfg.Store.Member(r.Context(), c.ID, userID); err == nil {
		target.Name = m.Name
	}
	removed, err := a.cfg.Chat.RemoveMember(r.Context(), c, target)
	if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": c.ID, "user": userID, "removed": removed})
}

type onlineMember struct {
	User    string                `json:"user"`
	Name    string                `json:"name"`
	Devices []presence.DeviceInfo `json:"devices"`
}

// presence lists a chat's members that are online, with their devices:
// from the presence view if the chat is delivered here, else as the
// cluster answers for it now.
func (a *API) presence(w http.ResponseWriter, r *http.Request, who chat.Identity) {
	c, ok := a.chatFor(w, r, who, true)
	if !ok {
		return
	}
	ms, err := a.cfg.Store.Members(r.Context(), c.ID)
	if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	pv, err := a.cfg.Presence.Chat(r.Context(), c.ID)
	if err != nil {
		a.writeOpError(w, r, err)
		return
	}
	online := []onlineMember{}
	for _, m := range ms {
		if devs := pv.Devices(m.UserID); len(devs) > 0 {
			online = append(online, onlineMember{User: m.UserID, Name: m.Name, Devices: devs})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": c.ID, "online": online})
}
