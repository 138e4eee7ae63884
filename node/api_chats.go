package node

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
	"github.com/natterchat/natter/subjects"
)

// directIDSpace namespaces direct chat ids, which are derived from the
// pair of users so that a pair has one direct chat.
var directIDSpace = uuid.MustParse("0b5e1c7a-3f0e-4e0a-9a55-1d2c3b4a5f60")

func directChatID(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return uuid.NewSHA1(directIDSpace, []byte(a+"/"+b)).String()
}

type createChatRequest struct {
	Name    string     `json:"name"`
	Kind    store.Kind `json:"kind"`
	Members []string   `json:"members"`
}

// apiCreateChat creates a public room, private group or direct chat.
func (n *Node) apiCreateChat(w http.ResponseWriter, r *http.Request, who identity) {
	var in createChatRequest
	if !decodeBody(w, r, &in) {
		return
	}
	if in.Kind == "" {
		writeError(w, http.StatusBadRequest, wire.CodeMissingField, "kind is required: public, private or direct")
		return
	}
	if !in.Kind.Valid() {
		writeError(w, http.StatusBadRequest, wire.CodeInvalidField, "kind must be public, private or direct")
		return
	}
	members := []string{who.id}
	for _, m := range in.Members {
		if !subjects.ValidID(m) {
			writeError(w, http.StatusBadRequest, codeInvalidID, "member "+quote(m)+" is not a valid user id")
			return
		}
		if !slices.Contains(members, m) {
			members = append(members, m)
		}
	}
	c := store.Chat{ID: newID(), Name: in.Name, Kind: in.Kind, CreatedBy: who.id, CreatedAt: time.Now().UTC()}
	switch in.Kind {
	case store.Direct:
		if len(members) != 2 {
			writeError(w, http.StatusBadRequest, wire.CodeInvalidField, "a direct chat has exactly one other member")
			return
		}
		c.ID = directChatID(members[0], members[1])
		if existing, err := n.store.Chat(r.Context(), c.ID); err == nil {
			writeJSON(w, http.StatusOK, existing)
			return
		}
	default:
		if err := validName("name", in.Name, maxRoomNameLen); err != nil {
			n.writeOpError(w, r, err)
			return
		}
	}
	// Every member must exist; their names go into the memberships.
	whos := make([]identity, 0, len(members))
	for _, id := range members {
		u, err := n.store.User(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, codeNotFound, "no user "+quote(id))
			return
		} else if err != nil {
			n.writeOpError(w, r, err)
			return
		}
		whos = append(whos, identity{id: u.ID, name: u.Name})
	}
	ms := make([]store.Member, len(whos))
	for i, m := range whos {
		ms[i] = store.Member{UserID: m.id, Name: m.name}
	}
	if err := n.store.CreateChat(r.Context(), c, ms); err != nil {
		if errors.Is(err, store.ErrNameTaken) {
			writeError(w, http.StatusConflict, codeNameTaken, "a public room named "+quote(in.Name)+" exists")
			return
		}
		n.writeOpError(w, r, err)
		return
	}
	for _, m := range whos {
		n.membershipChanged(c, m, true, 0) // a new chat has no messages
	}
	writeJSON(w, http.StatusCreated, c)
}

type chatWithRole struct {
	store.Chat
	Role     string    `json:"role"`
	JoinedAt time.Time `json:"joinedAt"`
}

func (n *Node) apiListChats(w http.ResponseWriter, r *http.Request, who identity) {
	ms, err := n.store.UserChats(r.Context(), who.id)
	if err != nil {
		n.writeOpError(w, r, err)
		return
	}
	out := make([]chatWithRole, 0, len(ms))
	for _, m := range ms {
		c, err := n.store.Chat(r.Context(), m.ChatID)
		if errors.Is(err, store.ErrNotFound) {
			continue
		} else if err != nil {
			n.writeOpError(w, r, err)
			return
		}
		out = append(out, chatWithRole{Chat: c, Role: m.Role, JoinedAt: m.JoinedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"chats": out})
}

// chatFor loads the chat of the {id} path segment and, unless it is
// public, requires who to be a member. It answers errors itself.
func (n *Node) chatFor(w http.ResponseWriter, r *http.Request, who identity, mustBeMember bool) (store.Chat, bool) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return store.Chat{}, false
	}
	c, err := n.resolveChat(r.Context(), wire.ChatRef{Chat: id})
	if err != nil {
		n.writeOpError(w, r, err)
		return c, false
	}
	if mustBeMember || c.Kind != store.Public {
		if err := n.requireMember(r.Context(), who.id, c.ID); err != nil {
			n.writeOpError(w, r, err)
			return c, false
		}
	}
	return c, true
}

func (n *Node) apiGetChat(w http.ResponseWriter, r *http.Request, who identity) {
	c, ok := n.chatFor(w, r, who, false)
	if !ok {
		return
	}
	l, err := n.memberList(r.Context(), c)
	if err != nil {
		n.writeOpError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": c.ID, "name": c.Name, "kind": c.Kind, "createdBy": c.CreatedBy, "createdAt": c.CreatedAt, "members": l.Members,
	})
}

