package node

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// get fetches url and returns its status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// TestAdminPort: with AdminListen, /metrics, /api/stats and the profiler
// are on the admin port and gone from the public one, and both ports
// answer the health checks; without it, the public port serves /metrics
// and /api/stats as before, and the profiler only with Pprof.
func TestAdminPort(t *testing.T) {
	t.Run("separate", func(t *testing.T) {
		tn := startNode(t, func(c *Config) { c.AdminListen = "127.0.0.1:0" })
		if tn.AdminAddr() == nil {
			t.Fatal("AdminAddr is nil with AdminListen set")
		}
		admin := "http://" + tn.AdminAddr().String()
		tn.waitReady(t)
		for path, want := range map[string]string{
			"/metrics":      "natter_connections ",
			"/api/stats":    `"connections":`,
			"/debug/pprof/": "goroutine",
			"/healthz":      "ok",
			"/readyz":       "ready",
		} {
			if st, body := get(t, admin+path); st != http.StatusOK || !strings.Contains(body, want) {
				t.Errorf("admin %s: %d, body has %q: %v", path, st, want, strings.Contains(body, want))
			}
		}
		for _, path := range []string{"/metrics", "/api/stats", "/debug/pprof/"} {
			if st, _ := get(t, tn.url(path)); st != http.StatusNotFound {
				t.Errorf("public %s: %d, want 404", path, st)
			}
		}
		for _, path := range []string{"/healthz", "/readyz", "/"} {
			if st, _ := get(t, tn.url(path)); st != http.StatusOK {
				t.Errorf("public %s: %d, want 200", path, st)
			}
		}
		// The API still works on the public port.
		a := tn.register("adminuser")
		if st := tn.api("GET", "/api/me", a.Token, nil, nil); st != http.StatusOK {
			t.Errorf("public /api/me: %d", st)
		}
	})
	t.Run("default", func(t *testing.T) {
		tn := startNode(t, nil)
		if tn.AdminAddr() != nil {
			t.Fatalf("AdminAddr %v without AdminListen", tn.AdminAddr())
		}
		var stats Stats
		if st, body := get(t, tn.url("/api/stats")); st != http.StatusOK || json.Unmarshal([]byte(body), &stats) != nil || stats.Node != tn.ID() {
			t.Errorf("public /api/stats: %d %s", st, body)
		}
		if st, _ := get(t, tn.url("/metrics")); st != http.StatusOK {
			t.Errorf("public /metrics: %d", st)
		}
		if st, _ := get(t, tn.url("/debug/pprof/")); st != http.StatusNotFound {
			t.Errorf("public /debug/pprof/ without Pprof: %d, want 404", st)
		}
	})
	t.Run("pprof", func(t *testing.T) {
		tn := startNode(t, func(c *Config) { c.Pprof = true })
		if st, _ := get(t, tn.url("/debug/pprof/")); st != http.StatusOK {
			t.Errorf("public /debug/pprof/ with Pprof: %d", st)
		}
	})
	t.Run("taken", func(t *testing.T) {
		first := startNode(t, func(c *Config) { c.AdminListen = "127.0.0.1:0" })
		_, err := New(Config{DataDir: t.TempDir(), Secret: testSecret, Logger: testLogger(), AdminListen: first.AdminAddr().String()})
		if err == nil || !strings.Contains(err.Error(), "admin address") {
			t.Fatalf("New on a taken admin address: %v, want an error naming it", err)
		}
	})
}

// TestNATSMonitor: NATSMonitor exposes the embedded server's monitoring
// endpoint, which the NATS tooling reads; it is refused with NATSURL.
func TestNATSMonitor(t *testing.T) {
	tn := startNode(t, func(c *Config) { c.NATSMonitor = "127.0.0.1:0" })
	addr := tn.NATSMonitorAddr()
	if addr == nil {
		t.Fatal("NATSMonitorAddr is nil with NATSMonitor set")
	}
	st, body := get(t, "http://"+addr.String()+"/jsz")
	var jsz struct {
		Streams int `json:"streams"`
	}
	if st != http.StatusOK || json.Unmarshal([]byte(body), &jsz) != nil || jsz.Streams == 0 {
		t.Fatalf("/jsz: %d %.200s", st, body)
	}
	if st, body := get(t, "http://"+addr.String()+"/varz"); st != http.StatusOK || !strings.Contains(body, `"server_name": "natter-`+tn.ID()) {
		t.Fatalf("/varz: %d %.300s", st, body)
	}

	plain := startNode(t, nil)
	if plain.NATSMonitorAddr() != nil {
		t.Fatalf("NATSMonitorAddr %v without NATSMonitor", plain.NATSMonitorAddr())
	}
	_, err := New(Config{DataDir: t.TempDir(), Secret: testSecret, Logger: testLogger(), NATSURL: "nats://127.0.0.1:1", NATSMonitor: "127.0.0.1:0"})
	if err == nil || !strings.Contains(err.Error(), "NATSMonitor") {
		t.Fatalf("New with NATSURL and NATSMonitor: %v, want refused", err)
	}
}
