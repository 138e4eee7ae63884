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
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/natterchat/natter/node/auth"
	"github.com/natterchat/natter/node/chat"
	"github.com/natterchat/natter/node/internal/loglimit"
	"github.com/natterchat/natter/node/presence"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/store"
)

// Config configures the API. Chat, Store, Presence, Tokens, Broadcast and
// Stats are required; zero values of the others are the documented
// defaults.
type Config struct {
	Chat     *chat.Service
	Store    store.Store
	Presence *presence.View
	Tokens   *auth.Tokens
	// Broadcast sends an encoded frame to every device of the cluster.
	Broadcast func(frame []byte) error
	// Stats is the node's snapshot served at GET /api/stats.
	Stats func() any
	// APIKey enables the server API (broadcast) for requests carrying
	// "Authorization: Bearer APIKey". Empty: the server API is off.
	APIKey string
	// RequestTimeout bounds one request's storage work. Default 15s.
	RequestTimeout time.Duration

	Log     *slog.Logger
	Limiter *loglimit.Limiter
}

// API serves the HTTP API.
type API struct {
	cfg Config
}

// New builds the API.
func New(cfg Config) (*API, error) {
	if cfg.Chat == nil || cfg.Store == nil || cfg.Presence == nil || cfg.Tokens == nil || cfg.Broadcast == nil || cfg.Stats == nil {
		return nil, errors.New("httpapi: Chat, Store, Presence, Tokens, Broadcast and Stats are required")
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 15 * time.Second
	}
	cfg.Log, cfg.Limiter = loglimit.Defaults(cfg.Log, cfg.Limiter)
	return &API{cfg: cfg}, nil
}

// Register adds the API's routes, everything under /api/, to mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.Handle("/api/users", methods{http.MethodPost: a.createUser})
	mux.Handle("/api/sessions", methods{http.MethodPost: a.createSession, http.MethodDelete: a.authed(a.revokeSessions)})
	mux.Handle("/api/sessions/refresh", methods{http.MethodPost: a.authed(a.refreshSession)})
	mux.Handle("/api/me", methods{http.MethodGet: a.authed(a.me)})
	mux.Handle("/api/me/password", methods{http.MethodPost: a.authed(a.changePassword)})
	mux.Handle("/api/chats", methods{http.MethodGet: a.authed(a.listChats), http.MethodPost: a.authed(a.createChat)})
	mux.Handle("/api/chats/{id}", methods{http.MethodGet: a.authed(a.getChat)})
	mux.Handle("/api/chats/{id}/join", methods{http.MethodPost: a.authed(a.joinChat)})
	mux.Handle("/api/chats/{id}/leave", methods{http.MethodPost: a.authed(a.leaveChat)})
	mux.Handle("/api/chats/{id}/members", methods{http.MethodPost: a.authed(a.addMember)})
	mux.Handle("/api/chats/{id}/members/{user}", methods{http.MethodDelete: a.authed(a.removeMember)})
	mux.Handle("/api/chats/{id}/presence", methods{http.MethodGet: a.authed(a.presence)})
	mux.Handle("/api/chats/{id}/messages", methods{http.MethodGet: a.authed(a.listMessages), http.MethodPost: a.authed(a.postMessage)})
	mux.Handle("/api/chats/{id}/messages/{seq}", methods{http.MethodPatch: a.authed(a.editMessage), http.MethodDelete: a.authed(a.deleteMessage)})
	mux.Handle("/api/chats/{id}/messages/{seq}/reactions", methods{http.MethodPost: a.authed(a.react)})
	mux.Handle("/api/broadcast", methods{http.MethodPost: a.serverAPI(a.broadcast)})
	mux.Handle("/api/stats", methods{http.MethodGet: a.stats})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, http.StatusNotFound, CodeNotFound, "no API route "+r.Method+" "+r.URL.Path)
	})
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
