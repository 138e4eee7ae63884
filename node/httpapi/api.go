// Package httpapi is natter's JSON HTTP API (docs/api.md): accounts and
// sessions, chats and their members, presence, message history and sends
// (the seeds' HTTP publish), and the server API's broadcast. Its chat
// rules and coded errors are those of package chat, shared with the
// WebSocket protocol; errors are {"error": {"code", "message"}} with the
// matching HTTP status.
//
// It is not the WebSocket upgrade, health checks, metrics or the browser
// page (package node serves those on the same port), and it never
// reaches into the connection layer or the fan-out.
package httpapi

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/natterchat/natter/node/auth"
	"github.com/natterchat/natter/node/authlimit"
	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/internal/loglimit"
	"github.com/natterchat/natter/node/presence"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// Config configures the API. Chat, Store, Presence, Tokens, Limits,
// Broadcast and Stats are required; zero values of the others are the documented
// defaults.
type Config struct {
	Chat     *chat.Service
	Store    store.Store
	Presence *presence.View
	Tokens   *auth.Tokens
	// Limits counts and refuses failed logins and registrations.
	Limits *authlimit.Limiter
	// Broadcast sends an encoded frame to every device of the cluster.
	Broadcast func(frame []byte) error
	// Stats is the node's snapshot served at GET /api/stats.
	Stats func() any
	// APIKey enables the server API (broadcast) for requests carrying
	// "Authorization: Bearer APIKey". Empty: the server API is off.
	APIKey string
	// RequestTimeout bounds one request's storage work. Default 15s.
	RequestTimeout time.Duration
	// PasswordCost is the bcrypt cost of new password hashes
	// (auth.MinPasswordCost to auth.MaxPasswordCost). Default
	// auth.DefaultPasswordCost.
	PasswordCost int

	Log     *slog.Logger
	Limiter *loglimit.Limiter
}

// API serves the HTTP API.
type API struct {
	cfg Config
	// dummyHash is compared against when a login names an unknown user,
	// so that the answer takes as long as for a wrong password: a hash
	// of the current scheme at the cost new users' hashes get (checking
	// one of the older scheme costs the same bcrypt, auth.CheckPassword).
	dummyHash []byte
}

// New builds the API.
func New(cfg Config) (*API, error) {
	if cfg.Chat == nil || cfg.Store == nil || cfg.Presence == nil || cfg.Tokens == nil || cfg.Limits == nil || cfg.Broadcast == nil || cfg.Stats == nil {
		return nil, errors.New("httpapi: Chat, Store, Presence, Tokens, Limits, Broadcast and Stats are required")
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 15 * time.Second
	}
	if cfg.PasswordCost == 0 {
		cfg.PasswordCost = auth.DefaultPasswordCost
	}
	if cfg.PasswordCost < auth.MinPasswordCost || cfg.PasswordCost > auth.MaxPasswordCost {
		return nil, fmt.Errorf("httpapi: PasswordCost %d is not a bcrypt cost (%d to %d)", cfg.PasswordCost, auth.MinPasswordCost, auth.MaxPasswordCost)
	}
	cfg.Log, cfg.Limiter = loglimit.Defaults(cfg.Log, cfg.Limiter)
	dummy, err := auth.HashPassword("natter-dummy-password", cfg.PasswordCost)
	if err != nil {
		return nil, fmt.Errorf("httpapi: dummy password hash: %w", err)
	}
	return &API{cfg: cfg, dummyHash: dummy}, nil
}

// Route is one route of the node's HTTP handler: a method and a
// net/http.ServeMux path pattern. docs/openapi.yaml describes every route,
// and a test of package node fails when the two differ.
type Route struct {
	Method string
	Path   string
}

// route is a Route with its handler.
type route struct {
	Route
	h http.HandlerFunc
}