func (n *Node) apiJoinChat(w http.ResponseWriter, r *http.Request, who identity) {
	id, ok := pathID(w, r, "id")
	if !ok {
		return
	}
	c, j, err := n.joinChat(r.Context(), who, wire.ChatRef{Chat: id})
	if err != nil {
		n.writeOpError(w, r, err)
		return
	}
	if j.added {
		n.membershipChanged(c, who, true, j.since)
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": c.ID, "joined": j.added})
}

func (n *Node) apiLeaveChat(w http.ResponseWriter, r *http.Request, who identity) {
	c, ok := n.chatFor(w, r, who, true)
	if !ok {
		return
	}
	removed, err := n.removeMember(r.Context(), c, who)
	if err != nil {
		n.writeOpError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": c.ID, "left": removed})
}

// apiAddMember lets a member of a private chat add another user.
func (n *Node) apiAddMember(w http.ResponseWriter, r *http.Request, who identity) {
	c, ok := n.chatFor(w, r, who, true)
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
		writeError(w, http.StatusBadRequest, wire.CodeMissingField, "user is required")
		return
	case !subjects.ValidID(in.User):
		writeError(w, http.StatusBadRequest, codeInvalidID, "user must be 1-64 characters of [A-Za-z0-9_-]")
		return
	case c.Kind == store.Direct:
		writeError(w, http.StatusForbidden, wire.CodeForbidden, "a direct chat has exactly two members")
		return
	}
	u, err := n.store.User(r.Context(), in.User)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, codeNotFound, "no user "+quote(in.User))
		return
	} else if err != nil {
		n.writeOpError(w, r, err)
		return
	}
	target := identity{id: u.ID, name: u.Name}
	j, err := n.addMember(r.Context(), c, target, store.RoleMember)
	if err != nil {
		n.writeOpError(w, r, err)
		return
	}
	if j.added {
		n.membershipChanged(c, target, true, j.since)
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": c.ID, "user": u.ID, "added": j.added})
}

// apiRemoveMember: the owner removes anyone, a member removes itself.
func (n *Node) apiRemoveMember(w http.ResponseWriter, r *http.Request, who identity) {
	c, ok := n.chatFor(w, r, who, true)
	if !ok {
		return
	}
	userID, ok := pathID(w, r, "user")
	if !ok {
		return
	}
	if userID != who.id {
		me, err := n.store.Member(r.Context(), c.ID, who.id)
		if err != nil {
			n.writeOpError(w, r, err)
			return
		}
		if me.Role != store.RoleOwner {
			writeError(w, http.StatusForbidden, wire.CodeForbidden, "only the chat's owner removes other members")
			return
		}
	}
	target := identity{id: userID}
	if m, err := n.store.Member(r.Context(), c.ID, userID); err == nil {
		target.name = m.Name
	}
	removed, err := n.removeMember(r.Context(), c, target)
	if err != nil {
		n.writeOpError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": c.ID, "user": userID, "removed": removed})
}

type onlineMember struct {
	User    string       `json:"user"`
	Name    string       `json:"name"`
	Devices []deviceInfo `json:"devices"`
}

func (n *Node) apiPresence(w http.ResponseWriter, r *http.Request, who identity) {
	c, ok := n.chatFor(w, r, who, true)
	if !ok {
		return
	}
	ms, err := n.store.Members(r.Context(), c.ID)
	if err != nil {
		n.writeOpError(w, r, err)
		return
	}
	online := []onlineMember{}
	for _, m := range ms {
		if devs := n.presence.devices(m.UserID); len(devs) > 0 {
			online = append(online, onlineMember{User: m.UserID, Name: m.Name, Devices: devs})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": c.ID, "online": online})
}

// apiMessage is a message in API answers.
type apiMessage struct {
	Seq      uint64    `json:"seq"`
	ID       string    `json:"id"`
	User     string    `json:"user"`
	Name     string    `json:"name"`
	Device   string    `json:"device,omitempty"`
	Message  string    `json:"message"`
	PostedAt time.Time `json:"postedAt"`
}

func (n *Node) apiListMessages(w http.ResponseWriter, r *http.Request, who identity) {
	c, ok := n.chatFor(w, r, who, true)
	if !ok {
		return
	}
	var p store.Page
	for _, f := range []struct {
		name string
		dst  *uint64
	}{{"before", &p.Before}, {"after", &p.After}} {
		if v := r.URL.Query().Get(f.name); v != "" {
			x, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				writeError(w, http.StatusBadRequest, wire.CodeInvalidField, f.name+" must be a sequence number")
				return
			}
			*f.dst = x
		}
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		x, err := strconv.Atoi(v)
		if err != nil || x < 1 {
			writeError(w, http.StatusBadRequest, wire.CodeInvalidField, "limit must be a positive number")
			return
		}
		p.Limit = x
	}
	msgs, err := n.history(r.Context(), who, c.ID, p)
	if err != nil {
		n.writeOpError(w, r, err)
		return
	}
	out := make([]apiMessage, len(msgs))
	for i, m := range msgs {
		out[i] = apiMessage{Seq: m.Seq, ID: m.ID, User: m.UserID, Name: m.UserName, Device: m.DeviceID, Message: m.Text, PostedAt: m.PostedAt}
	}
	writeJSON(w, http.StatusOK, map[string]any{"chat": c.ID, "messages": out})
}

// apiPostMessage is the seeds' HTTP publish.
func (n *Node) apiPostMessage(w http.ResponseWriter, r *http.Request, who identity) {
	c, ok := n.chatFor(w, r, who, true)
	if !ok {
		return
	}
	var in struct {
		Text        string `json:"text"`
		ClientMsgID string `json:"clientMsgId"`
	}
	if !decodeBody(w, r, &in) {
		return
	}
	m, dup, err := n.sendMessage(r.Context(), who, nil, c, in.Text, in.ClientMsgID, true)
	if err != nil {
		n.writeOpError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"chat": c.ID, "id": m.ID, "seq": m.Seq, "duplicate": dup})
}

func quote(s string) string { return strconv.Quote(strings.TrimSpace(s)) }
