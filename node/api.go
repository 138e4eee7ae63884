package node

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/pprof"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/natterchat/natter/node/web"
	"github.com/natterchat/natter/node/wire"
	"github.com/natterchat/natter/subjects"
)

// maxBodyBytes bounds API request bodies.
const maxBodyBytes = 64 << 10

// Handler returns the node's HTTP handler: the API, /ws for WebSocket
// upgrades that arrive through net/http, health checks and the browser
// page. Serve uses it for every connection that is not a raw upgrade.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", n.serveWebSocketHTTP)
	mux.HandleFunc("/websockets", n.serveWebSocketHTTP)
	mux.HandleFunc("/healthz", n.serveHealthz)
	mux.HandleFunc("/readyz", n.serveReadyz)
	mux.Handle("/metrics", promhttp.HandlerFor(n.cfg.Metrics, promhttp.HandlerOpts{}))

	mux.Handle("/api/users", methods{http.MethodPost: n.apiCreateUser})
	mux.Handle("/api/sessions", methods{http.MethodPost: n.apiCreateSession})
	mux.Handle("/api/me", methods{http.MethodGet: n.authed(n.apiMe)})
	mux.Handle("/api/chats", methods{http.MethodGet: n.authed(n.apiListChats), http.MethodPost: n.authed(n.apiCreateChat)})
	mux.Handle("/api/chats/{id}", methods{http.MethodGet: n.authed(n.apiGetChat)})
	mux.Handle("/api/chats/{id}/join", methods{http.MethodPost: n.authed(n.apiJoinChat)})
	mux.Handle("/api/chats/{id}/leave", methods{http.MethodPost: n.authed(n.apiLeaveChat)})
	mux.Handle("/api/chats/{id}/members", methods{http.MethodPost: n.authed(n.apiAddMember)})
	mux.Handle("/api/chats/{id}/members/{user}", methods{http.MethodDelete: n.authed(n.apiRemoveMember)})
	mux.Handle("/api/chats/{id}/presence", methods{http.MethodGet: n.authed(n.apiPresence)})
	mux.Handle("/api/chats/{id}/messages", methods{http.MethodGet: n.authed(n.apiListMessages), http.MethodPost: n.authed(n.apiPostMessage)})
	mux.Handle("/api/broadcast", methods{http.MethodPost: n.serverAPI(n.apiBroadcast)})
	mux.Handle("/api/stats", methods{http.MethodGet: n.apiStats})
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, codeNotFound, "no API route "+r.Method+" "+r.URL.Path)
	})
	if n.cfg.Pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.Handle("/", web.Handler())
	return mux
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
	writeError(w, http.StatusMethodNotAllowed, codeMethodNotAllowed, r.Method+" is not allowed on "+r.URL.Path)
}

// authedFunc is an API handler for an authenticated user.
type authedFunc func(w http.ResponseWriter, r *http.Request, who identity)

// authed requires a valid bearer token.
func (n *Node) authed(h authedFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || strings.TrimSpace(tok) == "" {
			writeError(w, http.StatusUnauthorized, codeUnauthorized, "missing Authorization: Bearer <token>")
			return
		}
		c, err := n.tokens.Verify(strings.TrimSpace(tok))
		if err != nil {
			writeError(w, http.StatusUnauthorized, codeUnauthorized, "invalid or expired token")
			return
		}
		// Sends retry with the same id while storage elects a leader;
		// bound that (and every other store call) like a WebSocket request.
		ctx, cancel := context.WithTimeout(r.Context(), n.cfg.RequestTimeout)
		defer cancel()
		h(w, r.WithContext(ctx), identity{id: c.UserID, name: c.Name})
	}
}

// serverAPI requires the configured API key.
func (n *Node) serverAPI(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if n.cfg.APIKey == "" {
			writeError(w, http.StatusForbidden, wire.CodeForbidden, "the server API is disabled (start the node with --api-key)")
			return
		}
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !constantTimeEqual(tok, n.cfg.APIKey) {
			writeError(w, http.StatusUnauthorized, codeUnauthorized, "missing or wrong API key")
			return
		}
		h(w, r)
	}
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError is the API's error body.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

// writeOpError answers a failed chat operation with its coded error.
func (n *Node) writeOpError(w http.ResponseWriter, r *http.Request, err error) {
	ce := clientError(err)
	if ce.Code == wire.CodeInternal || ce.Code == wire.CodeUnavailable {
		n.logLimited("api request failed", slog.String("path", r.URL.Path), slog.Any("err", err))
	}
	code := ce.Code
	if code == wire.CodeChatNotFound {
		code = codeNotFound // the API's one 404 code (docs/api.md)
	}
	writeError(w, httpStatus(ce.Code), code, ce.Message)
}

// decodeBody reads a JSON body into v, answering the error itself.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, codeTooLarge, "request body is larger than 64 KiB")
		} else {
			writeError(w, http.StatusBadRequest, codeInvalidJSON, "could not read the request body")
		}
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			writeError(w, http.StatusBadRequest, wire.CodeInvalidField, "field "+strconv.Quote(te.Field)+" must be "+te.Type.String())
		} else {
			writeError(w, http.StatusBadRequest, codeInvalidJSON, "request body is not valid JSON: "+err.Error())
		}
		return false
	}
	return true
}

// pathID reads and validates an id path segment, answering 400 itself.
func pathID(w http.ResponseWriter, r *http.Request, name string) (string, bool) {
	id := r.PathValue(name)
	if !subjects.ValidID(id) {
		writeError(w, http.StatusBadRequest, codeInvalidID, name+" must be 1-64 characters of [A-Za-z0-9_-]")
		return "", false
	}
	return id, true
}

func (n *Node) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "ok\n")
}

// serveReadyz reports whether this node should get traffic: NATS
// connected, JetStream answering, not draining.
func (n *Node) serveReadyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	if reason := n.notReady(r.Context()); reason != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, reason+"\n")
		return
	}
	_, _ = io.WriteString(w, "ready\n")
}

func (n *Node) apiStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, n.Stats())
}

// apiBroadcast publishes a protocol frame to every device of the cluster.
func (n *Node) apiBroadcast(w http.ResponseWriter, r *http.Request) {
	var raw json.RawMessage
	if !decodeBody(w, r, &raw) {
		return
	}
	if _, err := wire.DecodeEnvelope(raw); err != nil {
		writeError(w, http.StatusBadRequest, clientError(err).Code, clientError(err).Message)
		return
	}
	var frame bytes.Buffer
	if err := json.Compact(&frame, raw); err != nil {
		writeError(w, http.StatusBadRequest, codeInvalidJSON, err.Error())
		return
	}
	if err := n.nc.Publish(subjects.Broadcast, frame.Bytes()); err != nil {
		n.writeOpError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"accepted": true})
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
