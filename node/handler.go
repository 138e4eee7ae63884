package node

import (
	"io"
	"net/http"
	"net/http/pprof"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/natterchat/natter/node/web"
)

// Handler returns the node's HTTP handler: /ws for WebSocket upgrades
// that arrive through net/http, the API (package httpapi), health checks,
// metrics, the profiler when enabled, and the browser page. Serve uses it
// for every connection that is not a raw upgrade.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ws", n.serveWebSocketHTTP)
	mux.HandleFunc("/websockets", n.serveWebSocketHTTP)
	mux.HandleFunc("/healthz", n.serveHealthz)
	mux.HandleFunc("/readyz", n.serveReadyz)
	mux.Handle("/metrics", promhttp.HandlerFor(n.cfg.Metrics, promhttp.HandlerOpts{}))
	n.api.Register(mux)
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
