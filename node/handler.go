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

func getRoute(path string, h http.Handler) nodeRoute {
	return nodeRoute{httpapi.Route{Method: http.MethodGet, Path: path}, h}
}

// routes is the node's own route table on the public port, the one
// Handler serves and Routes lists: /ws for WebSocket upgrades that arrive
// through net/http, health checks, the admin routes unless AdminListen
// moves them to the admin port, and the browser page (with its style
// sheet and modules, below /).
func (n *Node) routes() []nodeRoute {
	rs := n.healthRoutes()
	rs = append(rs,
		getRoute("/ws", http.HandlerFunc(n.serveWebSocketHTTP)),
		getRoute("/websockets", http.HandlerFunc(n.serveWebSocketHTTP)),
	)
	if n.cfg.AdminListen == "" {
		rs = append(rs, n.adminRoutes(n.cfg.Pprof)...)
	}
	return append(rs, getRoute("/", web.Handler()))
}

func (n *Node) healthRoutes() []nodeRoute {
	return []nodeRoute{
		getRoute("/healthz", http.HandlerFunc(n.serveHealthz)),
		getRoute("/readyz", http.HandlerFunc(n.serveReadyz)),
	}
}

// adminRoutes say how the node is doing from the inside: metrics, the
// stats snapshot and, with pprof, the profiler.
func (n *Node) adminRoutes(withPprof bool) []nodeRoute {
	rs := []nodeRoute{
		getRoute("/metrics", promhttp.HandlerFor(n.cfg.Metrics, promhttp.HandlerOpts{})),
		getRoute("/api/stats", n.api.StatsHandler()),
	}
	if withPprof {
		rs = append(rs,
			getRoute("/debug/pprof/", http.HandlerFunc(pprof.Index)),
			getRoute("/debug/pprof/cmdline", http.HandlerFunc(pprof.Cmdline)),
			getRoute("/debug/pprof/profile", http.HandlerFunc(pprof.Profile)),
			getRoute("/debug/pprof/symbol", http.HandlerFunc(pprof.Symbol)),
			getRoute("/debug/pprof/trace", http.HandlerFunc(pprof.Trace)),
		)
	}
	return rs
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
	return n.mux(n.routes(), true)
}

// AdminHandler returns what the admin port (AdminListen) serves:
// /metrics, /api/stats, the profiler at /debug/pprof/ and the health
// checks, for scrapers and operators on an internal network.
func (n *Node) AdminHandler() http.Handler {
	return n.mux(append(n.healthRoutes(), n.adminRoutes(true)...), false)
}

// mux serves routes, and the API with api.
func (n *Node) mux(routes []nodeRoute, api bool) *http.ServeMux {
	mux := http.NewServeMux()
	for _, r := range routes {
		mux.Handle(r.Path, r.h)
	}
	if api {
		n.api.Register(mux)
	}
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
