package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAdminAndMonitorProcess runs a node process with --admin-listen and
// --nats-monitor: the admin port serves the metrics (with the stamped
// version in natter_build_info), the stats and the profiler, the public
// port none of them, and the embedded NATS server answers its monitoring
// requests.
func TestAdminAndMonitorProcess(t *testing.T) {
	addrs := freeAddrs(t, 3)
	p := startProc(t, "ops", addrs[0], t.TempDir(), "--admin-listen", addrs[1], "--nats-monitor", addrs[2])
	p.waitReady(time.Minute)
	get := func(url string) (int, string) {
		t.Helper()
		c := http.Client{Timeout: 10 * time.Second}
		resp, err := c.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	admin, public, monitor := "http://"+addrs[1], "http://"+addrs[0], "http://"+addrs[2]
	if st, body := get(admin + "/metrics"); st != http.StatusOK || !strings.Contains(body, `natter_build_info{goversion="go`) ||
		!strings.Contains(body, `version="`+testVersion+`"`) || !strings.Contains(body, "natter_jetstream_up 1") {
		t.Fatalf("admin /metrics: %d, build info and JetStream up missing:\n%.2000s", st, body)
	}
	for _, path := range []string{"/api/stats", "/debug/pprof/", "/readyz"} {
		if st, _ := get(admin + path); st != http.StatusOK {
			t.Errorf("admin %s: %d", path, st)
		}
	}
	for _, path := range []string{"/metrics", "/api/stats", "/debug/pprof/"} {
		if st, _ := get(public + path); st != http.StatusNotFound {
			t.Errorf("public %s: %d, want 404", path, st)
		}
	}
	if st, body := get(monitor + "/varz"); st != http.StatusOK || !strings.Contains(body, `"server_name": "natter-ops"`) {
		t.Errorf("NATS monitoring /varz: %d %.300s", st, body)
	}
	if st, _ := get(monitor + "/jsz"); st != http.StatusOK {
		t.Errorf("NATS monitoring /jsz: %d", st)
	}
}