// routes is the API's route table, the one Register serves and Routes
// lists.
func (a *API) routes() []route {
	const get, post, patch, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	return []route{
		{Route{post, "/api/users"}, a.createUser},
		{Route{post, "/api/sessions"}, a.createSession},
		{Route{del, "/api/sessions"}, a.authed(a.revokeSessions)},
		{Route{post, "/api/sessions/refresh"}, a.authed(a.refreshSession)},
		{Route{get, "/api/me"}, a.authed(a.me)},
		{Route{post, "/api/me/password"}, a.authed(a.changePassword)},
		{Route{get, "/api/chats"}, a.authed(a.listChats)},
		{Route{post, "/api/chats"}, a.authed(a.createChat)},
		{Route{get, "/api/chats/{id}"}, a.authed(a.getChat)},
		{Route{post, "/api/chats/{id}/join"}, a.authed(a.joinChat)},
		{Route{post, "/api/chats/{id}/leave"}, a.authed(a.leaveChat)},
		{Route{post, "/api/chats/{id}/read"}, a.authed(a.markRead)},  // reads.go
		{Route{get, "/api/chats/{id}/reads"}, a.authed(a.chatReads)}, // reads.go
		{Route{post, "/api/chats/{id}/members"}, a.authed(a.addMember)},
		{Route{del, "/api/chats/{id}/members/{user}"}, a.authed(a.removeMember)},
		{Route{get, "/api/chats/{id}/presence"}, a.authed(a.presence)},
		{Route{get, "/api/chats/{id}/messages"}, a.authed(a.listMessages)},
		{Route{post, "/api/chats/{id}/messages"}, a.authed(a.postMessage)},
		{Route{patch, "/api/chats/{id}/messages/{seq}"}, a.authed(a.editMessage)},    // edits.go
		{Route{del, "/api/chats/{id}/messages/{seq}"}, a.authed(a.deleteMessage)},    // edits.go
		{Route{post, "/api/chats/{id}/messages/{seq}/reactions"}, a.authed(a.react)}, // edits.go
		{Route{post, "/api/broadcast"}, a.serverAPI(a.broadcast)},
	}
}

// Register adds the API's routes, everything under /api/ but /api/stats,
// to mux. A path answers the methods of its routes and others with a JSON
// 405; a path under /api/ without a route is a JSON 404. /api/stats is
// StatsHandler: the node serves it on the public port or on its admin
// port.
func (a *API) Register(mux *http.ServeMux) {
	byPath := make(map[string]methods)
	for _, r := range a.routes() {
		m, ok := byPath[r.Path]
		if !ok {
			m = methods{}
			byPath[r.Path] = m
			mux.Handle(r.Path, m)
		}
		m[r.Method] = r.h
	}
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, CodeNotFound, "no API route "+r.Method+" "+r.URL.Path)
	})
}

// Routes lists the API's routes (without the /api/ 404 fallback).
func Routes() []Route {
	var a API // the handlers are built, never called
	rs := a.routes()
	out := make([]Route, len(rs))
	for i, r := range rs {
		out[i] = r.Route
	}
	return out
}

// methods routes by HTTP method and answers others with a JSON 405.
type methods map[string]http.HandlerFunc

func (m methods) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h, ok := m[r.Method]; ok {
		h(w, r)
		return
	}
	allowed := make([]string, 0, len(m))
	for k := range m {
		allowed = append(allowed, k)
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	WriteError(w, http.StatusMethodNotAllowed, CodeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path)
}

// authedFunc is an API handler for an authenticated user.
type authedFunc func(w http.ResponseWriter, r *http.Request, who chat.Identity)

// authed requires a valid bearer token.
func (a *API) authed(h authedFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || strings.TrimSpace(tok) == "" {
			WriteError(w, http.StatusUnauthorized, CodeUnauthorized, "missing Authorization: Bearer <token>")
			return
		}
		// Sends retry with the same id while storage elects a leader;
		// bound that (and every other store call) like a WebSocket request.
		ctx, cancel := context.WithTimeout(r.Context(), a.cfg.RequestTimeout)
		defer cancel()
		who, _, err := a.cfg.Chat.Authenticate(ctx, strings.TrimSpace(tok))
		if err != nil {
			ce := chat.AuthError(err)
			if chat.Logged(ce) {
				a.cfg.Limiter.Warn("api: check token", slog.String("path", r.URL.Path), slog.Any("err", err))
			}
			WriteError(w, Status(ce.Code), ce.Code, ce.Message)
			return
		}
		h(w, r.WithContext(ctx), who)
	}
}

// serverAPI requires the configured API key.
func (a *API) serverAPI(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.APIKey == "" {
			WriteError(w, http.StatusForbidden, wire.CodeForbidden, "the server API is disabled (start the node with --api-key)")
			return
		}
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if subtle.ConstantTimeCompare([]byte(tok), []byte(a.cfg.APIKey)) != 1 {
			WriteError(w, http.StatusUnauthorized, CodeUnauthorized, "missing or wrong API key")
			return
		}
		h(w, r)
	}
}
