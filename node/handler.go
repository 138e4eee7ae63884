package node

import (
	"io"
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/natterchat/natter/node/httpapi"
	"github.com/natterchat/natter/node/web"
)

// nodeRoute is one of the node's own routes (the API's are httpapi's).
// The mux pattern is the path alone: the handlers answer the methods they
// serve themselves, and the route's method is the one docs/openapi.yaml
// describes.
type nodeRoute struct {
	httpapi.Route
	h http.Handler
}

// routes is the node's own route table, the one Handler serves and Routes
// lists: /ws for WebSocket upgrades that arrive through net/http, health
// checks, metrics, the profiler when enabled, and the browser page (with
// its style sheet and modules, below /).
func (n *Node) routes() []nodeRoute {
	get := func(path string, h http.Handler) nodeRoute {
		return nodeRoute{httpapi.Route{Method: http.MethodGet, Path: path}, h}
	}
	rs := []nodeRoute{
		get("/ws", http.HandlerFunc(n.serveWebSocketHTTP)),
		get("/websockets", http.HandlerFunc(n.serveWebSocketHTTP)),
		get("/healthz", http.HandlerFunc(n.serveHealthz)),
		get("/readyz", http.HandlerFunc(n.serveReadyz)),
		get("/metrics", promhttp.HandlerFor(n.cfg.Metrics, promhttp.HandlerOpts{})),
	}
	if n.cfg.Pprof {
		rs = append(rs,
			get("/debug/pprof/", http.HandlerFunc(pprof.Index)),
			get("/debug/pprof/cmdline", http.HandlerFunc(pprof.Cmdline)),
			get("/debug/pprof/profile", http.HandlerFunc(pprof.Profile)),
			get("/debug/pprof/symbol", http.HandlerFunc(pprof.Symbol)),
			get("/debug/pprof/trace", http.HandlerFunc(pprof.Trace)),
		)
	}
	return append(rs, get("/", web.Handler()))
}

// Routes lists every route of Handler: the node's own and the API's
// (httpapi.Routes). docs/openapi.yaml describes each of them.
func (n *Node) Routes() []httpapi.Route {
	var out []httpapi.Route
	for _, r := range n.routes() {
		out = append(out, r.Route)
	}
	return append(out, httpapi.Routes()...)
}

// Handler returns the node's HTTP handler: its own routes (routes) and
// the API (package httpapi). Serve uses it for every connection that is
// not a raw upgrade.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	for _, r := range n.routes() {
		mux.Handle(r.Path, r.h)
	}
	n.api.Register(mux)
	return mux
}

func (n *Node) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	_, _ = io.WriteString(w, "ok\n")
}

// serveReadyz reports whether this node should get traffic (notReady).
func (n *Node) serveReadyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain")
	if reason := n.notReady(r.Context()); reason != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, reason+"\n")
		return
	}
	_, _ = io.WriteString(w, "ready\n")
}
