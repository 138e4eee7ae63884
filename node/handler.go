package node

import (
	"io"
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/natterchat/natter/node/web"
)

// Handler returns the node's HTTP handler: /ws for WebSocket upgrades
// that arrive through net/http, the API (package httpapi), health checks
// and the browser page; and, unless AdminListen moves them to the admin
// port, /metrics, /api/stats and (with Pprof) the profiler. Serve uses it
// for every connection that is not a raw upgrade.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", n.serveWebSocketHTTP)
	mux.HandleFunc("/websockets", n.serveWebSocketHTTP)
	n.registerHealth(mux)
	n.api.Register(mux)
	if n.cfg.AdminListen == "" {
		n.registerAdmin(mux, n.cfg.Pprof)
	}
	mux.Handle("/", web.Handler())
	return mux
}

// AdminHandler returns what the admin port (AdminListen) serves:
// /metrics, /api/stats, the profiler at /debug/pprof/ and the health
// checks, for scrapers and operators on an internal network.
func (n *Node) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	n.registerHealth(mux)
	n.registerAdmin(mux, true)
	return mux
}

func (n *Node) registerHealth(mux *http.ServeMux) {
	mux.HandleFunc("/healthz", n.serveHealthz)
	mux.HandleFunc("/readyz", n.serveReadyz)
}

// registerAdmin adds the routes that say how the node is doing from the
// inside: metrics, the stats snapshot and, with pprof, the profiler.
func (n *Node) registerAdmin(mux *http.ServeMux, withPprof bool) {
	mux.Handle("/metrics", promhttp.HandlerFor(n.cfg.Metrics, promhttp.HandlerOpts{}))
	mux.Handle("/api/stats", n.api.StatsHandler())
	if withPprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
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
